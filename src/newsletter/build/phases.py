"""The phases of a build that has something to make: load, plan, diff, make, commit, record.

engine.build decides whether there is anything to do; this module, and the renderers it loads,
are imported only when there is.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import time
from collections.abc import Collection, Iterable, Iterator
from contextlib import AbstractContextManager
from datetime import datetime
from pathlib import Path

from ..config import Config, load_config, now_in
from ..errors import BuildError, Problem
from ..layout import FEED_ARCHIVE_NAME, POSTS_DIR, SNIPPETS_DIR, STATIC_DIR
from ..outputs.archive import archive_of, save_pages
from ..outputs.email import email_units
from ..outputs.feeds import feed_units
from ..outputs.inline import WarmPremailer, uses_premailer
from ..outputs.units import Unit, digest
from ..outputs.web import WebRenderer, static_units
from ..posts import Post, Status, load_posts
from ..posts.snippets import load_snippets
from ..render.markdown import render_markdown
from ..render.templates import Environment, language, make_environment
from ..site import Site
from ..sources import stamp_of
from .cache import BuildCache, BuildRecord, BuiltIssue, HeldCache, QuickRecord, write_quick_record
from .engine import BuildResult, Early, Inputs, Target, input_fingerprint, scan_inputs
from .keys import code_digest, environment_digest
from .making import PARALLEL_MINIMUM, Progress, make_and_commit, unsaved
from .pool import render_in_workers
from .tree import damaged_outputs, marker_id


def load_site(root: Path, *, now: datetime | None = None, drafts: bool = False,
              scheduled: bool = False) -> Site:
    """Load config and posts into a Site as of *now* (default: the current time); nothing cached."""
    config = load_config(root)
    inputs = scan_inputs(config)  # refuses links that leave the folder, loops and special files, all at once
    posts, warnings = load_posts(config, scanned=inputs.scanned[POSTS_DIR])
    return Site(config, posts, now_in(config, now), include_drafts=drafts, include_scheduled=scheduled,
                load_warnings=tuple(warnings), scanned_static=inputs.scanned[STATIC_DIR],
                scanned_posts=inputs.scanned[POSTS_DIR],
                snippets=load_snippets(config, inputs.scanned[SNIPPETS_DIR], posts))


def plan(site: Site, env: Environment, base_key: str, warm: WarmPremailer | None = None) -> list[Unit]:
    """Every unit of the site: pages, feeds, static files, emails (inlined by *warm* if given)."""
    # Emails last: premailer may still be warming up in a process of its own (*warm*).
    return [*WebRenderer(site, env).units(base_key), *feed_units(site, base_key), *static_units(site),
            *email_units(site, env, base_key, warm)]


# -- making units, here or in worker processes ------------------------------------------------------

def _render_bodies(posts: list[Post], cache: BuildCache, jobs: int) -> None:
    """Render the Markdown of the posts the cache has no body for, in parallel when there are many."""
    if jobs > 1 and len(posts) >= PARALLEL_MINIMUM:
        for post, outline in render_in_workers(posts, cache, jobs):
            cache.note_body(post, outline)
    else:
        for post in posts:
            cache.note_body(post, cache.write_body(post, render_markdown(post.body, post.body_line, post.display_path)))


# -- writing --------------------------------------------------------------------------------------

@contextlib.contextmanager
def _kept_from_collection() -> Iterator[None]:
    """Pause Python's cycle collector while the block makes objects meant to last the whole build,
    then keep them out of its later collections (and the collections of workers forked later).

    Cached posts, entries, units and the last build's record are hundreds of thousands of objects
    with next to no reference cycles: the collector would scan them again and again while they
    are made, and free nothing (a fifth of a one-post rebuild at 10,000 posts). It stays on for
    making the outputs: premailer makes cycles with every email.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


