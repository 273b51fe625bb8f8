"""Rules on links: into the site (to issues, tags, static files, anchors) and left relative where
nothing can resolve them."""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Iterator
from typing import Protocol
from urllib.parse import unquote, urlsplit

from ..config import find_key_line
from ..layout import CONFIG_NAME
from ..render.urls import is_site_relative, site_path
from ..site import Entry
from .context import Issue, Run
from .findings import ERROR, WARNING, Hit, Scope, extends, rule
from .source import Source

BROKEN, UNPUBLISHED = "link-broken", "link-unpublished"


def page_ids(run: Run, path: str) -> set[str]:
    """Return the ids and names an output page has, which #anchors may point at."""
    if path not in run.ids_cache:
        text = run.outputs.get(path, b"").decode("utf-8", "replace")
        run.ids_cache[path] = {html.unescape(match.group(1))
                               for match in re.finditer(r"""\s(?:id|name)=["']([^"']+)["']""", text)}
    return run.ids_cache[path]


def resolve(run: Run, url: str) -> tuple[str, str] | None:
    """Return (output path, fragment) of a link into the site; None for links elsewhere."""
    url = url.strip()
    if url.startswith(run.site.url):
        relative = url[len(run.site.url):]
    elif is_site_relative(url):
        relative = site_path(url)
    else:
        return None
    parts = urlsplit(relative)
    path = unquote(parts.path)
    candidates = [path] if path and not path.endswith("/") else []
    candidates.append(f"{path.rstrip('/')}/index.html" if path.rstrip("/") else "index.html")
    target = next((candidate for candidate in candidates if candidate in run.outputs), "")
    return target or path or "/", unquote(parts.fragment)


def link_problem(run: Run, url: str, here: Entry | None) -> tuple[str, str] | None:
    """Return (rule, message) when a link into the site points at nothing, or at an issue not yet out."""
    if url.startswith("#"):
        if here is None or len(url) == 1:
            return None
        fragment = unquote(url[1:])
        if fragment not in page_ids(run, f"{here.slug}/index.html"):
            return BROKEN, f"link {url!r} points at no anchor in this issue"
        return None
    resolved = resolve(run, url)
    if resolved is None:
        return None
    target, fragment = resolved
    if target not in run.outputs:
        beside = _bundle_place(here, url)
        return BROKEN, (f"link {url!r} points at nothing: {beside}no issue, tag page or static file "
                        f"{target!r}; check the slug or the file name")
    if fragment and target.endswith(".html") and fragment not in page_ids(run, target):
        page = target.removesuffix("index.html") or "the archive"
        return BROKEN, f"link {url!r}: {page} has no #{fragment}"
    slug = target.split("/")[0]
    linked = run.entries_by_slug.get(slug) if target == f"{slug}/index.html" else None
    if linked is not None and here is not None and here.status == "published" and linked.status != "published":
        return UNPUBLISHED, (f"link {url!r} goes to an issue that is {linked.status} "
                             f"({linked.post.display_path}); readers get a 404 until it is published")
    return None


def _bundle_place(here: Entry | None, url: str) -> str:
    """Where else a page bundle's post may have meant a link to lead: a file beside its index.md."""
    if here is None or not here.post.bundle or url.strip().startswith(("/", "../")):
        return ""
    name = unquote(urlsplit(url.strip().removeprefix("./")).path)
    if name.endswith(".md") and (here.post.source.parent / name).is_file():
        return f"Markdown beside {here.post.display_path} is not published, and "
    return f"no file {name!r} beside {here.post.display_path}, and "


def _issue_link_problems(run: Run, issue: Issue, wanted: str) -> Iterator[Hit]:
    """Yield the problems of rule *wanted* with the links in an issue's body and its image."""
    occurrences: dict[str, int] = {}
    for _, url in issue.body_urls:
        count = occurrences.get(url, 0)
        occurrences[url] = count + 1
        problem = link_problem(run, url, issue.entry)
        if problem and problem[0] == wanted:
            yield Hit(issue.path, issue.source.url_line(url, count), problem[1])
    if issue.post.image:
        problem = link_problem(run, issue.post.image, None)
        if problem and problem[0] == wanted:
            yield Hit(issue.path, issue.source.key_line("image"), f"image: {problem[1]}")


def _icon_problems(run: Run, wanted: str) -> Iterator[Hit]:
    """Yield the problem of rule *wanted* with the site's icon, if it has one."""
    icon = run.site.config.site.icon
    if icon:
        problem = link_problem(run, icon, None)
        if problem and problem[0] == wanted:
            yield Hit(CONFIG_NAME, find_key_line(run.config_text, "icon", "site"), f"site.icon: {problem[1]}")


@rule(BROKEN, ERROR, "a link to another issue, a tag, a static file or an `#anchor` that points at nothing",
      scope=Scope.BUILT_ISSUE)
def broken_links(run: Run, issue: Issue) -> Iterator[Hit]:
    """Report links in an issue that point at nothing the build writes."""
    return _issue_link_problems(run, issue, BROKEN)


@extends(BROKEN, scope=Scope.BUILT_SITE)
def broken_icon(run: Run) -> Iterator[Hit]:
    """Report a site icon that points at nothing the build writes."""
    return _icon_problems(run, BROKEN)


@rule(UNPUBLISHED, WARNING, "a published issue links to a draft or scheduled one", scope=Scope.BUILT_ISSUE)
def unpublished_links(run: Run, issue: Issue) -> Iterator[Hit]:
    """Report links from a published issue to one that is not out yet."""
    return _issue_link_problems(run, issue, UNPUBLISHED)


class _Written(Protocol):
    """An issue or a feed item: the post that wrote it, by path and source (read when first asked for)."""

    path: str

    @property
    def source(self) -> Source: ...


def relative_links(urls: Iterable[tuple[str, str]], written: _Written, where: str, why: str) -> Iterator[Hit]:
    """Yield every (attribute, URL) of *urls* that does not resolve in an email or a feed (*where*)."""
    occurrences: dict[str, int] = {}
    for attribute, url in urls:
        if _absolute_enough(url, email=where == "email"):
            continue
        count = occurrences.get(url, 0)
        occurrences[url] = count + 1
        yield Hit(written.path, written.source.url_line(url, count),
                  f"{attribute}={url!r} is relative in the {where}, {why}")


@rule("link-relative", ERROR, "a link or image left relative in the email or a feed, where it cannot resolve",
      scope=Scope.BUILT_ISSUE)
def relative_in_email(run: Run, issue: Issue) -> Iterator[Hit]:
    """Report links and images in the email that have nothing to resolve against."""
    if issue.email_data is None:
        return iter(())
    return relative_links(issue.email_urls, issue, "email",
                          "where it has nothing to resolve against; write it relative to the site's root "
                          "(static/..., slug/) or absolute")


def _absolute_enough(url: str, *, email: bool) -> bool:
    """Say whether a URL resolves anywhere: a scheme, or (email only) an in-message #anchor or placeholder."""
    url = url.strip()
    if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", url):
        return True
    return email and (url.startswith("#") and len(url) > 1 or url.startswith("{"))
