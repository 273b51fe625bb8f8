"""Atom, RSS and JSON feeds of the published issues, as Output values; the only module that imports feedgen.

    feed.xml                  Atom 1.0: the ``[feeds] limit`` newest and last published issues and
                              every issue in no full archive page yet (the subscription feed)
    rss.xml                   RSS 2.0 with content:encoded: the same items
    feed.json                 JSON Feed 1.1 (written here; feedgen has no JSON): the same items
    feed/archive/N.xml        RFC 5005 archive documents: full pages of issues that never change
                              (archive.py decides which issues each page holds)
    tags/<tag>/feed.xml       Atom: the newest issues with that tag
    feed.xsl                  the stylesheet that makes a feed readable when opened in a browser

Every item carries the issue's permanent id (``Entry.id``), its full web HTML with absolute URLs
(unless the post says ``feed: summary``) and a plain-text summary. Nothing depends on the time of
the build: a feed's ``updated`` is its newest item's, so rebuilding gives the same bytes.
"""

from __future__ import annotations

import html
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from feedgen.entry import FeedEntry
from feedgen.ext.base import BaseEntryExtension, BaseExtension
from feedgen.feed import FeedGenerator
from feedgen.util import xml_elem

from .. import __version__
from ..errors import BuildError, Problem
from ..layout import (
    ARCHIVE_DIR,
    ATOM_PATH,
    JSON_PATH,
    RSS_PATH,
    tag_feed_path,
)
from ..render.i18n import language_of
from ..render.templates import make_environment, render_template
from ..render.urls import absolute_url
from ..site import Entry, Site
from .archive import ARCHIVE_PAGE_SIZE, archive_of
from .feed_items import Item, Items, xml_text
from .units import Output, Unit, digest, make_all, unit_of

STYLESHEET_PATH = PurePosixPath("feed.xsl")
GENERATOR = f"newsletter {__version__}"
# Archive pages never change, so they name the generator without the version that built them.
ARCHIVE_GENERATOR = "newsletter"
HISTORY_NS = "http://purl.org/syndication/history/1.0"
JSON_FEED_VERSION = "https://jsonfeed.org/version/1.1"
ATOM_TYPE = "application/atom+xml"
RSS_TYPE = "application/rss+xml"

# The formats RSS 2.0 allows for a channel <image>.
_RSS_IMAGE_SUFFIXES = (".gif", ".jpg", ".jpeg", ".png")


def _empty_feed_time() -> datetime:
    """The 'updated' of a feed with no items: SOURCE_DATE_EPOCH if set, else the Unix epoch."""
    value = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if not value:
        return datetime(1970, 1, 1, tzinfo=UTC)
    if not value.isdigit():
        raise BuildError(f"SOURCE_DATE_EPOCH: expected whole seconds since 1970, got {value!r}")
    return datetime.fromtimestamp(int(value), tz=UTC)


def newest_update(items: Sequence[Item] | Sequence[Entry]) -> datetime:
    """When a feed document last changed: its most recently updated item, never the build time."""
    return max((item.updated for item in items), default=None) or _empty_feed_time()


class _ArchiveMarker(BaseExtension):
    """Mark a feed document as an RFC 5005 archive document with <fh:archive/>."""

    def extend_ns(self) -> dict[str, str]:
        return {"fh": HISTORY_NS}

    def extend_atom(self, feed: Any) -> Any:
        xml_elem(f"{{{HISTORY_NS}}}archive", feed)
        return feed


class _HtmlDescription(BaseEntryExtension):
    """Entity-encode the plain-text summary in RSS <description>, which readers take as HTML."""

    def extend_rss(self, item: Any) -> Any:
        description = item.find("description")
        if description is not None and description.text:
            description.text = html.escape(description.text, quote=False)
        return item


@dataclass(frozen=True)
class Document:
    """What one Atom (and maybe RSS) document says about itself, apart from its items."""

    id: str
    title: str
    subtitle: str
    self_url: str
    alternate_url: str
    links: tuple[tuple[str, str], ...] = ()
    archive: bool = False