def make_build(config: Config, target: Target, when: datetime, fingerprint: str, inputs: Inputs,
               *, jobs: int, progress: Progress | None, started: float, premailer: WarmPremailer | None,
               commit: AbstractContextManager[object], early: Early | None, publishes: bool,
               held: HeldCache | None = None) -> BuildResult:
    """Make what changed since the last build (everything with no cache), the emails inlined by the
    warm *premailer* if given.

    The cache *held* by a process that builds again and again is used and kept up to date; a build
    that fails drops it, since it may have changed part-way.
    """
    frozen_before = gc.get_freeze_count()
    try:
        warm = premailer if premailer is not None and uses_premailer(config) else None
        return _build(config, target, when, fingerprint, inputs, jobs=jobs, progress=progress,
                      started=started, warm=warm, commit=commit, early=early, publishes=publishes, held=held)
    except BaseException:
        if held is not None:
            held.drop()
        raise
    finally:
        if not frozen_before:
            gc.unfreeze()


def _build(config: Config, target: Target, when: datetime, fingerprint: str, inputs: Inputs,
           *, jobs: int, progress: Progress | None, started: float, warm: WarmPremailer | None,
           commit: AbstractContextManager[object], early: Early | None, publishes: bool = False,
           held: HeldCache | None = None) -> BuildResult:
    """Run the phases of a build: load, plan, diff, make, commit, record.

    With *early*, an incremental build after a save (posts read again from disk) makes and commits
    those issues' email and page first and hands *early* what is in place; only then does it plan
    the whole site, and make and commit the rest. A build that *publishes* (``newsletter build``,
    not the preview's or the check's) also notes in feed-archive.json the issues it published
    first, which fixes the feed archive's pages.
    """
    site, cache = _load(config, target, when, inputs, jobs, held)
    env = make_environment(config)
    base_key = environment_digest(config)
    site_warnings = [*site.load_warnings, *language(env).warnings]
    last = _last_build(cache, target.out)
    # Outputs deleted or edited by hand since the last build are made and written again.
    damaged = damaged_outputs(target.out, last.stamps) if last is not None and publishes else set()
    made = 0
    first = _saved_first(site, env, base_key, warm, cache.read_again, last) if early is not None else []
    if early is not None and first:
        # The saved issue's page and email go out first, before the rest is even planned; lists,
        # tag pages and feeds follow.
        last = make_and_commit(site, target.out, cache, None, first, last, jobs, None, commit, site_warnings,
                               damaged, save=False)
        saved = tuple(sorted(unit.name[len("email/"):-len(".html")] for unit in first
                             if unit.name.startswith("email/")))
        early(dataclasses.replace(_result(site, target, last.units, last, site_warnings, made=len(first),
                                          started=started), saved=saved))
        made = len(first)
    with _kept_from_collection():
        units = plan(site, env, base_key, warm)
    todo = [unit for unit in units if last is None or unit.name not in last.units
            or last.units[unit.name].key != unit.key or not damaged.isdisjoint(last.units[unit.name].paths)]
    made += len(todo)
    record = make_and_commit(site, target.out, cache, units, todo, last, jobs, progress, commit, site_warnings,
                              damaged)
    result = _result(site, target, units, record, site_warnings, made=made, started=started)
    if publishes:
        fingerprint = _note_archive(config, target, site, inputs, fingerprint)
    return _record(site, target, when, fingerprint, dataclasses.replace(result, loaded=(site, cache)), record)


def _note_archive(config: Config, target: Target, site: Site, inputs: Inputs, fingerprint: str) -> str:
    """Note the feed archive's pages in feed-archive.json; return the build's fingerprint with that file."""
    try:
        wrote = save_pages(site, archive_of(site))
    except OSError as error:
        raise BuildError(problems=[Problem(FEED_ARCHIVE_NAME, f"cannot write it: {error.strerror}")]) from None
    if not wrote:
        return fingerprint
    # The build's own note is one of its inputs now: a later change to it is a change.
    record_file = config.root / FEED_ARCHIVE_NAME
    inputs.stamps[str(record_file)] = stamp_of(record_file.stat())
    return input_fingerprint(config, target, inputs.stamps)


