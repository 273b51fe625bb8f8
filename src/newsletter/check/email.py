"""Rules on the email: what Gmail clips or drops, what mail clients strip, what spam filters score, what
phones scroll, and the unsubscribe link every issue needs."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator

from ..config import find_key_line
from ..layout import CONFIG_NAME, TEMPLATES_DIR
from ..outputs.email import EMAIL_COLUMN_PX, GMAIL_CLIP_BYTES, built_unsubscribe_link, removal_warning
from ..render.mailsafe import Removal, Removed, make_safe
from ..render.templates import builtin_templates
from ..render.tree import Fragment
from .context import Issue, Run, display
from .findings import WARNING, Hit, Scope, extends, plural, rule
from .tree import HtmlElement, is_element, text_of

STYLE_MAX_BYTES = 16 * 1024
CODE_LINE_MAX = 80
# The email's tables: 15 px text, about half an em a character, 8 px of padding each side and a border.
TABLE_CHARACTER_PX = 8.0
TABLE_CELL_PADDING_PX = 17.0
MIN_WORDS_PER_IMAGE = 60


@rule("email-size", WARNING, "an email over 102 KB, which Gmail clips; says what takes the space",
      scope=Scope.BUILT_ISSUE)
def email_size(run: Run, issue: Issue) -> Iterator[Hit]:
    """Report an email Gmail would clip, and what takes its space."""
    data = issue.email_data
    if data is not None and len(data) > GMAIL_CLIP_BYTES:
        yield Hit(issue.path, None,
                  f"the email is {len(data) / 1024:.0f} KB; Gmail clips messages over "
                  f"{GMAIL_CLIP_BYTES // 1024} KB behind 'View entire message' (and hides the unsubscribe "
                  f"link): {_size_breakdown(issue.email_text)}")


@rule("email-style-size", WARNING, "a `<style>` block over 16 KB in the email, which Gmail drops",
      scope=Scope.BUILT_ISSUE)
def email_style_size(run: Run, issue: Issue) -> Iterator[Hit]:
    """Report a style block in the email bigger than Gmail keeps."""
    if issue.email_data is None:
        return
    for style in issue.email.iter("style"):
        size = len(text_of(style).encode("utf-8"))
        if size > STYLE_MAX_BYTES:
            yield Hit(_template_path(run, "email.css"), None,
                      f"the email's <style> block is {size / 1024:.0f} KB; Gmail ignores one over "
                      f"{STYLE_MAX_BYTES // 1024} KB (dark mode and phone layout are lost)")


@rule("email-removed", WARNING, "something mail clients block (script, form, iframe, event handler) was "
                                "removed from the email", scope=Scope.ISSUE)
def email_removed(run: Run, issue: Issue) -> Iterator[Hit]:
    """Report what making the body safe for mail removed from it."""
    # Missing alt text is noted too, but image-alt reports that.
    for removed in make_safe(Fragment(issue.entry.body.html)).removed:
        needle = _needle(removed)
        yield Hit(issue.path, issue.source.line_of(needle) if needle else None, removal_warning(removed))


def _needle(removed: Removed) -> str:
    """The text that starts what was removed, as the post spells it: to find its line."""
    if removed.kind in (Removal.EVENT_HANDLER, Removal.ATTRIBUTE):
        return removed.attribute
    if removed.kind is Removal.SCRIPT_LINK:
        return f"{removed.scheme}:"
    return f"<{removed.tag}"


@rule("code-width", WARNING, "code lines longer than 80 characters, which scroll or wrap on phones",
      scope=Scope.ISSUE)
def code_width(run: Run, issue: Issue) -> Iterator[Hit]:
    """Report code blocks with lines too long for a phone."""
    source = issue.source
    for block in issue.body.iter("pre"):
        code = text_of(block)
        long_lines = [line for line in code.split("\n") if len(line.rstrip()) > CODE_LINE_MAX]
        if long_lines:
            longest = max(len(line.rstrip()) for line in long_lines)
            yield Hit(issue.path, source.line_of(long_lines[0].rstrip()) or source.text_line(code),
                      f"{plural(len(long_lines), 'code line')} longer than {CODE_LINE_MAX} characters "
                      f"(the longest {longest}); they scroll or wrap on phones: break them")


@rule("table-wide", WARNING, "a table wider than the email's 552 px column where mail clients cannot break "
                             "its words (Outlook for Windows)", scope=Scope.ISSUE)
def table_wide(run: Run, issue: Issue) -> Iterator[Hit]:
    """Report a table whose columns cannot shrink to fit the email's column without breaking words."""
    for table in issue.body.iter("table"):
        widths: dict[int, float] = {}
        for row in table.iter("tr"):
            for index, cell in enumerate(child for child in row if is_element(child)):
                widths[index] = max(widths.get(index, 0.0), _narrowest(cell))
        needed = sum(widths.values())
        if needed > EMAIL_COLUMN_PX:
            first = next((word for cell in table.iter("th", "td") for word in text_of(cell).split()[:1]), "")
            line = next((number for number, text in enumerate(issue.source.body.split("\n"), issue.post.body_line)
                         if text.lstrip().startswith(("|", "<table")) and (first in text or "<table" in text)),
                        None)
            yield Hit(issue.path, line, f"a table of {plural(len(widths), 'column')} needs about {needed:.0f} px "
                      f"without breaking words, more than the email's {EMAIL_COLUMN_PX} px column: clients that "
                      "cannot break words (Outlook for Windows) let it run out of the email; use fewer columns, "
                      "shorter words, or a list")


