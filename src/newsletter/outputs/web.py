"""The web pages: each issue, the archive and tag pages, the stylesheet, and the copied static files."""

from __future__ import annotations

from collections.abc import Collection
from functools import partial
from pathlib import PurePosixPath
from typing import Any

from ..layout import ATOM_PATH, FEEDS_PAGE, JSON_PATH, RSS_PATH, STYLESHEET, TAGS_INDEX, tag_feed_path
from ..render.markdown import code_css
from ..render.templates import Environment, Markup, language, render_template
from ..render.tree import rewrite_urls
from ..render.urls import absolute_url, page_relative_url
from ..site import Entry, Site, Tag
from .keys import snippet_key
from .snippets import body_with_snippets
from .units import Output, Unit, digest, unit_of


def _page(path: str) -> PurePosixPath:
    """The index.html of a folder URL like 'tags/ci/' ('' is the site's root)."""
    return PurePosixPath(path) / "index.html" if path else PurePosixPath("index.html")


def _root(path: str) -> str:
    """Relative prefix from a folder URL back to the site's root."""
    return "../" * len(PurePosixPath(path).parts) if path else ""


def feed_links(site: Site, tag: Tag | None = None) -> list[dict[str, str]]:
    """The feeds a page advertises for autodiscovery: the site's three, and a tag page's own."""
    title = site.config.site.title
    links = [
        {"type": "application/atom+xml", "title": f"{title} (Atom)", "href": site.url_for(str(ATOM_PATH))},
        {"type": "application/rss+xml", "title": f"{title} (RSS)", "href": site.url_for(str(RSS_PATH))},
        {"type": "application/feed+json", "title": f"{title} (JSON Feed)", "href": site.url_for(str(JSON_PATH))},
    ]
    if tag is not None:
        links.append({"type": "application/atom+xml", "title": f"{title}: {tag.name} (Atom)",
                      "href": site.url_for(str(tag_feed_path(tag.slug)))})
    return links


