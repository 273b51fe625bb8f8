"""The email of an issue: inlined HTML (premailer, imported only here), plain text, MIME message."""

from __future__ import annotations

import binascii
import contextlib
import hashlib
import logging
import multiprocessing
import os
import posixpath
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address, BaseHeader, HeaderRegistry
from email.message import EmailMessage, MIMEPart
from email.policy import EmailPolicy
from email.utils import format_datetime, parseaddr
from functools import lru_cache, partial
from html import escape
from multiprocessing.connection import Connection
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote, urlsplit

import jinja2
from markupsafe import Markup

from ..config import Config
from ..errors import BuildError, Problem
from ..render.html import Fragment, absolute_url, is_site_relative, site_path
from ..render.markdown import inline_code_styles
from ..render.templates import make_environment, render_template
from ..site import Entry, Site
from ..sources import Stamp
from .units import Output, Unit, digest

GMAIL_CLIP_BYTES = 102 * 1024


class _RememberingPolicy(EmailPolicy):
    """The SMTP policy, keeping the header objects it parses and the fields it folds.

    A built archive's sample messages share most fields (From, To, every part's Content-Type),
    and the standard library parses a field again each time it is read: parsing costs more than
    the rest of writing a message. Header objects are immutable, so one can serve every message.
    """

    def header_store_parse(self, name: str, value: Any) -> tuple[str, Any]:
        if not isinstance(value, str) or hasattr(value, "name"):
            return super().header_store_parse(name, value)
        return _stored(self, name, value)

    def header_fetch_parse(self, name: str, value: Any) -> Any:
        return value if hasattr(value, "name") else _fetched(self, name, value)

    def fold_binary(self, name: str, value: Any) -> bytes:
        return _folded(self, name, value) if hasattr(value, "name") else super().fold_binary(name, value)


@lru_cache(maxsize=512)
def _stored(policy: EmailPolicy, name: str, value: str) -> tuple[str, Any]:
    return EmailPolicy.header_store_parse(policy, name, value)


@lru_cache(maxsize=512)
def _fetched(policy: EmailPolicy, name: str, value: str) -> Any:
    return EmailPolicy.header_fetch_parse(policy, name, value)


@lru_cache(maxsize=512)
def _folded(policy: EmailPolicy, name: str, value: Any) -> bytes:
    return EmailPolicy.fold_binary(policy, name, value)


class _HeaderClasses(HeaderRegistry):
    """The standard header registry, making each field's class once instead of for every field read."""

    @lru_cache(maxsize=64)  # noqa: B019 - one registry lives as long as the program
    def __getitem__(self, name: str) -> type[BaseHeader]:
        return super().__getitem__(name)


MESSAGE_POLICY = _RememberingPolicy(linesep="\r\n", header_factory=_HeaderClasses())
WIRE_POLICY = MESSAGE_POLICY.clone(max_line_length=998)
# The content column of templates/email.html: 600 px less 24 px of padding on each side.
EMAIL_COLUMN_PX = 552
UNSUBSCRIBE_PLACEHOLDER = "{unsubscribe_url}"
SAMPLE_RECIPIENT = "subscriber@example.com"
# Invisible characters after the preheader keep mail clients from filling the inbox preview
# with the start of the body.
_PREHEADER_PADDING = Markup("&#847;&zwnj;&nbsp;" * 40)


@dataclass(frozen=True)
class EmailParts:
    """An issue's email, the same for every recipient until placeholders are filled."""

    entry: Entry
    subject: str
    html: str
    text: str
    warnings: tuple[Problem, ...]

    @property
    def size(self) -> int:
        return len(self.html.encode("utf-8"))


def inliner(config: Config) -> str:
    """The CSS inliner the newsletter asks for: premailer unless [email] inliner says otherwise."""
    return config.email.inliner if config.email is not None else "premailer"


