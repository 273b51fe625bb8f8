"""The preview's builds: the last good one, the error of the last rebuild, and the epoch pages wait on.

How a build is made is not this module's business: `Builds` is given a builder, a function that
makes build number N and describes what it wrote. The state (build and error) is swapped in one
assignment, and the epoch goes up so that every page waiting for a change is answered.
"""

from __future__ import annotations

import dataclasses
import json
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from ..build.cache import BuiltIssue
from ..errors import NewsletterError, Problem

Report = Callable[..., None]
# Seconds between serving a build and starting its check.
CHECK_DELAY = 0.4


def quiet(*_args: Any, **_kwargs: Any) -> None:
    """Report nothing (the default when no one listens)."""


@dataclass(frozen=True)
class Issue(BuiltIssue):
    """One issue as the preview lists it: as the build made it, with its email's size and warnings.

    *findings* are `newsletter check`'s findings for the issue's post, once the check of its build
    has run (None until then); the preview shows them in place of the build's warnings.
    """

    size: int = 0
    warnings: tuple[str, ...] = ()
    findings: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Build:
    """A finished build in its own folder."""

    number: int
    folder: Path
    site_title: str
    site_url: str
    issues: tuple[Issue, ...]
    warnings: tuple[str, ...]
    seconds: float
    made: int = 0  # units the build remade; 0 when nothing had changed
    problems: tuple[Problem, ...] = ()  # the build's warnings as it returned them, for the check
    checked: bool = False  # the check of this build has run and its findings are on the issues
    findings: tuple[str, ...] = ()  # the check's findings that belong to no issue (config, templates)
    partial: bool = False  # only the saved issues' page and email are in place; the rest follows
    saved: tuple[str, ...] = ()  # in a partial build: the slugs of those issues

    def issue(self, slug: str) -> Issue | None:
        """Return the issue with this slug, if the build has it."""
        return self._by_slug.get(slug)

    @cached_property
    def _by_slug(self) -> dict[str, Issue]:
        return {issue.slug: issue for issue in self.issues}


# Makes build number N and describes it; raises NewsletterError when the newsletter does not build.
# It may show a partial build first, through the function it is given.
Builder = Callable[[int, Callable[["Build"], None]], Build]
# Checks a build and returns it with the findings on it.
Checker = Callable[[Build], Build]


@dataclass(frozen=True)
class State:
    """What the server shows: the last good build, and the error of the last rebuild if it failed."""

    epoch: int = 0
    build: Build | None = None
    error: str = ""

    def to_json(self) -> bytes:
        """Tell a waiting page the epoch, the build it should show, and any error."""
        build = self.build.number if self.build else None
        checked = bool(self.build and self.build.checked)
        partial = bool(self.build and self.build.partial)
        saved = list(self.build.saved) if self.build else []
        return json.dumps({"epoch": self.epoch, "build": build, "checked": checked, "partial": partial,
                           "saved": saved, "error": self.error}).encode("utf-8")


class Builds:
    """The builds of one newsletter, rebuilt on demand by a builder."""

    def __init__(self, builder: Builder, *, report: Report = quiet, checker: Checker | None = None) -> None:
        self.builder = builder
        self.report = report
        self.checker = checker
        self._checking: threading.Thread | None = None
        self._state = State()
        self._changed = threading.Condition()
        self._building = threading.Lock()
        self._closed = False
        self._builds = 0

    @property
    def state(self) -> State:
        """The current state; replaced whole, never changed in place, so it can be read at any time."""
        return self._state

    def rebuild(self) -> State:
        """Build again; on success serve the new build, on failure keep the last good one."""
        with self._building:
            if self._closed:
                return self._state
            number = self._builds + 1
            try:
                build = self.builder(number, self._show_early)
            except NewsletterError as error:
                return self._publish(self._state.build, str(error))
            except Exception as error:  # a bug: show it and keep serving rather than die silently
                self.report(traceback.format_exc().rstrip(), err=True)
                return self._publish(self._state.build, f"internal error while building: "
                                                        f"{type(error).__name__}: {error}")
            self._builds = number
            state = self._publish(build, "")
        if self.checker is not None and self._checking is None:
            self._checking = threading.Thread(target=self._check_builds, name="preview-check", daemon=True)
            self._checking.start()
        return state

    def _show_early(self, build: Build) -> None:
        """Serve the saved issues of a build while the rest of it is made."""
        with self._changed:
            self._state = State(epoch=self._state.epoch + 1, build=build, error="")
            self._changed.notify_all()

    def _unchecked(self) -> Build | None:
        build = self._state.build
        return build if build is not None and not build.checked and not build.partial else None

    def _check_builds(self) -> None:
        """Check each build once it is served, so the page shows at once and its findings follow.

        A build replaced while it was being checked is not shown with the old findings: the next
        round checks the new one.
        """
        assert self.checker is not None
        while True:
            with self._changed:
                self._changed.wait_for(lambda: self._closed or self._unchecked() is not None)
                # The pages that reload on the new build come first: the check shares this process.
                self._changed.wait_for(lambda: self._closed, CHECK_DELAY)
                build = self._unchecked()
                if self._closed:
                    return
            if build is None:
                continue
            try:
                checked = self.checker(build)
            except Exception as error:  # noqa: BLE001 - the preview keeps serving; the panel says why
                if self._closed:
                    return  # stopped on purpose: the preview is closing
                self.report(traceback.format_exc().rstrip(), err=True)
                checked = dataclasses.replace(build, checked=True,
                                              findings=(f"the check failed: {type(error).__name__}: {error}",))
            with self._changed:
                if self._state.build is build:
                    self._state = State(epoch=self._state.epoch + 1, build=checked, error=self._state.error)
                    self._changed.notify_all()

    def _publish(self, build: Build | None, error: str) -> State:
        with self._changed:
            previous = self._state
            self._state = State(epoch=previous.epoch + 1, build=build, error=error)
            self._changed.notify_all()
        if error:
            for line in error.splitlines():
                self.report(f"error: {line}", err=True)
            if build is not None:
                self.report(f"Still serving build {build.number}; fix the problem and save to rebuild.", err=True)
        elif build is not None:
            plural = "issue" if len(build.issues) == 1 else "issues"
            verb = "Built" if build.number == 1 else "Rebuilt"
            self.report(f"{verb} {len(build.issues)} {plural} in {build.seconds:.2f} s.")
        return self._state

    def wait(self, since: int, timeout: float) -> State:
        """Return the state once its epoch differs from *since*, or after *timeout* seconds."""
        with self._changed:
            self._changed.wait_for(lambda: self._state.epoch != since or self._closed, timeout)
            return self._state

    def close(self, stop_checking: Callable[[], None] | None = None) -> None:
        """Answer every waiting page; a build under way finishes first, a check under way is
        stopped by *stop_checking* rather than waited for."""
        with self._changed:
            self._closed = True
            self._changed.notify_all()
        with self._building:
            pass
        if stop_checking is not None:
            stop_checking()
        if self._checking is not None:
            self._checking.join(timeout=30)
