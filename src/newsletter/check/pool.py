"""Check many issues at once in processes forked from the checker, as a cold build makes its pages.

The workers are forked, so they share the checker's run (site, build record, indexes) as it is; only
each issue's findings come back.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.pool
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


class IssueChecks:
    """Check *issues*: in *jobs* worker processes started at once, when there are enough issues to be
    worth it, so that this process can do other work while they run; here, one by one, otherwise.

    Iterate to collect each issue with its findings and its images' lines; close to stop the workers.
    """

    def __init__(self, issues: list[Issue], built: bool, jobs: int) -> None:
        self.issues = issues
        self.built = built
        self._pool: multiprocessing.pool.Pool | None = None
        self._results: Iterator[tuple[int, tuple[Problem, ...], ImageLines]] | None = None
        if jobs > 1 and len(issues) >= PARALLEL_MINIMUM:
            self._pool = multiprocessing.get_context("fork").Pool(
                min(jobs, len(issues)), initializer=_adopt, initargs=(_Checking(issues, built),))
            self._results = self._pool.imap_unordered(_check_in_worker, range(len(issues)), chunksize=4)

    def __iter__(self) -> Iterator[tuple[Issue, tuple[Problem, ...], ImageLines]]:
        if self._results is None:
            for issue in self.issues:
                yield issue, *check_issue(issue, self.built)
            return
        for index, found, lines in self._results:
            yield self.issues[index], found, lines

    def close(self) -> None:
        """Stop the workers, if any."""
        if self._pool is not None:
            self._pool.terminate()
            self._pool.join()
            self._pool = None

    def __enter__(self) -> IssueChecks:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