def _inline(html: str, name: str = "premailer") -> str:
    """Move the email's CSS onto its elements; rules that cannot move (media queries) stay in <style>."""
    if name == "css-inline":
        return _css_inline(html)
    if _warm is not None and premailer_is_warm():
        return _warm.inline(html)
    return _premailer(html)


def _premailer(html: str) -> str:
    # premailer keeps parsed CSS in one shared cache of 128 entries by default; every email's many
    # style attributes push the stylesheet out of it, so it would be parsed again for each email.
    # It is imported here, on first use, because importing it takes longer than a no-op build.
    os.environ.setdefault("PREMAILER_CACHE_MAXSIZE", "8192")
    from premailer import Premailer

    premailer = Premailer(
        html,
        cssutils_logging_level=logging.CRITICAL,
        disable_validation=True,
        allow_network=False,
        remove_classes=False,
        strip_important=False,
        preserve_internal_links=True,
        keep_style_tags=False,
        # Our stylesheet floats no image, and this step parses every image's style with cssutils'
        # validation on (whatever disable_validation says), which costs a tenth of a second the
        # first time: most of an edit's rebuild.
        align_floating_images=False,
    )
    return premailer.transform()


# -- premailer warmed up ahead of need -------------------------------------------------------------

# Elements the default email stylesheet styles: inlining them once fills premailer's caches of
# parsed declarations, as the first real email would.
_WARMING_BODY = ("<h1>a</h1><h2>a</h2><h3>a</h3><p>a <strong>b</strong> <em>c</em> <a href=\"#\">d</a> "
                 "<code>e</code> <del>f</del></p><ul><li>a</li></ul><ol><li>b</li></ol>"
                 "<blockquote><p>q</p></blockquote><pre><code>x</code></pre><table><thead><tr><th>h</th>"
                 "</tr></thead><tbody><tr><td>d</td></tr></tbody></table><figure><img src=\"a.png\" "
                 "alt=\"a\"><figcaption>c</figcaption></figure><hr>")


class _WarmPremailer:
    """A process that imports premailer and parses the email stylesheet as soon as it starts,
    then inlines the pages it is sent."""

    # Longer than any email takes; past it the process is presumed stuck and the page inlined here.
    PATIENCE_SECONDS = 60

    def __init__(self, config: Config) -> None:
        self.owner = os.getpid()
        context = multiprocessing.get_context("fork")
        self.connection, theirs = context.Pipe()
        self.process = context.Process(target=_serve_premailer, args=(theirs, self.connection, config),
                                       daemon=True)
        self.process.start()
        theirs.close()
        self.working = True

    def inline(self, html: str) -> str:
        inlined = None
        if self.working:
            try:
                self.connection.send(html)
                if self.connection.poll(self.PATIENCE_SECONDS):
                    inlined = self.connection.recv()
                else:
                    self.working = False
            except (OSError, EOFError):
                self.working = False
        # Not inlined there (it failed, or premailer raised): here, where any error is reported.
        return inlined if inlined is not None else _premailer(html)

    def stop(self) -> None:
        self.connection.close()
        self.process.terminate()
        self.process.join()


def _serve_premailer(connection: Connection, theirs: Connection, config: Config) -> None:
    # With the builder's end closed here, the builder's exit (even killed) ends recv() below; its
    # Ctrl-C is its own to handle.
    theirs.close()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Should this fail, the first real email warms premailer up instead, and reports the error.
    with contextlib.suppress(Exception):
        css = render_template(make_environment(config), "email.css")
        _premailer(f"<html><head><style>\n{css}\n</style></head><body class=\"body\">{_WARMING_BODY}</body></html>")
    while True:
        try:
            html = connection.recv()
        except (EOFError, OSError):
            return
        try:
            inlined: str | None = _premailer(html)
        except Exception:  # noqa: BLE001 - the caller inlines the page itself and reports the error
            inlined = None
        connection.send(inlined)


_warm: _WarmPremailer | None = None


