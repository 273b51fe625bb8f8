"""Check a newsletter for what breaks in inboxes and feed readers, before it ships.

Everything is loaded and rendered in memory, as ``newsletter build`` would (drafts and scheduled
issues included, since those are the ones about to ship), and nothing is written. Each problem is
a ``Finding`` of one rule in ``RULES``, the single list of what is checked; the README's "Check"
section is rendered from it by ``rules_markdown``.

HTML is read with the standard library's parser and feeds with ElementTree, so that lxml,
premailer and feedgen stay in the modules that own them.
"""

from __future__ import annotations

import html
import json
import re
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from html.parser import HTMLParser
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

from ..build.engine import gather, load_site
from ..config import Config, find_key_line, suggest
from ..errors import (
    ConfigError,
    NewsletterError,
    PostError,
    Problem,
    SourceError,
    TemplateError,
)
from ..layout import ARCHIVE_DIR, ATOM_PATH, CONFIG_NAME, DEFAULT_OUT, TEMPLATES_DIR
from ..outputs.email import EMAIL_COLUMN_PX, GMAIL_CLIP_BYTES, UNSUBSCRIBE_PLACEHOLDER
from ..posts import Post
from ..render.html import is_site_relative, make_mail_safe, site_path
from ..render.templates import builtin_templates
from ..site import Entry, Site

ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True)
class Rule:
    """One thing the check looks for; its id is what an ignore list names."""

    id: str
    severity: str
    description: str


RULES: tuple[Rule, ...] = (
    Rule("config", ERROR, "`newsletter.toml` is missing or invalid"),
    Rule("source", ERROR, "a file in `posts/`, `static/` or `templates/` that may not be read: a link "
                          "outside the newsletter folder or to a private file, a loop of links, a FIFO"),
    Rule("front-matter", ERROR, "a post the loader rejects: bad YAML or TOML, unknown or missing keys, "
                                "bad dates, unsafe or clashing slugs"),
    Rule("load-warning", WARNING, "the loader had to change a post, e.g. remove control characters"),
    Rule("template", ERROR, "a template fails to render"),
    Rule("build", ERROR, "the build would fail, e.g. two outputs want the same path"),
    Rule("summary-missing", WARNING, "no `summary`: the archive, feeds and inbox preview fall back to "
                                     "the first paragraph"),
    Rule("subject-long", WARNING, "a title (the email subject) over 78 characters, cut off in inboxes"),
    Rule("preheader-repeats-title", WARNING, "the preheader (or summary) repeats the title, wasting the "
                                             "inbox preview line"),
    Rule("link-broken", ERROR, "a link to another issue, a tag, a static file or an `#anchor` that "
                               "points at nothing"),
    Rule("link-unpublished", WARNING, "a published issue links to a draft or scheduled one"),
    Rule("link-relative", ERROR, "a link or image left relative in the email or a feed, where it "
                                 "cannot resolve"),
    Rule("image-http", WARNING, "an image over plain `http:`, blocked or flagged by mail clients and "
                                "browsers"),
    Rule("image-alt", WARNING, "an image with no or empty `alt` text"),
    Rule("image-format", ERROR, "an SVG, WebP or AVIF image in the email (Gmail and Outlook don't "
                                "show them)"),
    Rule("image-bytes", WARNING, "an image in `static/` over 1 MB, slow to load on phones"),
    Rule("image-width", WARNING, "an image in the email without a `width` attribute (Outlook shows it "
                                 "at its natural size)"),
    Rule("email-size", WARNING, "an email over 102 KB, which Gmail clips; says what takes the space"),
    Rule("email-style-size", WARNING, "a `<style>` block over 16 KB in the email, which Gmail drops"),
    Rule("email-removed", WARNING, "something mail clients block (script, form, iframe, event "
                                   "handler) was removed from the email"),
    Rule("code-width", WARNING, "code lines longer than 80 characters, which scroll or wrap on phones"),
    Rule("image-heavy", WARNING, "an issue that is mostly images and little text, which spam "
                                 "filters score"),
    Rule("unsubscribe-missing", WARNING, "no unsubscribe URL or address configured, or no "
                                         "unsubscribe link in the email"),
    Rule("feed-id-changed", ERROR, "an issue's feed id differs from the last build in `dist/`, so "
                                   "every subscriber would get it again"),
    Rule("feed-empty-item", ERROR, "a feed item with no content"),
    Rule("feed-future-date", WARNING, "a feed item dated in the future"),
    Rule("heading-skip", WARNING, "heading levels that skip one, like h2 → h4"),
    Rule("link-text", WARNING, "link text that says nothing out of context, like \"click here\""),
    Rule("contrast", WARNING, "email text or link colours below WCAG AA contrast, in light or "
                              "dark mode"),
    Rule("check-ignore", WARNING, "an ignore list names a rule that does not exist"),
)
RULES_BY_ID = {rule.id: rule for rule in RULES}
# These stop the build itself: hiding them would only move the failure to `newsletter build`.
NOT_IGNORABLE = frozenset({"config", "front-matter", "source", "template", "build", "check-ignore"})

SUBJECT_MAX = 78
CODE_LINE_MAX = 80
IMAGE_MAX_BYTES = 1024 * 1024
STYLE_MAX_BYTES = 16 * 1024
MIN_WORDS_PER_IMAGE = 60
# The email template's column: 600 px less 24 px of padding on each side.
AA_NORMAL, AA_LARGE = 4.5, 3.0
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".webp", ".avif", ".svg", ".svgz", ".bmp", ".tif", ".tiff")
EMAIL_UNSUPPORTED_IMAGES = {".svg": "SVG", ".svgz": "SVG", ".webp": "WebP", ".avif": "AVIF"}
VAGUE_LINK_TEXT = frozenset({
    "click here", "click", "here", "click this", "this", "this link", "link", "read more", "more",
    "learn more", "see more", "continue", "continue reading", "go", "this page", "see here",
})
_ATOM = "{http://www.w3.org/2005/Atom}"


@dataclass(frozen=True)
class Finding:
    """One problem: where (path relative to the newsletter, line when the source has one), which rule, what."""

    path: str
    line: int | None
    rule: str
    message: str

    @property
    def severity(self) -> str:
        return RULES_BY_ID[self.rule].severity

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.severity}: {self.rule}: {self.message}"

    def as_dict(self) -> dict[str, object]:
        return {"path": self.path, "line": self.line, "severity": self.severity, "rule": self.rule,
                "message": self.message}