# More posts than this read again in one build is not a save: the build goes in one part.
_SAVED_MAXIMUM = 8


def _saved_first(site: Site, env: Environment, base_key: str, warm: WarmPremailer | None,
                 saved: Collection[str], last: BuildRecord | None) -> list[Unit]:
    """The page and email of the issues just saved (posts read again from disk: *saved* slugs)
    that differ from the *last* build's, worked out without planning the rest of the site."""
    if last is None or not saved or len(saved) > _SAVED_MAXIMUM:
        return []
    units = [*WebRenderer(site, env).issue_units(base_key, saved), *email_units(site, env, base_key, warm, saved)]
    return [unit for unit in units if unit.name not in last.units or last.units[unit.name].key != unit.key]


def _load(config: Config, target: Target, when: datetime, inputs: Inputs,
          jobs: int, held: HeldCache | None = None) -> tuple[Site, BuildCache]:
    """Read the posts through the cache and render the bodies it does not have."""
    with _kept_from_collection():
        namespace = digest(code_digest(), config.site.timezone, config.posts.foreign_keys)
        cache = BuildCache(target.cache, namespace, inputs.stamps, held)
        posts, post_warnings = load_posts(config, cache, inputs.scanned[POSTS_DIR])
        site = Site(config, posts, when, include_drafts=target.drafts, include_scheduled=target.scheduled,
                    load_warnings=tuple(post_warnings), bodies=cache, scanned_static=inputs.scanned[STATIC_DIR],
                    scanned_posts=inputs.scanned[POSTS_DIR],
                    snippets=load_snippets(config, inputs.scanned[SNIPPETS_DIR], posts))
    _render_bodies([post for post in posts if site.is_visible(post) and not cache.has_body(post)], cache, jobs)
    return site, cache


def _last_build(cache: BuildCache, out: Path) -> BuildRecord | None:
    """The last build's record, if the output folder still holds that build; else None: write it all."""
    last = cache.record
    if last is None or last.out != str(out.resolve()) or not last.build_id or marker_id(out) != last.build_id:
        return None
    return last


def _result(site: Site, target: Target, units: Iterable[Unit | str], record: BuildRecord,
            site_warnings: list[Problem], *, made: int, started: float) -> BuildResult:
    """Say what the build in *record* holds of *units* (or unit names): its issues, files and warnings."""
    names = (unit if isinstance(unit, str) else unit.name for unit in units)
    made_warnings = [warning for name in names if (kept := record.units.get(name)) is not None
                     for warning in kept.warnings]
    warnings = sorted({warning for warning in (*site_warnings, *made_warnings) if site.keeps(warning)},
                      key=lambda p: (str(p.path), p.line or 0, p.message))
    built = tuple(BuiltIssue(entry.slug, entry.post.title, entry.post.date, str(entry.status),
                             entry.post.display_path, entry.preheader) for entry in site.entries)
    return BuildResult(out=target.out, built=built, files=len(record.hashes), made=made,
                       warnings=tuple(warnings), seconds=time.perf_counter() - started)


def _record(site: Site, target: Target, when: datetime, fingerprint: str, result: BuildResult,
            record: BuildRecord) -> BuildResult:
    """Note what was built, so that the next build with nothing changed can say so at once."""
    scheduled = [post.date for post in site.posts if post.status(when) is Status.SCHEDULED]
    try:
        write_quick_record(target.cache, QuickRecord(fingerprint, record.build_id, when, min(scheduled, default=None),
                                                     result.built, result.files, result.warnings, record.stamps))
    except OSError as error:
        return dataclasses.replace(result, warnings=(*result.warnings, unsaved(target.cache, error)))
    return result

