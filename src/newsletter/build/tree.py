"""The output folder: staging new files beside it, then swapping or moving them in, and its marker.

Nothing is written into the output folder until every unit has been made without error. A cold
build swaps a complete staging folder in whole; an incremental one moves each new file into
place with an atomic rename. Either way a failed build leaves the previous output as it was.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from ..errors import BuildError, Problem
from ..files import write_atomically
from ..layout import POSTS_DIR, STATIC_DIR, TEMPLATES_DIR
from ..outputs.units import Output

# Written into every build; an existing folder without it is never replaced.
MARKER = ".newsletter-build"
# What the marker says while an incremental build moves its files in: a build stopped then left a
# folder that is ours but holds no one build, and the next build writes all of it again.
_UNFINISHED = "unfinished"


@dataclass(frozen=True)
class Written:
    """What a unit's output became: its path, the digest of its bytes, whether it was staged."""

    path: str
    content: str
    staged: bool


@dataclass
class Staging:
    """A folder beside the output that receives the outputs whose bytes changed since the last build."""

    folder: Path
    last_hashes: dict[str, str] = field(default_factory=dict)
    # Thousands of outputs share a few folders: ask the file system once for each.
    _made: set[Path] = field(default_factory=set, init=False, repr=False)

    def put(self, output: Output) -> Written:
        """Stage *output* if its bytes differ from the last build's; say what it became."""
        check_path(output.path)
        path = output.path.as_posix()
        content = content_digest(output)
        staged = self.last_hashes.get(path) != content
        if staged:
            self.write(output)
        return Written(path, content, staged)

    def write(self, output: Output) -> None:
        target = self.folder.joinpath(*output.path.parts)
        if target.parent not in self._made:
            target.parent.mkdir(parents=True, exist_ok=True)
            self._made.add(target.parent)
        if output.source is not None:
            shutil.copyfile(output.source, target)
        else:
            target.write_bytes(output.data)


def content_digest(output: Output) -> str:
    if output.source is not None:
        with open(output.source, "rb") as source:
            return hashlib.file_digest(source, "sha256").hexdigest()[:32]
    return hashlib.sha256(output.data).hexdigest()[:32]


def output_stamps(out: Path, paths: Iterable[str]) -> dict[str, str]:
    """The size and modification time of each of *paths* in *out* ("size:mtime"), to notice edits by hand."""
    # Joined as text: a build stats every output, and a Path per file costs more than the stat.
    base = os.fspath(out)
    stamps = {}
    for path in paths:
        try:
            found = os.stat(f"{base}/{path}")
        except OSError:
            continue
        stamps[path] = f"{found.st_size}:{found.st_mtime_ns}"
    return stamps


def damaged_outputs(out: Path, stamps: dict[str, str]) -> set[str]:
    """The outputs in *out* deleted or changed (size or modification time) since their *stamps*."""
    now = output_stamps(out, stamps)
    return {path for path, stamp in stamps.items() if now.get(path) != stamp}


def check_path(path: PurePosixPath) -> None:
    """Refuse an output path that could leave the output folder."""
    if path.is_absolute() or ".." in path.parts or not path.parts or str(path).startswith("~"):
        raise BuildError(f"refusing to write {str(path)!r}: outside the output folder")


def check_out(root: Path, out: Path) -> None:
    """Refuse an output folder that is the newsletter's own, or one that a build did not make."""
    resolved_root, resolved_out = root.resolve(), out.resolve()
    if resolved_out == resolved_root or resolved_out in resolved_root.parents:
        raise BuildError(problems=[Problem(out, "the output folder cannot be the newsletter folder or one above "
                                                "it; use a folder of its own like 'dist'")])
    for name in (POSTS_DIR, STATIC_DIR, TEMPLATES_DIR):
        inputs = resolved_root / name
        if resolved_out == inputs or inputs in resolved_out.parents:
            raise BuildError(problems=[Problem(out, f"the output folder cannot be inside {name}/, which the build "
                                                    "reads (each build would be published again inside the next); "
                                                    "use a folder of its own like 'dist'")])
    if out.exists() and not out.is_dir():
        raise BuildError(problems=[Problem(out, "exists and is not a folder; remove it or choose another --out")])
    if out.is_dir() and any(out.iterdir()) and not (out / MARKER).exists():
        raise BuildError(problems=[Problem(out, "exists and was not made by 'newsletter build'; "
                                                "remove it or choose another --out")])


def marker_id(out: Path) -> str:
    """The id of the build in *out*, or '' when it has no complete build."""
    try:
        found = (out / MARKER).read_text(encoding="utf-8").split()[0]
    except (OSError, IndexError, UnicodeDecodeError):
        return ""
    return "" if found == _UNFINISHED else found


def remove_stale_staging(out: Path) -> None:
    """Remove the staging and retired folders that builds stopped before their end left beside *out*."""
    for folder in out.parent.glob(f".{out.name}.*-*"):
        kind, _, pid = folder.name[len(out.name) + 2:].rpartition("-")
        if kind in ("new", "old") and pid.isdigit() and not _running(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)


def _running(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def marker_text(build_id: str) -> bytes:
    return f"{build_id}\nThis folder is written by 'newsletter build'; edits to it are overwritten.\n".encode()


def swap_in(staging: Path, out: Path) -> None:
    """Replace *out* with the complete new build in *staging*."""
    retired = out.parent / f".{out.name}.old-{os.getpid()}"
    if out.exists():
        out.rename(retired)
    staging.rename(out)
    shutil.rmtree(retired, ignore_errors=True)


def move_in(staging: Path, out: Path, staged: list[str], removed: list[str]) -> None:
    """Move each new file into *out* with an atomic rename; delete the files no longer made.

    The marker says "unfinished" first and names the new build last: a build stopped half-way
    leaves a folder the next build recognises as its own and writes whole again, instead of
    trusting a half-updated folder or refusing it.
    """
    if staged or removed:
        write_atomically(out / MARKER, f"{_UNFINISHED}\n".encode())
    # Deleted first: the marker, moved in last, must find nothing of the last build left over.
    for path in removed:
        target = out / path
        target.unlink(missing_ok=True)
        for folder in target.parents:
            if folder == out or any(folder.iterdir()):
                break
            folder.rmdir()
    for path in staged:
        target = out / path
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staging / path, target)
    shutil.rmtree(staging, ignore_errors=True)
