"""The newsletter as a whole: config and posts, what is visible now, URLs, and rendered bodies."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property, lru_cache, partial
from typing import Protocol
from urllib.parse import urlsplit

from .config import Config
from .errors import Problem
from .layout import POSTS_DIR, STATIC_DIR
from .posts import Post, Status, files_by_bundle, tag_slug
from .posts.snippets import Snippet, chosen
from .render.body import Outline, RenderedBody
from .render.merge import without_merge_fields
from .render.urls import bundle_url
from .sources import Source, Stamp, scan


@dataclass(frozen=True)
class Entry:
    """A post ready for the output stages: its body rendered once, its URL and texts settled."""

    post: Post
    outline: Outline
    url: str
    status: Status
    # Loads the body's HTML when first needed: a cached build renders few bodies of many.
    load_html: Callable[[], str] = field(repr=False, compare=False)
    # The files beside a page bundle's index.md that the post may name, by their path in the folder.
    resources: tuple[str, ...] = ()

    @cached_property
    def body(self) -> RenderedBody:
        """The body as the web and the feeds show it: merge fields give their fallbacks."""
        return RenderedBody(without_merge_fields(self.email_html), self.outline)

    @cached_property
    def email_html(self) -> str:
        """The body's HTML with its merge fields, for the email."""
        return self.load_html()

    @property
    def reading_minutes(self) -> int:
        return self.outline.reading_minutes

    @property
    def key(self) -> str:
        """Changes whenever the post changes, or what it is now (draft, scheduled, published), or
        which files its bundle holds (a link to one of them leads elsewhere than a link to none)."""
        if self.resources:
            return f"{self.post.key}:{self.status}:{_names_digest(self.resources)}"
        return f"{self.post.key}:{self.status}"

    @property
    def slug(self) -> str:
        return self.post.slug

    @cached_property
    def id(self) -> str:
        """The issue's permanent id: front matter 'id', else a tag URI (RFC 4151) of host, date and slug.

        It does not change when the post is edited, re-titled or re-tagged, or the site rebuilt.
        """
        if self.post.id:
            return self.post.id
        # The URL is the site's, then the slug ([a-z0-9-]) and a slash: only the site's part needs
        # taking apart, and it is the same for every issue.
        site_url = self.url.removesuffix(f"{self.slug}/")
        if site_url == self.url:  # a URL of another shape: taken apart whole
            host, path = _host_and_path(self.url)
        else:
            host, site_path = _host_and_path(site_url)
            path = site_path + self.slug
        return f"tag:{host},{self.post.date:%Y-%m-%d}:/{path.strip('/')}"

    @property
    def summary(self) -> str:
        return self.post.summary or self.outline.first_paragraph

    @property
    def preheader(self) -> str:
        return self.post.preheader or self.summary

    @property
    def updated(self) -> datetime:
        return self.post.updated or self.post.date


@dataclass(frozen=True)
class Tag:
    name: str
    slug: str
    entries: tuple[Entry, ...]


class BodyStore(Protocol):
    """Rendered bodies kept between builds: the outline of every post, the HTML on demand."""

    def outline(self, post: Post) -> Outline: ...

    def html(self, post: Post) -> str: ...

    def derived(self, post: Post, name: str) -> str | None:
        """Text made from the post's body before (its feed HTML, say), by a *name* covering
        everything else it was made from; None if there is none."""

    def keep_derived(self, post: Post, name: str, text: str) -> None: ...