class WebRenderer:
    """Render every web page of a site."""

    def __init__(self, site: Site, env: Environment) -> None:
        self.site = site
        self.env = env
        self.feeds = feed_links(site)
        # lists: the subscribe form's settings ([lists]), or None to leave the form out.
        self.common = {"site": site.config.site, "stylesheet": str(STYLESHEET), "lists": site.config.lists,
                       "tags_index": TAGS_INDEX if site.tags else ""}

    def page(self, template: str, path: str, **context: Any) -> Output:
        context.setdefault("feeds", self.feeds)
        html = render_template(self.env, template, root=_root(path), canonical=self.site.url_for(path),
                               **self.common, **context)
        return Output(_page(path), html.encode("utf-8"))

    def post_page(self, entry: Entry, newer: Entry | None, older: Entry | None) -> Output:
        depth = 1
        body = rewrite_urls(body_with_snippets(self.site, self.env, entry), lambda url: page_relative_url(url, depth))
        image = absolute_url(entry.post.image, self.site.url)
        return self.page("post.html", entry.slug + "/", entry=entry, body=Markup(body), newer=newer,
                         older=older, image=image)

    def list_units(self, entries: tuple[Entry, ...], base: str, heading: str, tag: Tag | None,
                   base_key: str) -> list[Unit]:
        """The archive pages of *entries* under *base* ('' or 'tags/x/'), page_size issues each."""
        size = self.site.config.site.page_size
        chunks = [entries[start : start + size] for start in range(0, len(entries), size)] or [()]
        units = []
        feeds = feed_links(self.site, tag)
        followed = {tag.slug for tag in self.site.published_tags}  # the tags that have a feed
        for number, chunk in enumerate(chunks, start=1):
            path = base if number == 1 else f"{base}page/{number}/"
            newer = None if number == 1 else (base if number == 2 else f"{base}page/{number - 1}/")
            older = f"{base}page/{number + 1}/" if number < len(chunks) else None
            make = partial(self.page, "list.html", path, entries=chunk, heading=heading,
                           tag=tag.name if tag else "", tag_feed=tag.slug if tag and tag.slug in followed else "",
                           feeds=feeds,
                           page_number=number, page_count=len(chunks), newer_page=newer, older_page=older)
            key = digest(base_key, "list", path, number, len(chunks), heading, *(entry.key for entry in chunk))
            units.append(unit_of(make, str(_page(path)), key))
        return units

    def _pages_key(self, base_key: str) -> str:
        # Whether the tags page exists changes every page's link to it.
        return digest(base_key, bool(self.site.tags))

    def issue_units(self, base_key: str, only: Collection[str] | None = None) -> list[Unit]:
        """The page of every issue (of those whose slugs are in *only*, if given), a unit each."""
        base_key = self._pages_key(base_key)
        listed = self.site.entries
        units = []
        for index, entry in enumerate(listed):
            if only is not None and entry.slug not in only:
                continue
            newer = listed[index - 1] if index > 0 else None
            older = listed[index + 1] if index < len(listed) - 1 else None
            key = digest(base_key, "post", entry.key, newer.key if newer else "", older.key if older else "",
                         snippet_key(self.site, entry.post))
            units.append(unit_of(partial(self.post_page, entry, newer, older), f"{entry.slug}/index.html", key,
                                 heavy=True))
        return units

    def tags_index_unit(self, base_key: str) -> Unit:
        """The page listing every tag with its number of issues, each linked to its own page."""
        counts = [(tag, len(tag.entries)) for tag in self.site.tags]
        make = partial(self.page, "tags.html", TAGS_INDEX, tags=counts)
        key = digest(base_key, "tags", *(f"{tag.slug}\0{tag.name}\0{count}" for tag, count in counts))
        return unit_of(make, str(_page(TAGS_INDEX)), key)

    def feeds_page(self) -> Output:
        """The page that tells people which feed address to copy into a reader: every feed, in words."""
        tags = [{"name": tag.name, "slug": tag.slug, "href": self.site.url_for(str(tag_feed_path(tag.slug)))}
                for tag in self.site.published_tags]
        return self.page("feeds.html", f"{FEEDS_PAGE}/", tag_feeds=tags)

    def stylesheet(self) -> Output:
        light, dark = code_css(".highlight")
        css = render_template(self.env, "style.css", code_css_light=light, code_css_dark=dark)
        return Output(STYLESHEET, css.encode("utf-8"))

    def units(self, base_key: str) -> list[Unit]:
        """Every web page as a unit; *base_key* covers the config, templates and code."""
        listed = self.site.entries
        pages_key = self._pages_key(base_key)
        units = [unit_of(self.stylesheet, str(STYLESHEET), digest(base_key, "style")),
                 unit_of(self.feeds_page, str(_page(f"{FEEDS_PAGE}/")),
                         digest(pages_key, "feeds", *((tag.name, tag.slug) for tag in self.site.published_tags))),
                 *self.issue_units(base_key)]
        spoken = language(self.env)
        units.extend(self.list_units(listed, "", spoken.gettext("All issues"), None, pages_key))
        if self.site.tags:
            units.append(self.tags_index_unit(pages_key))
        for tag in self.site.tags:
            heading = spoken.gettext("Tagged “%(tag)s”") % {"tag": tag.name}
            units.extend(self.list_units(tag.entries, f"tags/{tag.slug}/", heading, tag, pages_key))
        return units


def _same(output: Output) -> Output:
    return output


def static_units(site: Site) -> list[Unit]:
    """Every file copied as it is, its key the file's stamp: static/ that may be published, and the
    files of the built issues' page bundles, beside each issue's page."""
    units = []
    for relative, source in [*site.static_sources.items(), *site.bundle_files.items()]:
        output = Output(PurePosixPath(relative), source=source.real)
        units.append(unit_of(partial(_same, output), relative, digest(*source.stamp)))
    return units
