"""Make units and render Markdown in processes forked from the builder.

The workers are forked, so they share the builder's site, templates and caches as they are and
nothing is pickled on the way in. Each worker is handed its task once, when it starts; the
builder's own process keeps no module state for them.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator
from dataclasses import dataclass

from ..errors import Problem
from ..outputs.units import Unit
from ..posts import Post
from ..render.markdown import Outline, render_markdown
from ..site import Site
from .cache import BuildCache
from .tree import Staging, Written


def make_unit(unit: Unit, site: Site, staging: Staging) -> tuple[list[Written], list[Problem]]:
    """Make one unit and stage the outputs whose bytes changed, with the warnings it raised.

    Runs in whichever process makes the unit, so that writing files is shared out too.
    """
    outputs, warnings = unit.make()
    return [staging.put(output) for output in outputs], warnings


@dataclass(frozen=True)
class _Making:
    site: Site
    units: list[Unit]
    staging: Staging


@dataclass(frozen=True)
class _Rendering:
    posts: list[Post]
    cache: BuildCache


# Set in a worker process when it starts (never in the builder): the task it works on.
_task: _Making | _Rendering | None = None


def _adopt(task: _Making | _Rendering) -> None:
    global _task
    _task = task


def _make_in_worker(index: int) -> tuple[int, list[Written], list[Problem]]:
    assert isinstance(_task, _Making)
    return index, *make_unit(_task.units[index], _task.site, _task.staging)


def _render_in_worker(index: int) -> tuple[int, Outline]:
    assert isinstance(_task, _Rendering)
    post = _task.posts[index]
    return index, _task.cache.write_body(post, render_markdown(post.body, post.body_line, post.display_path))


def _forked(jobs: int, task: _Making | _Rendering) -> multiprocessing.pool.Pool:
    # fork: the task reaches each worker through the fork itself, so nothing in it is pickled.
    return multiprocessing.get_context("fork").Pool(jobs, initializer=_adopt, initargs=(task,))


def render_in_workers(posts: list[Post], cache: BuildCache, jobs: int) -> Iterator[tuple[Post, Outline]]:
    """Render each post's Markdown into the cache in *jobs* worker processes; yield its outline."""
    with _forked(jobs, _Rendering(posts, cache)) as pool:
        for index, outline in pool.imap_unordered(_render_in_worker, range(len(posts)), chunksize=8):
            yield posts[index], outline


def make_in_workers(heavy: list[Unit], light: list[Unit], site: Site, staging: Staging,
                    jobs: int) -> Iterator[tuple[Unit, list[Written], list[Problem]]]:
    """Make the *heavy* units in worker processes while this one makes the *light* ones."""
    with _forked(min(jobs, len(heavy)), _Making(site, heavy, staging)) as pool:
        made = pool.imap_unordered(_make_in_worker, range(len(heavy)), chunksize=4)
        for unit in light:
            yield unit, *make_unit(unit, site, staging)
        for index, written, warnings in made:
            yield heavy[index], written, warnings
