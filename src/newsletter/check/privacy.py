"""Rules on where the subscriber list lives: personal data that git must never hold.

Git is asked through its own command (``git ls-files``, ``git check-ignore``) when the newsletter
folder is inside a repository; without git, or outside a repository, these rules find nothing.
"""

from __future__ import annotations

import dataclasses
import subprocess
from collections.abc import Iterator
from pathlib import Path

from ..config import SubscribersConfig, find_key_line
from ..layout import CONFIG_NAME
from .context import Run
from .findings import ERROR, WARNING, Hit, Scope, rule


def _git(root: Path, *args: str) -> int | None:
    """Run git in *root* quietly; its exit status, or None when git cannot be run there."""
    try:
        done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, timeout=30, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.returncode


def _in_repository(root: Path) -> bool:
    return _git(root, "rev-parse", "--is-inside-work-tree") == 0


def _list_files(run: Run) -> Iterator[tuple[str, str]]:
    """(config key, file as written) of each file [subscribers] names, when the folder is in git.

    Every text setting of [subscribers] names a file of addresses (the list, the unsubscribes, and
    whatever else the section comes to hold), so each is looked at.
    """
    settings = run.site.config.subscribers or SubscribersConfig()
    named = [(field.name, getattr(settings, field.name)) for field in dataclasses.fields(settings)]
    named = [(key, name) for key, name in named if isinstance(name, str) and name]
    if named and _in_repository(run.root):
        yield from named


def _where(run: Run, key: str) -> tuple[str, int | None]:
    line = find_key_line(run.config_text, key, "subscribers")
    return (CONFIG_NAME, line) if line else (CONFIG_NAME, None)


@rule("subscribers-in-git", ERROR, "git tracks a file named in `[subscribers]`: personal data in the "
                                   "repository", scope=Scope.SITE)
def tracked_lists(run: Run) -> Iterator[Hit]:
    """Report each subscriber or unsubscribe file that git tracks."""
    for key, name in _list_files(run):
        # --error-unmatch makes git say whether the path is tracked through its exit status.
        if _git(run.root, "ls-files", "--error-unmatch", "--", name) == 0:
            path, line = _where(run, key)
            yield Hit(path, line, f"subscribers.{key}: git tracks {name!r}, which holds subscribers' "
                                  f"addresses; run 'git rm --cached {name}', add it to .gitignore and "
                                  "commit (it stays in the history until that is rewritten)")


@rule("subscribers-not-ignored", WARNING, "a file named in `[subscribers]` is not git-ignored, so "
                                          "`git add -A` would commit it", scope=Scope.SITE)
def unignored_lists(run: Run) -> Iterator[Hit]:
    """Report each existing subscriber or unsubscribe file that git neither tracks nor ignores."""
    for key, name in _list_files(run):
        if not (run.root / name).is_file() or _git(run.root, "ls-files", "--error-unmatch", "--", name) == 0:
            continue
        if _git(run.root, "check-ignore", "-q", "--", name) == 1:
            path, line = _where(run, key)
            yield Hit(path, line, f"subscribers.{key}: {name!r} is not in .gitignore; add it, so that "
                                  "the list is never committed by accident")
