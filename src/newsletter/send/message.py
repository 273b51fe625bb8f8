"""Make each recipient's message of an issue, byte for byte as outputs/email.py's build_message would.

An issue is rendered and encoded once; ``IssueMail`` then fills in, per recipient, the To, Date,
Message-ID and List-Unsubscribe headers, and the lines of each part that hold {subscriber.*}
fields or the unsubscribe link with its token. Everything else is the same bytes for everyone.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from functools import cached_property

from ..config import Config
from ..outputs.mime import (
    UNSUBSCRIBE_PLACEHOLDER,
    EmailParts,
    address_field,
    build_message,
    fill_placeholders,
    list_unsubscribe,
    message_bytes,
    multipart_body,
    quoted_printable,
    sender,
    unsubscribe_link,
    unsubscribe_url,
)
from ..render.merge import MERGE_FIELD_RE
from .listserver import list_unsubscribe_token
from .subscribers import Subscriber, fill_merge_fields, merge_fields


def unsubscribe_token(secret: str, address: str) -> str:
    """HMAC-SHA256 of the lower-cased address, hex: what a form endpoint recomputes to verify {token}."""
    return hmac.new(secret.encode("utf-8"), address.lower().encode("utf-8"), hashlib.sha256).hexdigest()


def copy_digest(run: str, key: str) -> str:
    """The 20 hex digits of a Message-ID that say whose copy it is: a hash of the send's run and the address."""
    return hashlib.sha256(f"{run}\0{key}".encode()).hexdigest()[:20]


def email_hash(parts: EmailParts) -> str:
    """The sha256 of an issue's email HTML as the build writes it (email/<slug>.html)."""
    return hashlib.sha256((parts.built_html or parts.html).encode("utf-8")).hexdigest()


# Headers that differ from one recipient to the next; everything else is the same for all.
_RECIPIENT_HEADERS = ("to", "date", "message-id", "list-unsubscribe")
_SAMPLE_DATE = datetime(2000, 1, 1, tzinfo=UTC)


# RFC 5322 section 2.1.1: no line of a message may be longer than 998 characters.
_MAX_LINE = 998


def _header_field(name: str, value: str) -> bytes:
    """The header field as it goes out: on one line when it fits in 998 bytes, else folded at its spaces."""
    # The values that reach here are ASCII already (formataddr encodes a non-ASCII name as an
    # RFC 2047 word; URLs are percent-encoded); lines longer than 78 are allowed (up to 998).
    line = f"{name}: {value}"
    if len(line) <= _MAX_LINE or "\r\n" in value:  # short, or folded already (outputs.mime.address_field)
        return f"{line}\r\n".encode("ascii")
    lines = [f"{name}:"]
    for word in value.split(" "):
        if len(lines[-1]) + 1 + len(word) > 78 and lines[-1].strip():
            lines.append("")
        lines[-1] += " " + word
    return ("\r\n".join(lines) + "\r\n").encode("ascii")


def _is_open(text: str) -> bool:
    """Whether filling an issue's text for a recipient can change *text*: it holds a field to fill."""
    return UNSUBSCRIBE_PLACEHOLDER in text or MERGE_FIELD_RE.search(text) is not None


@dataclass(frozen=True)
class BodyTemplate:
    """One part's content quoted-printable-encoded once, but for the lines filled per recipient.

    Quoted-printable encodes each line on its own: its soft breaks and the escaping of a trailing
    space never look past a line end. So the encoding of a text is the encodings of its lines one
    after the other, and only the lines that hold a merge field or the unsubscribe placeholder (a
    line or two of the footer, as a rule) are filled and encoded per recipient.
    """

    pieces: tuple[bytes | str, ...]   # encoded lines as they go out, or text to fill

    @classmethod
    def compile(cls, text: str) -> BodyTemplate:
        """Encode *text*'s fixed lines; keep the lines with something to fill as text, line ends included."""
        if not _is_open(text):
            return cls((quoted_printable(text),))
        if "\r" in text:
            # The encoder also ends a line at a lone CR, which a field's fallback may hold: keep it whole.
            return cls((text,))
        lines = [line + "\n" for line in text.split("\n")]
        lines[-1] = lines[-1][:-1]  # what follows the last line break (often nothing) has none of its own
        pieces: list[bytes | str] = []
        fixed: list[str] = []
        for line in lines:
            if not _is_open(line):
                fixed.append(line)
                continue
            if fixed:
                pieces.append(quoted_printable("".join(fixed)))
                fixed = []
            pieces.append(line)
        if "".join(fixed):
            pieces.append(quoted_printable("".join(fixed)))
        return cls(tuple(pieces))

    def render(self, fill: Callable[[str], str]) -> bytes:
        """The encoded content for one recipient: *fill* gives each open line its values."""
        encoded = b"".join(piece if isinstance(piece, bytes) else _encoded(fill(piece)) for piece in self.pieces)
        return encoded or quoted_printable("")  # an empty text is one empty line


