"""Read newsletter.toml into frozen dataclasses, reporting every problem at once."""

from __future__ import annotations

import dataclasses
import difflib
import re
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .errors import ConfigError, Problem, shown
from .layout import CONFIG_NAME

PREVIEW_HOST = "127.0.0.1"
PREVIEW_PORT = 8000
# The site URL `newsletter init` writes when given none: a stand-in (the .example top-level domain
# is reserved for examples) that `newsletter check` reports until it is replaced.
PLACEHOLDER_URL = "https://your-site.example/newsletter/"


@dataclass(frozen=True)
class SiteConfig:
    title: str
    url: str
    description: str = ""
    language: str = "en"
    timezone: str = "UTC"
    author: str = ""
    icon: str = ""
    page_size: int = 10

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


@dataclass(frozen=True)
class EmailConfig:
    from_: str
    reply_to: str = ""
    unsubscribe_url: str = ""
    unsubscribe_mailto: str = ""
    # The environment variable holding the secret that signs {token} in unsubscribe_url.
    token_secret_env: str = "NEWSLETTER_TOKEN_SECRET"
    inliner: str = "premailer"
    # An email service whose merge tags the built email carries instead of a sample's values.
    merge_tags: str = ""


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int = 587
    security: str = "starttls"
    username: str = ""
    password_env: str = "NEWSLETTER_SMTP_PASSWORD"
    rate: float = 10.0


@dataclass(frozen=True)
class SubscribersConfig:
    file: str = "subscribers.csv"
    unsubscribed: str = ""
    # A list server's address: the list is read from it instead of from `file`.
    source: str = ""
    source_token_env: str = "NEWSLETTER_LISTS_API_TOKEN"
    # Addresses never mailed again: refused for good by the server, bounced, or complained.
    bounced: str = "bounced.csv"


@dataclass(frozen=True)
class ListsConfig:
    """[lists]: the optional list server (subscribe form, double opt-in, one-click unsubscribe)."""

    url: str = ""
    database: str = "lists.sqlite3"
    secret_env: str = "NEWSLETTER_LISTS_SECRET"
    api_token_env: str = "NEWSLETTER_LISTS_API_TOKEN"
    form_wording: str = "Get each new issue by email. You can unsubscribe at any time with the link in every email."
    confirm_hours: int = 48
    welcome: bool = True
    per_ip_per_hour: int = 30
    per_address_per_day: int = 3


class UncertainPolicy(StrEnum):
    """What a resumed send does with recipients it handed a message to without hearing the answer."""

    SKIP = "skip"        # count them as probably delivered: nobody gets two copies, a few may get none
    RESEND = "resend"    # mail them again with the same Message-ID: nobody is missed, a few may get two


@dataclass(frozen=True)
class SendConfig:
    # Issues dated before this day are never sent (an imported back catalogue).
    since: date | None = None
    uncertain: str = UncertainPolicy.SKIP
    # Addresses never mailed again: refused for good by the server, bounced, or complained.
    bounced: str = "bounced.csv"


@dataclass(frozen=True)
class BouncesConfig:
    """Where `newsletter bounces` reads delivery reports: an IMAP mailbox, or a Maildir folder."""

    host: str = ""                 # else $NEWSLETTER_IMAP_HOST
    port: int = 993
    security: str = "ssl"
    username: str = ""             # else $NEWSLETTER_IMAP_USER
    password_env: str = "NEWSLETTER_IMAP_PASSWORD"
    mailbox: str = "INBOX"
    maildir: str = ""
    soft_limit: int = 3            # soft bounces on this many issues in a row suppress the address
    delete: bool = False           # delete the reports that were understood and recorded


@dataclass(frozen=True)
class FeedsConfig:
    limit: int = 20


@dataclass(frozen=True)
class CheckConfig:
    ignore: tuple[str, ...] = ()


@dataclass(frozen=True)
class PostsConfig:
    # "strict": other tools' front-matter keys are errors; "ignore": read as ours where they mean
    # the same, otherwise skipped.
    foreign_keys: str = "strict"


@dataclass(frozen=True)
class Config:
    root: Path
    site: SiteConfig
    email: EmailConfig | None = None
    smtp: SmtpConfig | None = None
    subscribers: SubscribersConfig | None = None
    send: SendConfig = SendConfig()
    feeds: FeedsConfig = FeedsConfig()
    check: CheckConfig = CheckConfig()
    lists: ListsConfig | None = None
    posts: PostsConfig = PostsConfig()
    bounces: BouncesConfig = BouncesConfig()

    @property
    def path(self) -> Path:
        return self.root / CONFIG_NAME

    @property
    def private_files(self) -> tuple[str, ...]:
        """Files that hold personal data and are never published, even through a link."""
        listed = self.subscribers or SubscribersConfig()
        database = self.lists.database if self.lists is not None else ""
        return (listed.file, listed.unsubscribed, listed.bounced, database)


