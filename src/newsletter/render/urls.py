"""Tell links into the site from links elsewhere, and make either absolute or page-relative.

The one place that decides what kind of URL a link is: pages, feeds, emails and their plain text
all ask here, so that ``//host/path`` (scheme-relative) or ``static/a.png`` mean the same to each.
"""

from __future__ import annotations

import re
import string
from collections.abc import Collection
from urllib.parse import quote, unquote, urlsplit

_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
# What RFC 3986 lets a URL carry as it is: unreserved and reserved characters, and '%' escapes.
_URL_CHARS = frozenset(string.ascii_letters + string.digits + "-._~" + ":/?#[]@" + "!$&'()*+,;=" + "%")
# Placeholders and merge tags ({email}, {unsubscribe_url}, *|UNSUB|*) in links the site does not
# serve, which the sender or an email service fills in later: kept as written.
_PLACEHOLDER_CHARS = frozenset("{}|")
# A '%' that does not start an escape: a literal per cent sign, such as in a file name.
_STRAY_PERCENT = re.compile("%(?![0-9A-Fa-f]{2})")
# What a file name may hold to be linked to as it is: unreserved characters and '/'.
_PLAIN_NAME = re.compile(r"[A-Za-z0-9._~/-]*")


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


def encode_url(url: str, *, placeholders: bool = False) -> str:
    """Percent-encode what a URL may not carry as it is: spaces, non-ASCII, a '%' that escapes nothing.

    Escapes already there are kept, so encoding twice changes nothing; a non-ASCII host name is
    written in IDNA. With *placeholders*, ``{``, ``}`` and ``|`` are kept for merge tags.
    """
    url = url.strip()
    host = urlsplit(url).hostname or ""
    if host and not host.isascii():
        url = url.replace(host, host.encode("idna").decode("ascii"), 1)
    keep = _URL_CHARS | _PLACEHOLDER_CHARS if placeholders else _URL_CHARS
    url = _STRAY_PERCENT.sub("%25", url)
    return "".join(char if char in keep else quote(char, safe="") for char in url)


def needs_encoding(name: str) -> bool:
    """True for a file name a URL cannot carry as it is, such as ``chart 1.png``, ``obrázek.png`` or ``C#.png``."""
    return _PLAIN_NAME.fullmatch(name) is None


def absolute_url(url: str, site_url: str) -> str:
    """Make a link absolute and percent-encoded for a reader outside the site (a feed reader, a mail client).

    Site-relative links are resolved against *site_url*; ``//host/path`` takes the site's scheme,
    since a mail client or feed reader has no page to take one from. Every other link is kept,
    with its placeholders, apart from encoding.
    """
    if is_site_relative(url):
        return encode_url(site_url + site_path(url))
    if is_scheme_relative(url):
        return encode_url(f"{urlsplit(site_url).scheme}:{url.strip()}", placeholders=True)
    return encode_url(url, placeholders=True) if is_elsewhere(url) else url


def page_relative_url(url: str, depth: int) -> str:
    """Make a site-relative link relative to a page *depth* folders below the site's root."""
    return "../" * depth + site_path(url) if is_site_relative(url) else url


def bundle_url(url: str, slug: str, names: Collection[str]) -> str:
    """Lead a link to a file of a page bundle, written by its path in the bundle's folder
    (``chart.png``, ``./img/a.png``), to where the build copies it: ``<slug>/chart.png``.

    Any other link is kept as it is, so ``static/a.png`` and ``other-issue/`` mean what they mean
    in every post.
    """
    stripped = url.strip()
    if not is_site_relative(stripped) or stripped.startswith("/"):
        return url
    while stripped.startswith("./"):
        stripped = stripped[2:]
    return f"{slug}/{stripped}" if unquote(urlsplit(stripped).path) in names else url
