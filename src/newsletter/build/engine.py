"""Build the whole site, remaking only what changed: decide here, make in phases.py.

Every output belongs to a unit (outputs.units.Unit) whose key covers all of its inputs. A build
first compares a fingerprint of every input file with the last build's (the quick record): with
nothing changed it is done, having loaded none of the renderers. Otherwise phases.py makes again
only the units whose key changed, writes only the files whose bytes changed (tree.py stages them
and moves them in), and deletes the files no unit makes any more. Heavy units (emails, issue
pages) and Markdown go to worker processes (pool.py) when there are many.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from ..config import Config, load_config, now_in
from ..errors import Problem, SourceError
from ..layout import CACHE_DIR, DEFAULT_OUT, FEED_ARCHIVE_NAME, POSTS_DIR, SNIPPETS_DIR, STATIC_DIR, TEMPLATES_DIR
from ..outputs.units import digest
from ..render.inputs import LOCALES_DIR, builtin_templates
from ..sources import Source, Stamp, scan, stamp_of
from .cache import BuiltIssue, read_quick_record
from .keys import code_digest
from .tree import check_out, damaged_outputs, marker_id, remove_stale_staging

if TYPE_CHECKING:
    from ..outputs.inline import WarmPremailer
    from ..site import Site
    from .cache import BuildCache, HeldCache
    from .making import Progress


@dataclass(frozen=True)
class BuildResult:
    out: Path
    built: tuple[BuiltIssue, ...]
    files: int
    made: int
    warnings: tuple[Problem, ...]
    seconds: float
    # Given to *early* only: the slugs of the saved issues whose files are in place before the rest.
    saved: tuple[str, ...] = ()
    # The site and cache the build loaded, for a caller that goes on to read them (check); None
    # when nothing changed and the build loaded neither.
    loaded: tuple[Site, BuildCache] | None = field(default=None, compare=False, repr=False)

    @property
    def issues(self) -> int:
        return len(self.built)


# Told what is in place once the saved issue's own files are, before the rest of the build.
Early = Callable[[BuildResult], None]


@dataclass(frozen=True)
class Target:
    """What a build makes and where: the output folder, its cache folder, which posts it includes.

    ``newsletter build`` makes dist/ with .newsletter/cache; the preview makes its own folder with
    a cache of its own, drafts and scheduled posts included, so neither undoes the other's work.
    """

    out: Path
    cache: Path
    drafts: bool = False
    scheduled: bool = False


@dataclass(frozen=True)
class Inputs:
    """Every input file, listed once for a whole build: by folder, and each one's stamp by path."""

    scanned: dict[str, list[Source]]
    stamps: dict[str, Stamp | None]


def scan_inputs(config: Config) -> Inputs:
    """List posts/, static/ and templates/ (and the built-in templates' stamps).

    Raise ``SourceError`` for every link that leads outside the newsletter folder, loop or FIFO.
    """
    scanned: dict[str, list[Source]] = {}
    stamps: dict[str, Stamp | None] = {}
    problems: list[Problem] = []
    root = str(config.root)
    for folder in (POSTS_DIR, STATIC_DIR, TEMPLATES_DIR, SNIPPETS_DIR, LOCALES_DIR):
        try:
            scanned[folder] = scan(config.root, folder, private=config.private_files)
        except SourceError as error:
            problems.extend(error.problems)
            continue
        for source in scanned[folder]:
            stamps[os.path.join(root, source.relative)] = source.stamp
    if problems:
        raise SourceError(problems=problems)
    # The order issues were first published in decides what the feeds hold, like a post.
    record = config.root / FEED_ARCHIVE_NAME
    if record.exists():
        stamps[str(record)] = stamp_of(record.stat())
    # Strings and os.walk, not Path objects: at 10,000 posts making them costs a tenth of a second.
    for parent, _, names in os.walk(str(builtin_templates())):
        for name in names:
            path = os.path.join(parent, name)
            stamps[path] = stamp_of(os.stat(path))
    return Inputs(scanned, stamps)


def input_fingerprint(config: Config, target: Target, stamps: dict[str, Stamp | None]) -> str:
    """A key over every input file's *stamps*, the config, the code, and how we build.

    Equal fingerprints (and no scheduled post come due) mean the last build's output is still right.
    """
    config_stamp = config.path.stat()
    return digest(code_digest(), target.out.resolve(), target.drafts, target.scheduled, config.path,
                  config_stamp.st_mtime_ns, config_stamp.st_size, config_stamp.st_ino, *sorted(stamps.items()))


def build(root: Path, out: Path | None = None, *, drafts: bool = False, now: datetime | None = None,
          clean: bool = False, jobs: int | None = None, progress: Progress | None = None,
          target: Target | None = None, commit: AbstractContextManager[object] | None = None,
          premailer: WarmPremailer | None = None, early: Early | None = None,
          held: HeldCache | None = None) -> BuildResult:
    """Build the newsletter in *root* into *out* (default root/dist), remaking only what changed.

    *clean* throws the cache away first; *jobs* is the number of processes (default: one per core).
    A *target* replaces *out* and *drafts* (the preview's); *commit* is held while the new files
    are moved into place, so that a reader holding it never sees half of a build. A process that
    builds again and again passes the *premailer* it keeps warm instead of starting one each time,
    and the cache it *held* from its last build instead of reading it back.
    *early* is told when the saved issue's own files are in place, before the rest (see _build).
    """
    started = time.perf_counter()
    given_target = target
    if target is None:
        target = Target(out if out is not None else root / DEFAULT_OUT, root / CACHE_DIR, drafts=drafts)
    jobs = jobs or os.cpu_count() or 1
    check_out(root, target.out)
    remove_stale_staging(target.out)
    config = load_config(root)
    if clean:
        shutil.rmtree(target.cache, ignore_errors=True)
    when = now_in(config, now)
    inputs = scan_inputs(config)
    fingerprint = input_fingerprint(config, target, inputs.stamps)
    unchanged = read_quick_record(target.cache, fingerprint, when, marker_id(target.out))
    # Only dist/ is watched for outputs changed by hand: the preview's and check's folders are their own.
    if unchanged is not None and not (given_target is None and damaged_outputs(target.out, unchanged.outputs)):
        return BuildResult(out=target.out, built=unchanged.issues, files=unchanged.files, made=0,
                           warnings=unchanged.warnings, seconds=time.perf_counter() - started)
    # A build over an earlier one usually remakes an email or two, and premailer takes longer to
    # start than the rest of such a build: it starts first (a full build has workers for emails).
    from ..outputs.inline import warm_premailer

    rebuild = premailer is None and not clean and jobs > 1 and bool(marker_id(target.out))
    with warm_premailer(config) if rebuild else contextlib.nullcontext(premailer) as warm:
        # Something changed: only now are the renderers loaded (a start with nothing to do needs none).
        from .phases import make_build

        return make_build(config, target, when, fingerprint, inputs, jobs=jobs, progress=progress, started=started,
                          premailer=warm, commit=commit or contextlib.nullcontext(), early=early,
                          publishes=given_target is None, held=held)


