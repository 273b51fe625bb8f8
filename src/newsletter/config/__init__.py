"""Read newsletter.toml into frozen dataclasses, reporting every problem at once.

``sections`` holds the dataclasses, ``rules`` the checks of each section's values; this module
reads the file, checks each key's type and puts the Config together.
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TypeVar

from ..errors import ConfigError, Problem, shown
from ..layout import CONFIG_NAME
from .rules import (
    _bounces_problems,
    _email_problems,
    _feeds_problems,
    _lists_problems,
    _posts_problems,
    _send_problems,
    _site_problems,
    _smtp_problems,
    _subscribers_problems,
)
from .sections import (
    _REQUIRED_SECTIONS,
    _SECTIONS,
    PLACEHOLDER_URL,
    PREVIEW_HOST,
    PREVIEW_PORT,
    BouncesConfig,
    CheckConfig,
    Config,
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

__all__ = [
    "PLACEHOLDER_URL", "PREVIEW_HOST", "PREVIEW_PORT", "BouncesConfig", "CheckConfig", "Config", "EmailConfig",
    "FeedsConfig", "ListsConfig", "PostsConfig", "SendConfig", "SiteConfig", "SmtpConfig", "SubscribersConfig",
    "UncertainPolicy", "find_key_line", "load_config", "now_in", "suggest",
]


def suggest(name: str, choices: list[str] | tuple[str, ...]) -> str:
    """Return ' (did you mean 'x'?)' when *name* looks like a typo of one of *choices*."""
    import difflib  # only for a mistake in a file: not loaded by every command

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
        smtp=_with_standard_port(smtp, data.get("smtp"), _SMTP_PORTS) if (smtp := sections.get("smtp")) else None,
        subscribers=sections.get("subscribers"),
        send=sections.get("send") or SendConfig(),
        feeds=sections.get("feeds") or FeedsConfig(),
        check=sections.get("check") or CheckConfig(),
        lists=_with_slash(sections.get("lists")),
        posts=sections.get("posts") or PostsConfig(),
        bounces=_with_standard_port(sections.get("bounces") or BouncesConfig(), data.get("bounces"), _IMAP_PORTS),
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


# The standard ports (RFC 8314 section 7): TLS from the first byte on 993 for IMAP and 465 for
# mail submission; plain text on 143 and 587, where STARTTLS then switches to TLS.
_IMAP_PORTS = {"ssl": 993, "starttls": 143, "none": 143}
_SMTP_PORTS = {"ssl": 465, "starttls": 587, "none": 587}

_Section = TypeVar("_Section", SmtpConfig, BouncesConfig)


def _with_standard_port(section: _Section, raw: Any, ports: dict[str, int]) -> _Section:
    """*section* with the standard port of its security when newsletter.toml names no port."""
    if isinstance(raw, dict) and "port" in raw:
        return section
    return dataclasses.replace(section, port=ports.get(section.security, section.port))
