"""The MIME message of an issue: what a built .eml holds and what a send delivers, byte for byte.

Built from an issue's EmailParts for one recipient, with the standard library's email package
and a writer of its own that lays a message out as the standard generator does, faster.
"""

from __future__ import annotations

import binascii
import hashlib
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address, BaseHeader, HeaderRegistry
from email.message import EmailMessage, MIMEPart
from email.policy import EmailPolicy
from email.utils import format_datetime, formataddr, parseaddr
from functools import lru_cache
from html import escape
from typing import Any
from urllib.parse import quote, urlsplit

from ..config import Config
from ..errors import Problem
from ..posts import slugify
from ..site import Entry


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
# Filled in for each recipient when the message is made.
UNSUBSCRIBE_PLACEHOLDER = "{unsubscribe_url}"

@dataclass(frozen=True)
class EmailParts:
    """An issue's email, the same for every recipient until placeholders are filled."""

    entry: Entry
    subject: str
    html: str
    text: str
    warnings: tuple[Problem, ...]
    # The finished parts that email/<slug>.html and .txt hold: placeholders filled for a sample.
    built_html: str = ""
    built_text: str = ""

    @property
    def size(self) -> int:
        return len(self.html.encode("utf-8"))


def sender(config: Config) -> str:
    """The From address: [email] from, else one made from the site's author and host."""
    if config.email is not None:
        return config.email.from_
    host = urlsplit(config.site.url).hostname or "localhost"
    name = config.site.author or config.site.title
    return str(Address(display_name=name, username="newsletter", domain=host))


def unsubscribe_url(config: Config, recipient: str, token: str = "") -> str:
    """The https unsubscribe URL for one recipient, or '' when none is configured."""
    if config.lists is not None and config.lists.url:
        return list_server_unsubscribe_url(config.lists.url, token)
    if config.email is None or not config.email.unsubscribe_url:
        return ""
    return config.email.unsubscribe_url.replace("{email}", quote(recipient, safe="@")).replace(
        "{token}", quote(token))


def list_server_unsubscribe_url(base: str, token: str) -> str:
    """The list server's page for one token: what `newsletter lists serve` answers at /unsubscribe/<token>."""
    return f"{base}unsubscribe/{quote(token, safe='')}"


def unsubscribe_link(config: Config, recipient: str, token: str = "") -> str:
    """What the email's unsubscribe link points at: the https URL, else a mailto.

    With no unsubscribe endpoint configured, a reply to the sender is the way out.
    """
    url = unsubscribe_url(config, recipient, token)
    mailto = config.email.unsubscribe_mailto if config.email is not None else ""
    return url or f"mailto:{mailto or parseaddr(sender(config))[1]}?subject=unsubscribe"


def list_unsubscribe(config: Config, recipient: str, token: str = "") -> str:
    """The List-Unsubscribe header value (mailto and/or https), or '' when none is configured."""
    targets = []
    if config.email is not None and config.email.unsubscribe_mailto:
        targets.append(f"<mailto:{config.email.unsubscribe_mailto}?subject=unsubscribe>")
    url = unsubscribe_url(config, recipient, token)
    if url:
        targets.append(f"<{url}>")
    return ", ".join(targets)


# RFC 2047 caps an encoded word at 75 characters. 42 bytes of UTF-8 make a 68-character word, which
# fits after "Subject: " in a line of 78; a character is never split between two words.
_WORD_BYTES = 42
_LINE = 78
# RFC 5322 caps a line at 998 bytes; this leaves room for the longest field name written before a
# mailbox ("Reply-To: ").
_FIELD_ROOM = 998 - len("Reply-To: ")


def _plain_word(word: str) -> bool:
    """Whether *word* may stand in a header as it is: ASCII, not like an encoded word, and short
    enough for a folded line of 78 (a header line may not pass 998, and cannot break in a word)."""
    return word.isascii() and "=?" not in word and len(word) < _LINE


def encoded_words(text: str, start: int = len("Subject: ")) -> str:
    """*text* for a header field, folded: plain ASCII words as they are, runs of other words (and of
    words too long for a line) as RFC 2047 encoded words (base64 UTF-8) of at most 75 characters;
    *start* is the length of 'Name: '."""
    pieces: list[str] = []
    run: list[str] = []
    for word in text.split(" "):
        if _plain_word(word):
            if run:
                pieces += _encode(" ".join(run))
                run = []
            pieces.append(word)
        else:
            run.append(word)
    if run:
        pieces += _encode(" ".join(run))
    lines, line = [], ""
    for piece in pieces:
        if line and start + len(line) + 1 + len(piece) > _LINE:
            lines.append(line)
            line, start = piece, 1
        else:
            line = f"{line} {piece}" if line or lines else piece
    lines.append(line)
    return "\r\n ".join(lines)