def _generator(site: Site, document: Document, items: Sequence[Item], *, rss: bool,
               updated: datetime | None = None) -> FeedGenerator:
    config = site.config.site
    feed = FeedGenerator()
    feed.load_extension("media")
    feed.load_extension("dc", atom=False, rss=True)
    feed.register_extension("html_description", BaseExtension, _HtmlDescription, atom=False, rss=True)
    if document.archive:
        feed.register_extension("history", _ArchiveMarker, BaseEntryExtension, atom=True, rss=False)
    feed.id(document.id)
    feed.title(xml_text(document.title))
    feed.subtitle(xml_text(document.subtitle) or xml_text(document.title))
    feed.language(xml_text(config.language))
    feed.author(name=xml_text(config.author or config.title))
    feed.link(href=document.self_url, rel="self", type=RSS_TYPE if rss else ATOM_TYPE)
    for rel, href in document.links:
        feed.link(href=href, rel=rel, type=ATOM_TYPE)
    # Added last: RSS's channel <link> is the last link given to feedgen.
    feed.link(href=document.alternate_url, rel="alternate", type="text/html")
    feed.generator(ARCHIVE_GENERATOR if document.archive else GENERATOR)
    if config.icon:
        icon = absolute_url(config.icon, site.url)
        feed.icon(icon)
        if PurePosixPath(urlsplit(icon).path).suffix.lower() in _RSS_IMAGE_SUFFIXES:
            feed.image(url=icon, title=xml_text(config.title), link=site.url)
    # Set explicitly: feedgen would otherwise stamp the time of the build.
    feed.updated(updated or newest_update(items))
    for item in items:
        _add_entry(feed, item, rss=rss)
    return feed


def _add_entry(feed: FeedGenerator, item: Item, *, rss: bool) -> None:
    # Appended in order: feedgen's default puts each new entry first.
    entry: FeedEntry = feed.add_entry(order="append")
    entry.id(item.id)  # also the RSS guid, with isPermaLink="false"
    entry.title(item.title)
    entry.link(href=item.url, rel="alternate", type="text/html")
    entry.published(item.published)
    entry.updated(item.updated)
    entry.author(name=item.author)
    entry.dc.dc_creator(item.author)
    for tag in item.tags:
        entry.category(term=tag)
    if item.content_html:
        entry.content(item.content_html, type="html")
    entry.summary(item.summary)
    if item.image is not None:
        media: dict[str, str] = {"url": item.image.url, "medium": "image"}
        if item.image.type:
            media["type"] = item.image.type
        if item.image.length is not None:
            media["fileSize"] = str(item.image.length)
            # RSS only: feedgen writes Atom entry links without their rel, which would turn
            # the enclosure into a second alternate link. Atom readers get media:content.
            if rss:
                entry.enclosure(item.image.url, item.image.length, item.image.type)
        entry.media.content(group=None, **media)


def _with_stylesheet(xml: bytes, path: PurePosixPath) -> bytes:
    """Prefix a feed with the XML declaration and the stylesheet browsers apply to it."""
    href = "../" * (len(path.parts) - 1) + STYLESHEET_PATH.as_posix()
    head = f'<?xml version="1.0" encoding="UTF-8"?>\n<?xml-stylesheet type="text/xsl" href="{href}"?>\n'
    return head.encode("utf-8") + xml


def _atom(site: Site, path: PurePosixPath, document: Document, items: Sequence[Item],
          updated: datetime | None = None) -> Output:
    feed = _generator(site, document, items, rss=False, updated=updated)
    xml = feed.atom_str(pretty=True, xml_declaration=False)
    return Output(path, _with_stylesheet(xml, path))


def _rss(site: Site, path: PurePosixPath, document: Document, items: Sequence[Item]) -> Output:
    xml = _generator(site, document, items, rss=True).rss_str(pretty=True, xml_declaration=False)
    return Output(path, _with_stylesheet(xml, path))


def _json_feed(site: Site, items: Sequence[Item]) -> Output:
    config = site.config.site
    feed: dict[str, Any] = {
        "version": JSON_FEED_VERSION,
        "title": xml_text(config.title),
        "home_page_url": site.url,
        "feed_url": site.url_for(JSON_PATH.as_posix()),
    }
    if config.description:
        feed["description"] = xml_text(config.description)
    if config.icon:
        feed["favicon"] = absolute_url(config.icon, site.url)
    feed["language"] = xml_text(config.language)
    feed["authors"] = [{"name": xml_text(config.author or config.title)}]
    feed["items"] = [_json_item(item) for item in items]
    text = json.dumps(feed, ensure_ascii=False, indent=2) + "\n"
    return Output(JSON_PATH, text.encode("utf-8"))


def _json_item(item: Item) -> dict[str, Any]:
    data: dict[str, Any] = {"id": item.id, "url": item.url, "title": item.title}
    if item.content_html:
        data["content_html"] = item.content_html
    else:
        data["content_text"] = item.summary
    data["summary"] = item.summary
    if item.image is not None:
        data["image"] = item.image.url
    data["date_published"] = item.published.isoformat()
    data["date_modified"] = item.updated.isoformat()
    data["authors"] = [{"name": item.author}]
    if item.tags:
        data["tags"] = list(item.tags)
    return data


def _archive_path(number: int) -> PurePosixPath:
    return ARCHIVE_DIR / f"{number}.xml"