def _encoded(text: str) -> bytes:
    # The encoder writes a line for any text, even none; a last line filled with nothing has none.
    return quoted_printable(text) if text else b""


@dataclass(frozen=True)
class MessageTemplate:
    """An issue's message exactly as build_message lays it out, with the per-recipient parts left open.

    build_message parses and folds every header and quoted-printable-encodes both parts in pure
    Python, some 3 ms a recipient. Here it runs once per issue; each recipient then costs a few
    string fills and the encoding of a few lines (BodyTemplate). tests/test_delivery.py checks
    that both give the same message. The List-Unsubscribe header is written folded between its
    entries, never as an RFC 2047 encoded word, which mail providers would not recognise as an
    unsubscribe link.
    """

    fields: tuple[tuple[str, bytes], ...]     # (lower-case name, the whole field); b"" where per recipient
    names: dict[str, str]                     # lower-case name -> name as written
    boundary: bytes
    part_heads: tuple[bytes, bytes]           # text/plain and text/html part headers, blank line included

    @classmethod
    def compile(cls, message: EmailMessage) -> MessageTemplate | None:
        """Take the layout from a sample message; None when it is not the expected text + HTML pair."""
        parts = list(message.iter_parts()) if message.is_multipart() else []
        boundary = message.get_boundary()
        if (message.get_content_type() != "multipart/alternative" or boundary is None
                or [p.get_content_type() for p in parts] != ["text/plain", "text/html"]
                or any(p["Content-Transfer-Encoding"] != "quoted-printable" for p in parts)
                or message.preamble or message.epilogue):
            return None
        raw = message_bytes(message)
        head = raw[: raw.index(b"\r\n\r\n") + 2]
        fields: list[tuple[str, bytes]] = []
        names: dict[str, str] = {}
        for line in head.splitlines(keepends=True):
            if line[:1] in (b" ", b"\t") and fields:
                name, field_bytes = fields[-1]
                fields[-1] = (name, field_bytes + line)
                continue
            name = line.split(b":", 1)[0].decode("ascii")
            names[name.lower()] = name
            fields.append((name.lower(), line))
        fields = [(name, b"" if name in _RECIPIENT_HEADERS else value) for name, value in fields]
        delimiter = b"--" + boundary.encode("ascii")
        heads = []
        for segment in raw.split(delimiter)[1:3]:
            heads.append(segment[2: segment.index(b"\r\n\r\n") + 4])
        return cls(tuple(fields), names, boundary.encode("ascii"), (heads[0], heads[1]))

    def render(self, values: dict[str, str], text: bytes, html: bytes) -> bytes:
        """The whole message for one recipient: *values* fill the per-recipient headers; the parts come encoded."""
        out = []
        for name, field_bytes in self.fields:
            if field_bytes:
                out.append(field_bytes)
            elif values.get(name):
                out.append(_header_field(self.names[name], values[name]))
        out += [b"\r\n", multipart_body(self.boundary, [(self.part_heads[0], text), (self.part_heads[1], html)])]
        return b"".join(out)


