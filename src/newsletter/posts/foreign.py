"""Front-matter keys that Hugo, Jekyll, Eleventy and Pelican write, and what they mean here.

A foreign key whose meaning is one of ours (Hugo's ``description`` is our ``summary``) is read as
ours when ``[posts] foreign_keys = "ignore"``; any other key we do not use is then skipped. By
default (``"strict"``) each is an error that says which of our keys it would become.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..config import suggest
from .model import KNOWN_KEYS

IGNORE = "ignore"


def _same(value: Any) -> Any:
    return value


def _first_image(value: Any) -> Any:
    """Hugo's ``images`` is a list; the first one is the social card."""
    return value[0] if isinstance(value, list) and value else value


def _names(value: Any) -> Any:
    """A list of authors becomes one line, 'Ana, Bo'."""
    if isinstance(value, list) and all(isinstance(name, str) for name in value):
        return ", ".join(value)
    return value


def _not_published(value: Any) -> Any:
    """Jekyll's ``published: false`` is our ``draft: true``."""
    return (not value) if isinstance(value, bool) else value


def _draft_status(value: Any) -> Any:
    """Pelican's ``status: draft`` is our ``draft: true``; any other status is published."""
    return value.strip().lower() == "draft" if isinstance(value, str) else value


@dataclass(frozen=True)
class Mapping:
    """One foreign key: which of ours it becomes, the tools that write it, how its value converts."""

    ours: str
    tools: str
    convert: Callable[[Any], Any] = field(default=_same, compare=False)
    note: str = ""


# Keys whose meaning is the same as one of ours. Where a post has both, ours wins, except tags,
# which are joined with categories.
FOREIGN_KEYS: dict[str, Mapping] = {
    "description": Mapping("summary", "Hugo, Eleventy"),
    "excerpt": Mapping("summary", "Jekyll"),
    "categories": Mapping("tags", "Hugo, Jekyll", note="joined with tags"),
    "category": Mapping("tags", "Jekyll, Pelican", note="joined with tags"),
    "lastmod": Mapping("updated", "Hugo"),
    "last_modified_at": Mapping("updated", "Jekyll"),
    "modified": Mapping("updated", "Pelican"),
    "publishDate": Mapping("date", "Hugo", note="when there is no date"),
    "authors": Mapping("author", "Hugo, Pelican", _names, "names joined with commas"),
    "images": Mapping("image", "Hugo", _first_image, "the first one"),
    "published": Mapping("draft", "Jekyll", _not_published, "published: false is draft: true"),
    "status": Mapping("draft", "Pelican", _draft_status, "status: draft is draft: true"),
}


# Keys other tools use that have no meaning here; named so that an error can say whose they are.
UNUSED_KEYS: dict[str, str] = {
    "layout": "Jekyll, Eleventy", "permalink": "Jekyll, Eleventy", "url": "Hugo, Pelican",
    "aliases": "Hugo", "weight": "Hugo", "params": "Hugo", "keywords": "Hugo", "type": "Hugo", "series": "Hugo",
    "toc": "Hugo", "expiryDate": "Hugo", "markup": "Hugo", "eleventyExcludeFromCollections": "Eleventy",
    "eleventyNavigation": "Eleventy", "lang": "Pelican", "save_as": "Pelican", "template": "Pelican",
    "comments": "Jekyll", "sitemap": "Jekyll", "redirect_from": "Jekyll",
}


# Jekyll writes '2025-04-01 09:30:00 +0200'; ISO wants the offset joined on and with a colon.
_SPACED_OFFSET = re.compile(r"^(\d{4}-\d{2}-\d{2}[ T]\d{1,2}:\d{2}(?::\d{2})?)\s+([+-]\d{2}):?(\d{2})$")


@dataclass
class Translated:
    """Front matter in our keys, with the problems met on the way: (message, key) pairs."""

    meta: dict[str, Any]
    errors: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[tuple[str, str]] = field(default_factory=list)


def describe(key: str) -> str:
    """Say in a few words what a foreign key is: whose it is and what it would become here."""
    mapping = FOREIGN_KEYS.get(key)
    if mapping is not None:
        extra = f", {mapping.note}" if mapping.note else ""
        return f"'{key}' ({mapping.tools}) means '{mapping.ours}' here{extra}"
    return f"'{key}' ({UNUSED_KEYS[key]}) has no use here"


def _wrong_type(ours: str, value: Any) -> str | None:
    """What the value should have been, when it cannot stand for our key."""
    if ours in ("summary", "author", "image") and not isinstance(value, str):
        return "text; put it in quotes"
    if ours == "tags" and not (isinstance(value, str) or (
            isinstance(value, list) and all(isinstance(item, str) for item in value))):
        return "a list of words, like [kubernetes, conferences]"
    if ours == "draft" and not isinstance(value, bool):
        return "true or false" if value is not None else "a value"
    return None


def _strict(meta: dict[str, Any]) -> Translated:
    result = Translated({key: value for key, value in meta.items() if key not in FOREIGN_KEYS
                         and key not in UNUSED_KEYS})
    for key in meta:
        if key in FOREIGN_KEYS:
            ours = FOREIGN_KEYS[key].ours
            result.errors.append((f"unknown key; {describe(key)}: rename it to '{ours}', or set "
                                  f"foreign_keys = \"ignore\" under [posts] in newsletter.toml to "
                                  f"read it as '{ours}'", key))
        elif key in UNUSED_KEYS:
            result.errors.append((f"unknown key; {describe(key)}: delete it, or set foreign_keys = "
                                  "\"ignore\" under [posts] in newsletter.toml to skip it", key))
    return result


def _merge(result: Translated, key: str, mapping: Mapping, value: Any) -> None:
    """Put one foreign value under our key; ours wins, tags and categories are joined."""
    value = mapping.convert(value)
    expected = _wrong_type(mapping.ours, value)
    if expected:
        result.errors.append((f"expected {expected}, got {value!r} (read as '{mapping.ours}')", key))
        return
    meta = result.meta
    if mapping.ours == "tags" and "tags" in meta:
        mine = meta["tags"] if isinstance(meta["tags"], list) else [meta["tags"]]
        more = value if isinstance(value, list) else [value]
        meta["tags"] = [*mine, *more]
    elif mapping.ours not in meta:
        meta[mapping.ours] = value


def _lenient(meta: dict[str, Any]) -> Translated:
    result = Translated({key: value for key, value in meta.items() if key in KNOWN_KEYS})
    for key, value in meta.items():
        if key in FOREIGN_KEYS:
            _merge(result, key, FOREIGN_KEYS[key], value)
        elif key not in KNOWN_KEYS and key not in UNUSED_KEYS and suggest(str(key), KNOWN_KEYS):
            # Other tools let writers add keys of their own, so only a near miss of ours is worth a word.
            result.warnings.append((f"unknown key skipped{suggest(str(key), KNOWN_KEYS)}", str(key)))
    return result


def _iso_dates(meta: dict[str, Any]) -> None:
    for key in ("date", "updated"):
        value = meta.get(key)
        if isinstance(value, str) and (match := _SPACED_OFFSET.match(value.strip())):
            meta[key] = f"{match.group(1)}{match.group(2)}:{match.group(3)}"


def translate(meta: dict[str, Any], mode: str) -> Translated:
    """Read other tools' keys as *mode* says: errors naming our key (strict), or ours (ignore)."""
    result = _lenient(meta) if mode == IGNORE else _strict(meta)
    _iso_dates(result.meta)
    return result
