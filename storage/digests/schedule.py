"""When a digest goes out: its schedule (frequency, time of day, weekday, zone) and its slots."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from storage.errors import ValidationFailed

FREQUENCIES = ("daily", "weekly")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
DEFAULT_TIME = "09:00"


def parse_time_of_day(value: str) -> str:
    """'9:00', '09:00', '9' -> '09:00'; else ValidationFailed."""
    m = re.fullmatch(r"([01]?\d|2[0-3])(?::([0-5]\d))?", value.strip())
    if not m:
        raise ValidationFailed(
            f"'{value[:20]}' is not a time of day; use 24-hour HH:MM, e.g. 09:00.",
            {"time_of_day": "HH:MM"},
        )
    return f"{int(m.group(1)):02d}:{m.group(2) or '00'}"


def parse_weekday(value: str) -> int | None:
    """'mon', 'Monday' -> 0 ... 6; None when the word is no weekday."""
    word = value.strip().lower()
    if len(word) < 3:
        return None
    for i, name in enumerate(WEEKDAYS):
        if name.startswith(word):
            return i
    return None


def check_timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationFailed(
            f"'{value[:40]}' is not a time zone; use an IANA name such as Europe/Berlin.",
            {"timezone": "IANA name"},
        ) from None
    return value


def latest_slot(
    frequency: str, time_of_day: str, weekday: int, timezone: str, now: datetime
) -> datetime:
    """The latest scheduled instant at or before `now` (UTC), in the subscription's zone.

    The wall-clock time is kept across DST: 09:00 Europe/Berlin is 08:00 UTC in winter and
    07:00 UTC in summer. A time that does not exist on a spring-forward day fires at the
    same UTC offset as before the change (02:30 -> 03:30 local); a repeated time fires once.
    """
    tz = ZoneInfo(timezone)
    hh, mm = (int(x) for x in time_of_day.split(":"))
    local_today = now.astimezone(tz).date()
    for back in range(0, 9):
        day: date = local_today - timedelta(days=back)
        if frequency == "weekly" and day.weekday() != weekday:
            continue
        candidate = datetime.combine(day, time(hh, mm), tzinfo=tz).astimezone(now.tzinfo)
        if candidate <= now:
            return candidate
    raise AssertionError("a slot exists within 8 days")


def next_slot(
    frequency: str, time_of_day: str, weekday: int, timezone: str, now: datetime
) -> datetime:
    """The first scheduled instant after `now` (UTC)."""
    tz = ZoneInfo(timezone)
    hh, mm = (int(x) for x in time_of_day.split(":"))
    local_today = now.astimezone(tz).date()
    for ahead in range(0, 9):
        day = local_today + timedelta(days=ahead)
        if frequency == "weekly" and day.weekday() != weekday:
            continue
        candidate = datetime.combine(day, time(hh, mm), tzinfo=tz).astimezone(now.tzinfo)
        if candidate > now:
            return candidate
    raise AssertionError("a slot exists within 8 days")


def period(frequency: str) -> timedelta:
    """How far a digest looks back: a day or a week."""
    return timedelta(days=7 if frequency == "weekly" else 1)


def check_schedule(
    frequency: str | None, time_of_day: str | None, weekday: int | None, timezone: str
) -> tuple[str, str, int, str]:
    """A schedule as given, checked and with its defaults: (frequency, HH:MM, weekday, zone)."""
    frequency = (frequency or "daily").lower()
    if frequency not in FREQUENCIES:
        raise ValidationFailed(
            f"'{frequency[:20]}' is not a digest frequency; use daily or weekly.",
            {"frequency": "daily|weekly"},
        )
    time_of_day = parse_time_of_day(time_of_day or DEFAULT_TIME)
    if weekday is None:
        weekday = 0
    if not 0 <= weekday <= 6:
        raise ValidationFailed("The weekday must be Monday to Sunday.", {"weekday": "0-6"})
    return frequency, time_of_day, weekday, check_timezone(timezone)
