"""The weekly digest's cumulative-flow chart as a PNG, drawn by matplotlib in a child process.

matplotlib and numpy would stay in serve for good once imported (about 47 MB of RSS,
measured), so serve never imports them: `cumulative_flow_png` hands the numbers to
`python -m bot.ui.charts`, which draws with the Agg backend (imported inside `draw_png`)
and exits. A chart a week per channel costs a second of CPU, never the server's memory.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from datetime import date
from typing import Any

# Pixels: 8 x 4 inches at 100 dpi. Slack shows it full width and scales it down on phones.
CHART_WIDTH, CHART_HEIGHT, CHART_DPI = 800, 400, 100
# Bottom to top: done is the base that grows, drafts the backlog still to shape.
BANDS = (
    ("DONE", "Done", "#2eb67d"),
    ("IN_PROGRESS", "In progress", "#36c5f0"),
    ("READY", "Ready", "#ecb22e"),
    ("DRAFT", "Draft", "#c8c8c8"),
)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
DRAW_COMMAND = (sys.executable, "-m", "bot.ui.charts")
DRAW_TIMEOUT = 60  # seconds; the first run builds matplotlib's font cache
# What the child inherits: where Python and matplotlib look, never the app's secrets.
CHILD_ENV = ("PATH", "PYTHONPATH", "HOME", "MPLCONFIGDIR", "TMPDIR", "LANG", "LC_ALL")


class ChartFailed(Exception):
    """The child process drew no chart (it failed, timed out or answered no PNG)."""


def cumulative_flow_png(flow: Any, *, title: str) -> bytes:
    """The flow (its days and stories per status per day) as a stacked-area PNG of
    CHART_WIDTH x CHART_HEIGHT pixels, drawn in a child process. Raises ChartFailed."""
    ask = {
        "title": title,
        "days": [d.isoformat() for d in flow.days],
        "counts": {status: list(flow.counts[status]) for status, _l, _c in BANDS},
    }
    try:
        done = subprocess.run(
            DRAW_COMMAND,
            input=json.dumps(ask).encode(),
            capture_output=True,
            env={name: os.environ[name] for name in CHILD_ENV if name in os.environ},
            timeout=DRAW_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ChartFailed(type(exc).__name__) from None
    if done.returncode != 0 or not done.stdout.startswith(PNG_SIGNATURE):
        raise ChartFailed(f"the chart process exited with {done.returncode}")
    return done.stdout


def draw_png(days: list[date], counts: dict[str, list[int]], title: str) -> bytes:
    """Draw the chart in this process (the child's work; imports matplotlib)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.dates import DateFormatter, DayLocator
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    fig = Figure(figsize=(CHART_WIDTH / CHART_DPI, CHART_HEIGHT / CHART_DPI), dpi=CHART_DPI)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.stackplot(
        days,
        *[counts[status] for status, _label, _color in BANDS],
        labels=[label for _status, label, _color in BANDS],
        colors=[color for _status, _label, color in BANDS],
        alpha=0.9,
    )
    ax.set_title(title, loc="left", fontsize=11)
    ax.set_ylabel("stories")
    ax.set_xlim(days[0], days[-1])
    ax.set_ylim(bottom=0)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.xaxis.set_major_locator(DayLocator(interval=max(1, len(days) // 7)))
    ax.xaxis.set_major_formatter(DateFormatter("%d %b"))
    ax.grid(axis="y", alpha=0.3)
    ax.spines[["top", "right"]].set_visible(False)
    handles, labels = ax.get_legend_handles_labels()
    ax.legend(  # top to bottom, like the bands
        handles[::-1],
        labels[::-1],
        loc="upper left",
        bbox_to_anchor=(1.01, 1),
        fontsize=8,
        frameon=False,
    )
    fig.tight_layout()
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=CHART_DPI, metadata={"Software": None})
    return out.getvalue()


def main() -> int:
    """`python -m bot.ui.charts`: the chart asked for on stdin (JSON), the PNG on stdout."""
    ask = json.load(sys.stdin)
    days = [date.fromisoformat(d) for d in ask["days"]]
    png = draw_png(days, ask["counts"], str(ask["title"]))
    sys.stdout.buffer.write(png)
    return 0


if __name__ == "__main__":
    sys.exit(main())