@dataclass(frozen=True)
class IssueMail:
    """Everything needed to make one recipient's message of an issue; rendered once per issue."""

    config: Config
    parts: EmailParts
    run: str
    secret: str = field(default="", repr=False)   # signs unsubscribe tokens; kept out of logs
    subject_prefix: str = ""

    @cached_property
    def envelope_from(self) -> str:
        return parseaddr(sender(self.config))[1]

    @cached_property
    def domain(self) -> str:
        return self.envelope_from.rpartition("@")[2] or "localhost"

    @cached_property
    def fields(self) -> frozenset[str]:
        """The {subscriber.*} fields the issue uses; none means nothing to fill per recipient."""
        return frozenset(merge_fields(self.parts.html) | merge_fields(self.parts.text))

    @cached_property
    def template(self) -> MessageTemplate | None:
        sample = build_message(self.config, self.parts, to="Sample <sample@example.com>",
                               message_id="<sample@example.com>", date=_SAMPLE_DATE,
                               token="0" if self.secret else "", subject_prefix=self.subject_prefix)
        return MessageTemplate.compile(sample)

    @cached_property
    def bodies(self) -> tuple[BodyTemplate, BodyTemplate]:
        """The text and HTML parts, encoded but for the lines filled per recipient."""
        return BodyTemplate.compile(self.parts.text), BodyTemplate.compile(self.parts.html)

    @cached_property
    def fixed_unsubscribe(self) -> str:
        """The unsubscribe link when it is the same for everyone (a mailto), else ''."""
        if unsubscribe_url(self.config, "reader@example.com", "0"):
            return ""
        return unsubscribe_link(self.config, "reader@example.com")

    def token(self, subscriber: Subscriber) -> str:
        """The recipient's unsubscribe token: the list server's when [lists] url is set ('' without a secret)."""
        if not self.secret:
            return ""
        if self.config.lists is not None and self.config.lists.url:
            return list_unsubscribe_token(self.secret, subscriber.email)
        return unsubscribe_token(self.secret, subscriber.email)

    def message_id(self, subscriber: Subscriber) -> str:
        # Stable for one recipient within one send (a retry carries the same id, so mail systems
        # that drop repeated Message-IDs drop a rare duplicate too), different for everyone else.
        return f"<{self.parts.entry.slug}.{copy_digest(self.run, subscriber.key)}@{self.domain}>"

    def personal_parts(self, subscriber: Subscriber) -> EmailParts:
        """The issue's parts with {subscriber.*} fields filled for one recipient."""
        if not self.fields:
            return self.parts
        return dataclasses.replace(self.parts, html=fill_merge_fields(self.parts.html, subscriber, escape=True),
                                   text=fill_merge_fields(self.parts.text, subscriber, escape=False))

    def reference_message(self, subscriber: Subscriber, date: datetime) -> EmailMessage:
        """The message built by emails.build_message: the definition the fast path must match."""
        token = self.token(subscriber)
        return build_message(self.config, self.personal_parts(subscriber),
                             to=Address(display_name=subscriber.name, addr_spec=subscriber.email),
                             message_id=self.message_id(subscriber), date=date, token=token,
                             subject_prefix=self.subject_prefix)

    def message(self, subscriber: Subscriber, date: datetime) -> bytes:
        """The bytes of the message *subscriber* receives."""
        template = self.template
        if template is None:
            return message_bytes(self.reference_message(subscriber, date))
        token = self.token(subscriber)
        address = subscriber.email
        # As build_message fills it; the mailto fallback is worked out once.
        unsubscribe = self.fixed_unsubscribe or unsubscribe_link(self.config, address, token)
        values = {"to": address_field(subscriber.name, address), "date": format_datetime(date),
                  "message-id": self.message_id(subscriber),
                  "list-unsubscribe": list_unsubscribe(self.config, address, token).replace(">, <", ">,\r\n <")}
        text, html = self.bodies
        # In the order personal_parts and build_message fill them: merge fields, then the link.
        return template.render(
            values,
            text.render(lambda line: fill_placeholders(fill_merge_fields(line, subscriber, escape=False),
                                                       unsubscribe)),
            html.render(lambda line: fill_placeholders(fill_merge_fields(line, subscriber, escape=True),
                                                       unsubscribe, html=True)))
