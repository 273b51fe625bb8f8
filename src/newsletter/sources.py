"""Find a newsletter's input files: regular files inside its folder, never hidden ones.

Everything the build reads from ``posts/``, ``static/`` and ``templates/`` is listed here, so
that nothing outside the newsletter folder can reach the output: a link is followed only when it
leads to a file or folder inside the newsletter folder that is not hidden and is not a subscriber
list; special files (FIFOs, devices, sockets) and links that loop are errors. Hidden files and
folders (a name starting with ".") are skipped, as editors' lock and swap files are.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from .errors import Problem, SourceError

# A file's modification time (ns), size and inode: it changed if any of them did.
Stamp = tuple[int, int, int]


def stamp_of(status: os.stat_result) -> Stamp:
    return status.st_mtime_ns, status.st_size, status.st_ino


@dataclass(frozen=True)
class Source:
    """One input file: its path from the newsletter folder, the file to read, and its stamp."""

    relative: str
    real: str
    stamp: Stamp


@dataclass
class _Walk:
    root: str
    private: frozenset[str]
    suffix: str
    recursive: bool
    found: list[Source]
    problems: list[Problem]


def scan(root: Path, folder: str, *, suffix: str = "", recursive: bool = True,
         private: tuple[str, ...] = ()) -> list[Source]:
    """Every regular file under *root*/*folder* ending in *suffix*, sorted by path.

    *private* names files (relative to *root*) that a link must never lead to, such as the
    subscriber list. Raise ``SourceError`` listing every link or file that may not be read.
    """
    top = root / folder
    if not top.is_dir() and not top.is_symlink():
        return []
    real_root = os.path.realpath(root)
    walk = _Walk(real_root, frozenset(os.path.realpath(root / name) for name in private if name), suffix,
                 recursive, [], [])
    _visit_folder(walk, str(top), folder, frozenset())
    if walk.problems:
        raise SourceError(problems=walk.problems)
    walk.found.sort(key=lambda source: source.relative)
    return walk.found


def _visit_folder(walk: _Walk, path: str, relative: str, above: frozenset[str]) -> None:
    real = os.path.realpath(path)
    if os.path.islink(path):
        if not _leads_inside(walk, relative, real):
            return
        if real in above or real == walk.root:
            walk.problems.append(Problem(relative, "a link back to a folder that holds it, so it never ends; "
                                         "remove the link"))
            return
    try:
        entries = sorted(os.scandir(path), key=lambda entry: entry.name)
    except OSError as error:
        walk.problems.append(Problem(relative, f"cannot be listed: {error.strerror}"))
        return
    inside = above | {real}
    for entry in entries:
        if entry.name.startswith("."):
            continue
        _visit(walk, entry, f"{relative}/{entry.name}", inside)


def _visit(walk: _Walk, entry: os.DirEntry[str], relative: str, above: frozenset[str]) -> None:
    try:
        status = os.stat(entry.path)
    except OSError:
        if entry.is_symlink():
            walk.problems.append(Problem(relative, "a link to a file that does not exist; remove it or point it "
                                         "at a file inside the newsletter folder"))
        else:
            walk.problems.append(Problem(relative, "cannot be read; check its permissions"))
        return
    if stat.S_ISDIR(status.st_mode):
        if walk.recursive:
            _visit_folder(walk, entry.path, relative, above)
        return
    if not entry.name.endswith(walk.suffix):
        return
    real = os.path.realpath(entry.path) if entry.is_symlink() else entry.path
    if entry.is_symlink() and not _leads_inside(walk, relative, real):
        return
    if not stat.S_ISREG(status.st_mode):
        walk.problems.append(Problem(relative, "not a regular file (a FIFO, socket or device); "
                                     "remove it from the newsletter folder"))
        return
    walk.found.append(Source(relative, real, stamp_of(status)))


def _leads_inside(walk: _Walk, relative: str, real: str) -> bool:
    """Whether a link at *relative* leading to *real* may be followed; note the problem if not."""
    inside = os.path.relpath(real, walk.root)
    if inside == ".." or inside.startswith(".." + os.sep) or os.path.isabs(inside):
        walk.problems.append(Problem(relative, "a link to something outside the newsletter folder, which is "
                                     "never published; copy the file in instead"))
        return False
    if any(part.startswith(".") for part in inside.split(os.sep)) or real in walk.private:
        walk.problems.append(Problem(relative, f"a link to {inside.replace(os.sep, '/')}, which is private "
                                     "(hidden, or a subscriber list) and never published; remove the link"))
        return False
    return True