def _narrowest(cell: HtmlElement) -> float:
    """How narrow a table cell can be without breaking a word: its longest word, padding and border."""
    longest = max((len(word) for word in text_of(cell).split()), default=0)
    return longest * TABLE_CHARACTER_PX + TABLE_CELL_PADDING_PX


@rule("image-heavy", WARNING, "an issue that is mostly images and little text, which spam filters score",
      scope=Scope.ISSUE)
def image_heavy(run: Run, issue: Issue) -> Iterator[Hit]:
    """Report an issue with too few words for its images."""
    images, words = len(issue.images), issue.entry.body.word_count
    if images and words < MIN_WORDS_PER_IMAGE * images:
        yield Hit(issue.path, None,
                  f"mostly images: {plural(images, 'image')} and {plural(words, 'word')} of text; spam "
                  f"filters score image-heavy mail: write at least {MIN_WORDS_PER_IMAGE} words per image")


@rule("unsubscribe-missing", WARNING, "no unsubscribe URL or address configured, or no unsubscribe link in "
                                      "the email", scope=Scope.SITE)
def unsubscribe_unconfigured(run: Run) -> Iterator[Hit]:
    """Report a newsletter with no unsubscribe URL or address."""
    email = run.site.config.email
    lists = run.site.config.lists
    if lists is not None and lists.url:
        return  # the list server's unsubscribe page is every email's link
    if email is None or not (email.unsubscribe_url or email.unsubscribe_mailto):
        yield Hit(CONFIG_NAME, find_key_line(run.config_text, "email"),
                  "no unsubscribe configured: set [email] unsubscribe_url or unsubscribe_mailto; mail "
                  "providers expect a one-click List-Unsubscribe and 'newsletter send' needs one")


@extends("unsubscribe-missing", scope=Scope.BUILT_ISSUE)
def unsubscribe_unlinked(run: Run, issue: Issue) -> Iterator[Hit]:
    """Report an email template without the unsubscribe link."""
    link = html.escape(built_unsubscribe_link(run.site.config))
    if issue.email_data is not None and f'href="{link}"' not in issue.email_text:
        yield Hit(_template_path(run, "email.html"), None,
                  "the email has no unsubscribe link; add "
                  "<a href=\"{{ unsubscribe_url }}\">Unsubscribe</a> to the template")


def _template_path(run: Run, name: str) -> str:
    own = run.root / TEMPLATES_DIR / name
    return display(run.root, own if own.is_file() else builtin_templates() / name)


def _size_breakdown(text: str) -> str:
    """Break down what takes the space in an email's HTML, biggest first."""
    total = len(text.encode("utf-8"))
    styles = _bytes(r"<style\b.*?</style>", text, re.DOTALL | re.IGNORECASE)
    comments = _bytes(r"<!--.*?-->", text, re.DOTALL)
    without = re.sub(r"<style\b.*?</style>|<!--.*?-->", "", text, flags=re.DOTALL | re.IGNORECASE)
    inline_styles = _bytes(r"""\sstyle=("[^"]*"|'[^']*')""", without)
    data_uris = _bytes(r"data:[^\"')\s]+", without)
    tags = _bytes(r"<[^>]*>", without)
    code = _bytes(r"<pre\b.*?</pre>", text, re.DOTALL | re.IGNORECASE)
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


def _bytes(pattern: str, text: str, flags: int = 0) -> int:
    """Count the UTF-8 bytes of everything *pattern* matches in *text*."""
    return sum(len(match.group(0).encode("utf-8")) for match in re.finditer(pattern, text, flags))
