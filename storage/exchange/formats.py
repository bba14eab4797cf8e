"""The names of the export and import formats, their file extensions, the JSON document's kind."""

from __future__ import annotations

from typing import Any

from storage.errors import ValidationFailed
from storage.fields import not_one_of

EXPORT_FORMATS = ("csv", "markdown", "json")
IMPORT_FORMATS = ("jira-csv", "linear-csv", "json")
DEFAULT_EXPORT = "csv"  # what Jira's and Linear's importers read
EXTENSIONS = {"csv": "csv", "markdown": "md", "json": "json"}
ALIASES = {"md": "markdown", "jira": "jira-csv", "linear": "linear-csv"}

# The JSON document an export writes and an import reads back (see storage/exchange/export.py)
JSON_KIND = "autodevhub.stories"
JSON_VERSION = 1


def export_format(word: Any) -> str:
    """csv, markdown (or md) or json, in any case; anything else is refused."""
    return _one_of(word, EXPORT_FORMATS, "export format")


def import_format(word: Any) -> str:
    """jira-csv (or jira), linear-csv (or linear) or json, in any case."""
    return _one_of(word, IMPORT_FORMATS, "import format")


def _one_of(word: Any, allowed: tuple[str, ...], what: str) -> str:
    folded = str(word).strip().lower() if isinstance(word, str) else ""
    folded = ALIASES.get(folded, folded)
    if folded not in allowed:
        raise ValidationFailed(not_one_of(what, word, allowed), {"format": "enum"})
    return folded
