"""Build the whole site: gather every output in memory, check it, write it, swap it into place.

This is the only module that writes the output folder. A build writes into a fresh folder
beside the output and renames it into place, so a failed build leaves the previous one intact.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath

from .config import load_config
from .emails import email_outputs
from .errors import BuildError, Problem
from .feeds import feed_outputs
from .posts import load_posts
from .render import WebRenderer, make_environment, static_outputs
from .site import Output, Site

DEFAULT_OUT = "dist"
CACHE_DIR = ".newsletter/cache"
# Written into every build; an existing folder without it is never replaced.
MARKER = ".newsletter-build"


@dataclass(frozen=True)
class BuildResult:
    out: Path
    issues: int
    files: int
    warnings: tuple[Problem, ...]
    seconds: float


def load_site(root: Path, *, now: datetime | None = None, drafts: bool = False,
              scheduled: bool = False) -> Site:
    """Load config and posts into a Site as of *now* (default: the current time)."""
    config = load_config(root)
    posts, warnings = load_posts(config)
    when = now or datetime.now(timezone.utc)
    if when.tzinfo is None:
        when = when.replace(tzinfo=config.site.tz)
    return Site(config, posts, when, include_drafts=drafts, include_scheduled=scheduled, warnings=warnings)


def gather(site: Site) -> tuple[list[Output], list[Problem]]:
    """Every output of the site, checked for unsafe or duplicate paths; and the warnings raised."""
    env = make_environment(site.config)
    outputs = WebRenderer(site, env).outputs()
    mail, mail_warnings = email_outputs(site, env)
    outputs.extend(mail)
    outputs.extend(static_outputs(site.config))
    outputs.extend(feed_outputs(site))
    check_paths(outputs)
    return outputs, [*site.warnings, *mail_warnings]


def check_paths(outputs: list[Output]) -> None:
    """Refuse any output path that could leave the output folder, and any path written twice."""
    seen: set[PurePosixPath] = set()
    for output in outputs:
        path = output.path
        if path.is_absolute() or ".." in path.parts or not path.parts or str(path).startswith("~"):
            raise BuildError(f"refusing to write {str(path)!r}: outside the output folder")
        if path in seen:
            raise BuildError(f"two outputs want the same path {path}; rename one of the posts or static files")
        seen.add(path)


def _check_out(root: Path, out: Path) -> None:
    resolved_root, resolved_out = root.resolve(), out.resolve()
    if resolved_out == resolved_root or resolved_out in resolved_root.parents:
        raise BuildError(f"{out}: the output folder cannot be the newsletter folder or one above it; "
                         "use a folder of its own like 'dist'")
    if out.exists() and not out.is_dir():
        raise BuildError(f"{out}: exists and is not a folder; remove it or choose another --out")
    if out.is_dir() and any(out.iterdir()) and not (out / MARKER).exists():
        raise BuildError(f"{out}: exists and was not made by 'newsletter build'; "
                         "remove it or choose another --out")


def write_outputs(outputs: list[Output], out: Path) -> None:
    """Write outputs into a temporary folder beside *out*, then swap it into place."""
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = out.parent / f".{out.name}.new-{os.getpid()}"
    retired = out.parent / f".{out.name}.old-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        staging.mkdir()
        for output in outputs:
            target = staging.joinpath(*output.path.parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            if output.source is not None:
                shutil.copyfile(output.source, target)
            else:
                target.write_bytes(output.data)
        (staging / MARKER).write_text("This folder is written by 'newsletter build' and replaced whole.\n")
        if out.exists():
            out.rename(retired)
        staging.rename(out)
    except OSError as error:
        shutil.rmtree(staging, ignore_errors=True)
        if retired.exists() and not out.exists():
            retired.rename(out)
        raise BuildError(f"{error.filename or out}: cannot write the build: {error.strerror}") from None
    shutil.rmtree(retired, ignore_errors=True)


def build(root: Path, out: Path | None = None, *, drafts: bool = False, now: datetime | None = None,
          clean: bool = False) -> BuildResult:
    """Build the newsletter in *root* into *out* (default root/dist)."""
    started = time.perf_counter()
    out = out if out is not None else root / DEFAULT_OUT
    _check_out(root, out)
    site = load_site(root, now=now, drafts=drafts)
    outputs, warnings = gather(site)
    if clean:
        shutil.rmtree(root / CACHE_DIR, ignore_errors=True)
    write_outputs(outputs, out)
    return BuildResult(out=out, issues=len(site.entries), files=len(outputs), warnings=tuple(warnings),
                       seconds=time.perf_counter() - started)

