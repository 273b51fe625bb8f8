"""Rules for readers using screen readers: heading levels and link text that make sense on their own.
(Contrast, the third rule of this kind, has a module of its own.)"""

from __future__ import annotations

import re
from collections.abc import Iterator

from .context import Issue, Run
from .findings import WARNING, Hit, Scope, rule
from .tree import HtmlElement, classes, text_of

VAGUE_LINK_TEXT = frozenset({
    "click here", "click", "here", "click this", "this", "this link", "link", "read more", "more",
    "learn more", "see more", "continue", "continue reading", "go", "this page", "see here",
})


@rule("heading-skip", WARNING, "heading levels that skip one, like h2 → h4", scope=Scope.ISSUE)
def heading_skip(run: Run, issue: Issue) -> Iterator[Hit]:
    """Report headings more than one level below the one before them."""
    level = 1  # the title is the page's and the email's <h1>
    for heading in issue.body.iter("h1", "h2", "h3", "h4", "h5", "h6"):
        current = int(heading.tag[1])
        if current > level + 1:
            yield Hit(issue.path, issue.source.heading_line(current, text_of(heading)),
                      f"heading level skips from h{level} to h{current} ({text_of(heading).strip()!r}); "
                      f"screen reader users navigate by level: use {'#' * (level + 1)} here")
        level = current


@rule("link-text", WARNING, "link text that says nothing out of context, like \"click here\"", scope=Scope.ISSUE)
def link_text(run: Run, issue: Issue) -> Iterator[Hit]:
    """Report links with no text, or text like "here" that says nothing on its own."""
    occurrences: dict[str, int] = {}
    for link in issue.body.iter("a"):
        href = link.get("href")
        if href is None:
            continue
        count = occurrences.get(href, 0)
        occurrences[href] = count + 1
        if _is_footnote(link):
            continue
        text = " ".join(text_of(link).split())
        normalised = re.sub(r"[^\w\s]", "", _label(link, text)).strip().casefold()
        if not normalised:
            yield Hit(issue.path, issue.source.url_line(href, count),
                      f"link to {href!r} has no text; screen readers read out the URL instead")
        elif normalised in VAGUE_LINK_TEXT:
            yield Hit(issue.path, issue.source.url_line(href, count),
                      f"link text {text!r} says nothing out of context (screen readers list links "
                      "on their own): describe where it goes")


def _label(link: HtmlElement, text: str) -> str:
    """Return what a screen reader reads for a link: its text, its images' alt, or its aria-label or title."""
    return text or " ".join(image.get("alt", "") for image in link.iter("img")).strip() \
        or link.get("aria-label", "") or link.get("title", "")


def _is_footnote(link: HtmlElement) -> bool:
    """Say whether a link is a footnote's reference or its way back, whose text is a number or an arrow."""
    parent = link.getparent()
    return "footnote-ref" in (classes(parent) if parent is not None else ()) or "footnote-backref" in classes(link)