_SECTIONS: dict[str, type] = {
    "site": SiteConfig,
    "email": EmailConfig,
    "smtp": SmtpConfig,
    "subscribers": SubscribersConfig,
    "send": SendConfig,
    "feeds": FeedsConfig,
    "check": CheckConfig,
    "lists": ListsConfig,
    "posts": PostsConfig,
    "bounces": BouncesConfig,
}
_REQUIRED_SECTIONS = {"site"}
_SECURITY_CHOICES = ("starttls", "ssl", "none")
_INLINERS = ("premailer", "css-inline")
_FOREIGN_KEY_MODES = ("strict", "ignore")
_MERGE_TAGS = ("mailchimp", "kit", "buttondown", "listmonk", "brevo", "mailerlite")


def suggest(name: str, choices: list[str] | tuple[str, ...]) -> str:
    """Return ' (did you mean 'x'?)' when *name* looks like a typo of one of *choices*."""
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def find_key_line(text: str, key: str, section: str | None = None) -> int | None:
    """Return the 1-based line where *key* is set (inside [section] when given), if it can be found.

    Works for TOML and for YAML front matter alike. A key at the start of its line wins over an
    indented one, which may be text inside a block value.
    """
    current: str | None = None
    indented: int | None = None
    pattern = re.compile(rf"""^(\s*)["']?{re.escape(key)}["']?\s*[=:]""")
    for number, line in enumerate(text.splitlines(), start=1):
        header = re.match(r"^\s*\[\[?([^\]]+)\]", line)  # [table] or [[array of tables]]
        if header:
            current = header.group(1).strip()
            if section is None and current == key:
                return number
            continue
        if (section is None or current == section) and (match := pattern.match(line)):
            if not match.group(1):
                return number
            indented = indented or number
    return indented


def _field_name(key: str) -> str:
    return "from_" if key == "from" else key


def _key_name(field: str) -> str:
    return field.rstrip("_")


# What str.splitlines breaks at: the email package folds headers there too.
_LINE_BREAK = re.compile("[\n\r\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")
_CONTROL = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x9f]")


def _unfit_text(value: str) -> str | None:
    """What is wrong with a text value that no setting may hold, if anything."""
    if _LINE_BREAK.search(value):
        return "must be a single line"
    control = _CONTROL.search(value)
    if control:
        return f"must not hold control characters (U+{ord(control[0]):04X}); delete it"
    return None


def _check_type(value: Any, annotation: str) -> str | None:
    """Return what was expected when *value* does not fit the field's annotation."""
    if annotation.startswith("str"):
        return None if isinstance(value, str) else "a string"
    if annotation == "int":
        return None if isinstance(value, int) and not isinstance(value, bool) else "a whole number"
    if annotation == "float":
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        return None if ok else "a number"
    if annotation == "tuple[str, ...]":
        ok = isinstance(value, list) and all(isinstance(item, str) for item in value)
        return None if ok else "a list of strings"
    if annotation == "date | None":
        ok = isinstance(value, date) and not isinstance(value, datetime)
        return None if ok else "a date like 2025-09-01 (without quotes)"
    if annotation == "bool":
        return None if isinstance(value, bool) else "true or false"
    raise AssertionError(f"unhandled annotation {annotation}")


def _build_section(name: str, raw: Any, text: str, path: Path, problems: list[Problem]) -> Any:
    cls = _SECTIONS[name]
    line_of_section = find_key_line(text, name)
    if not isinstance(raw, dict):
        problems.append(Problem(path, "expected a table like [name]", line_of_section, name))
        return None
    fields = {f.name: f for f in dataclasses.fields(cls)}
    keys = [_key_name(f) for f in fields]
    values: dict[str, Any] = {}
    ok = True
    for key, value in raw.items():
        # A sub-table such as [site.extra] is set on a header line of its own.
        line = find_key_line(text, key, name) or find_key_line(text, f"{name}.{key}")
        field = fields.get(_field_name(key))
        if field is None:
            problems.append(
                Problem(path, f"unknown key{suggest(key, keys)}; known keys: {', '.join(keys)}",
                        line, f"{name}.{key}")
            )
            ok = False
            continue
        expected = _check_type(value, str(field.type))
        if expected:
            got = value.isoformat() if isinstance(value, date) else shown(value)
            problems.append(Problem(path, f"expected {expected}, got {got}", line, f"{name}.{key}"))
            ok = False
            continue
        unfit = _unfit_text(value) if isinstance(value, str) else None
        if unfit:
            problems.append(Problem(path, unfit, line, f"{name}.{key}"))
            ok = False
            continue
        if str(field.type) == "float":
            value = float(value)
        elif isinstance(value, list):
            value = tuple(value)
        values[field.name] = value
    missing = [f.name for f in fields.values() if f.default is dataclasses.MISSING and f.name not in values]
    for field_name in missing:
        if field_name not in {_field_name(key) for key in raw}:
            problems.append(Problem(path, "is required", line_of_section, f"{name}.{_key_name(field_name)}"))
        ok = False
    # Check the values that were given even when others are missing or mistyped, so that every
    # problem is reported at once. Required fields are all text; their stand-ins are not checked.
    section = cls(**{field_name: "" for field_name in missing}, **values)
    given = {f"{name}.{_key_name(field_name)}" for field_name in values}
    for problem in _validate(name, section, text, path):
        if problem.field in given:
            problems.append(problem)
            ok = False
    return section if ok else None


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


