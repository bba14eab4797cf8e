"""Pages kept in memory: a repeated `/story list` of a project, answered without its queries.

A first page of a project's stories is kept under the project's content version (a new
random stamp with every change to its stories, given by triggers in the change's own
transaction: migration 0007), its names and the list's filters. A later list of the same
project reads the project's row (which it reads anyway to find the project) and, if the
version is still the page's, answers with the kept page, and with the Block Kit already
made of it (bot.ui.replies). So a kept page is never stale: any change to the project's
stories, by this process or another (a replica, the scheduler, an import, a restore), gives
the project another version and the old page is never asked for again.

Only pages read in a read transaction are kept: a write's session sees its own changes,
which may still be rolled back, under the version it read before them.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

Page = TypeVar("Page")

# a page keeps its 10 story views (descriptions included) and, while it is kept, its Block
# Kit (about 5 kB): some tens of MB at the very most
KEPT_PAGES = 512


class KeptPages(Generic[Page]):
    """The most recently used pages, at most `size`, safe to share between threads."""

    def __init__(self, size: int = KEPT_PAGES) -> None:
        self._size = size
        self._pages: OrderedDict[Hashable, Page] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, make: Callable[[], Page]) -> Page:
        """The page kept under `key`, else `make()`'s, kept. Two threads missing the same key
        at once both make it; the pages are the same, the last one is kept."""
        with self._lock:
            page = self._pages.get(key)
            if page is not None:
                self._pages.move_to_end(key)
                return page
        page = make()
        with self._lock:
            self._pages[key] = page
            if len(self._pages) > self._size:
                self._pages.popitem(last=False)
        return page
