"""Make a build's units into a staging folder and move them into the output folder.

The engine (engine.py) decides what to make; this module makes it, in worker processes when
there are many units, and commits the result: a whole new folder swapped in, or the changed
files of an incremental build moved into place (tree.py), with the record of what is there.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path

from ..errors import BuildError, Problem
from ..files import write_atomically
from ..outputs.units import Unit, digest
from ..site import Site
from .cache import BuildCache, BuildRecord, UnitRecord
from .pool import make_in_workers, make_unit
from .tree import MARKER, Staging, Written, marker_text, move_in, output_stamps, swap_in

Progress = Callable[[int, int], None]


# Below this many heavy units a pool of processes costs more than it saves.
PARALLEL_MINIMUM = 24


def make_units(site: Site, staging: Staging, units: list[Unit],
                jobs: int) -> Iterator[tuple[Unit, list[Written], list[Problem]]]:
    """Make and stage each unit: heavy ones in a pool of processes, if worth it, while this one makes the rest."""
    heavy = [unit for unit in units if unit.heavy]
    light = [unit for unit in units if not unit.heavy]
    if jobs > 1 and heavy and (len(heavy) >= PARALLEL_MINIMUM or any(unit.slow_start for unit in heavy)):
        yield from make_in_workers(heavy, light, site, staging, jobs)
    else:
        for unit in units:
            yield unit, *make_unit(unit, site, staging)


def make_and_commit(site: Site, out: Path, cache: BuildCache, units: list[Unit] | None, todo: list[Unit],
                     last: BuildRecord | None, jobs: int, progress: Progress | None,
                     commit: AbstractContextManager[object], notes: list[Problem], damaged: set[str],
                    save: bool = True) -> BuildRecord:
    """Make *todo* into a staging folder, move the build into place and record it in the cache.

    The build holds *units*: those not in *todo* are kept as the *last* build made them. With
    *units* None (the first part of a build in two) it holds every unit of the last build too.

    Outputs in *damaged* (changed or deleted in the folder since) are written again. A cache that
    cannot be written is a warning added to *notes*: the build itself is complete. Without *save*
    (the first part of a build in two) the cache keeps the last record; should the build stop
    before its second part, the next one sees the folder changed and writes it whole.
    """
    staging = Staging(out.parent / f".{out.name}.new-{os.getpid()}",
                      {path: hashed for path, hashed in last.hashes.items() if path not in damaged}
                      if last is not None else {})
    shutil.rmtree(staging.folder, ignore_errors=True)
    try:
        staging.folder.mkdir(parents=True)
        record, staged = _make(site, staging, out, units, todo, last, jobs, progress)
        with commit:
            _commit(staging.folder, out, record, last, staged)
        kept = last.stamps if last is not None else {}
        fresh = set(staged)
        record.stamps = {path: kept[path] for path in record.hashes if path in kept and path not in fresh}
        record.stamps.update(output_stamps(out, (path for path in record.hashes if path not in record.stamps)))
    except OSError as error:
        shutil.rmtree(staging.folder, ignore_errors=True)
        raise BuildError(problems=[Problem(error.filename or out,
                                           f"cannot write the build: {error.strerror}")]) from None
    except BaseException:
        shutil.rmtree(staging.folder, ignore_errors=True)
        raise
    try:
        if save:
            cache.save(record)
    except OSError as error:
        notes.append(unsaved(cache.folder, error))
    return record


def _make(site: Site, staging: Staging, out: Path, units: list[Unit] | None, todo: list[Unit],
          last: BuildRecord | None, jobs: int, progress: Progress | None) -> tuple[BuildRecord, list[str]]:
    """Make the units in *todo* into *staging*; keep the others' records from the *last* build."""
    record = BuildRecord(build_id="", out=str(out.resolve()))
    staged: list[str] = []
    for done, (unit, written, warnings) in enumerate(make_units(site, staging, todo, jobs), start=1):
        for output in written:
            record.hashes[output.path] = output.content
            if output.staged:
                staged.append(output.path)
        record.units[unit.name] = UnitRecord(unit.key, tuple(output.path for output in written), tuple(warnings))
        if progress is not None:
            progress(done, len(todo))
    # With no *units* (the first part of a build in two), every unit of the last build stays.
    names = list(last.units) if units is None and last is not None else [unit.name for unit in units or ()]
    for name in names:
        # A unit that is new and not made yet (the second part of a build in two) has nothing to keep.
        if name not in record.units and last is not None and name in last.units:
            kept = last.units[name]
            record.units[name] = kept
            record.hashes.update({path: last.hashes[path] for path in kept.paths})
    _refuse_duplicates(record)
    # Named after the content, so that the same posts still give byte-identical output.
    record.build_id = digest(*sorted(record.hashes.items()))
    return record, staged


def _commit(staging: Path, out: Path, record: BuildRecord, last: BuildRecord | None, staged: list[str]) -> None:
    """Swap a whole new build in, or move the changed files of an incremental one into place."""
    if last is None:
        write_atomically(staging / MARKER, marker_text(record.build_id))
        swap_in(staging, out)
        return
    removed = sorted(set(last.hashes) - set(record.hashes))
    # Moving files in marks the folder unfinished first; the marker names the build again last.
    if record.build_id != last.build_id or staged or removed:
        write_atomically(staging / MARKER, marker_text(record.build_id))
        staged.append(MARKER)
    move_in(staging, out, staged, removed)


def unsaved(cache_folder: Path, error: OSError) -> Problem:
    """The warning for a build written whole whose cache could not be: the next build starts afresh."""
    return Problem(cache_folder, f"cannot write the build cache: {error.strerror}; the build is complete, "
                                 "the next one will remake everything")


def _refuse_duplicates(record: BuildRecord) -> None:
    owners: dict[str, str] = {}
    for name, unit in record.units.items():
        for path in unit.paths:
            if path in owners:
                raise BuildError(f"two outputs want the same path {path}; rename one of the posts or static files")
            owners[path] = name
