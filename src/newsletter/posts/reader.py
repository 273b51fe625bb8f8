"""Turn one post file into a ``Post``, collecting every problem with its line.

The only module that imports PyYAML and python-frontmatter.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from datetime import date, datetime
from pathlib import Path
from typing import Any

import frontmatter
import yaml

from ..config import Config, find_key_line, suggest
from ..errors import Problem, shown, warning
from ..layout import RESERVED_SLUGS
from .bundles import bundle_of
from .foreign import translate
from .model import (
    _DATE_PREFIX,
    FEED_MODES,
    KNOWN_KEYS,
    REQUIRED_KEYS,
    SLUG_MAX,
    SLUG_RE,
    Post,
    clean_text,
    one_line,
    parse_when,
    same_tag,
    slugify,
    tag_slug,
    to_datetime,
)


class _YamlLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """Safe loader that keeps an impossible date (2025-02-30) as text, to be reported with its line."""


def _timestamp_or_text(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Any:
    try:
        return loader.construct_yaml_timestamp(node)
    except ValueError:
        return loader.construct_scalar(node)


_YamlLoader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp_or_text)


class _YamlFrontMatter(frontmatter.YAMLHandler):
    """YAML between '---' lines; a fence matches its own line only, so body line numbers stay right."""

    FM_BOUNDARY = re.compile(r"^---[ \t]*$", re.MULTILINE)

    def load(self, fm: str, **kwargs: object) -> Any:
        return yaml.load(fm, Loader=_YamlLoader) if fm.strip() else {}


class _TomlFrontMatter(frontmatter.default_handlers.BaseHandler):
    """TOML between '+++' lines, read with the standard library's tomllib."""

    FM_BOUNDARY = re.compile(r"^\+\+\+[ \t]*$", re.MULTILINE)
    START_DELIMITER = END_DELIMITER = "+++"

    def load(self, fm: str, **kwargs: object) -> Any:
        return tomllib.loads(fm)


_HANDLERS: dict[str, frontmatter.default_handlers.BaseHandler] = {
    "---": _YamlFrontMatter(), "+++": _TomlFrontMatter(),
}


def _yaml_problem(error: yaml.YAMLError) -> tuple[str, int | None]:
    """The parser's complaint and the front matter line to report: where the broken part begins.

    An unterminated quote is only noticed at the end of the front matter; the line where it was
    opened is the one to fix, so that line is reported and the other named in the message.
    """
    problem = getattr(error, "problem", None) or "cannot be parsed"
    mark = getattr(error, "problem_mark", None)
    context, begun = getattr(error, "context", None), getattr(error, "context_mark", None)
    if begun is not None and context and mark is not None and begun.line != mark.line:
        return f"{problem} at line {mark.line + 2}, {context} that starts on this line", begun.line
    return problem, mark.line if mark is not None else None


