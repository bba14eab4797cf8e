"""How long domain work reports its progress: `progress(stage, done, total)` as it goes.

The command line draws it (bot/progress.py); everything else passes nothing."""

from __future__ import annotations

from collections.abc import Callable

Progress = Callable[[str, int, int], None]


def no_progress(stage: str, done: int, total: int) -> None:
    """The default: nobody is watching."""
