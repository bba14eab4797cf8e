"""Progress of long command-line work: a bar on a terminal (tqdm), plain lines otherwise.

The domain operations report `progress(stage, done, total)` as they go; this draws it on
stderr, so stdout keeps only what the command outputs. In a log or a pipe a bar's carriage
returns are noise, so there it prints a line at each tenth of a stage instead.
"""

from __future__ import annotations

import sys
from typing import TextIO

from tqdm import tqdm

PLAIN_STEPS = 10  # lines per stage when not on a terminal
SMALL = 1000  # a stage this short draws nothing: it is over before a bar would help


class ProgressShown:
    """Call it as the domain's `progress`; `close()` when the work is done."""

    def __init__(self, stream: TextIO | None = None, *, terminal: bool | None = None) -> None:
        self.stream = stream or sys.stderr
        self.terminal = self.stream.isatty() if terminal is None else terminal
        self.stage: str | None = None
        self.bar: tqdm | None = None
        self.shown = 0  # the bar's position, or the last tenth printed

    def __call__(self, stage: str, done: int, total: int) -> None:
        if stage != self.stage:
            self.close()
            self.stage = stage
            self.shown = 0
            if self.terminal and total >= SMALL:
                self.bar = tqdm(
                    total=total, desc=stage, unit=" records", unit_scale=True, file=self.stream,
                    dynamic_ncols=True, leave=True,
                )  # fmt: skip
        if self.bar is not None:
            self.bar.update(done - self.shown)
            self.shown = done
        elif not self.terminal and total >= SMALL:
            tenth = done * PLAIN_STEPS // total
            if tenth > self.shown:
                self.shown = tenth
                print(f"{stage}: {done:,}/{total:,} ({done * 100 // total}%)", file=self.stream)
                self.stream.flush()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
