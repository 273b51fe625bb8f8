"""The preview's builder: the build engine making the preview's own folder, described issue by issue."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import replace
from multiprocessing.pool import Pool
from pathlib import Path
from typing import TYPE_CHECKING

from ..build.cache import BuiltIssue, HeldCache
from ..build.engine import BuildResult, Target
from ..build.engine import build as build_site
from ..config import Config, load_config
from ..errors import Problem
from ..layout import EMAIL_DIR, PREVIEW_DIR
from .state import Build, Issue

if TYPE_CHECKING:
    from ..check.findings import Report
    from ..outputs.inline import WarmPremailer


def preview_target(root: Path, *, drafts: bool = True) -> Target:
    """The preview's folder and cache under .newsletter/, kept between runs so that a restart is warm.

    Scheduled posts are always built: the preview is where they are checked before their time.
    """
    folder = root / PREVIEW_DIR
    return Target(folder / "site", folder / "cache", drafts=drafts, scheduled=True)


class EngineBuilder:
    """Builds of the newsletter in *root*: each call brings the preview's folder up to date.

    *commit* is held while new files are moved into the folder; readers hold it too, so that no
    page is served from half of a build. A premailer process is kept warm between builds, so that
    a save's email is inlined at once, and the build cache is held in memory, so that a save's
    build does not read it back from disk.
    """

    def __init__(self, root: Path, *, drafts: bool = True, commit: AbstractContextManager[object] | None = None,
                 jobs: int | None = None) -> None:
        self.root = root
        self.target = preview_target(root, drafts=drafts)
        self.commit = commit or nullcontext()
        self.jobs = jobs
        self.premailer: WarmPremailer | None = None
        self.held = HeldCache()
        # The last build's issues as described, by slug, with what the build said of each.
        self._issues: dict[str, tuple[BuiltIssue, Issue]] = {}
        self._checking: Pool | None = None
        self._closed = False

    def __call__(self, number: int, early: Callable[[Build], None] | None = None) -> Build:
        """Bring the preview's folder up to date as build *number*.

        After a save, *early* is given the build as soon as the saved issue's page and email are in
        place (marked partial), before the lists, tag pages and feeds are remade.
        """
        root, target = self.root, self.target
        config = load_config(root)
        from ..outputs.inline import WarmPremailer, uses_premailer  # with the renderers, when a build needs them

        if self.premailer is None and uses_premailer(config):
            self.premailer = WarmPremailer(config)
        tell = None if early is None else (lambda first: early(self._described(number, config, first, partial=True)))
        result = build_site(root, target=target, commit=self.commit, jobs=self.jobs, premailer=self.premailer,
                            early=tell, held=self.held)
        return self._described(number, config, result)

    def _described(self, number: int, config: Config, result: BuildResult, *, partial: bool = False) -> Build:
        shown = {issue.source for issue in result.built}
        by_source: dict[str, list[str]] = {}
        for warning in result.warnings:
            by_source.setdefault(str(warning.path), []).append(str(warning))
        # Strings, not Path objects: this runs twice a save, over every issue, before the page reloads.
        emails = os.path.join(self.target.out, EMAIL_DIR)
        # Before the rest of a build, only the saved issues' emails have changed since the last one.
        known = self._issues if partial else {}
        issues = []
        for made in result.built:
            own = tuple(by_source.get(made.source, ()))
            last = known.get(made.slug)
            if last is not None and made.slug not in result.saved and last[0] == made and last[1].warnings == own:
                issues.append(last[1])
                continue
            # The same measure as the build's own warning about Gmail's clip.
            size = _size(os.path.join(emails, f"{made.slug}.html"))
            issues.append(Issue(**vars(made), size=size, warnings=own))
        self._issues = {made.slug: (made, issue) for made, issue in zip(result.built, issues, strict=True)}
        general = tuple(str(warning) for warning in result.warnings if str(warning.path) not in shown)
        return Build(number=number, folder=self.target.out, site_title=config.site.title, site_url=config.site.url,
                     issues=tuple(issues), warnings=general, seconds=result.seconds, made=result.made,
                     problems=result.warnings, partial=partial, saved=result.saved)

    def check(self, build: Build) -> Build:
        """Run `newsletter check` over *build*: the same findings, on each issue they belong to.

        The check runs in a process of its own, at a lower priority, so that it never holds up the
        next save's build or the pages being served (a thread here would share their interpreter).
        Closing the builder stops a check under way: Ctrl-C never waits for one.
        """
        if self._checking is None:
            self._checking = multiprocessing.get_context("spawn").Pool(1, initializer=_lower_priority)
        pending = self._checking.apply_async(_check_built, (self.root, self.target, build.problems))
        while not pending.ready():
            if self._closed:
                raise CheckStopped("the preview closed before its check was done")
            pending.wait(0.2)
        report = pending.get()
        by_path: dict[str, list[str]] = {}
        for finding in report.findings:
            by_path.setdefault(str(finding.path), []).append(_shown(finding))
        issues = tuple(replace(issue, findings=tuple(by_path.pop(issue.source, ()))) for issue in build.issues)
        general = tuple(f"{path}: {text}" for path, found in sorted(by_path.items()) for text in found)
        return replace(build, issues=issues, findings=general, checked=True)

    def close(self) -> None:
        self._closed = True
        if self.premailer is not None:
            self.premailer.stop()
            self.premailer = None
        if self._checking is not None:
            self._checking.terminate()  # a check under way is of no use to a preview that is closing
            self._checking.join()
            self._checking = None


class CheckStopped(Exception):
    """The preview closed while one of its builds was being checked."""


def _check_built(root: Path, target: Target, problems: tuple[Problem, ...]) -> Report:
    """check_built in the checking process, which alone loads the check's rules."""
    from ..check.runner import check_built

    return check_built(root, target, problems, jobs=1)


def _size(path: str) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0


def _lower_priority() -> None:
    """Let the preview's own process come first when both want the processor."""
    with contextlib.suppress(AttributeError, OSError):
        os.nice(10)


def _shown(finding: Problem) -> str:
    """A finding as the preview's panel lists it: the file is the issue's own, so the line comes first."""
    where = f"line {finding.line}: " if finding.line else ""
    return f"{where}{finding.severity}: {finding.rule}: {finding.message}"


def site_builder(root: Path, *, drafts: bool = True, commit: AbstractContextManager[object] | None = None,
                 jobs: int | None = None) -> EngineBuilder:
    """Make a builder of the newsletter in *root* (see EngineBuilder)."""
    return EngineBuilder(root, drafts=drafts, commit=commit, jobs=jobs)