# Checks of values whose type is right but whose content may not be, by section.
_VALIDATORS: dict[type, Callable[[Any], Iterator[tuple[str, str]]]] = {
    SiteConfig: _site_problems, SmtpConfig: _smtp_problems, EmailConfig: _email_problems,
    FeedsConfig: _feeds_problems, ListsConfig: _lists_problems, SubscribersConfig: _subscribers_problems,
    PostsConfig: _posts_problems, SendConfig: _send_problems,
    BouncesConfig: _bounces_problems,
}


def _validate(name: str, section: Any, text: str, path: Path) -> list[Problem]:
    """Check values whose type is right but whose content may not be."""
    validator = _VALIDATORS.get(type(section))
    if validator is None:
        return []
    return [Problem(path, message, find_key_line(text, key, name), f"{name}.{key}")
            for key, message in validator(section)]


def load_config(root: Path) -> Config:
    """Read and validate ``root/newsletter.toml``."""
    path = root / CONFIG_NAME
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(problems=[Problem(path, "not found; run 'newsletter init' to create a newsletter here, "
                                                  "or pass --dir to point at one")]) from None
    except OSError as error:
        raise ConfigError(problems=[Problem(path, f"cannot be read: {error.strerror}")]) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise ConfigError(problems=[Problem(path, f"not UTF-8 text ({error.reason} at byte {error.start}); "
                                                  "save it as UTF-8", line)]) from None
    try:
        data = tomllib.loads(text)
    except RecursionError:
        raise ConfigError(f"{path}: values are nested too deep to read; flatten them") from None
    except tomllib.TOMLDecodeError as error:
        match = re.search(r"at line (\d+)", str(error))
        message = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(error))
        raise ConfigError(problems=[Problem(path, f"not valid TOML: {message}",
                                            int(match.group(1)) if match else None)]) from None

    problems: list[Problem] = []
    sections: dict[str, Any] = {}
    for name, raw in data.items():
        if name not in _SECTIONS:
            problems.append(Problem(path, f"unknown section{suggest(name, list(_SECTIONS))}; "
                                          f"known sections: {', '.join(_SECTIONS)}",
                                    find_key_line(text, name), f"[{name}]"))
            continue
        sections[name] = _build_section(name, raw, text, path, problems)
    for name in sorted(_REQUIRED_SECTIONS - set(data)):
        problems.append(Problem(path, "is required", None, f"[{name}]"))
    if problems:
        raise ConfigError(problems=problems)

    site = sections["site"]
    if not site.url.endswith("/"):
        site = dataclasses.replace(site, url=site.url + "/")
    return Config(
        root=root,
        site=site,
        email=sections.get("email"),
        smtp=sections.get("smtp"),
        subscribers=sections.get("subscribers"),
        send=sections.get("send") or SendConfig(),
        feeds=sections.get("feeds") or FeedsConfig(),
        check=sections.get("check") or CheckConfig(),
        lists=_with_slash(sections.get("lists")),
        posts=sections.get("posts") or PostsConfig(),
        bounces=sections.get("bounces") or BouncesConfig(),
    )


def now_in(config: Config, now: datetime | None) -> datetime:
    """*now* (default: the current time); a time without an offset is in the site's time zone."""
    when = now or datetime.now(UTC)
    return when.replace(tzinfo=config.site.tz) if when.tzinfo is None else when


def _with_slash(lists: ListsConfig | None) -> ListsConfig | None:
    """[lists] with its url ending in '/', so that paths can be added to it."""
    if lists is None or not lists.url or lists.url.endswith("/"):
        return lists
    return dataclasses.replace(lists, url=lists.url + "/")