@contextlib.contextmanager
def premailer_warming(config: Config) -> Iterator[None]:
    """While this lasts, this process's premailer emails are inlined by a process started now.

    Importing premailer and parsing the stylesheet the first time take a third of a second, most of
    a one-post rebuild; started first, they overlap everything the build does before its email.
    Does nothing when the newsletter uses another inliner.
    """
    global _warm
    if inliner(config) != "premailer" or _warm is not None:
        yield
        return
    _warm = _WarmPremailer(config)
    try:
        yield
    finally:
        warm, _warm = _warm, None
        warm.stop()


def premailer_is_warm() -> bool:
    """Whether this process's premailer emails go to a warmed-up premailer process."""
    return _warm is not None and _warm.owner == os.getpid()


def _css_inline(html: str) -> str:
    try:
        import css_inline
    except ImportError:
        raise BuildError("[email] inliner = \"css-inline\" needs the css-inline package: "
                         "pip install 'newsletter[fast]'") from None
    # The whole <style> stays: css-inline keeps media queries (dark mode, phones) only that way.
    return css_inline.CSSInliner(keep_style_tags=True, load_remote_stylesheets=False).inline(html)


def image_width(path: Path) -> int | None:
    """The natural width in pixels of an image file, read from its header; None if unknown."""
    # Imported here: it imports urllib.request, a sixtieth of a second that no-op builds need not pay.
    import imagesize

    try:
        width, _height = imagesize.get(str(path))
    except (OSError, ValueError):
        return None
    return width if width > 0 else None


def _static_image(site: Site, src: str) -> tuple[str, Stamp | None] | None:
    """The file a site-relative image src names, from the newsletter folder ('static/a.png'),
    with its stamp when it is a file under static/; None for an image hosted elsewhere."""
    if not is_site_relative(src):
        return None
    local = posixpath.normpath(site_path(src).split("?")[0].split("#")[0])
    return local, site.static_files.get(local)


def _email_width(site: Site, src: str) -> int | None:
    """How wide a static/ image shows in the email: its natural width, at most the column's."""
    image = _static_image(site, src)
    if image is None or image[1] is None:
        return None
    return _column_width(str(site.config.root / image[0]), image[1])


@lru_cache(maxsize=1024)
def _column_width(path: str, stamp: Stamp) -> int | None:
    # Every issue may show the same logo or photo: each version of a file is read once.
    width = image_width(Path(path))
    return min(width, EMAIL_COLUMN_PX) if width else None


def render_email(site: Site, entry: Entry, env: jinja2.Environment) -> EmailParts:
    """Render one issue's email HTML (styles inlined, links absolute) and its plain-text part."""
    warnings: list[Problem] = []
    # One parse for every step: the body is large and lxml's round trips add up.
    fragment = Fragment(entry.body.html)
    warnings.extend(Problem(entry.post.display_path, note) for note in fragment.make_mail_safe())
    fragment.style_code(inline_code_styles())
    fragment.size_images(lambda src: _email_width(site, src))
    fragment.rewrite_urls(lambda url: absolute_url(url, site.url))
    body = fragment.html()
    text_body, links = fragment.text(site.url)
    css = render_template(env, "email.css")
    page = render_template(env, "email.html", site=site.config.site, entry=entry, body=Markup(body),
                           css=Markup(css), unsubscribe_url=UNSUBSCRIBE_PLACEHOLDER,
                           preheader_padding=_PREHEADER_PADDING)
    html = _inline(page, inliner(site.config))
    size = len(html.encode("utf-8"))
    if size > GMAIL_CLIP_BYTES:
        warnings.append(Problem(entry.post.display_path, f"the email is {size / 1024:.0f} KB; Gmail clips "
                                "messages over 102 KB behind a 'View entire message' link"))
    text = render_template(env, "email.txt", site=site.config.site, entry=entry, body=text_body,
                           links=links, unsubscribe_url=UNSUBSCRIBE_PLACEHOLDER)
    return EmailParts(entry=entry, subject=entry.post.title, html=html, text=text, warnings=tuple(warnings))