def _encode(text: str) -> list[str]:
    """*text* as encoded words of at most _WORD_BYTES bytes of UTF-8 each."""
    chunks: list[str] = []
    chunk: list[str] = []
    size = 0
    for character in text:
        length = len(character.encode("utf-8"))
        if size + length > _WORD_BYTES and chunk:
            # Words end after a space where one is near: decoders that keep the folding space
            # between two words then show a double space rather than a space inside a word.
            cut = len(chunk) - chunk[::-1].index(" ") if " " in chunk[len(chunk) // 2:] else len(chunk)
            chunks.append("".join(chunk[:cut]))
            chunk = chunk[cut:]
            size = len("".join(chunk).encode("utf-8"))
        chunk.append(character)
        size += length
    if chunk:
        chunks.append("".join(chunk))
    return [f"=?utf-8?b?{binascii.b2a_base64(piece.encode('utf-8'), newline=False).decode('ascii')}?="
            for piece in chunks]


def address_field(name: str, address: str) -> str:
    """A mailbox for From or To (also a List-Id): a name in non-ASCII, or too long for one line, goes
    as short encoded words."""
    if any(character in name + address for character in "\r\n"):
        raise ValueError(f"a line break in the address {address!r} or its name")
    plain = formataddr((name, address))
    if not name or (name.isascii() and len(plain) <= _FIELD_ROOM):
        return plain
    # Every word encoded: a phrase may not hold the commas and quotes that plain words might. A
    # plain name too long for one line of 998 bytes is encoded too, so that the field can fold.
    return "\r\n ".join(_encode(name)) + f" <{address}>"


def list_id(config: Config) -> str:
    """The List-Id field (RFC 2919): the site's title and a label made of its URL's path and host."""
    parts = urlsplit(config.site.url)
    host = (parts.hostname or "localhost").encode("idna").decode("ascii")
    label = ".".join(reversed([slugify(segment) for segment in parts.path.split("/") if slugify(segment)]))
    return address_field(config.site.title, f"{label or slugify(config.site.title) or 'newsletter'}.{host}")


def _set_text(message: MIMEPart, name: str, value: str) -> None:
    """Add a header field of free text: as it is in plain ASCII words, else as short encoded words."""
    if all(_plain_word(word) for word in value.split(" ")):
        _set_plain(message, name, value)
    else:
        message.set_raw(name, encoded_words(value))


def fill_placeholders(text: str, unsubscribe: str, *, html: bool = False) -> str:
    """Fill the per-recipient placeholders of an issue's text, or of its HTML (escaped)."""
    return text.replace(UNSUBSCRIBE_PLACEHOLDER, escape(unsubscribe) if html else unsubscribe)


def build_message(config: Config, parts: EmailParts, *, to: str | Address | None, message_id: str,
                  date: datetime, token: str = "", subject_prefix: str = "") -> EmailMessage:
    """Assemble the multipart/alternative message one recipient receives.

    With no recipient (*to* None) the message has no To and no List-Unsubscribe: it is the
    message an email service sends in its own name, which writes those fields for each subscriber.
    """
    address = "" if to is None else to.addr_spec if isinstance(to, Address) else parseaddr(to)[1] or to
    url = unsubscribe_url(config, address, token)
    unsubscribe = unsubscribe_link(config, address, token)
    message = EmailMessage(policy=MESSAGE_POLICY)
    # The fields are made here rather than parsed by the policy, which would cost more than the
    # rest of the message together, and which writes encoded words longer than RFC 2047 allows.
    from_name, from_address = parseaddr(sender(config))
    message.set_raw("From", address_field(from_name, from_address))
    if to is not None:
        message.set_raw("To", address_field(to.display_name, to.addr_spec) if isinstance(to, Address)
                        else address_field(*parseaddr(to)))
    _set_text(message, "Subject", subject_prefix + parts.subject)
    _set_plain(message, "Date", format_datetime(date))
    _set_plain(message, "Message-ID", message_id)
    if config.email is not None and config.email.reply_to:
        message["Reply-To"] = config.email.reply_to
    message.set_raw("List-Id", list_id(config))
    header = list_unsubscribe(config, address, token) if to is not None else ""
    if header:
        _set_plain(message, "List-Unsubscribe", header)
        if url:
            _set_plain(message, "List-Unsubscribe-Post", "List-Unsubscribe=One-Click")
    _set_plain(message, "MIME-Version", "1.0")
    # A boundary derived from the content keeps the built .eml byte-identical across builds.
    digest = hashlib.sha256((parts.text + parts.html + str(to or "")).encode("utf-8")).hexdigest()[:24]
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
