"""What the last build made, for commands that compare with it instead of building: status, check.

The site is loaded through the build's cache (posts read before, bodies rendered before), and an
output's digest is taken from the last build's record when its unit's key is unchanged; only
units whose inputs changed since are made again, in memory.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

from ..config import load_config, now_in
from ..layout import CACHE_DIR, POSTS_DIR
from ..outputs.keys import email_key
from ..outputs.units import digest
from ..posts import load_posts
from ..posts.snippets import load_snippets
from ..site import Site
from ..sources import Stamp, scan
from .cache import BuildCache
from .keys import code_digest, environment_digest


def open_site(root: Path, *, now: datetime | None = None, drafts: bool = False, scheduled: bool = False,
              cache: Path | None = None) -> tuple[Site, BuildCache]:
    """The site as of *now*, loaded through a build's cache (default `newsletter build`'s), not written back."""
    config = load_config(root)
    folder = cache if cache is not None else root / CACHE_DIR
    # Listed once: the posts and the files of their page bundles. The listing's stamps tell the
    # cache which posts changed, as in a build, instead of a second stat of each file.
    scanned = scan(root, POSTS_DIR, private=config.private_files)
    stamps: dict[str, Stamp | None] = {os.path.join(config.root, source.relative): source.stamp for source in scanned}
    store = BuildCache(folder, digest(code_digest(), config.site.timezone, config.posts.foreign_keys), stamps)
    posts, warnings = load_posts(config, store, scanned)
    site = Site(config, posts, now_in(config, now), include_drafts=drafts, include_scheduled=scheduled,
                load_warnings=tuple(warnings), bodies=store, snippets=load_snippets(config, None, posts),
                scanned_posts=scanned)
    for post in posts:
        if site.is_visible(post) and not store.has_body(post):
            from ..render.markdown import render_markdown  # only for posts the cache has no body of

            store.note_body(post, store.write_body(post, render_markdown(post.body, post.body_line, post.display_path)))
    return site, store


def email_digests(site: Site, cache: BuildCache, slugs: Iterable[str]) -> dict[str, str]:
    """The digest of each issue's email/<slug>.html as a build would make it now, by slug.

    A digest is the first 32 hex digits of the file's sha256.
    """
    wanted = set(slugs)
    if not wanted:
        return {}
    base_key = environment_digest(site.config)
    record = cache.record
    digests: dict[str, str] = {}
    stale = []
    for entry in site.entries:
        name = f"email/{entry.slug}.html"
        if entry.slug not in wanted:
            continue
        kept = record.units.get(name) if record is not None else None
        if record is not None and kept is not None and kept.key == email_key(site, entry, base_key) \
                and name in record.hashes:
            digests[entry.slug] = record.hashes[name]
        else:
            stale.append(entry.slug)
    if stale:
        digests.update(_made_digests(site, stale, base_key))
    return digests


def _made_digests(site: Site, slugs: list[str], base_key: str) -> dict[str, str]:
    """Make the emails of *slugs* in memory, as a build would now; their digests by slug."""
    # Rendering loads Jinja, Markdown and the inliner, and the output tree shutil: only when an issue
    # changed since the last build.
    from ..outputs.email import email_units
    from ..render.templates import make_environment
    from .tree import content_digest

    wanted = {f"email/{slug}.html": slug for slug in slugs}
    env = make_environment(site.config)
    digests: dict[str, str] = {}
    for unit in email_units(site, env, base_key):
        slug = wanted.get(unit.name)
        if slug is not None:
            outputs, _ = unit.make()
            digests[slug] = next(content_digest(output) for output in outputs if output.path.as_posix() == unit.name)
    return digests
