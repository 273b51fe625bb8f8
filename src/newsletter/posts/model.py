"""A post as written, and where it stands: the values every later stage reads.

The only module that imports anyascii, which spells tags of other scripts in Latin letters for
their page names.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, time
from enum import StrEnum
from functools import cached_property, lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from .bundles import bundle_of

KNOWN_KEYS = (
    "title", "date", "summary", "tags", "slug", "draft", "author", "image",
    "preheader", "updated", "id", "feed", "check", "snippets",
)


REQUIRED_KEYS = ("title", "date")


FEED_MODES = ("full", "summary")


SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
# Slugs and tags name folders and files (email/<slug>.html); file systems allow 255 bytes a name.
SLUG_MAX = 100


_DATE_PREFIX = re.compile(r"^\d{4}-\d{2}-\d{2}(?:-|$)")


# C0 controls other than tab and newline, DEL-free: what XML 1.0 and mail headers cannot carry.
_UNSAFE_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_LINE_BREAKS = re.compile("\\s*[\r\n\x0b\x0c\x1c-\x1e\x85\u2028\u2029]+\\s*")


class Status(StrEnum):
    """Where a post stands as of some moment: what the build, the feeds and sending may do with it."""

    DRAFT = "draft"
    SCHEDULED = "scheduled"
    PUBLISHED = "published"

    @property
    def public(self) -> bool:
        """In the feeds, in archives built without --drafts, and due to be sent."""
        return self is Status.PUBLISHED

    def built(self, *, drafts: bool, scheduled: bool) -> bool:
        """Whether a build that includes *drafts* and *scheduled* posts (or not) makes this post."""
        return self is Status.PUBLISHED or (self is Status.DRAFT and drafts) or (
            self is Status.SCHEDULED and scheduled)


@dataclass(frozen=True)
class Post:
    """One post as written: front matter validated, body still Markdown."""

    source: Path
    display_path: str
    slug: str
    title: str
    date: datetime
    body: str
    body_line: int
    summary: str = ""
    tags: tuple[str, ...] = ()
    draft: bool = False
    author: str = ""
    image: str = ""
    preheader: str = ""
    updated: datetime | None = None
    id: str = ""
    feed: str = "full"
    check_ignore: tuple[str, ...] = ()  # `newsletter check` rules switched off for this post
    digest: str = ""  # sha256 of the file's bytes: what caches key on
    snippets: tuple[str, ...] | None = None  # the snippets it shows by name; None: every one

    @property
    def bundle(self) -> str:
        """The folder of the page bundle this post is the index.md of (``posts/chart``), or ''."""
        return bundle_of(self.display_path)

    @cached_property
    def key(self) -> str:
        """Changes whenever anything the post's outputs are made from changes (file and name)."""
        return hashlib.sha256(f"{self.display_path}\0{self.digest}".encode()).hexdigest()

    def status(self, now: datetime) -> Status:
        """Return where the post stands as of *now*."""
        if self.draft:
            return Status.DRAFT
        if self.date > now:
            return Status.SCHEDULED
        return Status.PUBLISHED


@lru_cache(maxsize=4096)  # a few tags, named by thousands of posts
def slugify(text: str) -> str:
    """Turn any text into a slug of ``[a-z0-9-]``, dropping accents ("Žluťoučký" → "zlutoucky")."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


# Symbols that tell tags apart ("C", "C++", "C#"), spelled out so that they survive in a tag's slug.
_TAG_SYMBOLS = {"+": " plus ", "#": " sharp ", "&": " and ", "@": " at "}
_TAG_SYMBOL = re.compile("[" + re.escape("".join(_TAG_SYMBOLS)) + "]")


@lru_cache(maxsize=4096)
def tag_slug(name: str) -> str:
    """Turn a tag into the slug of its page, spelling out symbols ("C++" → "c-plus-plus", "C#" → "c-sharp").

    A tag with no Latin letter or digit is transliterated ("кошки" → "koshki", "日本" → "riben");
    any other keeps the slug it always had, so no existing tag page moves.
    """
    spelled = _TAG_SYMBOL.sub(lambda match: _TAG_SYMBOLS[match.group()], name)
    slug = slugify(spelled)
    if slug:
        return slug
    # anyascii brings importlib.resources, tempfile and shutil with it: loaded for the first tag
    # that needs it, not by every command that reads posts.
    from anyascii import anyascii

    return slugify(anyascii(spelled))


@lru_cache(maxsize=4096)
def same_tag(name: str) -> str:
    """What two spellings of one tag share: "Kubernetes" and "kubernetes" are one tag, "C" and "C++" two."""
    return " ".join(unicodedata.normalize("NFKC", name).casefold().split())


def clean_text(text: str) -> tuple[str, bool]:
    """Remove characters XML 1.0 and mail headers cannot carry; say whether any were removed."""
    cleaned = _UNSAFE_CHARS.sub("", text)
    return cleaned, cleaned != text


def one_line(text: str) -> str:
    """Collapse line breaks (and the space around them) into single spaces.

    Line breaks are every character str.splitlines breaks at, as the email package does when it
    folds a header: U+2028 in a title must not end the Subject line.
    """
    return _LINE_BREAKS.sub(" ", text).strip()


def to_datetime(value: date | datetime, tz: ZoneInfo) -> datetime:
    """Make a front matter date aware: naive values are in the newsletter's time zone."""
    if not isinstance(value, datetime):
        value = datetime.combine(value, time(0, 0))
    return value.replace(tzinfo=tz) if value.tzinfo is None else value


def parse_when(text: str, tz: ZoneInfo) -> datetime:
    """Parse an ISO date or datetime from the command line or front matter text."""
    value = datetime.fromisoformat(text.strip())
    if len(text.strip()) == 10:
        return to_datetime(value.date(), tz)
    return to_datetime(value, tz)