@dataclass(frozen=True)
class Report:
    """Every finding, sorted by file and line, and how many issues were checked."""

    findings: tuple[Finding, ...]
    issues: int

    @property
    def errors(self) -> int:
        return sum(1 for finding in self.findings if finding.severity == ERROR)

    @property
    def warnings(self) -> int:
        return sum(1 for finding in self.findings if finding.severity == WARNING)

    def failed(self, strict: bool = False) -> bool:
        """Say whether the check should exit non-zero: any error, or with *strict* any warning too."""
        return bool(self.errors or (strict and self.warnings))

    def summary(self, strict: bool = False) -> str:
        checked = f"{self.issues} issue{'s' if self.issues != 1 else ''} checked"
        if not self.findings:
            return f"No problems found ({checked})."
        counts = f"{_plural(self.errors, 'error')}, {_plural(self.warnings, 'warning')} ({checked})"
        if strict and self.warnings and not self.errors:
            counts += "; --strict counts warnings as errors"
        return counts + "."

    def to_text(self, strict: bool = False) -> str:
        return "\n".join([*(str(finding) for finding in self.findings), self.summary(strict)])

    def to_json(self, strict: bool = False) -> str:
        data = {
            "findings": [finding.as_dict() for finding in self.findings],
            "errors": self.errors,
            "warnings": self.warnings,
            "issues": self.issues,
            "strict": strict,
            "ok": not self.failed(strict),
        }
        return json.dumps(data, ensure_ascii=False, indent=2)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'s' if count != 1 else ''}"


def rules_markdown() -> str:
    """Render the README's "Check" section: how to run the check and one table row per rule."""
    rows = "\n".join(f"| `{rule.id}` | {rule.severity} | {rule.description} |" for rule in RULES)
    locked = [f"`{rule_id}`" for rule_id in sorted(NOT_IGNORABLE - {"check-ignore"})]
    locked_text = ", ".join(locked[:-1]) + " and " + locked[-1]
    return f"""\
## Check

`newsletter check` loads and renders everything in memory, drafts and scheduled issues included,
writes nothing, and reports what would break in inboxes and feed readers, one line per problem:

```
posts/2025-04-01-rejekts-2025-day-two.md:18: warning: image-width: image 'https://cdn.example.org/chart.png' has no width in the email and ...
```

It exits 1 when there are errors (with `--strict`, warnings count too) and 0 otherwise;
`--format json` prints the same findings as JSON for CI. It compares feed ids with the last build
in `dist/`, so run it before `newsletter build`. Switch a rule off for the whole newsletter in
`newsletter.toml`, or for one post in its front matter:

```toml
[check]
ignore = ["image-heavy", "code-width"]
```

```yaml
check: [image-width]
```

{locked_text} stop the build itself and cannot be switched off.

| rule | severity | what it catches |
| --- | --- | --- |
{rows}
"""


# --- entry point ------------------------------------------------------------------------------


def check_newsletter(root: Path, *, now: datetime | None = None, dist: Path | None = None,
                     ignore: Iterable[str] = ()) -> Report:
    """Load and render the newsletter in *root* in memory and report every problem found.

    *dist* is the last build, whose feeds the new ones are compared with (default root/dist);
    *ignore* adds rule ids to switch off, on top of ``[check] ignore`` in newsletter.toml.
    """
    try:
        site = load_site(root, now=now, drafts=True, scheduled=True)
    except ConfigError as error:
        return Report(tuple(sorted(_config_findings(root, error), key=_order)), 0)
    except PostError as error:
        findings = [_problem_finding(root, problem, "front-matter") for problem in error.problems]
        return Report(tuple(sorted(findings, key=_order)), 0)
    except SourceError as error:
        findings = [_problem_finding(root, problem, "source") for problem in error.problems]
        return Report(tuple(sorted(findings, key=_order)), 0)
    checker = _Checker(site, dist if dist is not None else root / DEFAULT_OUT)
    findings = checker.run()
    findings = apply_ignores(findings, [*_config_ignores(site.config), *ignore],
                             {entry.post.display_path: tuple(_post_ignores(entry.post)) for entry in site.entries},
                             config_text=checker.config_text)
    return Report(tuple(sorted(set(findings), key=_order)), len(site.entries))


def _order(finding: Finding) -> tuple[str, int, str, str]:
    return finding.path, finding.line or 0, finding.rule, finding.message


def _config_ignores(config: Config) -> tuple[str, ...]:
    """Return ``[check] ignore`` from newsletter.toml, however config.py comes to carry it."""
    section = config.check
    value = section.get("ignore", ()) if isinstance(section, dict) else getattr(section, "ignore", ())
    return tuple(value or ())


def _post_ignores(post: Post) -> tuple[str, ...]:
    """Return the rule ids a post's front matter switches off (``check: [...]``)."""
    return post.check_ignore


def apply_ignores(findings: Iterable[Finding], site_ignore: Iterable[str],
                  post_ignores: dict[str, tuple[str, ...]], *, config_text: str = "") -> list[Finding]:
    """Drop findings switched off for the site or for their post; report unknown rule ids."""
    site_ignore = tuple(site_ignore)
    kept = [finding for finding in findings
            if finding.rule in NOT_IGNORABLE
            or (finding.rule not in site_ignore and finding.rule not in post_ignores.get(finding.path, ()))]
    known = list(RULES_BY_ID)
    for rule_id in site_ignore:
        if rule_id not in RULES_BY_ID:
            kept.append(Finding(CONFIG_NAME, find_key_line(config_text, "ignore", "check"), "check-ignore",
                                f"[check] ignore: unknown rule {rule_id!r}{suggest(rule_id, known)}"))
    for path, rule_ids in post_ignores.items():
        for rule_id in rule_ids:
            if rule_id not in RULES_BY_ID:
                kept.append(Finding(path, None, "check-ignore",
                                    f"check: unknown rule {rule_id!r}{suggest(rule_id, known)}"))
    return kept


def _display(root: Path, path: Path | str) -> str:
    try:
        return Path(path).relative_to(root).as_posix()
    except ValueError:
        return str(path)


def _problem_finding(root: Path, problem: Problem, rule: str) -> Finding:
    message = f"{problem.field}: {problem.message}" if problem.field else problem.message
    return Finding(_display(root, problem.path), problem.line, rule, message)


_LOCATED = re.compile(r"^(?P<path>.+?)(?::(?P<line>\d+))?: (?P<message>.*)$")


def _message_finding(root: Path, text: str, rule: str, default_path: str) -> Finding:
    """Make a finding of an error whose message starts 'path[:line]: ...'."""
    match = _LOCATED.match(text)
    if match and ("/" in match.group("path") or "." in match.group("path")) and " " not in match.group("path"):
        line = int(match.group("line")) if match.group("line") else None
        return Finding(_display(root, match.group("path")), line, rule, match.group("message"))
    return Finding(default_path, None, rule, text)


def _config_findings(root: Path, error: ConfigError) -> list[Finding]:
    if error.problems:
        return [_problem_finding(root, problem, "config") for problem in error.problems]
    return [_message_finding(root, line, "config", CONFIG_NAME) for line in str(error).splitlines()]


