"""One newsletter's preview without its server: its builds and the answer to every request for them."""

from __future__ import annotations

import threading
from pathlib import Path

from ..layout import PREVIEW_DIR
from .builder import site_builder
from .routes import Response, Routes
from .state import Builds, Report, State, quiet


class Preview:
    """The newsletter's last good build, rebuilt on demand, and the answer to every request for it."""

    def __init__(self, root: Path, *, drafts: bool = True, report: Report = quiet) -> None:
        self.root = root.absolute()
        self.drafts = drafts
        self.report = report
        # Held while a build moves its files in, and while a request reads one.
        self.files = threading.Lock()
        self.builder = site_builder(self.root, drafts=drafts, commit=self.files)
        self.builds = Builds(self.builder, report=report, checker=self.builder.check)
        self.routes = Routes(self.builds, self.root, files=self.files)

    @property
    def workspace(self) -> Path:
        """The folder under .newsletter/ that holds the preview's build and its cache."""
        return self.root / PREVIEW_DIR

    @property
    def state(self) -> State:
        """The current state; replaced whole, never changed in place, so it can be read at any time."""
        return self.builds.state

    def rebuild(self) -> State:
        """Build again; on success serve the new build, on failure keep the last good one."""
        return self.builds.rebuild()

    def wait(self, since: int, timeout: float) -> State:
        """Return the state once its epoch differs from *since*, or after *timeout* seconds."""
        return self.builds.wait(since, timeout)

    def respond(self, target: str) -> Response:
        """Answer a GET for *target* (the request line's path and query)."""
        return self.routes.respond(target)

    def close(self) -> None:
        """Answer every waiting page; stop the builder's helper process."""
        self.builds.close(stop_checking=self.builder.close)
        self.builder.close()
