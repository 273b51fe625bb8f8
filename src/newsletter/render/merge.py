"""Find and fill the merge fields of an issue: ``{subscriber.name}`` or ``{subscriber.name|there}``.

A field is filled with the recipient's value only in email. Everywhere else (the web page, the
feeds and anything mailed from them) and for a recipient with no value it gives its fallback, the
text after the bar, or nothing when there is none.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

# A fallback is plain text on one line without braces: what a reader sees when there is no value.
MERGE_FIELD_RE = re.compile(r"\{subscriber\.([A-Za-z_][A-Za-z0-9_]*)(?:\|([^{}\n]*))?\}")
_MARKER = "{subscriber."
# Stands in for a fallback's bar while Markdown is parsed, where a bar would end a table cell:
# a private-use character, which Markdown leaves alone and writers do not type.
_BAR_STAND_IN = "\ue000"
_SHIELDED_FIELD_RE = re.compile(r"\{subscriber\.([A-Za-z_][A-Za-z0-9_]*)\ue000([^{}\n]*)\}")


@dataclass(frozen=True)
class MergeField:
    """One merge field as written: its column name, its fallback ('' for none) and where it starts."""

    name: str
    fallback: str
    has_fallback: bool
    offset: int


def merge_fields(text: str) -> set[str]:
    """The column names used as merge fields in *text*."""
    return {field.name for field in iter_merge_fields(text)}


def iter_merge_fields(text: str) -> Iterator[MergeField]:
    """Every merge field of *text*, in order."""
    if _MARKER not in text:
        return
    for match in MERGE_FIELD_RE.finditer(text):
        yield MergeField(match[1], match[2] or "", match[2] is not None, match.start())


def without_merge_fields(text: str) -> str:
    """*text* as the web and the feeds show it: each field replaced by its fallback."""
    if _MARKER not in text:
        return text
    return MERGE_FIELD_RE.sub(lambda match: match[2] or "", text)


def fill_merge_fields(text: str, value: Callable[[str], str], *, escape: bool) -> str:
    """Fill each field with ``value(name)``, HTML-escaped when *escape*, or its fallback when that is ''.

    The fallback is written as it stands in *text*, which is HTML already when *text* is.
    """
    if _MARKER not in text:
        return text

    def fill(match: re.Match[str]) -> str:
        found = value(match[1])
        if not found:
            return match[2] or ""
        return html.escape(found, quote=True) if escape else found

    return MERGE_FIELD_RE.sub(fill, text)


def replace_merge_fields(text: str, replacement: Callable[[str, str], str]) -> str:
    """Replace each field with ``replacement(name, fallback)``, written as it is (an email service's own tag)."""
    if _MARKER not in text:
        return text
    return MERGE_FIELD_RE.sub(lambda match: replacement(match[1], match[2] or ""), text)


def shield_fallback_bars(markdown: str) -> str:
    """*markdown* with the bar of each field's fallback hidden, so that a field can sit in a table cell."""
    if _MARKER not in markdown:
        return markdown
    return MERGE_FIELD_RE.sub(lambda match: match[0] if match[2] is None
                              else f"{{subscriber.{match[1]}{_BAR_STAND_IN}{match[2]}}}", markdown)


def unshield_fallback_bars(html: str) -> str:
    """The HTML made from shield_fallback_bars' Markdown, each field written with its bar again."""
    if _BAR_STAND_IN not in html:
        return html
    return _SHIELDED_FIELD_RE.sub(lambda match: f"{{subscriber.{match[1]}|{match[2]}}}", html)
