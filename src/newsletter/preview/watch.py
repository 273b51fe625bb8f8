"""Watching the newsletter's sources (with watchfiles, imported here only) and rebuilding after each burst.

Two watchers report changes: the newsletter folder itself, not recursively (``newsletter.toml``,
``manifest.json``, the folders below appearing or going), and ``posts/``, ``templates/`` and
``static/`` recursively. A third thread gathers a burst of changes into one rebuild.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import watchfiles

from ..layout import CONFIG_NAME, MANIFEST_NAME, POSTS_DIR, SNIPPETS_DIR
from ..render.inputs import LOCALES_DIR
from .state import Report

WATCHED_FOLDERS = (POSTS_DIR, "templates", "static", SNIPPETS_DIR, LOCALES_DIR)
WATCHED_FILES = (CONFIG_NAME, MANIFEST_NAME)
# Editors write a file in several steps (truncate, write, rename); changes closer together than
# this are one save.
SETTLE_SECONDS = 0.02

Changes = set[tuple[watchfiles.Change, str]]


class _Either:
    """Set when any of its events is set; watchfiles only asks is_set()."""

    def __init__(self, *events: threading.Event) -> None:
        self.events = events

    def is_set(self) -> bool:
        return any(event.is_set() for event in self.events)


class Watcher:
    """Watch the newsletter's sources in *root* and call *rebuild* after each burst of changes."""

    def __init__(self, root: Path, rebuild: Callable[[], object], report: Report) -> None:
        self.root = root
        self.rebuild = rebuild
        self.report = report
        self.stop = threading.Event()
        self._refolder = threading.Event()
        self._changes: queue.Queue[Changes] = queue.Queue()
        self._ready = {name: threading.Event() for name in ("root", "folders")}
        self._threads = [
            threading.Thread(target=self._guarded, args=(self._watch_root,), name="preview-watch-root", daemon=True),
            threading.Thread(target=self._guarded, args=(self._watch_folders,), name="preview-watch-folders",
                             daemon=True),
            threading.Thread(target=self._guarded, args=(self._rebuild_loop,), name="preview-builder", daemon=True),
        ]

    def start(self, timeout: float = 5.0) -> None:
        """Start watching; return once changes from now on will be seen."""
        for thread in self._threads:
            thread.start()
        for ready in self._ready.values():
            ready.wait(timeout)

    def close(self) -> None:
        """Stop watching; a build under way is finished first."""
        self.stop.set()
        for thread in self._threads:
            thread.join(timeout=10)

    def _guarded(self, work: Callable[[], None]) -> None:
        # Without this a watcher that cannot start (too many watches, a folder gone) would fail
        # silently and leave pages waiting for reloads that never come.
        try:
            work()
        except Exception as error:
            self.report(f"error: cannot watch for changes any more ({type(error).__name__}: {error}); "
                        "restart the preview to get live reload back", err=True)
        finally:
            for ready in self._ready.values():
                ready.set()

    def _watch(self, paths: list[Path], ready: threading.Event, stop: Any, recursive: bool,
               keep: Callable[[watchfiles.Change, str], bool]) -> Iterator[Changes]:
        # Changes are handed over 15 ms after the last one of a burst. The first empty yield (on
        # rust_timeout) tells that the watches are in place.
        for changes in watchfiles.watch(*paths, watch_filter=keep, debounce=400, step=15,
                                        rust_timeout=200, yield_on_timeout=True, stop_event=stop,
                                        recursive=recursive, raise_interrupt=False):
            ready.set()
            if changes:
                yield changes

    def _watch_root(self) -> None:
        names = {*WATCHED_FILES, *WATCHED_FOLDERS}

        def keep(change: watchfiles.Change, path: str) -> bool:
            return Path(path).name in names and Path(path).parent == self.root

        appear_or_go = (watchfiles.Change.added, watchfiles.Change.deleted)
        for changes in self._watch([self.root], self._ready["root"], self.stop, False, keep):
            if any(change in appear_or_go and Path(path).name in WATCHED_FOLDERS for change, path in changes):
                self._refolder.set()
            self._changes.put(changes)

    def _watch_folders(self) -> None:
        default = watchfiles.DefaultFilter()
        while not self.stop.is_set():
            self._refolder.clear()
            folders = [self.root / name for name in WATCHED_FOLDERS if (self.root / name).is_dir()]
            if not folders:
                self._ready["folders"].set()
                while not (self.stop.is_set() or self._refolder.wait(0.2)):
                    pass
                continue
            stop = _Either(self.stop, self._refolder)
            for changes in self._watch(folders, self._ready["folders"], stop, True, default):
                self._changes.put(changes)

    def _rebuild_loop(self) -> None:
        while not self.stop.is_set():
            try:
                self._changes.get(timeout=0.2)
            except queue.Empty:
                continue
            # Take the rest of the burst (both watchers may report the same save) before building.
            while True:
                try:
                    self._changes.get(timeout=SETTLE_SECONDS)
                except queue.Empty:
                    break
            if not self.stop.is_set():
                self.rebuild()
