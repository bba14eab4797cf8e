"""Whose App Home a change touched.

A member's Home shows the stories assigned to them, the stories they created and the
projects they own. Each write records here the members whose Home shows what it changed
(before and after the change), in its own session; the app reads the list once the write
has committed and republishes those Homes. So the rule of who is touched lives beside the
change, not in each place that asks for one.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.orm import Session

_KEY = "autodevhub.touched_homes"


def touch(s: Session, team_id: str, slack_user_ids: Iterable[str | None]) -> None:
    """Record that the Homes of these members (None ignored) show what this write changed."""
    touched: dict[tuple[str, str], None] = s.info.setdefault(_KEY, {})
    for slack_user_id in slack_user_ids:
        if slack_user_id:
            touched[(team_id, slack_user_id)] = None


def touched_homes(s: Session) -> list[tuple[str, str]]:
    """(workspace, member) of every Home the writes in `s` touched, in the order recorded."""
    return list(s.info.get(_KEY, {}))