class _PostReader:
    """Collect the problems of one file while turning it into a Post."""

    def __init__(self, path: Path, display: str, config: Config) -> None:
        self.path = path
        self.display = display
        self.config = config
        self.errors: list[Problem] = []
        self.warnings: list[Problem] = []
        self.front_text = ""
        self.digest = ""

    def error(self, message: str, key: str | None = None, line: int | None = None) -> None:
        self.errors.append(Problem(self.display, message, line or self.line_of(key), key))

    def warn(self, message: str, key: str | None = None, line: int | None = None) -> None:
        self.warnings.append(warning(self.display, message, line or self.line_of(key), "load-warning", key))

    def line_of(self, key: str | None) -> int | None:
        if key is None:
            return None
        found = find_key_line(self.front_text, key)
        return found + 1 if found else 1  # +1: the front matter starts after the fence

    def read(self) -> Post | None:
        try:
            raw = self.path.read_bytes()
        except OSError as error:
            self.error(f"cannot be read: {error.strerror}")
            return None
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            line = raw[: error.start].count(b"\n") + 1
            self.error(f"not UTF-8 text (byte {raw[error.start]:#04x}); re-save the file as UTF-8", line=line)
            return None
        self.digest = hashlib.sha256(raw).hexdigest()
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        meta = self.parse_front_matter(text)
        if meta is None:
            return None
        return self.build(meta)

    def parse_front_matter(self, text: str) -> dict[str, Any] | None:
        opening = re.match(r"(---|\+\+\+)[ \t]*\n", text)
        if not opening:
            self.error("no front matter: start the file with a '---' line, then 'title:' and 'date:', "
                       "then another '---' line", line=1)
            return None
        fence = opening.group(1)
        handler = _HANDLERS[fence]
        try:
            front, self.body = handler.split(text)
        except ValueError:
            self.error(f"front matter is not closed: add a line '{fence}' after it", line=1)
            return None
        # The split keeps the newline that ends each fence line; drop them so that line 1 of the
        # front matter is line 2 of the file and the body starts right after the closing fence.
        front = front.removeprefix("\n")
        # Neither YAML nor TOML accepts these characters as they are; remove them as in the body.
        front, removed = clean_text(front)
        if removed:
            first = next(i for i, line in enumerate(text.split("\n")[1:]) if clean_text(line)[1])
            self.warn("removed control characters that feeds and mail headers cannot carry", line=first + 2)
        front = front if not front or front.endswith("\n") else front + "\n"
        self.body = self.body.removeprefix("\n")
        self.front_text = front
        self.body_line = front.count("\n") + 3
        try:
            meta = handler.load(front)
        except yaml.reader.ReaderError as error:
            line = front[: error.position].count("\n") + 2
            self.error(f"front matter is not valid YAML: character U+{error.character:04X} is not allowed; "
                       "delete it", line=line)
            return None
        except yaml.YAMLError as error:
            problem, line_in_front = _yaml_problem(error)
            self.error(f"front matter is not valid YAML: {problem}",
                       line=line_in_front + 2 if line_in_front is not None else 1)
            return None
        except RecursionError:
            self.error("front matter values are nested too deep to read; flatten them", line=2)
            return None
        except tomllib.TOMLDecodeError as error:
            match = re.search(r"at line (\d+)", str(error))
            line = int(match.group(1)) + 1 if match else 1
            message = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(error))
            self.error(f"front matter is not valid TOML: {message}", line=line)
            return None
        if not isinstance(meta, dict):
            self.error("front matter must be a set of 'key: value' lines", line=2)
            return None
        return meta

    def text_field(self, meta: dict[str, Any], key: str, *, single_line: bool = True) -> str:
        value = meta.get(key)
        if value is None:
            return ""
        if not isinstance(value, str):
            self.error(f"expected text, got {shown(value)}; put it in quotes", key)
            return ""
        value, removed = clean_text(value)
        if removed:
            self.warn("removed control characters that feeds and mail headers cannot carry", key)
        return one_line(value) if single_line else value

    def date_field(self, meta: dict[str, Any], key: str) -> datetime | None:
        value = meta.get(key)
        tz = self.config.site.tz
        if isinstance(value, (date, datetime)):
            return to_datetime(value, tz)
        if isinstance(value, str):
            try:
                return parse_when(value, tz)
            except ValueError:
                pass
        self.error(f"expected YYYY-MM-DD or an ISO datetime like 2025-04-01 09:30, got {shown(value)}", key)
        return None

    def foreign(self, meta: dict[str, Any]) -> dict[str, Any]:
        """Read Hugo's, Jekyll's, Eleventy's and Pelican's keys as [posts] foreign_keys says."""
        translated = translate(meta, self.config.posts.foreign_keys)
        for message, key in translated.errors:
            self.error(message, key)
        for message, key in translated.warnings:
            self.warn(message, key)
        return translated.meta

    def build(self, meta: dict[str, Any]) -> Post | None:
        meta = self.foreign(meta)
        for key in meta:
            if key not in KNOWN_KEYS:
                self.error(f"unknown key{suggest(str(key), KNOWN_KEYS)}; known keys: {', '.join(KNOWN_KEYS)}",
                           str(key))
        for key in REQUIRED_KEYS:
            if meta.get(key) in (None, ""):
                self.error(f"is required; add '{key}: ...' to the front matter", key)

        title = self.text_field(meta, "title")
        if not title and isinstance(meta.get("title"), str) and meta["title"]:
            # Only spaces, line breaks or control characters: nothing to show as a subject.
            self.error("has no text to show; write a title", "title")
        when = self.date_field(meta, "date") if meta.get("date") not in (None, "") else None
        updated = self.date_field(meta, "updated") if meta.get("updated") is not None else None
        if when is not None and updated is not None and updated < when:
            self.error(f"{updated.isoformat()} is before the issue's date {when.isoformat()}; "
                       "'updated' says when it was revised, so give a later time or remove it", "updated")
        summary = self.text_field(meta, "summary")
        author = self.text_field(meta, "author")
        image = self.text_field(meta, "image")
        preheader = self.text_field(meta, "preheader")
        pinned_id = self.text_field(meta, "id")
        feed = self.text_field(meta, "feed") or "full"
        if feed not in FEED_MODES:
            self.error(f"expected one of {', '.join(FEED_MODES)}, got {shown(feed)}", "feed")

        draft = meta.get("draft", False)
        if not isinstance(draft, bool):
            self.error(f"expected true or false, got {shown(draft)}", "draft")

        tags = self.tags(meta.get("tags"))
        check_ignore = self.words(meta.get("check"), "check",
                                  "a list of check rule ids, like [image-width, code-width]")
        slug = self.slug(meta.get("slug"), title)
        snippets = self.snippet_choice(meta)

        body, removed = clean_text(self.body)
        if removed:
            first = next(i for i, line in enumerate(self.body.split("\n")) if clean_text(line)[1])
            self.warn("removed control characters that feeds and mail cannot carry",
                      line=self.body_line + first)

        if self.errors or when is None or slug is None:
            return None
        return Post(
            source=self.path, display_path=self.display, slug=slug, title=title, date=when,
            body=body, body_line=self.body_line, summary=summary, tags=tags, draft=draft is True,
            author=author, image=image, preheader=preheader, updated=updated, id=pinned_id, feed=feed,
            check_ignore=check_ignore, digest=self.digest, snippets=snippets,
        )

    def snippet_choice(self, meta: dict[str, Any]) -> tuple[str, ...] | None:
        """``snippets: false`` shows none, a list shows those; absent (or true) shows every snippet."""
        value = meta.get("snippets", True)
        if value is True:
            return None
        if value is False:
            return ()
        return self.words(value, "snippets", "false, or a list of snippet names, like [courses, footer]")

    def words(self, value: Any, key: str, expected: str) -> tuple[str, ...]:
        if value is None:
            return ()
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(word, str) for word in value):
            self.error(f"expected {expected}", key)
            return ()
        return tuple(value)

    def tags(self, value: Any) -> tuple[str, ...]:
        if value is None:
            return ()
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(tag, str) for tag in value):
            self.error("expected a list of words, like [kubernetes, conferences]", "tags")
            return ()
        tags: dict[str, str] = {}
        by_slug: dict[str, str] = {}
        for tag in value:
            name = one_line(clean_text(tag)[0])
            slug = tag_slug(name)
            if not slug:
                self.error(f"tag {shown(tag)} has no letters or digits to make a page name from", "tags")
                continue
            if len(slug) > SLUG_MAX:
                self.error(f"tag {shown(tag)} is too long to name its page; keep tags to {SLUG_MAX} "
                           "characters or fewer", "tags")
                continue
            other = by_slug.setdefault(slug, name)
            if same_tag(other) != same_tag(name):
                self.error(f"tags {other!r} and {name!r} would share the page tags/{slug}/; "
                           "spell them the same or rename one", "tags")
                continue
            tags.setdefault(same_tag(name), name)
        return tuple(tags.values())

    def slug(self, value: Any, title: str) -> str | None:
        if value is not None:
            if not isinstance(value, str) or not SLUG_RE.fullmatch(value):
                self.error(f"{shown(value)} is not a safe slug: use lowercase letters, digits and single "
                           f"hyphens, like 'rejekts-day-two'", "slug")
                return None
            slug = value
        else:
            # A page bundle is named by its folder, as a post file is by its name.
            name = self.path.parent.name if bundle_of(self.display) else self.path.stem
            slug = slugify(_DATE_PREFIX.sub("", name)) or slugify(title)
            if not slug:
                self.error("cannot make a slug from the file name or title; add 'slug: some-name'", "title")
                return None
        if len(slug) > SLUG_MAX:
            where = "the slug" if value is not None else "the slug made from the file name or title"
            self.error(f"{where} is {len(slug)} characters long, too long to name the issue's files; keep it "
                       f"to {SLUG_MAX} or fewer, or set a shorter 'slug: ...'", "slug" if value is not None else None,
                       line=None if value is not None else 1)
            return None
        if slug in RESERVED_SLUGS:
            self.error(f"'{slug}' is reserved for the site's own pages; choose another slug", "slug",
                       line=self.line_of("slug") if value is not None else 1)
            return None
        return slug


def _reader(path: Path, config: Config) -> _PostReader:
    try:
        display = path.relative_to(config.root).as_posix()
    except ValueError:
        display = str(path)
    return _PostReader(path, display, config)


def read_front_matter(path: Path, config: Config) -> tuple[dict[str, Any], str, int, list[Problem]]:
    """Split a Markdown file whose front matter is optional into its values, its body and the body's line.

    Returns the problems met; on any, the values are empty. Snippets are read this way.
    """
    reader = _reader(path, config)
    try:
        text = path.read_bytes().decode("utf-8-sig").replace("\r\n", "\n").replace("\r", "\n")
    except OSError as error:
        reader.error(f"cannot be read: {error.strerror}")
        return {}, "", 1, reader.errors
    except UnicodeDecodeError:
        reader.error("not UTF-8 text; re-save the file as UTF-8", line=1)
        return {}, "", 1, reader.errors
    if not re.match(r"(---|\+\+\+)[ \t]*\n", text):
        return {}, text, 1, []
    meta = reader.parse_front_matter(text)
    if meta is None:
        return {}, "", 1, reader.errors
    return meta, reader.body, reader.body_line, reader.errors