# --- where things are in a post's source ------------------------------------------------------


class _Source:
    """A post's text, to find the line of a front matter key or of text in the body."""

    def __init__(self, post: Post) -> None:
        self.post = post
        try:
            text = post.source.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError):
            text = ""
        lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        closing = next((index for index in range(1, len(lines)) if lines[index].strip() in ("---", "+++")), 0)
        self.front = "\n".join(lines[1:closing])

    def key_line(self, key: str) -> int | None:
        """Return the line of a top-level front matter key, if it is there."""
        found = find_key_line(self.front, key)
        return found + 1 if found else None

    def line_of(self, needle: str, occurrence: int = 0) -> int | None:
        """Return the line of the *occurrence*-th appearance of *needle* in the body."""
        if not needle:
            return None
        start = -1
        for _ in range(occurrence + 1):
            start = self.post.body.find(needle, start + 1)
            if start < 0:
                return None
        return self.post.body_line + self.post.body.count("\n", 0, start)

    def url_line(self, url: str, occurrence: int = 0) -> int | None:
        """Return the line where a link or image URL is written (Markdown may have re-encoded it)."""
        for form in dict.fromkeys((url, unquote(url), html.unescape(url), url.split("#")[0])):
            line = self.line_of(form, occurrence) or self.line_of(form)
            if line:
                return line
        return None

    def heading_line(self, level: int, text: str) -> int | None:
        """Return the line of an ATX heading ('## Text') of *level* whose text starts like *text*."""
        first = text.split()[0] if text.split() else ""
        for number, line in enumerate(self.post.body.split("\n"), start=self.post.body_line):
            marks, _, rest = line.strip().partition(" ")
            if marks == "#" * level and first in rest:
                return number
        return self.text_line(text)

    def text_line(self, text: str) -> int | None:
        """Return the line where rendered *text* starts, searching for its first words."""
        first = next((line.strip() for line in text.split("\n") if line.strip()), "")
        words = first.split()
        for count in (8, 4, 2, 1):
            if len(words) >= count or count == 1:
                line = self.line_of(" ".join(words[:count]))
                if line:
                    return line
        return None


# --- a small HTML tree ------------------------------------------------------------------------

_VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param",
                   "source", "track", "wbr"})


class _Node:
    __slots__ = ("tag", "attrs", "children", "parent")

    def __init__(self, tag: str, attrs: dict[str, str], parent: _Node | None) -> None:
        self.tag = tag
        self.attrs = attrs
        self.children: list[_Node | str] = []
        self.parent = parent

    def iter(self, *tags: str) -> Iterator[_Node]:
        for child in self.children:
            if isinstance(child, _Node):
                if not tags or child.tag in tags:
                    yield child
                yield from child.iter(*tags)

    def text(self) -> str:
        return "".join(child if isinstance(child, str) else child.text() for child in self.children)

    @property
    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = _Node("#root", {}, None)
        self.current = self.root

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = _Node(tag, {name: value or "" for name, value in attrs}, self.current)
        self.current.children.append(node)
        if tag not in _VOID:
            self.current = node

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.current.children.append(_Node(tag, {name: value or "" for name, value in attrs}, self.current))

    def handle_endtag(self, tag: str) -> None:
        node: _Node | None = self.current
        while node is not None and node.tag != tag:
            node = node.parent
        if node is not None and node.parent is not None:
            self.current = node.parent

    def handle_data(self, data: str) -> None:
        self.current.children.append(data)


def _parse_html(text: str) -> _Node:
    builder = _TreeBuilder()
    builder.feed(text)
    builder.close()
    return builder.root


def _srcset_urls(value: str) -> list[str]:
    return [candidate.split()[0] for candidate in value.split(",") if candidate.split()]


def _node_urls(node: _Node) -> list[tuple[str, str]]:
    """List (attribute, URL) for every URL an element carries, srcset candidates and CSS url() included."""
    urls = [(name, node.attrs[name]) for name in ("href", "src", "poster", "cite", "background", "action")
            if name in node.attrs]
    urls += [("srcset", url) for url in _srcset_urls(node.attrs.get("srcset", ""))]
    urls += [("style", match.group(2)) for match in re.finditer(r"""url\(\s*(['"]?)(.*?)\1\s*\)""",
                                                                 node.attrs.get("style", ""))]
    return urls


# --- colours (WCAG 2.x) -----------------------------------------------------------------------

_NAMED_COLOURS = {
    "black": "#000000", "white": "#ffffff", "red": "#ff0000", "green": "#008000", "blue": "#0000ff",
    "gray": "#808080", "grey": "#808080", "silver": "#c0c0c0", "yellow": "#ffff00", "orange": "#ffa500",
    "navy": "#000080", "maroon": "#800000", "purple": "#800080", "teal": "#008080", "lime": "#00ff00",
    "aqua": "#00ffff", "cyan": "#00ffff", "fuchsia": "#ff00ff", "magenta": "#ff00ff", "olive": "#808000",
    "darkgray": "#a9a9a9", "darkgrey": "#a9a9a9", "lightgray": "#d3d3d3", "lightgrey": "#d3d3d3",
    "dimgray": "#696969", "dimgrey": "#696969", "whitesmoke": "#f5f5f5", "gainsboro": "#dcdcdc",
}
Colour = tuple[float, float, float, float]
_COLOUR_TOKEN = re.compile(r"#[0-9a-fA-F]{3,8}\b|rgba?\([^)]*\)|\b[a-zA-Z]+\b")


def parse_colour(value: str) -> Colour | None:
    """Read a CSS colour (#rgb, #rrggbb, #rrggbbaa, rgb(), rgba(), a common name) as (r, g, b, alpha)."""
    value = value.strip().lower().removesuffix("!important").strip()
    value = _NAMED_COLOURS.get(value, value)
    if value == "transparent":
        return (0.0, 0.0, 0.0, 0.0)
    if value.startswith("#"):
        digits = value[1:]
        if len(digits) in (3, 4):
            digits = "".join(digit * 2 for digit in digits)
        if len(digits) not in (6, 8) or not re.fullmatch(r"[0-9a-f]+", digits):
            return None
        alpha = int(digits[6:8], 16) / 255 if len(digits) == 8 else 1.0
        return (int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16), alpha)
    match = re.fullmatch(r"rgba?\(([^)]*)\)", value)
    if match:
        parts = [part for part in re.split(r"[\s,/]+", match.group(1).strip()) if part]
        try:
            channels = [float(p[:-1]) * 2.55 if p.endswith("%") else float(p) for p in parts[:3]]
            alpha = (float(parts[3][:-1]) / 100 if parts[3].endswith("%") else float(parts[3])) \
                if len(parts) > 3 else 1.0
        except ValueError:
            return None
        if len(channels) == 3:
            return (channels[0], channels[1], channels[2], alpha)
    return None


