"""Create a new newsletter folder, or a new post in one."""

from __future__ import annotations

import json
import re
import unicodedata
from datetime import date
from pathlib import Path

from .config import load_config
from .errors import NewsletterError, shown
from .layout import CONFIG_NAME, POSTS_DIR
from .posts import slugify

_CONFIG_TEMPLATE = """\
[site]
title = {title}
url = {url}                 # absolute; links in emails and feeds are made absolute against it
description = "A newsletter written in Markdown"
language = "en"
timezone = "UTC"                  # naive dates in front matter are in this time zone
author = ""

# [email]
# from = "Your Name <news@example.com>"
# unsubscribe_url = "https://example.com/unsubscribe?id={{token}}"   # no address in the link

[feeds]
limit = 20
"""

_GITIGNORE = """\
# Build output and local state of `newsletter` (the send journal lists every recipient)
/dist/
/.newsletter/
/.newsletter/journal/

# The subscriber list and its unsubscribes are personal data: keep them out of git
/subscribers.csv
/unsubscribed.txt
# Addresses that bounced or complained: personal data, never in git
/bounced.csv
"""

_WELCOME = """\
---
title: {title}
date: {today}
summary: "What this newsletter is about and how often it will arrive."
tags: [meta]
---

Hello, and thank you for subscribing.

This first issue is a placeholder: edit `posts/{today}-welcome.md`, or run
`newsletter new "My first real issue"` to start another one, then `newsletter build`.
"""


# A file name's slug stops at a word near this length: enough to tell posts apart.
_FILE_SLUG_LENGTH = 60


def _quote(text: str) -> str:
    """A string literal valid in both TOML and YAML, and read back as *text* by both."""
    # JSON escapes C0 controls, quotes and backslashes as both languages do; YAML also breaks
    # lines at U+0085, U+2028 and U+2029, and forbids the C1 controls, so those are escaped too.
    return re.sub("[\x7f-\x9f\u2028\u2029]", lambda found: f"\\u{ord(found[0]):04x}",
                  json.dumps(text, ensure_ascii=False))


def _one_line_title(title: str) -> str:
    """*title*, if it is one line of printable text; else an error saying what to change."""
    for character in title:
        if unicodedata.category(character) in ("Cc", "Zl", "Zp"):
            raise NewsletterError(f"--title must be one line of text without control characters "
                                  f"(it holds U+{ord(character):04X})")
    return title


def create_newsletter(directory: Path, *, title: str, url: str, today: date) -> list[Path]:
    """Scaffold newsletter.toml, posts/ with a welcome post and .gitignore; return what was created."""
    title = _one_line_title(title)
    config = directory / CONFIG_NAME
    if config.exists():
        raise NewsletterError(f"{config}: already exists; this folder is a newsletter already")
    posts = directory / POSTS_DIR
    welcome = posts / f"{today.isoformat()}-welcome.md"
    posts.mkdir(parents=True, exist_ok=True)
    config.write_text(_CONFIG_TEMPLATE.format(title=_quote(title), url=_quote(url)), encoding="utf-8")
    created = [config]
    if not welcome.exists():
        welcome.write_text(_WELCOME.format(title=_quote(f"Welcome to {title}"), today=today.isoformat()),
                           encoding="utf-8")
        created.append(welcome)
    gitignore = directory / ".gitignore"
    if not gitignore.exists():
        gitignore.write_text(_GITIGNORE, encoding="utf-8")
        created.append(gitignore)
    return created


def create_post(root: Path, title: str, day: date) -> Path:
    """Create posts/YYYY-MM-DD-slug.md as a draft with its front matter filled in; refuse to overwrite."""
    load_config(root)  # fail early, with the usual message, outside a newsletter
    slug = slugify(title)
    if len(slug) > _FILE_SLUG_LENGTH:
        cut = slug[: _FILE_SLUG_LENGTH + 1]
        slug = cut.rsplit("-", 1)[0] if "-" in cut else cut[:-1]
    if not slug:
        raise NewsletterError(f"cannot make a file name from the title {shown(title)}; use some letters or digits")
    path = root / POSTS_DIR / f"{day.isoformat()}-{slug}.md"
    if path.exists():
        raise NewsletterError(f"{path}: already exists; choose another title or edit that file")
    path.parent.mkdir(parents=True, exist_ok=True)
    front = (f"---\ntitle: {_quote(title)}\ndate: {day.isoformat()}\nsummary: \"\"\ntags: []\n"
             "draft: true   # remove this line when the issue is ready to publish\n---\n\n")
    with path.open("x", encoding="utf-8") as handle:
        handle.write(front + "Write your issue here.\n")
    return path