def _tag_feed(site: Site, items: Items, slug: str, name: str, entries: Sequence[Entry]) -> Output:
    config = site.config.site
    path = tag_feed_path(slug)
    url = site.url_for(path.as_posix())
    document = Document(id=url, title=f"{config.title}: {name}", subtitle=_tag_subtitle(site, name),
                        self_url=url, alternate_url=site.url_for(f"tags/{slug}/"))
    return _atom(site, path, document, [items(entry) for entry in entries])


def _tag_subtitle(site: Site, name: str) -> str:
    words = language_of(site.config).gettext("Issues of %(title)s tagged “%(tag)s”")
    return words % {"title": site.config.site.title, "tag": name}


def _tag_units(site: Site, items: Items, base_key: str) -> list[Unit]:
    limit = site.config.feeds.limit
    units = []
    for tag in site.published_tags:
        name, newest = xml_text(tag.name), tag.entries[:limit]
        units.append(unit_of(partial(_tag_feed, site, items, tag.slug, name, newest), str(tag_feed_path(tag.slug)),
                             digest(base_key, "tag-feed", tag.slug, name, *(entry.key for entry in newest))))
    return units


def _stylesheet(site: Site) -> Output:
    # A template like the pages (the newsletter's own templates/feed.xsl first), in the site's language.
    xsl = render_template(make_environment(site.config), STYLESHEET_PATH.name)
    return Output(STYLESHEET_PATH, xsl.encode("utf-8"))


def _current_feeds(site: Site, items_of: Items, current: Sequence[Entry],
                   archive_count: int) -> tuple[list[Output], list[Problem]]:
    config = site.config.site
    items = [items_of(entry) for entry in current]
    atom_url = site.url_for(ATOM_PATH.as_posix())
    subtitle = config.description or config.title
    links = (("prev-archive", site.url_for(_archive_path(archive_count).as_posix())),) if archive_count else ()
    outputs = [
        _atom(site, ATOM_PATH, Document(id=atom_url, title=config.title, subtitle=subtitle, self_url=atom_url,
                                        alternate_url=site.url, links=links), items),
        _rss(site, RSS_PATH, Document(id=atom_url, title=config.title, subtitle=subtitle,
                                      self_url=site.url_for(RSS_PATH.as_posix()), alternate_url=site.url), items),
        _json_feed(site, items),
    ]
    return outputs, []


def _archive(site: Site, items: Items, page: Sequence[Entry], number: int) -> Output:
    config = site.config.site
    atom_url = site.url_for(ATOM_PATH.as_posix())
    path = _archive_path(number)
    links = [("current", atom_url)]
    if number > 1:
        links.append(("prev-archive", site.url_for(_archive_path(number - 1).as_posix())))
    # Written from the start, so that the page need not change when the next one fills: until
    # then it leads nowhere, and readers, which walk back from feed.xml, do not follow it.
    links.append(("next-archive", site.url_for(_archive_path(number + 1).as_posix())))
    document = Document(id=atom_url, title=f"{config.title} (archive {number})",
                        subtitle=config.description or config.title, self_url=site.url_for(path.as_posix()),
                        alternate_url=site.url, links=tuple(links), archive=True)
    # A page whose issues were all deleted keeps its place in the chain, dated as the epoch.
    return _atom(site, path, document, [items(entry) for entry in reversed(page)])


def feed_units(site: Site, base_key: str, *, archive_page_size: int = ARCHIVE_PAGE_SIZE) -> list[Unit]:
    """Every feed of the site as units: Atom, RSS and JSON Feed, their archives, tag feeds, stylesheet.

    Keys cover the items' posts and static/ (feeds give an image's byte size), so an archive page
    is made again only when one of its own issues changes.
    """
    base_key = digest(base_key, *sorted(site.static_files.items()),
                      *sorted((path, source.stamp) for path, source in site.bundle_files.items()))
    archive = archive_of(site, archive_page_size)
    current, pages = archive.current, archive.entries
    items = Items(site)
    units = [
        Unit(str(ATOM_PATH), digest(base_key, "feeds", len(pages), *(entry.key for entry in current)),
             partial(_current_feeds, site, items, current, len(pages))),
        unit_of(partial(_stylesheet, site), str(STYLESHEET_PATH), digest(base_key, "xsl")),
    ]
    for number, page in enumerate(pages, start=1):
        # Oldest first in the record; newest first in the document.
        key = digest(base_key, "archive", number, *(entry.key for entry in page))
        make = partial(_archive, site, items, page, number)
        units.append(unit_of(make, str(_archive_path(number)), key, heavy=True))
    units.extend(_tag_units(site, items, base_key))
    return units


def feed_outputs(site: Site, *, archive_page_size: int = ARCHIVE_PAGE_SIZE) -> list[Output]:
    """Every feed output, made at once (for callers that keep the whole site in memory)."""
    return make_all(feed_units(site, "", archive_page_size=archive_page_size))[0]