def _over(top: Colour, bottom: Colour) -> Colour:
    """Composite a possibly translucent colour over an opaque one."""
    alpha = top[3]
    return (top[0] * alpha + bottom[0] * (1 - alpha), top[1] * alpha + bottom[1] * (1 - alpha),
            top[2] * alpha + bottom[2] * (1 - alpha), 1.0)


def relative_luminance(colour: Colour) -> float:
    """Compute the WCAG relative luminance of an sRGB colour: 0 for black, 1 for white."""
    def linear(channel: float) -> float:
        value = channel / 255
        return value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4
    return 0.2126 * linear(colour[0]) + 0.7152 * linear(colour[1]) + 0.0722 * linear(colour[2])


def contrast_ratio(first: Colour, second: Colour) -> float:
    """Compute the WCAG contrast ratio of two opaque colours, from 1 (none) to 21 (black on white)."""
    lighter, darker = sorted((relative_luminance(first), relative_luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def _hex(colour: Colour) -> str:
    return "#" + "".join(f"{round(channel):02x}" for channel in colour[:3])


def _declarations(style: str) -> dict[str, tuple[str, bool]]:
    """Parse CSS declarations into property → (value, !important); later ones win as in CSS."""
    result: dict[str, tuple[str, bool]] = {}
    for declaration in style.split(";"):
        name, _, value = declaration.partition(":")
        name, value = name.strip().lower(), value.strip()
        if not name or not value:
            continue
        important = bool(re.search(r"!\s*important\s*$", value, re.IGNORECASE))
        value = re.sub(r"!\s*important\s*$", "", value, flags=re.IGNORECASE).strip()
        if important or not result.get(name, ("", False))[1]:
            result[name] = (value, important)
    return result


def _background(declarations: dict[str, tuple[str, bool]]) -> tuple[str, bool] | None:
    if "background-color" in declarations:
        return declarations["background-color"]
    if "background" in declarations:
        value, important = declarations["background"]
        for token in _COLOUR_TOKEN.findall(value):
            if parse_colour(token) is not None:
                return token, important
    return None


@dataclass(frozen=True)
class _Selector:
    """A selector of simple compounds (tag, .class, #id) joined by descendant combinators."""

    parts: tuple[tuple[str, frozenset[str], str], ...]
    specificity: tuple[int, int, int]

    @staticmethod
    def parse(text: str) -> _Selector | None:
        parts = []
        for compound in text.split():
            match = re.fullmatch(r"([a-zA-Z][a-zA-Z0-9]*|\*)?((?:[.#][-\w]+)*)", compound)
            if not match:
                return None  # pseudo-classes, attributes, other combinators: not understood, not applied
            extras = re.findall(r"[.#][-\w]+", match.group(2))
            classes = frozenset(extra[1:] for extra in extras if extra[0] == ".")
            ident = next((extra[1:] for extra in extras if extra[0] == "#"), "")
            parts.append(((match.group(1) or "*").lower(), classes, ident))
        if not parts:
            return None
        specificity = (sum(1 for part in parts if part[2]), sum(len(part[1]) for part in parts),
                       sum(1 for part in parts if part[0] != "*"))
        return _Selector(tuple(parts), specificity)

    @staticmethod
    def _matches_one(part: tuple[str, frozenset[str], str], node: _Node) -> bool:
        tag, classes, ident = part
        return (tag in ("*", node.tag)) and classes <= node.classes and (not ident or node.attrs.get("id") == ident)

    def matches(self, node: _Node) -> bool:
        if not self._matches_one(self.parts[-1], node):
            return False
        ancestor = node.parent
        for part in reversed(self.parts[:-1]):
            while ancestor is not None and not (ancestor.tag != "#root" and self._matches_one(part, ancestor)):
                ancestor = ancestor.parent
            if ancestor is None:
                return False
            ancestor = ancestor.parent
        return True


@dataclass(frozen=True)
class _CssRule:
    selector: _Selector
    declarations: dict[str, tuple[str, bool]]
    order: int


def _dark_rules(document: _Node) -> list[_CssRule]:
    """Collect the rules inside the email's ``@media (prefers-color-scheme: dark)`` blocks."""
    rules: list[_CssRule] = []
    for style in document.iter("style"):
        css = re.sub(r"/\*.*?\*/", "", style.text(), flags=re.DOTALL)
        for match in re.finditer(r"@media[^{]*prefers-color-scheme\s*:\s*dark[^{]*\{", css):
            depth, start, end = 1, match.end(), match.end()
            while end < len(css) and depth:
                depth += {"{": 1, "}": -1}.get(css[end], 0)
                end += 1
            for rule in re.finditer(r"([^{}]+)\{([^{}]*)\}", css[start : end - 1]):
                declarations = _declarations(rule.group(2))
                for text in rule.group(1).split(","):
                    selector = _Selector.parse(text.strip())
                    if selector is not None:
                        rules.append(_CssRule(selector, declarations, len(rules)))
    return rules


_HEADING_SIZES = {"h1": 2.0, "h2": 1.5, "h3": 1.17, "h4": 1.0, "h5": 0.83, "h6": 0.67}
_BOLD_TAGS = frozenset({"b", "strong", "th", *_HEADING_SIZES})
_HIDDEN_TAGS = frozenset({"head", "style", "script", "title", "template"})
_BLOCK_TAGS = frozenset({"p", "li", "pre", "td", "th", "blockquote", "figcaption", "dd", "dt", "div",
                         *_HEADING_SIZES})
_DEFAULT_LINK = parse_colour("#0000ee")
_BLACK, _WHITE = parse_colour("#000000"), parse_colour("#ffffff")


def _font_size(value: str | None, parent: float, tag: str) -> float:
    if value:
        match = re.fullmatch(r"([\d.]+)(px|pt|em|rem|%)", value.strip().lower())
        if match:
            number, unit = float(match.group(1)), match.group(2)
            return {"px": number, "pt": number * 4 / 3, "em": number * parent, "rem": number * 16,
                    "%": number * parent / 100}[unit]
    return parent * _HEADING_SIZES.get(tag, 1.0)


@dataclass(frozen=True)
class _Paint:
    """What a piece of text looks like in one mode: its colour, its background, whether it is large."""

    colour: Colour
    background: Colour
    size: float
    bold: bool

    @property
    def large(self) -> bool:
        # WCAG "large text": 18 pt (24 px), or 14 pt (18.66 px) when bold.
        return self.size >= 24 or (self.bold and self.size >= 18.66)


@dataclass(frozen=True)
class _LowContrast:
    mode: str
    paint: _Paint
    ratio: float
    node: _Node
    index: int  # of the text among the node's children
    text: str


def _text_before(ancestor: _Node, node: _Node, index: int) -> str:
    """Return the text of *ancestor* that comes before child *index* of *node*."""
    parts: list[str] = []

    def walk(current: _Node) -> bool:
        for position, child in enumerate(current.children):
            if current is node and position == index:
                return True
            if isinstance(child, str):
                parts.append(child)
            elif walk(child):
                return True
        return False

    walk(ancestor)
    return "".join(parts)


def _block_of(node: _Node) -> _Node:
    while node.parent is not None and node.tag not in _BLOCK_TAGS:
        node = node.parent
    return node


def _low_contrast(document: _Node) -> list[_LowContrast]:
    """Find every run of visible text whose colour on its background is below WCAG AA, light and dark."""
    dark_rules = _dark_rules(document)
    found: list[_LowContrast] = []
    start = _Paint(_BLACK, _WHITE, 16.0, False)

    def pick(node: _Node, inline: dict[str, tuple[str, bool]], prop: str, dark: bool) -> str | None:
        value = _background(inline) if prop == "background" else inline.get(prop)
        best: tuple[tuple[int, tuple[int, int, int], int], str] | None = None
        if dark:
            for rule in dark_rules:
                declared = _background(rule.declarations) if prop == "background" else rule.declarations.get(prop)
                if declared is None or not rule.selector.matches(node):
                    continue
                # An !important sheet rule beats an inline style; a plain one loses to it.
                if not declared[1] and value is not None:
                    continue
                rank = (int(declared[1]), rule.selector.specificity, rule.order)
                if best is None or rank > best[0]:
                    best = (rank, declared[0])
        if best is not None:
            return best[1]
        if value is not None:
            return value[0]
        if prop == "background" and node.attrs.get("bgcolor"):
            return node.attrs["bgcolor"]
        return None

    def paint(node: _Node, parent: _Paint, inline: dict[str, tuple[str, bool]], dark: bool) -> _Paint:
        background = parent.background
        declared = pick(node, inline, "background", dark)
        colour_value = parse_colour(declared) if declared else None
        if colour_value is not None and colour_value[3] > 0:
            background = _over(colour_value, parent.background)
        colour = parent.colour
        declared = pick(node, inline, "color", dark)
        parsed = parse_colour(declared) if declared else None
        if parsed is not None:
            colour = parsed
        elif node.tag == "a" and declared is None and _DEFAULT_LINK is not None:
            colour = _DEFAULT_LINK
        weight = inline.get("font-weight", ("", False))[0].lower()
        bold = parent.bold or node.tag in _BOLD_TAGS
        if weight:
            bold = weight in ("bold", "bolder") or (weight.isdigit() and int(weight) >= 600)
        size = _font_size(inline.get("font-size", ("", False))[0], parent.size, node.tag)
        return _Paint(colour, background, size, bold)

    def walk(node: _Node, light: _Paint, dark: _Paint) -> None:
        for index, child in enumerate(node.children):
            if isinstance(child, str):
                if child.strip() and node.tag != "#root":
                    for mode, current in (("light", light), ("dark", dark)):
                        colour = _over(current.colour, current.background)
                        ratio = contrast_ratio(colour, current.background)
                        if ratio < (AA_LARGE if current.large else AA_NORMAL):
                            found.append(_LowContrast(mode, current, ratio, node, index, child.strip()))
                continue
            inline = _declarations(child.attrs.get("style", ""))
            if child.tag in _HIDDEN_TAGS or inline.get("display", ("", False))[0].lower() == "none":
                continue
            walk(child, paint(child, light, inline, False), paint(child, dark, inline, True))

    walk(document, start, start)
    return found


# --- images -----------------------------------------------------------------------------------


def _suffix(url: str) -> str:
    if url.lower().startswith("data:image/svg"):
        return ".svg"
    return PurePosixPath(unquote(urlsplit(url).path)).suffix.lower()


# --- feeds ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _FeedItem:
    id: str
    link: str
    title: str
    content: str | None
    summary: str
    published: str
    updated: str


def _atom_items(data: bytes) -> list[_FeedItem]:
    """Read the entries of an Atom document; raise ElementTree.ParseError when it is not XML."""
    root = ElementTree.fromstring(data)
    items = []
    for entry in root.iter(f"{_ATOM}entry"):
        link = next((element.get("href", "") for element in entry.iter(f"{_ATOM}link")
                     if element.get("rel", "alternate") == "alternate"), "")
        content = entry.find(f"{_ATOM}content")
        items.append(_FeedItem(
            id=(entry.findtext(f"{_ATOM}id") or "").strip(), link=link,
            title=(entry.findtext(f"{_ATOM}title") or "").strip(),
            content=content.text or "" if content is not None else None,
            summary=(entry.findtext(f"{_ATOM}summary") or "").strip(),
            published=(entry.findtext(f"{_ATOM}published") or "").strip(),
            updated=(entry.findtext(f"{_ATOM}updated") or "").strip(),
        ))
    return items


def _feed_documents(paths: Iterable[PurePosixPath]) -> list[PurePosixPath]:
    """Pick feed.xml and the archive documents, the Atom files that hold every published issue."""
    return [path for path in paths
            if path == ATOM_PATH or (path.parent == ARCHIVE_DIR and path.suffix == ".xml")]


def _slug_of(link: str) -> str:
    parts = [part for part in urlsplit(link).path.split("/") if part]
    return parts[-1] if parts else ""


# --- the checks -------------------------------------------------------------------------------


@dataclass
class _Checker:
    site: Site
    dist: Path
    findings: list[Finding] = field(default_factory=list)
    sources: dict[str, _Source] = field(default_factory=dict)
    outputs: dict[str, bytes] = field(default_factory=dict)
    output_sources: dict[str, str] = field(default_factory=dict)
    ids_cache: dict[str, set[str]] = field(default_factory=dict)
    # "post path\nsrc as written" → the line of that image in the post.
    image_lines: dict[str, int | None] = field(default_factory=dict)
    config_text: str = ""

    @property
    def root(self) -> Path:
        return self.site.config.root

    def add(self, rule: str, path: str, line: int | None, message: str) -> None:
        self.findings.append(Finding(path, line, rule, message))

    def source(self, entry: Entry) -> _Source:
        path = entry.post.display_path
        if path not in self.sources:
            self.sources[path] = _Source(entry.post)
        return self.sources[path]

    def run(self) -> list[Finding]:
        try:
            self.config_text = self.site.config.path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError):
            self.config_text = ""
        # The loader's warnings come first; rendering adds warnings of its own that rules here cover.
        for problem in list(self.site.warnings):
            self.findings.append(_problem_finding(self.root, problem, "load-warning"))
        self.check_unsubscribe_config()
        for entry in self.site.entries:
            self.check_front_matter(entry)
            self.check_body(entry)
        try:
            outputs, _ = gather(self.site)
        except TemplateError as error:
            for line in str(error).splitlines():
                self.findings.append(_message_finding(self.root, line, "template", "templates"))
            return self.findings
        except NewsletterError as error:
            for line in str(error).splitlines():
                self.findings.append(_message_finding(self.root, line, "build", "."))
            return self.findings
        self.outputs = {str(output.path): output.data for output in outputs}
        self.output_sources = {str(output.path): output.source for output in outputs if output.source}
        self.check_static_images()
        self.check_site_links()
        for entry in self.site.entries:
            self.check_links(entry)
            self.check_email(entry)
        self.check_feeds()
        return self.findings

    # front matter

    def check_front_matter(self, entry: Entry) -> None:
        post, source, path = entry.post, self.source(entry), entry.post.display_path
        if not post.summary:
            self.add("summary-missing", path, None, "no summary: the archive, feeds and inbox preview show "
                     "the first paragraph instead; add 'summary: ...' (a sentence or two)")
        if len(post.title) > SUBJECT_MAX:
            self.add("subject-long", path, source.key_line("title"),
                     f"the title is the email subject and is {len(post.title)} characters long; inboxes cut "
                     f"it off after about {SUBJECT_MAX}: shorten it")
        if _repeats(entry.preheader, post.title):
            if post.preheader:
                key, line = "preheader", source.key_line("preheader")
            elif post.summary:
                key, line = "summary (used as the preheader)", source.key_line("summary")
            else:
                key, line = "first paragraph (used as the preheader)", source.text_line(entry.body.first_paragraph)
            self.add("preheader-repeats-title", path, line,
                     f"the {key} repeats the title, which the inbox already shows as the subject; "
                     "write a line that adds to it ('preheader: ...')")

    # the body, as written

    def check_body(self, entry: Entry) -> None:
        source, path = self.source(entry), entry.post.display_path
        body = _parse_html(entry.body.html)
        images = list(body.iter("img"))
        markdown_lines: dict[str, list[int]] = {}
        for image in entry.body.images:
            markdown_lines.setdefault(image.src, []).append(image.line)
        seen: dict[str, int] = {}
        for image in images:
            src = image.attrs.get("src", "")
            count = seen.get(src, 0)
            seen[src] = count + 1
            lines = markdown_lines.get(src, [])
            line = lines[count] if count < len(lines) else source.url_line(src, count)
            self.image_lines[f"{path}\n{src}"] = line
            alt = image.attrs.get("alt")
            if alt is None or not alt.strip():
                what = "no alt text" if alt is None else "an empty alt text"
                self.add("image-alt", path, line, f"image {src!r} has {what}; describe it for readers "
                         "who cannot see it and for mail clients that block images")
            for url in [src, *_srcset_urls(image.attrs.get("srcset", ""))]:
                if url.strip().lower().startswith("http:") or (
                        is_site_relative(url) and self.site.url.startswith("http:")):
                    self.add("image-http", path, line, f"image {url!r} is loaded over plain http; mail "
                             "clients and browsers block or flag it: use https")
                    break

        words = entry.body.word_count
        if images and words < MIN_WORDS_PER_IMAGE * len(images):
            self.add("image-heavy", path, None,
                     f"mostly images: {_plural(len(images), 'image')} and {_plural(words, 'word')} of text; "
                     f"spam filters score image-heavy mail: write at least {MIN_WORDS_PER_IMAGE} words per image")

        level = 1  # the title is the page's and the email's <h1>
        for heading in body.iter("h1", "h2", "h3", "h4", "h5", "h6"):
            current = int(heading.tag[1])
            if current > level + 1:
                self.add("heading-skip", path, source.heading_line(current, heading.text()),
                         f"heading level skips from h{level} to h{current} ({heading.text().strip()!r}); "
                         f"screen reader users navigate by level: use {'#' * (level + 1)} here")
            level = current

        occurrences: dict[str, int] = {}
        for link in body.iter("a"):
            href = link.attrs.get("href")
            if href is None:
                continue
            count = occurrences.get(href, 0)
            occurrences[href] = count + 1
            text = " ".join(link.text().split())
            label = text or " ".join(image.attrs.get("alt", "") for image in link.iter("img")).strip() \
                or link.attrs.get("aria-label", "") or link.attrs.get("title", "")
            normalised = re.sub(r"[^\w\s]", "", label).strip().casefold()
            if "footnote-ref" in (link.parent.classes if link.parent else set()) or \
                    "footnote-backref" in link.classes:
                continue
            if not normalised:
                self.add("link-text", path, source.url_line(href, count),
                         f"link to {href!r} has no text; screen readers read out the URL instead")
            elif normalised in VAGUE_LINK_TEXT:
                self.add("link-text", path, source.url_line(href, count),
                         f"link text {text!r} says nothing out of context (screen readers list links "
                         "on their own): describe where it goes")

        for block in body.iter("pre"):
            long_lines = [line for line in block.text().split("\n") if len(line.rstrip()) > CODE_LINE_MAX]
            if long_lines:
                longest = max(len(line.rstrip()) for line in long_lines)
                self.add("code-width", path, source.line_of(long_lines[0].rstrip()) or
                         source.text_line(block.text()),
                         f"{_plural(len(long_lines), 'code line')} longer than {CODE_LINE_MAX} characters "
                         f"(the longest {longest}); they scroll or wrap on phones: break them")

        for note in make_mail_safe(entry.body.html).notes:
            if not note.startswith("removed "):
                continue  # the other notes are about alt text, which image-alt reports
            what = re.search(r"<(\w+)>|(\w+) attribute|(\w+): link", note)
            needle = ""
            if what:
                needle = f"<{what.group(1)}" if what.group(1) else what.group(2) or f"{what.group(3)}:"
            self.add("email-removed", path, source.line_of(needle) if needle else None, note)

    # links, against everything the build would write

    def page_ids(self, path: str) -> set[str]:
        if path not in self.ids_cache:
            text = self.outputs.get(path, b"").decode("utf-8", "replace")
            self.ids_cache[path] = {html.unescape(match.group(1))
                                    for match in re.finditer(r"""\s(?:id|name)=["']([^"']+)["']""", text)}
        return self.ids_cache[path]

    def resolve(self, url: str) -> tuple[str, str] | None:
        """Return (output path, fragment) of a link into the site; None for links elsewhere."""
        url = url.strip()
        if url.startswith(self.site.url):
            relative = url[len(self.site.url):]
        elif is_site_relative(url):
            relative = site_path(url)
        else:
            return None
        parts = urlsplit(relative)
        path = unquote(parts.path)
        candidates = [path] if path and not path.endswith("/") else []
        candidates.append(f"{path.rstrip('/')}/index.html" if path.rstrip("/") else "index.html")
        target = next((candidate for candidate in candidates if candidate in self.outputs), "")
        return target or path or "/", unquote(parts.fragment)

    def link_problem(self, url: str, here: Entry | None) -> tuple[str, str] | None:
        """Return (rule, message) when a link into the site points at nothing, or at an issue not yet out."""
        if url.startswith("#"):
            if here is None or len(url) == 1:
                return None
            fragment = unquote(url[1:])
            if fragment not in self.page_ids(f"{here.slug}/index.html"):
                return "link-broken", f"link {url!r} points at no anchor in this issue"
            return None
        resolved = self.resolve(url)
        if resolved is None:
            return None
        target, fragment = resolved
        if target not in self.outputs:
            return "link-broken", (f"link {url!r} points at nothing: no issue, tag page or static file "
                                   f"{target!r}; check the slug or the file name")
        if fragment and target.endswith(".html") and fragment not in self.page_ids(target):
            page = target.removesuffix("index.html") or "the archive"
            return "link-broken", f"link {url!r}: {page} has no #{fragment}"
        slug = target.split("/")[0]
        linked = next((entry for entry in self.site.entries if entry.slug == slug and target == f"{slug}/index.html"),
                      None)
        if linked is not None and here is not None and here.status == "published" and linked.status != "published":
            return "link-unpublished", (f"link {url!r} goes to an issue that is {linked.status} "
                                        f"({linked.post.display_path}); readers get a 404 until it is published")
        return None

    def check_links(self, entry: Entry) -> None:
        source, path = self.source(entry), entry.post.display_path
        occurrences: dict[str, int] = {}
        for node in _parse_html(entry.body.html).iter():
            for _, url in _node_urls(node):
                count = occurrences.get(url, 0)
                occurrences[url] = count + 1
                problem = self.link_problem(url, entry)
                if problem:
                    self.add(problem[0], path, source.url_line(url, count), problem[1])
        if entry.post.image:
            problem = self.link_problem(entry.post.image, None)
            if problem:
                self.add(problem[0], path, source.key_line("image"), f"image: {problem[1]}")

    def check_site_links(self) -> None:
        icon = self.site.config.site.icon
        if icon:
            problem = self.link_problem(icon, None)
            if problem:
                self.add(problem[0], CONFIG_NAME, find_key_line(self.config_text, "icon", "site"),
                         f"site.icon: {problem[1]}")

    # static files

    def check_static_images(self) -> None:
        users: dict[str, list[str]] = {}
        for key in self.image_lines:
            post_path, src = key.split("\n", 1)
            resolved = self.resolve(src)
            if resolved:
                users.setdefault(resolved[0], []).append(post_path)
        for path, source in sorted(self.output_sources.items()):
            if not path.startswith("static/") or PurePosixPath(path).suffix.lower() not in IMAGE_SUFFIXES:
                continue
            size = Path(source).stat().st_size
            if size > IMAGE_MAX_BYTES:
                used = sorted(set(users.get(path, [])))
                where = f"; used by {', '.join(used)}" if used else ""
                self.add("image-bytes", _display(self.root, source), None,
                         f"{size / 1024 / 1024:.1f} MB is slow to load on phones and counts against data "
                         f"plans; resize or compress it to a few hundred KB{where}")

    # the email

    def check_unsubscribe_config(self) -> None:
        email = self.site.config.email
        if email is None or not (email.unsubscribe_url or email.unsubscribe_mailto):
            self.add("unsubscribe-missing", CONFIG_NAME, find_key_line(self.config_text, "email"),
                     "no unsubscribe configured: set [email] unsubscribe_url or unsubscribe_mailto; mail "
                     "providers expect a one-click List-Unsubscribe and 'newsletter send' needs one")

    def template_path(self, name: str) -> str:
        own = self.root / TEMPLATES_DIR / name
        return _display(self.root, own if own.is_file() else builtin_templates() / name)

    def check_email(self, entry: Entry) -> None:
        source, path = self.source(entry), entry.post.display_path
        data = self.outputs.get(f"email/{entry.slug}.html")
        if data is None:
            return
        text = data.decode("utf-8")
        document = _parse_html(text)

        if len(data) > GMAIL_CLIP_BYTES:
            self.add("email-size", path, None,
                     f"the email is {len(data) / 1024:.0f} KB; Gmail clips messages over "
                     f"{GMAIL_CLIP_BYTES // 1024} KB behind 'View entire message' (and hides the unsubscribe "
                     f"link): {_size_breakdown(text)}")
        for style in document.iter("style"):
            size = len(style.text().encode("utf-8"))
            if size > STYLE_MAX_BYTES:
                self.add("email-style-size", self.template_path("email.css"), None,
                         f"the email's <style> block is {size / 1024:.0f} KB; Gmail ignores one over "
                         f"{STYLE_MAX_BYTES // 1024} KB (dark mode and phone layout are lost)")
        if UNSUBSCRIBE_PLACEHOLDER not in text:
            self.add("unsubscribe-missing", self.template_path("email.html"), None,
                     "the email has no unsubscribe link; add "
                     "<a href=\"{{ unsubscribe_url }}\">Unsubscribe</a> to the template")

        self.check_relative_links(document, path, source, "email", "where it has nothing to resolve against; "
                                  "write it relative to the site's root (static/..., slug/) or absolute")

        for image in document.iter("img"):
            src = image.attrs.get("src", "")
            line = self.email_image_line(entry, src)
            kind = EMAIL_UNSUPPORTED_IMAGES.get(_suffix(src))
            if kind:
                self.add("image-format", path, line, f"{kind} image {src!r}: Gmail and Outlook don't show "
                         f"{kind} in email; use PNG, JPEG or GIF")
            # The build gives static/ images their width; only images it cannot measure lack one.
            if not image.attrs.get("width", "").strip():
                self.add("image-width", path, line,
                         f"image {src!r} has no width in the email and its size cannot be read from static/; "
                         f"Outlook shows it at its natural size: write it as <img src=\"...\" alt=\"...\" "
                         f"width=\"{EMAIL_COLUMN_PX}\"> or smaller")

        # One finding per mode, background and kind of text: each is one colour scheme to fix.
        groups: dict[tuple[str, str, bool], list[_LowContrast]] = {}
        for low in _low_contrast(document):
            block = _block_of(low.node)
            groups.setdefault((low.mode, _hex(low.paint.background), block.tag == "pre"), []).append(low)
        for (mode, background, in_code), lows in groups.items():
            first = lows[0]
            block = _block_of(first.node)
            if in_code:
                start = source.line_of(block.text().split("\n")[0])
                line = start + _text_before(block, first.node, first.index).count("\n") if start else None
            else:
                line = source.text_line(block.text())
            colours: dict[str, str] = {}
            for low in lows:
                needed = AA_LARGE if low.paint.large else AA_NORMAL
                snippet = low.text if len(low.text) <= 24 else low.text[:23] + "…"
                colours.setdefault(_hex(low.paint.colour),
                                   f"{_hex(low.paint.colour)} {low.ratio:.1f}:1 of {needed:g}:1 ({snippet!r})")
            where = "highlighted code" if in_code else "text"
            self.add("contrast", path, line,
                     f"{mode} mode: {where} on {background} is below WCAG AA contrast: "
                     f"{'; '.join(colours.values())}")

    def check_relative_links(self, document: _Node, path: str, source: _Source, where: str, why: str) -> None:
        """Flag every URL in *document* that does not resolve in an email or a feed (*where*)."""
        occurrences: dict[str, int] = {}
        for node in document.iter():
            for attribute, url in _node_urls(node):
                if _absolute_enough(url, email=where == "email"):
                    continue
                count = occurrences.get(url, 0)
                occurrences[url] = count + 1
                self.add("link-relative", path, source.url_line(url, count),
                         f"{attribute}={url!r} is relative in the {where}, {why}")

    def email_image_line(self, entry: Entry, src: str) -> int | None:
        for key, line in self.image_lines.items():
            post_path, original = key.split("\n", 1)
            if post_path == entry.post.display_path and (original == src or self.site.url + site_path(original) == src):
                return line
        return None

    # feeds

    def check_feeds(self) -> None:
        by_url = {entry.url: entry for entry in self.site.published}
        current: list[_FeedItem] = []
        for document in _feed_documents(PurePosixPath(path) for path in self.outputs):
            current.extend(_atom_items(self.outputs[str(document)]))
        for item in current:
            entry = by_url.get(item.link)
            if entry is None:
                continue
            source, path = self.source(entry), entry.post.display_path
            body = _parse_html(item.content or "")
            readable = " ".join(body.text().split()) if item.content is not None else item.summary
            if (not readable and not any(True for _ in body.iter("img"))) or (
                    item.content is None and readable == item.title):
                self.add("feed-empty-item", path, source.key_line("feed") if entry.post.feed != "full" else None,
                         "the feed item has no content; RSS-to-email services would send an empty issue: "
                         "write the post, or give it a summary")
            self.check_relative_links(body, path, source, "feed", "where readers resolve it against their own "
                                      "address; write it relative to the site's root or absolute")
            for name, value in (("published", item.published), ("updated", item.updated)):
                try:
                    when = datetime.fromisoformat(value)
                except ValueError:
                    continue
                if when.tzinfo is not None and when > self.site.now:
                    key = "updated" if name == "updated" and entry.post.updated else "date"
                    self.add("feed-future-date", path, source.key_line(key),
                             f"the feed item's {name} date {value} is in the future; readers sort it above "
                             f"every newer issue until then: use the real time ('{key}:')")
        self.check_feed_ids(current)

    def check_feed_ids(self, current: list[_FeedItem]) -> None:
        previous: list[tuple[str, _FeedItem]] = []
        archive = self.dist.joinpath(*ARCHIVE_DIR.parts)
        for file in [self.dist / ATOM_PATH, *sorted(archive.glob("*.xml"))]:
            if not file.is_file():
                continue
            location = _display(self.root, file)
            try:
                previous.extend((location, item) for item in _atom_items(file.read_bytes()))
            except (OSError, ElementTree.ParseError) as error:
                self.add("feed-id-changed", location, None, f"the last build's feed cannot be read ({error}), "
                         "so ids cannot be compared; rebuild it from the commit that was published")
        if not previous:
            return
        published = self.site.published
        matched: list[tuple[str, _FeedItem, Entry | None]] = [
            (location, old, next((e for e in published if e.url == old.link), None)
             or next((e for e in published if e.slug == _slug_of(old.link)), None))
            for location, old in previous]
        taken = {entry.slug for _, _, entry in matched if entry is not None}
        for location, old, entry in matched:
            if entry is None and old.title:
                # A renamed slug loses the link: fall back to a title that only one other issue has.
                same = [e for e in published if e.post.title == old.title and e.slug not in taken]
                entry = same[0] if len(same) == 1 else None
            if entry is None or entry.id == old.id:
                continue
            source = self.source(entry)
            line = source.key_line("id") if entry.post.id else source.key_line("date")
            self.add("feed-id-changed", entry.post.display_path, line,
                     f"its feed id was {old.id!r} in {location} and is now {entry.id!r}; feed readers and "
                     f"RSS-to-email services would deliver it to every subscriber again: add "
                     f"'id: \"{old.id}\"' to the front matter")


def _repeats(preheader: str, title: str) -> bool:
    def words(text: str) -> str:
        return " ".join(re.sub(r"[^\w]+", " ", text.casefold()).split())
    head, subject = words(preheader), words(title)
    return bool(head and subject) and (head == subject or head.startswith(subject + " "))


def _absolute_enough(url: str, *, email: bool) -> bool:
    """Say whether a URL resolves anywhere: a scheme, or (email only) an in-message #anchor or placeholder."""
    url = url.strip()
    if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", url):
        return True
    return email and (url.startswith("#") and len(url) > 1 or url.startswith("{"))


def _size_breakdown(text: str) -> str:
    """Break down what takes the space in an email's HTML, biggest first."""
    total = len(text.encode("utf-8"))

    def size(pattern: str, flags: int = 0) -> int:
        return sum(len(match.group(0).encode("utf-8")) for match in re.finditer(pattern, text, flags))

    styles = size(r"<style\b.*?</style>", re.DOTALL | re.IGNORECASE)
    comments = size(r"<!--.*?-->", re.DOTALL)
    without = re.sub(r"<style\b.*?</style>|<!--.*?-->", "", text, flags=re.DOTALL | re.IGNORECASE)
    inline_styles = sum(len(m.group(0).encode("utf-8")) for m in re.finditer(r"""\sstyle=("[^"]*"|'[^']*')""", without))
    data_uris = sum(len(m.group(0).encode("utf-8")) for m in re.finditer(r"data:[^\"')\s]+", without))
    tags = sum(len(m.group(0).encode("utf-8")) for m in re.finditer(r"<[^>]*>", without))
    code = size(r"<pre\b.*?</pre>", re.DOTALL | re.IGNORECASE)
    parts = {
        "text": total - styles - comments - tags,
        "inline style attributes": inline_styles,
        "other tags and attributes": tags - inline_styles - data_uris,
        "embedded data: images": data_uris,
        "the <style> block": styles,
        "Outlook comments": comments,
    }
    listed = ", ".join(f"{name} {amount / 1024:.0f} KB" for name, amount in
                       sorted(parts.items(), key=lambda item: -item[1]) if amount >= 512)
    code_note = f"; code blocks with their highlighting take {code / 1024:.0f} KB of it" if code >= 1024 else ""
    return listed + code_note + "; split the issue or trim what is biggest"
