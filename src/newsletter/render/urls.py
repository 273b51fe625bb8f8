"""Tell links into the site from links elsewhere, and make either absolute or page-relative.

The one place that decides what kind of URL a link is: pages, feeds, emails and their plain text
all ask here, so that ``//host/path`` (scheme-relative) or ``static/a.png`` mean the same to each.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


def is_scheme_relative(url: str) -> bool:
    """True for ``//host/path``: another host, reached with the scheme of the page that links to it."""
    return url.strip().startswith("//")


def is_elsewhere(url: str) -> bool:
    """True for a link to another host: one with a scheme (``https:``, ``mailto:``) or ``//host/path``."""
    url = url.strip()
    return url.startswith("//") or bool(_SCHEME.match(url))


def is_site_relative(url: str) -> bool:
    """True for a link into the site itself, like ``static/a.png`` or ``/other-post/``."""
    url = url.strip()
    return bool(url) and not (url.startswith(("#", "{")) or is_elsewhere(url))


def site_path(url: str) -> str:
    """Normalise a site-relative link to a path from the site's root (``../static/a.png`` → ``static/a.png``)."""
    path = url.strip()
    while path.startswith(("/", "./", "../")):
        path = path.removeprefix("/").removeprefix("./").removeprefix("../")
    return path


def absolute_url(url: str, site_url: str) -> str:
    """Make a link absolute for a reader outside the site (a feed reader, a mail client).

    Site-relative links are resolved against *site_url*; ``//host/path`` takes the site's scheme,
    since a mail client or feed reader has no page to take one from. Every other link is kept.
    """
    if is_site_relative(url):
        return site_url + site_path(url)
    if is_scheme_relative(url):
        return f"{urlsplit(site_url).scheme}:{url.strip()}"
    return url


def page_relative_url(url: str, depth: int) -> str:
    """Make a site-relative link relative to a page *depth* folders below the site's root."""
    return "../" * depth + site_path(url) if is_site_relative(url) else url
