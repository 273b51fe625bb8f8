"""Each issue as every feed carries it: texts made XML-safe, its HTML with every URL absolute, its image.

Items are made once per build however many feeds (current, archive pages, tag feeds) carry them.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePosixPath
from urllib.parse import unquote, urlsplit

from ..posts import clean_text
from ..render.mailsafe import make_safe
from ..render.tree import Fragment
from ..render.urls import absolute_url, encode_url, is_elsewhere, site_path
from ..site import Entry, Site

# Beyond what posts.clean_text removes: DEL and the C1 controls, legal in XML 1.0 but never text.
_C1_CONTROLS = re.compile("[\x7f-\x9f]")
# Fixed here rather than asked of the mimetypes module, whose answers vary between machines.
_MEDIA_TYPES = {
    ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png", ".gif": "image/gif",
    ".webp": "image/webp", ".avif": "image/avif", ".svg": "image/svg+xml",
}


def xml_text(text: str) -> str:
    """Remove every character a feed must not carry: C0 and C1 controls and XML non-characters."""
    return _C1_CONTROLS.sub("", clean_text(text)[0])


@dataclass(frozen=True)
class FeedImage:
    """A post's image as feeds announce it: absolute URL, MIME type, byte length when known."""

    url: str
    type: str
    length: int | None


@dataclass(frozen=True)
class Item:
    """One issue as every feed format carries it: texts made XML-safe, every URL absolute."""

    entry: Entry
    title: str
    summary: str
    content_html: str
    author: str
    tags: tuple[str, ...]
    image: FeedImage | None

    @property
    def id(self) -> str:
        return self.entry.id

    @property
    def url(self) -> str:
        return self.entry.url

    @property
    def published(self) -> datetime:
        return self.entry.post.date

    @property
    def updated(self) -> datetime:
        return self.entry.updated


def _feed_url(url: str, site_url: str, page_url: str) -> str:
    """Make any link in an issue absolute: site paths against the site, fragments against the issue."""
    stripped = url.strip()
    if not stripped:
        return page_url
    if stripped.startswith("#"):
        return encode_url(page_url + stripped)
    return absolute_url(stripped, site_url)


# The feed HTML of the issues made last, by what it is made from. A process that builds again and
# again (the preview) remakes the feeds that carry an edited issue, but not the items of the others.
_MADE: OrderedDict[tuple[str, str, str], str] = OrderedDict()
_KEEP = 512


def feed_html(site: Site, entry: Entry) -> str:
    """An issue's web HTML as feeds carry it: no scripts or inline styles, every URL absolute."""
    key = (entry.key, entry.url, site.url)
    made = _MADE.get(key)
    if made is None:
        made = _MADE[key] = _kept_feed_html(site, entry)
        if len(_MADE) > _KEEP:
            _MADE.popitem(last=False)
    else:
        _MADE.move_to_end(key)
    return made


def _kept_feed_html(site: Site, entry: Entry) -> str:
    # Kept in the build cache beside the body: a fresh process (build, check) that remakes a feed
    # for one edited issue then parses only that HTML, not the HTML of every item.
    store = site.bodies
    name = f"feed:{entry.key}:{entry.url}:{site.url}"
    made = store.derived(entry.post, name) if store is not None else None
    if made is None:
        made = _feed_html(entry, site.url)
        if store is not None:
            store.keep_derived(entry.post, name, made)
    return made


def _feed_html(entry: Entry, site_url: str) -> str:
    fragment = Fragment(entry.body.html)
    make_safe(fragment)
    fragment.without_styles().rewrite_urls(lambda url: _feed_url(url, site_url, entry.url))
    return xml_text(fragment.html())


def _image(site: Site, entry: Entry) -> FeedImage | None:
    """The post's image with its size read from static/ (RSS enclosures need the byte length)."""
    image = entry.post.image.strip()
    if not image:
        return None
    url = absolute_url(image, site.url)
    path = PurePosixPath(urlsplit(site_path(image)).path)
    media_type = _MEDIA_TYPES.get(path.suffix.lower(), "")
    if is_elsewhere(image):
        # Hosted elsewhere: its size is unknown, so there is no enclosure, only media:content.
        return FeedImage(url, media_type, None)
    copied = site.bundle_files.get(unquote(str(path)))
    if copied is not None:
        return FeedImage(url, media_type or "application/octet-stream", copied.stamp[1])
    static = (site.config.root / "static").resolve()
    file = (site.config.root / path).resolve()
    if not file.is_file():
        # Written with its escapes (static/chart%20one.png) rather than as the file is named.
        file = (site.config.root / unquote(str(path))).resolve()
    if static not in file.parents or not file.is_file():
        # The email's unit warns about it (outputs/email.py), once per issue rather than per feed.
        return FeedImage(url, media_type, None)
    return FeedImage(url, media_type or "application/octet-stream", file.stat().st_size)


def _item(site: Site, entry: Entry) -> Item:
    config = site.config.site
    title = xml_text(entry.post.title)
    summary = xml_text(entry.summary) or title
    content = feed_html(site, entry) if entry.post.feed == "full" else ""
    author = xml_text(entry.post.author or config.author or config.title)
    tags = tuple(xml_text(tag) for tag in entry.post.tags)
    return Item(entry=entry, title=title, summary=summary, content_html=content, author=author, tags=tags,
                image=_image(site, entry))


class Items:
    """Each issue's feed item, made once however many feeds of one build carry it."""

    def __init__(self, site: Site) -> None:
        self.site = site
        self.made: dict[str, Item] = {}

    def __call__(self, entry: Entry) -> Item:
        item = self.made.get(entry.key)
        if item is None:
            item = self.made[entry.key] = _item(self.site, entry)
        return item