@dataclass
class Site:
    """Config, posts and 'now': decides what is built and where it lives."""

    config: Config
    posts: list[Post]
    now: datetime
    include_drafts: bool = False
    include_scheduled: bool = False
    # What the loader had to change in posts (control characters removed and the like).
    load_warnings: tuple[Problem, ...] = ()
    bodies: BodyStore | None = None
    # The listing of static/ when whoever made the site has made it already.
    scanned_static: Sequence[Source] | None = field(default=None, repr=False)
    # The listing of posts/, likewise: page bundles' files are in it.
    scanned_posts: Sequence[Source] | None = field(default=None, repr=False)
    snippets: tuple[Snippet, ...] = ()

    @property
    def url(self) -> str:
        return self.config.site.url

    @cached_property
    def static_sources(self) -> dict[str, Source]:
        """Every file under static/ that may be published, by its path from the newsletter folder."""
        scanned = self.scanned_static
        if scanned is None:
            scanned = scan(self.config.root, STATIC_DIR, private=self.config.private_files)
        return {source.relative: source for source in scanned}

    @cached_property
    def static_files(self) -> dict[str, Stamp]:
        """Every file under static/ that may be published, with its stamp."""
        return {relative: source.stamp for relative, source in self.static_sources.items()}

    @cached_property
    def _bundles(self) -> dict[str, dict[str, Source]]:
        scanned = self.scanned_posts
        if scanned is None:
            scanned = scan(self.config.root, POSTS_DIR, private=self.config.private_files)
        return files_by_bundle(scanned)

    def resources_of(self, post: Post) -> dict[str, Source]:
        """The files a page bundle publishes beside the post, by their path in its folder."""
        return self._bundles.get(post.bundle, {}) if post.bundle else {}

    @cached_property
    def bundle_files(self) -> dict[str, Source]:
        """The files of the built issues' bundles, by where the build copies them (``<slug>/chart.png``)."""
        return {f"{entry.slug}/{name}": self.resources_of(entry.post)[name]
                for entry in self.entries for name in entry.resources}

    def copied_file(self, path: str) -> Source | None:
        """The file the build copies to *path* as it is, from static/ or a page bundle; None if none."""
        return self.static_sources.get(path) or self.bundle_files.get(path)

    @cached_property
    def _ignored_by_post(self) -> dict[str, tuple[str, ...]]:
        return {post.display_path: post.check_ignore for post in self.posts}

    def keeps(self, problem: Problem) -> bool:
        """Say whether to report a warning: not when its rule is switched off for the site or its post."""
        if problem.rule is None:
            return True
        if problem.rule in self.config.check.ignore:
            return False
        return problem.rule not in self._ignored_by_post.get(str(problem.path), ())

    def url_for(self, path: str) -> str:
        """Absolute URL of a path inside the site."""
        return self.url + path.lstrip("/")

    def is_visible(self, post: Post) -> bool:
        return post.status(self.now).built(drafts=self.include_drafts, scheduled=self.include_scheduled)

    @cached_property
    def entries(self) -> tuple[Entry, ...]:
        """Every visible post, rendered, newest first."""
        visible = [post for post in self.posts if self.is_visible(post)]
        visible.sort(key=lambda post: (post.date, post.slug), reverse=True)
        return tuple(self.entry(post) for post in visible)

    def entry(self, post: Post) -> Entry:
        if self.bodies is None:
            from .render.markdown import render_markdown  # only for a post with no body kept

            body = render_markdown(post.body, post.body_line, post.display_path)
            outline, load_html = body.outline, lambda: body.html
        else:
            outline, load_html = self.bodies.outline(post), partial(self.bodies.html, post)
        resources = tuple(sorted(self.resources_of(post)))
        if resources:
            # The post names its bundle's files by their path in the folder; the rest of the site
            # knows them by where the build copies them, beside the page.
            to_copy = partial(bundle_url, slug=post.slug, names=frozenset(resources))
            outline = dataclasses.replace(
                outline, images=tuple(dataclasses.replace(image, src=to_copy(image.src)) for image in outline.images),
                image_sources=tuple(to_copy(src) for src in outline.image_sources))
            load_html = partial(_rewritten, load_html, to_copy)
            if post.image:
                post = dataclasses.replace(post, image=to_copy(post.image))
        return Entry(post=post, outline=outline, url=self.url_for(post.slug + "/"), status=post.status(self.now),
                     load_html=load_html, resources=resources)

    @cached_property
    def snippet_bodies(self) -> dict[str, RenderedBody]:
        """Each snippet's Markdown rendered once, by name."""
        from .render.markdown import render_markdown

        return {snippet.name: render_markdown(snippet.body, snippet.body_line) for snippet in self.snippets}

    def snippets_of(self, post: Post) -> tuple[Snippet, ...]:
        """The snippets an issue shows, in file-name order."""
        return chosen(self.snippets, post)

    @cached_property
    def published(self) -> tuple[Entry, ...]:
        """Entries that subscribers may see: no drafts, nothing scheduled."""
        return tuple(entry for entry in self.entries if entry.status.public)

    @cached_property
    def tags(self) -> tuple[Tag, ...]:
        """Tags of the built entries (drafts too when drafts are built), by slug."""
        return group_tags(self.entries)

    @cached_property
    def published_tags(self) -> tuple[Tag, ...]:
        """Tags of the published entries, by slug: what the tag feeds carry."""
        return group_tags(self.published)


@lru_cache(maxsize=8)
def _host_and_path(url: str) -> tuple[str | None, str]:
    parts = urlsplit(url)
    return parts.hostname, parts.path


def _rewritten(load_html: Callable[[], str], mapper: Callable[[str], str]) -> str:
    # lxml is loaded only when a body is: `status` and a build with nothing to remake read none.
    from .render.tree import rewrite_urls

    return rewrite_urls(load_html(), mapper)


def _names_digest(names: tuple[str, ...]) -> str:
    return hashlib.sha256("\0".join(names).encode("utf-8")).hexdigest()


def group_tags(entries: tuple[Entry, ...]) -> tuple[Tag, ...]:
    """The tags of *entries* by slug, each named as it is first written, its entries in their order."""
    by_slug: dict[str, list[Entry]] = {}
    names: dict[str, str] = {}
    for entry in entries:
        for name in entry.post.tags:
            slug = tag_slug(name)
            names.setdefault(slug, name)
            by_slug.setdefault(slug, []).append(entry)
    return tuple(Tag(names[slug], slug, tuple(tagged)) for slug, tagged in sorted(by_slug.items()))
