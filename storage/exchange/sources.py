"""Reading an import file: CSV as Jira and Linear write it (a BOM, quoted cells over several
lines, one column name repeated), or our JSON; each record with the line it starts on."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from storage.errors import ValidationFailed
from storage.exchange.formats import IMPORT_FORMATS, JSON_KIND, import_format

# What a real export's header holds, to tell the two apart (and from a wrong file)
JIRA_NEEDS = ("Summary", "Issue key")
LINEAR_NEEDS = ("ID", "Title")
MAX_CELL = 1_000_000  # csv's default field limit is 131,072; Jira's cells may be longer


def column(name: str) -> str:
    """A column name as compared: case and spacing ignored ("Issue Key" is "issue key")."""
    return " ".join(name.replace("\ufeff", "").split()).casefold()


@dataclass(frozen=True)
class Record:
    """One CSV record: the line it starts on (the header is line 1) and, by column name, the
    non-blank values of every column of that name in order (Jira repeats "Labels")."""

    line: int
    values: dict[str, list[str]]
    cells: int

    def first(self, *names: str) -> str:
        """The first non-blank value of the first of `names` that has one, else ""."""
        for name in names:
            found = self.values.get(column(name))
            if found:
                return found[0]
        return ""

    def all(self, name: str) -> list[str]:
        return self.values.get(column(name), [])


@dataclass(frozen=True)
class Table:
    """A CSV file: its header (as written) and its records."""

    header: list[str]
    records: list[Record]

    def has(self, name: str) -> bool:
        return column(name) in {column(h) for h in self.header}


def text_of(data: bytes, filename: str) -> str:
    """The file as text: UTF-8 with or without a BOM (Jira's and Excel's); anything else is
    refused with what it looks like instead."""
    name = PurePath(filename).name or "the file"
    if data[:4] == b"PK\x03\x04":
        raise ValidationFailed(
            f"{name} is a zip archive (an Excel workbook?), not CSV or JSON. Export CSV from "
            "Jira or Linear and import that."
        )
    if data[:5] == b"%PDF-":
        raise ValidationFailed(f"{name} is a PDF, not CSV or JSON.")
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise ValidationFailed(f"{name} is UTF-16 text; save it as UTF-8 and import it again.")
    if b"\x00" in data[:4096]:
        raise ValidationFailed(f"{name} is not a text file (it holds NUL bytes).")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ValidationFailed(
            f"{name} is not UTF-8 text (byte 0x{data[exc.start]:02x} on line {line}); save it "
            'as UTF-8 ("CSV UTF-8" in Excel) and import it again.'
        ) from None
    if not text.strip():
        raise ValidationFailed(f"{name} is empty.")
    return text


def guess_format(text: str, filename: str) -> str:
    """jira-csv, linear-csv or json, from the file itself (its extension breaks no tie)."""
    if text.lstrip()[:1] in ("{", "["):
        return "json"
    header = {column(h) for h in _header(text)}
    if all(column(n) in header for n in JIRA_NEEDS):
        return "jira-csv"
    if all(column(n) in header for n in LINEAR_NEEDS):
        return "linear-csv"
    name = PurePath(filename).name or "the file"
    raise ValidationFailed(
        f"{name} is neither a Jira CSV export (it would have the columns "
        f"{' and '.join(JIRA_NEEDS)}), a Linear CSV export ({' and '.join(LINEAR_NEEDS)}) nor "
        f"an AutoDevHub JSON export. Its first line has: {_shown(_header(text))}. Say which it "
        f"is with --format ({', '.join(IMPORT_FORMATS)})."
    )


def read_table(text: str, format: str, filename: str) -> Table:
    """The CSV's header and records; refused when the header lacks what `format` needs."""
    format = import_format(format)
    name = PurePath(filename).name or "the file"
    if text.lstrip()[:1] in ("{", "["):
        raise ValidationFailed(f"{name} is JSON, not a CSV export; import it with --format json.")
    needs = JIRA_NEEDS if format == "jira-csv" else LINEAR_NEEDS
    source = "Jira" if format == "jira-csv" else "Linear"
    rows = _rows(text, name)
    header = next(rows, ([], 1))[0]
    found = {column(h) for h in header}
    missing = [n for n in needs if column(n) not in found]
    if missing:
        raise ValidationFailed(
            f"{name} is not a {source} CSV export: it has no {' or '.join(missing)} column "
            f"(its columns: {_shown(header)})."
        )
    names = [column(h) for h in header]
    records = []
    for cells, line in rows:
        if not any(cell.strip() for cell in cells):
            continue  # a blank line between records, or the file's last newline
        values: dict[str, list[str]] = {}
        for name_of, cell in zip(names, cells, strict=False):
            if cell.strip():
                values.setdefault(name_of, []).append(cell)
        records.append(Record(line, values, len(cells)))
    return Table(header=[h.replace("\ufeff", "").strip() for h in header], records=records)


def _rows(text: str, name: str) -> Iterator[tuple[list[str], int]]:
    """(cells, line it starts on) of each CSV record; a broken quote is refused with its line."""
    csv.field_size_limit(max(csv.field_size_limit(), MAX_CELL))
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    start = 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise ValidationFailed(
                f"{name} is not valid CSV: {exc} (in the record starting on line {start})."
            ) from None
        yield cells, start
        start = reader.line_num + 1


def _header(text: str) -> list[str]:
    try:
        return next(csv.reader(io.StringIO(text.lstrip("\ufeff"), newline="")), [])
    except csv.Error:
        return text.splitlines()[:1]


def _shown(header: list[str]) -> str:
    names = [h.replace("\ufeff", "").strip() for h in header if h.strip()]
    shown = ", ".join(names[:12]) + (f" and {len(names) - 12} more" if len(names) > 12 else "")
    return shown or "nothing"


def read_document(text: str, filename: str) -> dict[str, Any]:
    """Our JSON export's document; refused when it is not valid JSON or not ours."""
    name = PurePath(filename).name or "the file"
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationFailed(
            f"{name} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}."
        ) from None
    if not isinstance(document, dict) or document.get("kind") != JSON_KIND:
        raise ValidationFailed(
            f'{name} is JSON but not an AutoDevHub export (those say "kind": "{JSON_KIND}"); '
            "export one with `autodevhub export KEY --format json`."
        )
    if not isinstance(document.get("stories"), list):
        raise ValidationFailed(f"{name} has no list of stories.")
    return document
