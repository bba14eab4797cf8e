"""The SQL statements a block of code sends: for tests that count or inspect queries."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from sqlalchemy import event

from storage.db import Database


@contextlib.contextmanager
def statements(db: Database) -> Iterator[list[str]]:
    """Yields the list the statements sent to `db` (either engine) are added to."""
    sent: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:
        sent.append(statement)

    engines = {db.read_engine, db.write_engine}
    for engine in engines:
        event.listen(engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", record)
