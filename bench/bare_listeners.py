"""The bare apps' one listener on every request (bench/bare_app.py, bench/bare_async_app.py),
in a module of its own so neither server's memory counts the other's imports."""

from __future__ import annotations

import re
from typing import Any


def answering_everything(app: Any, listener: Any) -> Any:
    """`app` (Bolt's App or AsyncApp) with `listener` on every request the app receives."""
    for command in ("/story", "/project", "/autodev"):
        app.command(command)(listener)
    app.action(re.compile(".*"))(listener)
    app.view(re.compile(".*"))(listener)
    app.shortcut(re.compile(".*"))(listener)
    return app
