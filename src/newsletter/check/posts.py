"""Rules on a post's front matter: the summary, the title (the email's subject) and the preheader."""

from __future__ import annotations

import re
from collections.abc import Iterator

from ..render.merge import iter_merge_fields
from .context import Issue, Run
from .findings import WARNING, Hit, Scope, rule

SUBJECT_MAX = 78


@rule("summary-missing", WARNING, "no `summary`: the archive, feeds and inbox preview fall back to "
                                  "the first paragraph", scope=Scope.ISSUE)
def summary_missing(run: Run, issue: Issue) -> Iterator[Hit]:
    """Report a post without a summary."""
    if not issue.post.summary:
        yield Hit(issue.path, None, "no summary: the archive, feeds and inbox preview show "
                  "the first paragraph instead; add 'summary: ...' (a sentence or two)")


@rule("subject-long", WARNING, "a title (the email subject) over 78 characters, cut off in inboxes",
      scope=Scope.ISSUE)
def subject_long(run: Run, issue: Issue) -> Iterator[Hit]:
    """Report a title longer than inboxes show."""
    title = issue.post.title
    if len(title) > SUBJECT_MAX:
        yield Hit(issue.path, issue.source.key_line("title"),
                  f"the title is the email subject and is {len(title)} characters long; inboxes cut "
                  f"it off after about {SUBJECT_MAX}: shorten it")


@rule("preheader-repeats-title", WARNING, "the preheader (or summary) repeats the title, wasting the "
                                          "inbox preview line", scope=Scope.ISSUE)
def preheader_repeats_title(run: Run, issue: Issue) -> Iterator[Hit]:
    """Report a preheader, or what stands in for it, that only repeats the title."""
    post, source = issue.post, issue.source
    if not _repeats(issue.entry.preheader, post.title):
        return
    if post.preheader:
        key, line = "preheader", source.key_line("preheader")
    elif post.summary:
        key, line = "summary (used as the preheader)", source.key_line("summary")
    else:
        key, line = "first paragraph (used as the preheader)", source.text_line(issue.entry.body.first_paragraph)
    yield Hit(issue.path, line, f"the {key} repeats the title, which the inbox already shows as the subject; "
              "write a line that adds to it ('preheader: ...')")


def _repeats(preheader: str, title: str) -> bool:
    def words(text: str) -> str:
        return " ".join(re.sub(r"[^\w]+", " ", text.casefold()).split())
    head, subject = words(preheader), words(title)
    return bool(head and subject) and (head == subject or head.startswith(subject + " "))


@rule("merge-fallback", WARNING, "a merge field without a fallback, such as `{subscriber.name}`: the web "
                                 "page and the feeds show nothing in its place", scope=Scope.ISSUE)
def merge_fallback(run: Run, issue: Issue) -> Iterator[Hit]:
    """Report each merge field written without a fallback."""
    body = issue.source.body
    for field in iter_merge_fields(body):
        if field.has_fallback:
            continue
        line = issue.post.body_line + body.count("\n", 0, field.offset)
        yield Hit(issue.path, line, f"{{subscriber.{field.name}}} has no fallback: the web page and the "
                  "feeds show nothing in its place, and neither does the email of a subscriber without one; "
                  f"write {{subscriber.{field.name}|...}} with the words to show instead")
