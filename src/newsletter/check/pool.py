"""Check many issues at once in processes forked from the checker, as a cold build makes its pages.

The workers are forked, so they share the checker's run (site, build record, indexes) as it is; only
each issue's findings come back.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator
from dataclasses import dataclass

from ..errors import Problem
from .context import Issue
from .findings import Scope, checks

# Fewer issues than this are checked in this process: starting workers costs more than it saves.
PARALLEL_MINIMUM = 24

ImageLines = dict[str, int | None]


def check_issue(issue: Issue, built: bool) -> tuple[tuple[Problem, ...], ImageLines]:
    """Run every per-issue rule on *issue* (with those on its email and pages when it was *built*)."""
    found: list[Problem] = []
    for check in checks(Scope.ISSUE):
        found += check.function(issue.run, issue)
    lines = {image.src: image.line for image in issue.images}
    issue.run.image_lines[issue.path] = lines  # rules on the built email read them
    if built:
        for check in checks(Scope.BUILT_ISSUE):
            found += check.function(issue.run, issue)
    return tuple(found), lines


@dataclass(frozen=True)
class _Checking:
    issues: list[Issue]
    built: bool


# Set in a worker process when it starts (never in the checker): the issues it checks.
_task: _Checking | None = None


def _adopt(task: _Checking) -> None:
    global _task
    _task = task


def _check_in_worker(index: int) -> tuple[int, tuple[Problem, ...], ImageLines]:
    assert _task is not None
    return index, *check_issue(_task.issues[index], _task.built)


def check_issues(issues: list[Issue], built: bool, jobs: int) -> Iterator[tuple[Issue, tuple[Problem, ...],
                                                                               ImageLines]]:
    """Check each issue, in *jobs* worker processes when there are enough of them to be worth it."""
    if jobs <= 1 or len(issues) < PARALLEL_MINIMUM:
        for issue in issues:
            yield issue, *check_issue(issue, built)
        return
    context = multiprocessing.get_context("fork")
    with context.Pool(min(jobs, len(issues)), initializer=_adopt, initargs=(_Checking(issues, built),)) as pool:
        for index, found, lines in pool.imap_unordered(_check_in_worker, range(len(issues)), chunksize=4):
            yield issues[index], found, lines
