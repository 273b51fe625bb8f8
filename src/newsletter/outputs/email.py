"""The email of an issue as the build writes it: email/<slug>.html (styles inlined), .txt and .eml.

The message itself is mime.py's and the inlining inline.py's; this module renders the issue into
the two parts, measures its images for Outlook and words the warnings the email raises.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection
from functools import lru_cache, partial
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

from ..config import Config, find_key_line
from ..errors import Problem, warning
from ..render.mailsafe import MailChanges, Removal, Removed, make_safe
from ..render.markdown import inline_code_styles
from ..render.merge import fill_merge_fields, replace_merge_fields
from ..render.templates import Environment, Markup, render_template
from ..render.text import plain_text
from ..render.tree import Fragment
from ..render.urls import absolute_url, is_elsewhere
from ..site import Entry, Site
from ..sources import Stamp
from .inline import WarmPremailer, inline, inliner, starts_slowly
from .keys import GMAIL_CLIP_BYTES, email_key, static_image
from .mime import (
    UNSUBSCRIBE_PLACEHOLDER,
    EmailParts,
    build_message,
    fill_placeholders,
    message_bytes,
    unsubscribe_link,
)
from .services import SERVICES, Service
from .snippets import body_with_snippets
from .units import Output, Unit

# The content column of templates/email.html: 600 px less 24 px of padding on each side.
EMAIL_COLUMN_PX = 552
# The recipient of the built .eml, and whose values fill the built .html and .txt: plainly a sample.
SAMPLE_RECIPIENT = "sample.reader@example.com"
SAMPLE_VALUES = {"name": "Sample Reader", "email": SAMPLE_RECIPIENT}
SAMPLE_TOKEN = "sample-token"
# Invisible characters after the preheader keep mail clients from filling the inbox preview
# with the start of the body.
_PREHEADER_PADDING = Markup("&#847;&zwnj;&nbsp;" * 40)


def image_width(path: Path) -> int | None:
    """The natural width in pixels of an image file, read from its header; None if unknown."""
    # Imported here: it imports urllib.request, a sixtieth of a second that no-op builds need not pay.
    import imagesize

    try:
        width, _height = imagesize.get(str(path))
    except (OSError, ValueError):
        return None
    return width if width > 0 else None


def _email_width(site: Site, src: str) -> int | None:
    """How wide an image from static/ or a page bundle shows in the email: its natural width, at
    most the column's."""
    image = static_image(site, src)
    copied = site.copied_file(image[0]) if image is not None else None
    if copied is None:
        return None
    return _column_width(copied.real, copied.stamp)


@lru_cache(maxsize=1024)
def _column_width(path: str, stamp: Stamp) -> int | None:
    # Every issue may show the same logo or photo: each version of a file is read once.
    width = image_width(Path(path))
    return min(width, EMAIL_COLUMN_PX) if width else None


def mail_safety_warnings(changes: MailChanges, path: str) -> list[Problem]:
    """The warnings about the changes that made an issue of the post at *path* safe for mail."""
    missing_alt = [warning(path, f"<img src={src!r}> has no alt attribute; describe the image with alt=\"...\" "
                           "(an empty one was added)", None, "image-alt") for src in changes.alt_added]
    return [*missing_alt, *(warning(path, removal_warning(removed), None, "email-removed")
                            for removed in changes.removed)]


def _image_warnings(site: Site, entry: Entry) -> list[Problem]:
    """Images the issue names that readers and feeds will miss: no alt text, or `image:` not in static/."""
    path = entry.post.display_path
    found = [warning(path, f"image {image.src!r} has no alt text; describe it for readers who cannot see it",
                     image.line, "image-alt") for image in entry.outline.images if not image.alt.strip()]
    image = entry.post.image.strip()
    if image and not is_elsewhere(image) and (static_image(site, image) or ("", None))[1] is None:
        found.append(warning(path, f"{image!r} is not a file under static/; feeds announce the image without its "
                             "size", _line_of(entry, "image"), "image-missing", "image"))
    return found


def _line_of(entry: Entry, key: str) -> int | None:
    """The line of a front matter key in the post's file, for warnings."""
    try:
        return find_key_line(entry.post.source.read_text(encoding="utf-8-sig"), key)
    except (OSError, UnicodeDecodeError):
        return None


def removal_warning(removed: Removed) -> str:
    """The warning about one thing taken out of an email."""
    if removed.kind in (Removal.EVENT_HANDLER, Removal.ATTRIBUTE):
        what = f"{removed.attribute} attribute on <{removed.tag}>"
    elif removed.kind is Removal.SCRIPT_LINK:
        what = f"{removed.scheme}: link on <{removed.tag}>"
    elif removed.kind is Removal.IFRAME:
        what = "<iframe> (turned into a link)"
    elif removed.kind is Removal.TAG:
        what = f"the <{removed.tag}> tags (what they held is kept)"
    else:
        what = f"<{removed.tag}>"
    return f"removed {what} from the email: mail clients block it"