def sender(config: Config) -> str:
    """The From address: [email] from, else one made from the site's author and host."""
    if config.email is not None:
        return config.email.from_
    host = urlsplit(config.site.url).hostname or "localhost"
    name = config.site.author or config.site.title
    return str(Address(display_name=name, username="newsletter", domain=host))


def unsubscribe_url(config: Config, recipient: str, token: str = "") -> str:
    """The https unsubscribe URL for one recipient, or '' when none is configured."""
    if config.email is None or not config.email.unsubscribe_url:
        return ""
    return config.email.unsubscribe_url.replace("{email}", quote(recipient, safe="@")).replace(
        "{token}", quote(token))


def list_unsubscribe(config: Config, recipient: str, token: str = "") -> str:
    """The List-Unsubscribe header value (mailto and/or https), or '' when none is configured."""
    targets = []
    if config.email is not None and config.email.unsubscribe_mailto:
        targets.append(f"<mailto:{config.email.unsubscribe_mailto}?subject=unsubscribe>")
    url = unsubscribe_url(config, recipient, token)
    if url:
        targets.append(f"<{url}>")
    return ", ".join(targets)


def fill_placeholders(text: str, unsubscribe: str, *, html: bool = False) -> str:
    """Fill the per-recipient placeholders of an issue's text, or of its HTML (escaped)."""
    return text.replace(UNSUBSCRIBE_PLACEHOLDER, escape(unsubscribe) if html else unsubscribe)


def build_message(config: Config, parts: EmailParts, *, to: str | Address, message_id: str, date: datetime,
                  token: str = "", subject_prefix: str = "") -> EmailMessage:
    """Assemble the multipart/alternative message one recipient receives."""
    address = to.addr_spec if isinstance(to, Address) else parseaddr(to)[1] or to
    url = unsubscribe_url(config, address, token)
    mailto = config.email.unsubscribe_mailto if config.email is not None else ""
    # With no unsubscribe endpoint configured, a reply to the sender is the way out.
    unsubscribe = url or f"mailto:{mailto or parseaddr(sender(config))[1]}?subject=unsubscribe"
    message = EmailMessage(policy=MESSAGE_POLICY)
    # Addresses and the subject may need encoding: the policy parses and checks them. The other
    # fields are made here from values that are ASCII already; parsing them would cost more than
    # the rest of the message together.
    message["From"] = sender(config)
    message["To"] = to
    message["Subject"] = subject_prefix + parts.subject
    _set_plain(message, "Date", format_datetime(date))
    _set_plain(message, "Message-ID", message_id)
    if config.email is not None and config.email.reply_to:
        message["Reply-To"] = config.email.reply_to
    header = list_unsubscribe(config, address, token)
    if header:
        _set_plain(message, "List-Unsubscribe", header)
        if url:
            _set_plain(message, "List-Unsubscribe-Post", "List-Unsubscribe=One-Click")
    _set_plain(message, "MIME-Version", "1.0")
    # A boundary derived from the content keeps the built .eml byte-identical across builds.
    digest = hashlib.sha256((parts.text + parts.html + str(to)).encode("utf-8")).hexdigest()[:24]
    _set_plain(message, "Content-Type", f'multipart/alternative; boundary="=_{digest}"')
    message.set_payload([_text_part("plain", fill_placeholders(parts.text, unsubscribe)),
                         _text_part("html", fill_placeholders(parts.html, unsubscribe, html=True))])
    # The parts are encoded (lines of 76) by now; from here on headers fold only past 998 bytes, so
    # that the List-Unsubscribe URLs stay as they are instead of turning into encoded words.
    message.policy = WIRE_POLICY
    return message


