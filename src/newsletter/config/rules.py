"""Checks of newsletter.toml's values whose type is right but whose content may not be, by section."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..errors import shown
from .sections import (
    _FOREIGN_KEY_MODES,
    _INLINERS,
    _MERGE_TAGS,
    _SECURITY_CHOICES,
    BouncesConfig,
    EmailConfig,
    FeedsConfig,
    ListsConfig,
    PostsConfig,
    SendConfig,
    SiteConfig,
    SmtpConfig,
    SubscribersConfig,
    UncertainPolicy,
)


def _site_problems(section: SiteConfig) -> Iterator[tuple[str, str]]:
    parts = urlsplit(section.url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        yield "url", f"expected an absolute http(s) URL like 'https://example.com/news/', got {shown(section.url)}"
    elif parts.query or parts.fragment:
        yield "url", "must not have a query or fragment"
    try:
        ZoneInfo(section.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        yield "timezone", f"unknown time zone {shown(section.timezone)}; use an IANA name like 'Europe/Prague'"
    if section.page_size < 1:
        yield "page_size", "must be at least 1"
    if not section.title.strip():
        yield "title", "must not be empty"


def _smtp_problems(section: SmtpConfig) -> Iterator[tuple[str, str]]:
    if section.security not in _SECURITY_CHOICES:
        yield "security", f"expected one of {', '.join(_SECURITY_CHOICES)}, got {shown(section.security)}"
    if not 0 < section.port < 65536:
        yield "port", f"expected a port number from 1 to 65535, got {section.port}"
    if section.rate <= 0:
        yield "rate", "must be more than 0 messages per second"


def _email_problems(section: EmailConfig) -> Iterator[tuple[str, str]]:
    if "@" not in section.from_:
        yield "from", f"expected an address like 'Jana Novak <news@example.com>', got {shown(section.from_)}"
    if section.inliner not in _INLINERS:
        yield "inliner", f"expected one of {', '.join(_INLINERS)}, got {shown(section.inliner)}"
    if section.merge_tags and section.merge_tags not in _MERGE_TAGS:
        yield "merge_tags", f"expected one of {', '.join(_MERGE_TAGS)}, got {shown(section.merge_tags)}"
    if section.unsubscribe_url and urlsplit(section.unsubscribe_url).scheme != "https":
        yield "unsubscribe_url", "must be an https:// URL (mail clients' one-click unsubscribe needs it)"


def _lists_problems(section: ListsConfig) -> Iterator[tuple[str, str]]:
    parts = urlsplit(section.url)
    if section.url and (parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment):
        yield "url", f"expected the list server's address like 'https://lists.example.com/', got {section.url!r}"
    elif section.url and not _secure_or_local(section.url):
        yield "url", "must be an https:// URL (one-click unsubscribe needs it); http is for 127.0.0.1 only"
    for key in ("confirm_hours", "per_ip_per_hour", "per_address_per_day"):
        if getattr(section, key) < 1:
            yield key, "must be at least 1"
    if not section.database.strip():
        yield "database", "must name a file like 'lists.sqlite3'"


def _subscribers_problems(section: SubscribersConfig) -> Iterator[tuple[str, str]]:
    parts = urlsplit(section.source)
    if section.source and (parts.scheme not in ("http", "https") or not parts.netloc):
        yield "source", f"expected the list server's address like 'https://lists.example.com/', got {section.source!r}"
    elif section.source and not _secure_or_local(section.source):
        yield "source", "must be an https:// URL (the API token travels with each request); http is for 127.0.0.1 only"


def _secure_or_local(url: str) -> bool:
    """Whether *url* is https, or http to this machine."""
    parts = urlsplit(url)
    return parts.scheme == "https" or (parts.hostname or "") in ("127.0.0.1", "localhost", "::1")


def _send_problems(section: SendConfig) -> Iterator[tuple[str, str]]:
    if section.uncertain not in tuple(UncertainPolicy):
        yield "uncertain", f"expected \"skip\" or \"resend\", got {section.uncertain!r}"


def _feeds_problems(section: FeedsConfig) -> Iterator[tuple[str, str]]:
    if section.limit < 1:
        yield "limit", "must be at least 1"


def _posts_problems(section: PostsConfig) -> Iterator[tuple[str, str]]:
    if section.foreign_keys not in _FOREIGN_KEY_MODES:
        yield "foreign_keys", f"expected one of {', '.join(_FOREIGN_KEY_MODES)}, got {section.foreign_keys!r}"
def _bounces_problems(section: BouncesConfig) -> Iterator[tuple[str, str]]:
    if section.security not in _SECURITY_CHOICES:
        yield "security", f"expected one of {', '.join(_SECURITY_CHOICES)}, got {section.security!r}"
    if not 0 < section.port < 65536:
        yield "port", f"expected a port number from 1 to 65535, got {section.port}"
    if section.soft_limit < 1:
        yield "soft_limit", "must be at least 1"
