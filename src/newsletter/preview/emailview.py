"""The per-issue email page: the built message read back, and shown as mail clients would show it.

The page has two frames (desktop and phone widths) holding the HTML part with local links, the
colour scheme chosen (light, dark, or forced dark by inversion) and a mark where Gmail clips a
long message; beside them the plain-text part, the headers and the MIME structure. Its size
against Gmail's clip and the build's warnings come with the `Issue` the page is about.
"""

from __future__ import annotations

import email
import email.policy
import re
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from ..outputs.keys import GMAIL_CLIP_BYTES
from ..render.tree import rewrite_urls
from .state import Issue


def N_(message: str) -> str:  # noqa: N802 - gettext's name for "translated later", which Babel's extractor finds
    """Mark a label for the catalogues; the page's template translates it."""
    return message


WIDTHS = {"both": N_("Both"), "desktop": N_("Desktop · 600 px"), "phone": N_("Phone · 375 px")}
SCHEMES = {"light": N_("Light"), "dark": N_("Dark"), "inverted": N_("Forced dark")}
VIEWS = {"email": N_("Email"), "text": N_("Plain text"), "headers": N_("Headers")}

_STYLE_BLOCK = re.compile(r"(<style\b[^>]*>)(.*?)(</style\s*>)", re.IGNORECASE | re.DOTALL)
_SCHEME_FEATURE = re.compile(r"\(\s*prefers-color-scheme\s*:\s*(dark|light)\s*\)", re.IGNORECASE)
_HEAD_START = re.compile(r"<head\b[^>]*>", re.IGNORECASE)
_HEAD_END = re.compile(r"</head\s*>", re.IGNORECASE)
_CLOSING_TAG = re.compile(r"</[a-zA-Z][^>]*>")
# Gmail's app and some Outlook versions darken a message by inverting it, then turn pictures back.
_INVERTED_CSS = ("<style>html { filter: invert(1) hue-rotate(180deg); background: #fff; }\n"
                 "img, picture, video { filter: invert(1) hue-rotate(180deg); }</style>")
CLIP_MARKER = ('<div data-gmail-clip style="margin:24px 0;padding:8px 0;border-top:3px dashed #d1242f;'
               'color:#d1242f;font:bold 13px Arial,sans-serif;text-align:center;">'
               'Gmail clips the message here (102 KB) and shows “[Message clipped] View entire message”</div>')


def read_message(path: Path) -> EmailMessage:
    """Read a built .eml as the standard library reads a received message."""
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def part_text(message: EmailMessage, subtype: str) -> str:
    """Return one part's text with plain newlines (the message carries CRLF, as mail does)."""
    part = message.get_body((subtype,))
    return part.get_content().replace("\r\n", "\n") if part is not None else ""


def structure(message: EmailMessage) -> list[str]:
    """Describe each MIME part on a line: type, transfer encoding and size."""
    lines = []
    for part in message.walk():
        depth = 0 if part is message else 1
        if part.is_multipart():
            lines.append("  " * depth + part.get_content_type())
            continue
        payload = part.get_payload(decode=True) or b""
        encoding = part.get("Content-Transfer-Encoding", "7bit")
        lines.append("  " * depth + f"{part.get_content_type()} ({encoding}, {len(payload) / 1024:.1f} KB)")
    return lines


def issue_page(issue: Issue, message: EmailMessage, query: dict[str, str]) -> dict[str, Any]:
    """Gather what the issue page shows, in the view, width and scheme the query asks for."""
    def choice(name: str, options: dict[str, str]) -> str:
        value = query.get(name, "")
        return value if value in options else next(iter(options))

    return {
        "title": issue.title, "issue": issue,
        "view": choice("view", VIEWS), "width": choice("width", WIDTHS), "scheme": choice("scheme", SCHEMES),
        "views": VIEWS, "widths": WIDTHS, "schemes": SCHEMES,
        "text": part_text(message, "plain"), "headers": [(name, str(value)) for name, value in message.items()],
        "sender": str(message.get("From", "")),
        "parts": structure(message),
        "eml": f"/email/{issue.slug}.eml", "web": f"/{issue.slug}/",
    }


def force_dark(html: str) -> str:
    """Turn an email's dark-mode media rules on (and light-only ones off), as a dark mail client does."""
    def flip(match: re.Match[str]) -> str:
        # (min-width: 0px) always holds and a negative max-width never does, in any media query.
        return "(min-width: 0px)" if match.group(1).lower() == "dark" else "(max-width: -1px)"

    return _STYLE_BLOCK.sub(lambda m: m.group(1) + _SCHEME_FEATURE.sub(flip, m.group(2)) + m.group(3), html)


def force_inverted(html: str) -> str:
    """Approximate a client that darkens any email by inverting its colours, pictures excepted."""
    match = _HEAD_END.search(html)
    at = match.start() if match else 0
    return html[:at] + _INVERTED_CSS + html[at:]


def mark_gmail_clip(html: str) -> str:
    """Show where Gmail cuts a message longer than 102 KB; shorter ones are returned as they are."""
    data = html.encode("utf-8")
    if len(data) <= GMAIL_CLIP_BYTES:
        return html
    kept = data[:GMAIL_CLIP_BYTES].decode("utf-8", errors="ignore")
    body = re.search(r"<body\b[^>]*>", kept, re.IGNORECASE)
    if body is None:
        return html
    # Mark it after the last element that ends before the cut, so that the marker sits between
    # two elements rather than inside one.
    ends = [match.end() for match in _CLOSING_TAG.finditer(kept, body.end())]
    at = ends[-1] if ends else body.end()
    return html[:at] + CLIP_MARKER + html[at:]


def email_document(html: str, site_url: str, scheme: str) -> str:
    """Show the email as the preview's frames do: local links and pictures, the clip, the colour scheme."""
    html = mark_gmail_clip(html)
    # Links and pictures point at the live site, which may not have this issue (or exist) yet.
    html = rewrite_urls(html, lambda url: "/" + url[len(site_url):] if url.startswith(site_url) else url)
    head = _HEAD_START.search(html)
    if head is not None:
        html = html[:head.end()] + '<base target="_blank">' + html[head.end():]
    if scheme == "dark":
        html = force_dark(html)
    elif scheme == "inverted":
        html = force_inverted(html)
    return html
