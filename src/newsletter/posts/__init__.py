"""Read posts/*.md into validated ``Post`` values.

A post is Markdown with YAML (``---``) or TOML (``+++``) front matter. Every problem in every post
is collected and raised together as one ``PostError``; text that XML or mail headers cannot carry
is removed with a warning. ``model.py`` holds the values, ``reader.py`` reads one file.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from ..config import Config, find_key_line
from ..errors import PostError, Problem
from ..layout import POSTS_DIR
from ..sources import Source, scan
from .bundles import bundle_problems, files_by_bundle, is_bundle_page
from .model import (
    KNOWN_KEYS,
    Post,
    Status,
    clean_text,
    one_line,
    parse_when,
    same_tag,
    slugify,
    tag_slug,
    to_datetime,
)

__all__ = ["KNOWN_KEYS", "Post", "PostCache", "ReadPost", "Status", "clean_text", "files_by_bundle", "load_posts",
           "one_line", "parse_when", "post_paths", "read_post", "same_tag", "slugify", "tag_slug", "to_datetime"]

def read_post(path: Path, config: Config) -> tuple[Post | None, list[Problem], list[Problem]]:
    """Read one post file; return the post (None if invalid), its errors and its warnings."""
    from .reader import _reader

    reader = _reader(path, config)
    post = reader.read()
    return post, reader.errors, reader.warnings


@dataclass(frozen=True)
class ReadPost:
    """A valid post with what reading it said: what a cache of posts keeps."""

    post: Post
    warnings: tuple[Problem, ...]
    slug_line: int


class PostCache(Protocol):
    """Posts read before, by file: ``get`` returns None when the file may have changed since."""

    def get(self, path: str) -> ReadPost | None: ...

    def put(self, path: str, read: ReadPost) -> None: ...


def post_paths(config: Config, scanned: Sequence[Source] | None = None) -> list[str]:
    """Every post file (page bundles' index.md included), in name order; from the listing of posts/
    *scanned* already, if given."""
    if scanned is None:
        scanned = scan(config.root, POSTS_DIR, private=config.private_files)
    # Strings: a Path object per post costs a tenth of a second at 10,000 posts, on every save.
    root = str(config.root)
    return [os.path.join(root, source.relative) for source in scanned
            if (source.relative.endswith(".md") and source.relative.count("/") == 1
                and source.relative != HUGO_SECTION_PAGE) or is_bundle_page(source.relative)]


# Hugo's page for the section itself, which a copied content/posts/ folder brings along: not a post.
HUGO_SECTION_PAGE = f"{POSTS_DIR}/_index.md"


def load_posts(config: Config, cache: PostCache | None = None,
               scanned: Sequence[Source] | None = None) -> tuple[list[Post], list[Problem]]:
    """Read every post under ``posts/``, oldest first; raise ``PostError`` listing every problem.

    *scanned* is the listing of posts/ when the caller has made it already.
    """
    if scanned is None:
        scanned = scan(config.root, POSTS_DIR, private=config.private_files)
    posts: list[Post] = []
    errors: list[Problem] = bundle_problems(scanned)
    warnings: list[Problem] = []
    slug_lines: dict[str, int] = {}
    for path in post_paths(config, scanned):
        known = cache.get(path) if cache is not None else None
        if known is None:
            # The YAML reader loads only for a post the cache does not hold.
            from .reader import _reader

            reader = _reader(Path(path), config)
            post = reader.read()
            errors.extend(reader.errors)
            if post is None:
                warnings.extend(reader.warnings)
                continue
            known = ReadPost(post, tuple(reader.warnings), reader.line_of("slug") or 1)
            if cache is not None and not reader.errors:
                cache.put(path, known)
        warnings.extend(known.warnings)
        posts.append(known.post)
        slug_lines[path] = known.slug_line

    by_slug: dict[str, Post] = {}
    for post in posts:
        other = by_slug.get(post.slug)
        if other is not None:
            errors.append(Problem(post.display_path,
                                  f"'{post.slug}' is already the slug of {other.display_path}; "
                                  "give one of them another 'slug:'", slug_lines[str(post.source)], "slug"))
        by_slug[post.slug] = post
    errors.extend(_tag_clashes(posts))
    if errors:
        raise PostError(problems=errors)
    posts.sort(key=lambda post: (post.date, post.slug))
    return posts, warnings


def _tag_clashes(posts: Sequence[Post]) -> list[Problem]:
    """One error for each tag that would share its page with a differently spelt tag of an earlier post."""
    first: dict[str, tuple[str, Post]] = {}
    reported: set[str] = set()
    problems: list[Problem] = []
    for post in sorted(posts, key=lambda post: post.display_path):
        for name in post.tags:
            other_name, other = first.setdefault(tag_slug(name), (name, post))
            if same_tag(other_name) != same_tag(name) and same_tag(name) not in reported:
                reported.add(same_tag(name))
                problems.append(Problem(
                    post.display_path, f"tag {name!r} would share the page tags/{tag_slug(name)}/ with tag "
                    f"{other_name!r} of {other.display_path}; spell them the same or rename one",
                    _tags_line(post), "tags"))
    return problems


def _tags_line(post: Post) -> int | None:
    try:
        return find_key_line(post.source.read_text(encoding="utf-8-sig"), "tags")
    except (OSError, UnicodeDecodeError):
        return None
