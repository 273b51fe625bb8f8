"""What the rules' functions are given: the run (the site, what the build would write, indexes built
once) and, for each issue, its source and its rendered body and email, parsed when first needed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from ..posts import Post
from ..render.urls import site_path
from ..site import Entry, Site
from .source import Source
from .tree import HtmlElement, parse_html, urls_in


def display(root: Path, path: Path | str) -> str:
    """Write *path* relative to the newsletter folder when it is inside it."""
    try:
        return Path(path).relative_to(root).as_posix()
    except ValueError:
        return str(path)


@dataclass
class Run:
    """One check of a newsletter: the loaded site, the build's outputs once gathered, and caches."""

    site: Site
    dist: Path
    config_text: str = ""
    outputs: Mapping[str, bytes] = field(default_factory=dict)
    output_sources: dict[str, str] = field(default_factory=dict)
    # post path → src as written → the line of that image in the post, as each issue's body is checked.
    image_lines: dict[str, dict[str, int | None]] = field(default_factory=dict)
    sources: dict[str, Source] = field(default_factory=dict)
    ids_cache: dict[str, set[str]] = field(default_factory=dict)
    # The last build's feed documents as read before, by file and stamp: (id, link, title) of each
    # entry. Kept in the memo, so that the immutable archive pages are not parsed on every check.
    dist_feeds: dict[str, list[tuple[str, str, str]]] = field(default_factory=dict)
    dist_feeds_used: set[str] = field(default_factory=set)

    @property
    def root(self) -> Path:
        return self.site.config.root

    def source(self, post: Post) -> Source:
        """Return the post's source, read once per run."""
        path = post.display_path
        if path not in self.sources:
            self.sources[path] = Source(post)
        return self.sources[path]

    @cached_property
    def published_by_url(self) -> dict[str, Entry]:
        """Index the published issues by their web address, as feed items link to them."""
        return {entry.url: entry for entry in self.site.published}

    @cached_property
    def entries_by_slug(self) -> dict[str, Entry]:
        """Index the issues by slug (the first, should two share one)."""
        index: dict[str, Entry] = {}
        for entry in self.site.entries:
            index.setdefault(entry.slug, entry)
        return index


@dataclass(frozen=True)
class BodyImage:
    """An image in an issue's body: its element, its src as written and the line it is on."""

    element: HtmlElement
    src: str
    line: int | None


class Issue:
    """One issue as the rules see it; its documents are parsed when a rule first asks for them."""

    def __init__(self, run: Run, entry: Entry) -> None:
        self.run = run
        self.entry = entry
        self.post = entry.post
        self.path = entry.post.display_path

    @cached_property
    def source(self) -> Source:
        return self.run.source(self.entry.post)

    @cached_property
    def body(self) -> HtmlElement:
        return parse_html(self.entry.body.html)

    @cached_property
    def images(self) -> list[BodyImage]:
        """List the body's images, each with the line of the Markdown (or HTML) that wrote it."""
        markdown_lines: dict[str, list[int]] = {}
        for image in self.entry.body.images:
            markdown_lines.setdefault(image.src, []).append(image.line)
        seen: dict[str, int] = {}
        images = []
        for element in self.body.iter("img"):
            src = element.get("src", "")
            count = seen.get(src, 0)
            seen[src] = count + 1
            lines = markdown_lines.get(src, [])
            line = lines[count] if count < len(lines) else self.source.url_line(src, count)
            images.append(BodyImage(element, src, line))
        return images

    @cached_property
    def body_urls(self) -> list[tuple[str, str]]:
        """(attribute, URL) for every URL in the body, in document order."""
        return urls_in(self.body)

    @cached_property
    def email_urls(self) -> list[tuple[str, str]]:
        """(attribute, URL) for every URL in the email, in document order."""
        return urls_in(self.email)

    @cached_property
    def email_data(self) -> bytes | None:
        return self.run.outputs.get(f"email/{self.entry.slug}.html")

    @cached_property
    def email_text(self) -> str:
        return (self.email_data or b"").decode("utf-8")

    @cached_property
    def email(self) -> HtmlElement:
        return parse_html(self.email_text)

    @cached_property
    def email_image_lines(self) -> dict[str, int | None]:
        """Index the lines of the body's images by their src in the email, as written or made absolute."""
        index: dict[str, int | None] = {}
        site_url = self.run.site.url
        # The first image written either way wins, as a search in the order they were written would.
        for original, line in self.run.image_lines.get(self.path, {}).items():
            index.setdefault(original, line)
            index.setdefault(site_url + site_path(original), line)
        return index