def message_bytes(message: EmailMessage) -> bytes:
    """``message.as_bytes()`` for a message made by build_message, written in one pass.

    The generic generator writes the encoded parts line by line, about as long as making the
    whole email; here each part's encoded text goes out as it is. The layout is the generator's
    (tests compare the two), so a built .eml is byte for byte what a send writes.
    """
    policy = message.policy
    boundary = message.get_boundary()
    parts = list(message.iter_parts())
    if boundary is None or not parts or message.preamble or message.epilogue \
            or any(not isinstance(part.get_payload(), str) for part in parts):
        return message.as_bytes()
    head = b"".join(policy.fold_binary(name, value) for name, value in message.raw_items())
    bodies = [(b"".join(policy.fold_binary(name, value) for name, value in part.raw_items()) + b"\r\n",
               str(part.get_payload()).encode("ascii")) for part in parts]
    return head + b"\r\n" + multipart_body(boundary.encode("ascii"), bodies)


def multipart_body(boundary: bytes, parts: list[tuple[bytes, bytes]]) -> bytes:
    """A multipart body as the standard generator lays it out, from each part's head (blank line
    included) and encoded content; it follows the blank line that ends the message's header."""
    delimiter = b"--" + boundary
    out = []
    for index, (head, content) in enumerate(parts):
        out += [b"\r\n" if index else b"", delimiter, b"\r\n", head, content]
    out += [b"\r\n", delimiter, b"--\r\n"]
    return b"".join(out)


def quoted_printable(text: str) -> bytes:
    """UTF-8 text as a quoted-printable body (lines of 76 at most) with CRLF line ends."""
    lines = text.encode("utf-8").splitlines()
    return binascii.b2a_qp(b"\n".join(lines) + b"\n", istext=True).replace(b"\n", b"\r\n")


def _set_plain(message: MIMEPart, name: str, value: str) -> None:
    """Add a header field as it is when it is one line of ASCII; anything else goes through the policy."""
    if value.isascii() and "\r" not in value and "\n" not in value:
        message.set_raw(name, value)
    else:
        message[name] = value  # encoded, or refused for a line break


def _text_part(subtype: str, text: str) -> MIMEPart:
    # Encoded here in C: EmailMessage.set_content does the same in pure Python, ten times slower.
    part = MIMEPart(policy=MESSAGE_POLICY)
    _set_plain(part, "Content-Type", f'text/{subtype}; charset="utf-8"')
    _set_plain(part, "Content-Transfer-Encoding", "quoted-printable")
    part.set_payload(quoted_printable(text).decode("ascii"))
    return part


def sample_message_id(config: Config, entry: Entry) -> str:
    host = urlsplit(config.site.url).hostname or "localhost"
    return f"<{entry.slug}.{entry.post.date:%Y%m%d}@{host}>"


def email_outputs(site: Site, env: jinja2.Environment, entry: Entry) -> tuple[list[Output], list[Problem]]:
    """email/<slug>.html, .txt and .eml for one issue, and the warnings they raised."""
    parts = render_email(site, entry, env)
    message = build_message(site.config, parts, to=f"Subscriber <{SAMPLE_RECIPIENT}>",
                            message_id=sample_message_id(site.config, entry), date=entry.post.date)
    folder = PurePosixPath("email")
    outputs = [
        Output(folder / f"{entry.slug}.html", parts.html.encode("utf-8")),
        Output(folder / f"{entry.slug}.txt", parts.text.encode("utf-8")),
        Output(folder / f"{entry.slug}.eml", message_bytes(message)),
    ]
    return outputs, list(parts.warnings)


def email_units(site: Site, env: jinja2.Environment, base_key: str) -> list[Unit]:
    """The email files of every built issue, a unit each."""
    # premailer takes a third of a second to import and warm up: unless a process is doing that
    # already, a worker process does it while the main one makes the pages and feeds.
    premailer = inliner(site.config) == "premailer" and not premailer_is_warm()
    return [Unit(f"email/{entry.slug}.html", digest(base_key, "email", entry.key, *_image_stamps(site, entry)),
                 partial(email_outputs, site, env, entry), heavy=True, slow_start=premailer)
            for entry in site.entries]


def _image_stamps(site: Site, entry: Entry) -> list[object]:
    """The stamp of each file the email's images name (None if missing): it gives their widths."""
    return [image for src in entry.outline.image_sources if (image := _static_image(site, src)) is not None]