def render_email(site: Site, entry: Entry, env: Environment, warm: WarmPremailer | None = None) -> EmailParts:
    """Render one issue's email HTML (styles inlined, links absolute) and its plain-text part."""
    warnings = _image_warnings(site, entry)
    # One parse for every step: the body is large and lxml's round trips add up.
    fragment = Fragment(body_with_snippets(site, env, entry, entry.email_html))
    warnings.extend(mail_safety_warnings(make_safe(fragment), entry.post.display_path))
    fragment.style_code(inline_code_styles())
    fragment.size_images(lambda src: _email_width(site, src))
    # Links within the issue (its footnotes) lead to the web version: many mail clients ignore
    # links to an anchor of the message itself.
    fragment.rewrite_urls(lambda url: entry.url + url if url.startswith("#") else absolute_url(url, site.url))
    body = fragment.html()
    text_body, links = plain_text(fragment, site.url)
    css = render_template(env, "email.css")
    page = render_template(env, "email.html", site=site.config.site, entry=entry, body=Markup(body),
                           css=Markup(css), outlook_css=Markup(render_template(env, "email-outlook.css")),
                           unsubscribe_url=UNSUBSCRIBE_PLACEHOLDER,
                           preheader_padding=_PREHEADER_PADDING)
    html = inline(page, inliner(site.config), warm)
    size = len(html.encode("utf-8"))
    if size > GMAIL_CLIP_BYTES:
        warnings.append(warning(entry.post.display_path, f"the email is {size / 1024:.0f} KB; Gmail clips "
                                "messages over 102 KB behind a 'View entire message' link", None, "email-size"))
    text = render_template(env, "email.txt", site=site.config.site, entry=entry, body=text_body,
                           links=links, unsubscribe_url=UNSUBSCRIBE_PLACEHOLDER)
    return finished_parts(site.config, EmailParts(entry=entry, subject=entry.post.title, html=html, text=text,
                                                  warnings=tuple(warnings)))


def sample_message_id(config: Config, entry: Entry) -> str:
    """The Message-ID of an issue's built .eml, the same in every build."""
    host = urlsplit(config.site.url).hostname or "localhost"
    return f"<{entry.slug}.{entry.post.date:%Y%m%d}@{host}>"


def built_unsubscribe_link(config: Config) -> str:
    """The unsubscribe link of the built email: the sample reader's, or the email service's tag."""
    service = _service(config)
    return service.unsubscribe if service else unsubscribe_link(config, SAMPLE_RECIPIENT, SAMPLE_TOKEN)


def _service(config: Config) -> Service | None:
    return SERVICES.get(config.email.merge_tags) if config.email is not None else None


def finished_parts(config: Config, parts: EmailParts) -> EmailParts:
    """*parts* with the finished HTML and text that the built .html, .txt and .eml hold.

    Merge fields and the unsubscribe link hold the sample reader's values, or the tags of the
    email service [email] merge_tags names; line ends are the message's, one at the end included.
    """
    unsubscribe = built_unsubscribe_link(config)
    service = _service(config)
    if service is not None:
        html, text = (replace_merge_fields(part, service.field) for part in (parts.html, parts.text))
    else:
        html = fill_merge_fields(parts.html, _sample_value, escape=True)
        text = fill_merge_fields(parts.text, _sample_value, escape=False)
    html, text = fill_placeholders(html, unsubscribe, html=True), fill_placeholders(text, unsubscribe)
    return dataclasses.replace(parts, built_html=as_carried(html), built_text=as_carried(text))


def _sample_value(name: str) -> str:
    return SAMPLE_VALUES.get(name, "")


def as_carried(text: str) -> str:
    """*text* with the line ends a message part gives back when decoded: newlines, one at the end."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text if text.endswith("\n") else text + "\n"


def email_outputs(site: Site, env: Environment, entry: Entry,
                  warm: WarmPremailer | None = None) -> tuple[list[Output], list[Problem]]:
    """email/<slug>.html, .txt and .eml for one issue, and the warnings they raised."""
    parts = render_email(site, entry, env, warm)
    built = dataclasses.replace(parts, html=parts.built_html, text=parts.built_text)
    # For an email service the message has no recipient: the service addresses it to each of its
    # subscribers, with its own List-Unsubscribe.
    to = None if _service(site.config) is not None else f"Sample Reader <{SAMPLE_RECIPIENT}>"
    message = build_message(site.config, built, to=to,
                            message_id=sample_message_id(site.config, entry), date=entry.post.date,
                            token=SAMPLE_TOKEN)
    folder = PurePosixPath("email")
    outputs = [
        Output(folder / f"{entry.slug}.html", parts.built_html.encode("utf-8")),
        Output(folder / f"{entry.slug}.txt", parts.built_text.encode("utf-8")),
        Output(folder / f"{entry.slug}.eml", message_bytes(message)),
    ]
    return outputs, list(parts.warnings)


def email_units(site: Site, env: Environment, base_key: str, warm: WarmPremailer | None = None,
                only: Collection[str] | None = None) -> list[Unit]:
    """The email files of every built issue (of those whose slugs are in *only*, if given), a unit
    each; *warm* inlines them if given."""
    # premailer takes a third of a second to import and warm up: unless *warm* is doing that
    # already, a worker process does it while the main one makes the pages and feeds.
    slow_start = starts_slowly(inliner(site.config), warm)
    return [Unit(f"email/{entry.slug}.html", email_key(site, entry, base_key),
                 partial(email_outputs, site, env, entry, warm), heavy=True, slow_start=slow_start)
            for entry in site.entries if only is None or entry.slug in only]


