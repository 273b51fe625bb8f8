"""Send issues to subscribers exactly once: transports, the per-recipient loop, the plan, the status.

A send is planned first (which issues, to whom, every check done before anything goes out), then
carried out recipient by recipient through a ``Transport``: SMTP for real, a folder of .eml files
for ``--dry-run``, memory for tests. Every recipient's fate is written to the issue's journal as
it happens (see manifest.py), so a send stopped at any moment resumes with the recipients not yet
done; when every recipient is done the issue goes into manifest.json.

Exactly once, and the one moment it cannot be promised
------------------------------------------------------
A message is the server's once it has read the final "." of DATA; we learn that when its reply
arrives. The journal is written on both sides of that moment: an attempt record ("sending") just
before the final "." goes out, and the outcome ("sent", "failed", ...) once the reply is read.
If the sending process dies between the two, the journal shows an attempt with no outcome, and
the next run treats that recipient as *uncertain*: the server most likely accepted the message
(it had all of it), so it is not sent again, and the recipient is reported by name so the writer
can decide. This is at-most-once for that instant: a duplicate is never sent; the price is that a
process killed in the microseconds between writing the attempt and writing the "." leaves one
recipient reported as uncertain who did not get the issue. The attempt record is fsync'd while
the server processes the message, so even a power cut can at worst leave that one message
unrecorded (then sent again) if it falls between the "." and that fsync.

A lost connection with this process still alive is different: the server did not answer 250, so
by RFC 5321 (section 6.1) it has not taken the message, and the recipient is tried again. A
timeout after the "." (the server alive but slow) is again treated as uncertain, since a server
that is still working on a message usually delivers it; the timeout for that reply is long (ten
minutes, as RFC 5321 section 4.5.3.2.6 advises), so that it rarely happens.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import os
import re
import secrets
import smtplib
import socket
import ssl
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, parseaddr
from functools import cached_property
from pathlib import Path
from typing import Protocol

from ..build.engine import load_site
from ..config import Config, find_key_line, suggest
from ..errors import NewsletterError, Problem
from ..outputs.email import (
    EmailParts,
    build_message,
    fill_placeholders,
    list_unsubscribe,
    message_bytes,
    multipart_body,
    quoted_printable,
    render_email,
    sender,
    unsubscribe_url,
)
from ..render.templates import make_environment
from ..site import Entry, Site
from .manifest import (
    DEFERRED,
    FAILED,
    RETRY,
    SENDING,
    SENT,
    UNCERTAIN,
    Journal,
    JournalState,
    Manifest,
    SentIssue,
    load_manifest,
    write_manifest,
)
from .subscribers import (
    Subscriber,
    SubscriberList,
    address_problem,
    fill_merge_fields,
    load_subscribers,
    merge_fields,
)

LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
TEST_PREFIX = "[TEST] "


class SendError(NewsletterError):
    """Sending cannot start (bad settings, nothing to send) or cannot go on (server unreachable)."""


# ---------------------------------------------------------------------------------------------
# What a transport reports about one message


class TransientFailure(Exception):
    """The message was not taken this time (4xx, lost connection); it may be tried again."""

    def __init__(self, reply: str, *, connecting: bool = False) -> None:
        super().__init__(reply)
        self.reply = reply
        self.connecting = connecting


class PermanentFailure(Exception):
    """The server refused the message for good (5xx); *whole* when it refuses every message (MAIL FROM)."""

    def __init__(self, reply: str, *, whole: bool = False) -> None:
        super().__init__(reply)
        self.reply = reply
        self.whole = whole


class UncertainDelivery(Exception):
    """The whole message was handed over but no answer came: it was probably delivered."""

    def __init__(self, reply: str) -> None:
        super().__init__(reply)
        self.reply = reply


@dataclass(frozen=True)
class Handover:
    """Callbacks around the final '.' of DATA: record the attempt, then make the record durable."""

    before: Callable[[], None] = lambda: None
    after: Callable[[], None] = lambda: None


class Transport(Protocol):
    """Where messages go: an SMTP server, a folder of .eml files, or a list in memory."""

    def send(self, envelope_from: str, recipient: str, data: bytes, handover: Handover) -> None:
        """Deliver one message or raise TransientFailure, PermanentFailure or UncertainDelivery."""

    def reset(self) -> None:
        """Drop the connection after a failure; the next send starts a fresh one."""

    def close(self) -> None:
        """Say goodbye and release the connection."""


@dataclass(frozen=True)
class Delivered:
    envelope_from: str
    recipient: str
    data: bytes


@dataclass
class MemoryTransport:
    """Keep every message in a list (for tests)."""

    messages: list[Delivered] = field(default_factory=list)

    def send(self, envelope_from: str, recipient: str, data: bytes, handover: Handover) -> None:
        handover.before()
        self.messages.append(Delivered(envelope_from, recipient, data))
        handover.after()

    def reset(self) -> None:
        pass

    def close(self) -> None:
        pass


class DirectoryTransport:
    """Write every message into a folder as NNNNN-address.eml (for --dry-run)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.count = 0
        # Messages from an earlier dry run of the same issue would be mistaken for this one's.
        if folder.is_dir():
            for old in folder.glob("*.eml"):
                old.unlink()

    def send(self, envelope_from: str, recipient: str, data: bytes, handover: Handover) -> None:
        self.count += 1
        self.folder.mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9@._+-]", "_", recipient)
        handover.before()
        (self.folder / f"{self.count:05d}-{name}.eml").write_bytes(data)
        handover.after()

    def reset(self) -> None:
        pass

    def close(self) -> None:
        pass


def _reply_text(code: int, reply: bytes | str) -> str:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply
    return f"{code} {' '.join(text.split())}".strip()


def dot_stuff(data: bytes) -> bytes:
    """Double every line-leading '.' (RFC 5321 section 4.5.2) and end with CRLF, ready for DATA."""
    stuffed = data.replace(b"\r\n.", b"\r\n..")
    if stuffed.startswith(b"."):
        stuffed = b"." + stuffed
    return stuffed if stuffed.endswith(b"\r\n") else stuffed + b"\r\n"


class SmtpTransport:
    """One reused SMTP connection (STARTTLS, implicit TLS, or plain on localhost only)."""

    def __init__(self, host: str, port: int, security: str = "starttls", username: str = "", password: str = "",
                 *, timeout: float = 30.0, data_timeout: float = 600.0,
                 ssl_context: ssl.SSLContext | None = None) -> None:
        self.host = host
        self.port = port
        self.security = security
        self.username = username
        self._password = password
        self.timeout = timeout
        self.data_timeout = data_timeout
        self.ssl_context = ssl_context
        self._smtp: smtplib.SMTP | None = None

    def __repr__(self) -> str:  # never show the password, even in a traceback
        return f"SmtpTransport({self.host!r}, {self.port}, {self.security!r}, username={self.username!r})"

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"

    def _context(self) -> ssl.SSLContext:
        return self.ssl_context or ssl.create_default_context()

    def _connect(self) -> smtplib.SMTP:
        try:
            # Connecting through the constructor lets smtplib check the certificate against the host name.
            if self.security == "ssl":
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout,
                                                      context=self._context())
            else:
                smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        except smtplib.SMTPConnectError as error:
            if 400 <= error.smtp_code < 500:
                raise TransientFailure(_reply_text(error.smtp_code, error.smtp_error), connecting=True) from None
            raise SendError(f"{self.where}: the server refused the connection: "
                            f"{_reply_text(error.smtp_code, error.smtp_error)}") from None
        except ssl.SSLError as error:
            raise SendError(f"{self.where}: TLS failed ({error.reason or error}); check smtp.security "
                            "and smtp.port in newsletter.toml") from None
        except (OSError, smtplib.SMTPException) as error:
            raise TransientFailure(f"cannot connect to {self.where}: {error}", connecting=True) from None
        try:
            smtp.ehlo()
            if self.security == "starttls":
                if not smtp.has_extn("starttls"):
                    smtp.close()
                    raise SendError(f"{self.where}: the server does not offer STARTTLS, so the password and "
                                    "every message would cross the network unencrypted; nothing was sent. "
                                    "Use the provider's STARTTLS port (587) or security = \"ssl\" (port 465)")
                smtp.starttls(context=self._context())
                smtp.ehlo()
            if self.username:
                smtp.login(self.username, self._password)
        except ssl.SSLError as error:
            smtp.close()
            raise SendError(f"{self.where}: TLS failed ({error.reason or error}); nothing was sent") from None
        except smtplib.SMTPAuthenticationError as error:
            smtp.close()
            raise SendError(f"{self.where}: the server refused the login for {self.username!r}: "
                            f"{_reply_text(error.smtp_code, error.smtp_error)}; check the password") from None
        except smtplib.SMTPNotSupportedError:
            smtp.close()
            raise SendError(f"{self.where}: the server does not accept a login here; remove smtp.username "
                            "or use security = \"starttls\"") from None
        except (OSError, smtplib.SMTPException) as error:
            smtp.close()
            raise TransientFailure(f"{self.where}: {error}", connecting=True) from None
        # The final "." goes out in a write of its own (see send); without TCP_NODELAY, Nagle's
        # algorithm holds it back until the server's delayed ACK, some 40 ms for every message.
        if smtp.sock is not None:
            try:
                smtp.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass
        return smtp

    def _refused(self, smtp: smtplib.SMTP, code: int, reply: bytes, *, whole: bool = False) -> None:
        text = _reply_text(code, reply)
        try:
            if code == 421:
                raise OSError("the server is closing the connection")
            smtp.rset()
        except (OSError, smtplib.SMTPException):
            self.reset()
        if 500 <= code < 600:
            raise PermanentFailure(text, whole=whole)
        raise TransientFailure(text)

    def send(self, envelope_from: str, recipient: str, data: bytes, handover: Handover) -> None:
        if self._smtp is None:
            self._smtp = self._connect()
        smtp = self._smtp
        try:
            code, reply = smtp.mail(envelope_from)
            if code != 250:
                self._refused(smtp, code, reply, whole=True)
            code, reply = smtp.rcpt(recipient)
            if code not in (250, 251):
                self._refused(smtp, code, reply)
            code, reply = smtp.docmd("DATA")
            if code != 354:
                self._refused(smtp, code, reply)
            smtp.send(dot_stuff(data))
        except (OSError, smtplib.SMTPServerDisconnected) as error:
            self.reset()
            raise TransientFailure(f"connection lost: {error}") from None
        handover.before()
        try:
            smtp.send(b".\r\n")
            handover.after()
            assert smtp.sock is not None
            smtp.sock.settimeout(self.data_timeout)
            code, reply = smtp.getreply()
            smtp.sock.settimeout(self.timeout)
        except (OSError, smtplib.SMTPServerDisconnected) as error:
            self.reset()
            if isinstance(error, TimeoutError) or isinstance(error.__context__, TimeoutError):
                raise UncertainDelivery(f"no answer from {self.where} within {self.data_timeout:.0f} s "
                                        "after the whole message was sent") from None
            raise TransientFailure(f"connection lost before the server accepted the message: {error}") from None
        if code != 250:
            self._refused(smtp, code, reply)

    def reset(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.close()
            finally:
                self._smtp = None

    def close(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (OSError, smtplib.SMTPException):
                pass
            self.reset()


# ---------------------------------------------------------------------------------------------
# One issue's messages


def unsubscribe_token(secret: str, address: str) -> str:
    """HMAC-SHA256 of the lower-cased address, hex: what a form endpoint recomputes to verify {token}."""
    return hmac.new(secret.encode("utf-8"), address.lower().encode("utf-8"), hashlib.sha256).hexdigest()


def email_hash(parts: EmailParts) -> str:
    """The sha256 of an issue's email HTML as rendered, before any per-recipient filling."""
    return hashlib.sha256(parts.html.encode("utf-8")).hexdigest()


# Headers that differ from one recipient to the next; everything else is the same for all.
_RECIPIENT_HEADERS = ("to", "date", "message-id", "list-unsubscribe")
_SAMPLE_DATE = datetime(2000, 1, 1, tzinfo=UTC)


def _header_field(name: str, value: str) -> bytes:
    # The values that reach here are ASCII already (formataddr encodes a non-ASCII name as an
    # RFC 2047 word; URLs are percent-encoded); lines longer than 78 are allowed (up to 998).
    return f"{name}: {value}\r\n".encode("ascii")


@dataclass(frozen=True)
class MessageTemplate:
    """An issue's message exactly as build_message lays it out, with the per-recipient parts left open.

    build_message parses and folds every header and quoted-printable-encodes both parts in pure
    Python, some 3 ms a recipient. Here it runs once per issue; each recipient then costs a few
    string fills and a C-speed encoding. tests/test_delivery.py checks that both give the same
    message. The List-Unsubscribe header is written folded between its entries, never as an
    RFC 2047 encoded word, which mail providers would not recognise as an unsubscribe link.
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

    def render(self, values: dict[str, str], text: str, html: str) -> bytes:
        """The whole message for one recipient: *values* fill the per-recipient headers."""
        out = []
        for name, field_bytes in self.fields:
            if field_bytes:
                out.append(field_bytes)
            elif values.get(name):
                out.append(_header_field(self.names[name], values[name]))
        out += [b"\r\n", multipart_body(self.boundary, [(self.part_heads[0], quoted_printable(text)),
                                                        (self.part_heads[1], quoted_printable(html))])]
        return b"".join(out)


@dataclass(frozen=True)
class IssueMail:
    """Everything needed to make one recipient's message of an issue; rendered once per issue."""

    config: Config
    parts: EmailParts
    run: str
    secret: str = ""
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

    def message_id(self, subscriber: Subscriber) -> str:
        # Stable for one recipient within one send (a retry carries the same id, so mail systems
        # that drop repeated Message-IDs drop a rare duplicate too), different for everyone else.
        digest = hashlib.sha256(f"{self.run}\0{subscriber.key}".encode()).hexdigest()[:20]
        return f"<{self.parts.entry.slug}.{digest}@{self.domain}>"

    def personal_parts(self, subscriber: Subscriber) -> EmailParts:
        """The issue's parts with {subscriber.*} fields filled for one recipient."""
        if not self.fields:
            return self.parts
        return dataclasses.replace(self.parts, html=fill_merge_fields(self.parts.html, subscriber, escape=True),
                                   text=fill_merge_fields(self.parts.text, subscriber, escape=False))

    def reference_message(self, subscriber: Subscriber, date: datetime) -> EmailMessage:
        """The message built by emails.build_message: the definition the fast path must match."""
        token = unsubscribe_token(self.secret, subscriber.email) if self.secret else ""
        return build_message(self.config, self.personal_parts(subscriber),
                             to=formataddr((subscriber.name, subscriber.email)),
                             message_id=self.message_id(subscriber), date=date, token=token,
                             subject_prefix=self.subject_prefix)

    def message(self, subscriber: Subscriber, date: datetime) -> bytes:
        """The bytes of the message *subscriber* receives."""
        template = self.template
        if template is None:
            return message_bytes(self.reference_message(subscriber, date))
        parts = self.personal_parts(subscriber)
        token = unsubscribe_token(self.secret, subscriber.email) if self.secret else ""
        address = subscriber.email
        url = unsubscribe_url(self.config, address, token)
        mailto = self.config.email.unsubscribe_mailto if self.config.email is not None else ""
        # As build_message fills {unsubscribe_url}: the https URL, else a mailto.
        unsubscribe = url or f"mailto:{mailto or self.envelope_from}?subject=unsubscribe"
        values = {"to": formataddr((subscriber.name, address)), "date": format_datetime(date),
                  "message-id": self.message_id(subscriber),
                  "list-unsubscribe": list_unsubscribe(self.config, address, token).replace(">, <", ">,\r\n <")}
        return template.render(values, fill_placeholders(parts.text, unsubscribe),
                               fill_placeholders(parts.html, unsubscribe, html=True))


# ---------------------------------------------------------------------------------------------
# The per-recipient loop


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to try a message again after a transient failure."""

    tries: int = 5
    base_delay: float = 1.0
    max_delay: float = 60.0

    def delay(self, attempt: int) -> float:
        """Seconds to wait after the *attempt*-th failure (1, 2, 4, ... times the base)."""
        return min(self.max_delay, self.base_delay * 2 ** (attempt - 1))


@dataclass(frozen=True)
class Progress:
    slug: str
    done: int
    total: int
    sent: int
    failed: int
    elapsed: float

    @property
    def rate(self) -> float:
        return self.done / self.elapsed if self.elapsed > 0 else 0.0


@dataclass(frozen=True)
class IssueResult:
    """What one run did with one issue."""

    entry: Entry
    sent: int
    failed: tuple[tuple[str, str], ...]
    uncertain: tuple[tuple[str, str], ...]
    deferred: tuple[tuple[str, str], ...]
    complete: bool
    stopped: bool
    seconds: float
    recorded: SentIssue | None = None

    @property
    def messages(self) -> int:
        return self.sent + len(self.failed)


class _Pacer:
    """Hold messages to at most *rate* a second, without bursting to catch up after a slow patch."""

    def __init__(self, rate: float | None, clock: Callable[[], float], sleep: Callable[[float], None]) -> None:
        self.interval = 1.0 / rate if rate else 0.0
        self.clock = clock
        self.sleep = sleep
        self.next_at: float | None = None

    def wait(self) -> None:
        if not self.interval:
            return
        now = self.clock()
        if self.next_at is not None and self.next_at > now:
            self.sleep(self.next_at - now)
            now = self.next_at
        self.next_at = now + self.interval


@dataclass
class Sender:
    """Send one issue's messages through a transport, journalling each recipient when a journal is given."""

    transport: Transport
    journal: Journal | None = None
    rate: float | None = None
    retry: RetryPolicy = RetryPolicy()
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    now: Callable[[], datetime] = lambda: datetime.now(UTC)
    progress: Callable[[Progress], None] | None = None
    stop: Callable[[], bool] = lambda: False

    def _record(self, record: dict[str, object], *, sync: bool = True) -> None:
        if self.journal is not None:
            self.journal.append(record, sync=sync)

    def _sync(self) -> None:
        if self.journal is not None:
            self.journal.sync()

    def send_one(self, mail: IssueMail, subscriber: Subscriber, pacer: _Pacer) -> tuple[str, str]:
        """Try one recipient until it is sent, refused, uncertain, or out of tries; return (state, reply)."""
        address = subscriber.email
        data = mail.message(subscriber, self.now())
        attempt = 0
        while True:
            attempt += 1
            handed = False

            def before() -> None:
                nonlocal handed
                handed = True
                # Written (not yet fsync'd) just before the final '.', so a process killed after
                # this point finds the recipient "sending" on restart and does not send again.
                self._record({"type": SENDING, "to": address}, sync=False)

            pacer.wait()
            try:
                self.transport.send(mail.envelope_from, address, data, Handover(before, self._sync))
            except TransientFailure as failure:
                if handed:
                    # The server said no (or never said yes) after the hand-over: not delivered.
                    self._record({"type": RETRY, "to": address, "reply": failure.reply})
                self.transport.reset()
                if attempt >= self.retry.tries:
                    if failure.connecting:
                        raise SendError(f"{failure.reply}; gave up after {attempt} tries. "
                                        "Run 'newsletter send' again later to continue where it stopped") from None
                    self._record({"type": DEFERRED, "to": address, "reply": failure.reply})
                    return DEFERRED, failure.reply
                self.sleep(self.retry.delay(attempt))
                continue
            except PermanentFailure as failure:
                if failure.whole:
                    raise SendError(f"the server refuses to send anything from {mail.envelope_from}: "
                                    f"{failure.reply}; nothing more was sent. Fix the cause and run "
                                    "'newsletter send' again to continue") from None
                self._record({"type": FAILED, "to": address, "reply": failure.reply})
                return FAILED, failure.reply
            except UncertainDelivery as uncertain:
                self._record({"type": UNCERTAIN, "to": address, "reply": uncertain.reply})
                return UNCERTAIN, uncertain.reply
            self._record({"type": SENT, "to": address})
            return SENT, ""

    def send_issue(self, mail: IssueMail, recipients: Sequence[Subscriber]) -> IssueResult:
        """Send *mail* to each of *recipients* in order; stop early when asked to."""
        started = self.clock()
        pacer = _Pacer(self.rate, self.clock, self.sleep)
        outcomes: dict[str, list[tuple[str, str]]] = {FAILED: [], UNCERTAIN: [], DEFERRED: []}
        sent = done = 0
        stopped = False
        try:
            for subscriber in recipients:
                if self.stop():
                    stopped = True
                    break
                state, reply = self.send_one(mail, subscriber, pacer)
                done += 1
                if state == SENT:
                    sent += 1
                else:
                    outcomes[state].append((subscriber.email, reply))
                if self.progress is not None:
                    self.progress(Progress(mail.parts.entry.slug, done, len(recipients), sent,
                                           len(outcomes[FAILED]), self.clock() - started))
        finally:
            self.transport.close()
        return IssueResult(entry=mail.parts.entry, sent=sent, failed=tuple(outcomes[FAILED]),
                           uncertain=tuple(outcomes[UNCERTAIN]), deferred=tuple(outcomes[DEFERRED]),
                           complete=not stopped and not outcomes[DEFERRED], stopped=stopped,
                           seconds=self.clock() - started)


# ---------------------------------------------------------------------------------------------
# The plan: every check before anything is sent


@dataclass(frozen=True)
class IssuePlan:
    """One issue to send in this run."""

    entry: Entry
    mail: IssueMail
    recipients: tuple[Subscriber, ...]
    total: int
    already_done: int = 0
    resuming: bool = False

    @property
    def subject(self) -> str:
        return self.mail.subject_prefix + self.mail.parts.subject


@dataclass(frozen=True)
class SendPlan:
    """What `newsletter send` is about to do, decided before anything is sent."""

    config: Config
    mode: str                      # "send", "dry-run" or "test"
    issues: tuple[IssuePlan, ...]
    manifest: Manifest
    password: str = ""
    rate: float | None = None
    notes: tuple[str, ...] = ()
    warnings: tuple[Problem, ...] = ()

    @property
    def records(self) -> bool:
        return self.mode == "send"


def _config_line(config: Config, section: str, *keys: str) -> str:
    """'newsletter.toml:LINE' of the first of *keys* set in [section], else of the section itself."""
    try:
        text = config.path.read_text(encoding="utf-8-sig")
    except OSError:
        return config.path.name
    lines = [find_key_line(text, key, section) for key in keys] + [find_key_line(text, section)]
    line = next((number for number in lines if number), None)
    return f"{config.path.name}:{line}" if line else config.path.name


def check_email_settings(config: Config) -> str:
    """Check [email] can be used to send; return the token secret ('' when {token} is not used)."""
    email = config.email
    if email is None or not (email.unsubscribe_url or email.unsubscribe_mailto):
        where = _config_line(config, "email") if email is not None else config.path.name
        raise SendError(f"{where}: email: set unsubscribe_url or unsubscribe_mailto in [email] before "
                        "sending; every message must offer a way to unsubscribe")
    if "{token}" not in email.unsubscribe_url:
        return ""
    secret = os.environ.get(email.token_secret_env, "")
    if not secret:
        raise SendError(f"{_config_line(config, 'email', 'unsubscribe_url')}: email.unsubscribe_url: uses "
                        f"{{token}} but the environment variable {email.token_secret_env} is not set; export "
                        "it with the secret your unsubscribe endpoint uses to check tokens")
    return secret


def check_smtp_settings(config: Config) -> str:
    """Check [smtp] is usable; return the password from its environment variable ('' without a username)."""
    smtp = config.smtp
    if smtp is None:
        raise SendError(f"{config.path.name}: [smtp]: is required to send; add host, port, security "
                        "and username (see the README)")
    if smtp.security == "none" and smtp.host.strip("[]").lower() not in LOCAL_HOSTS:
        raise SendError(f"{_config_line(config, 'smtp', 'security')}: smtp.security: \"none\" sends the "
                        f"password and messages unencrypted, so it is only allowed for localhost, not "
                        f"{smtp.host!r}; use \"starttls\" or \"ssl\"")
    if not smtp.username:
        return ""
    password = os.environ.get(smtp.password_env, "")
    if not password:
        raise SendError(f"{_config_line(config, 'smtp', 'password_env', 'username')}: smtp.password_env: the environment "
                        f"variable {smtp.password_env} is not set; export it with the SMTP password for "
                        f"{smtp.username} (it is never read from a file)")
    return password


def _check_fields(parts: EmailParts, subscribers: SubscriberList | None) -> None:
    used = merge_fields(parts.html) | merge_fields(parts.text)
    columns = set(subscribers.columns) if subscribers is not None else {"email", "name"}
    unknown = sorted(used - columns - {"email"})
    if unknown:
        source = subscribers.path.name if subscribers is not None else "the subscriber list"
        raise SendError(f"{parts.entry.post.display_path}: {{subscriber.{unknown[0]}}} is not a column of "
                        f"{source} (columns: {', '.join(sorted(columns))}); add the column or fix the name")


def _describe_status(entry: Entry) -> str:
    if entry.status == "draft":
        return f"{entry.post.display_path}: is a draft; drafts are never sent (remove 'draft: true' to send it)"
    return (f"{entry.post.display_path}: is scheduled for {entry.post.date.isoformat()}; it can be sent "
            "from then on (or pass --now to send as of a later time)")


def _find_entry(site: Site, slug: str) -> Entry:
    for entry in site.entries:
        if entry.slug == slug:
            return entry
    raise SendError(f"no post has the slug {slug!r}{suggest(slug, [e.slug for e in site.entries])}; "
                    "'newsletter status' lists them")


def pending_journals(root: Path) -> dict[str, Journal]:
    """Journals of sends that were started and not finished, by slug."""
    folder = root / ".newsletter" / "journal"
    if not folder.is_dir():
        return {}
    return {path.stem: Journal(path, root) for path in sorted(folder.glob("*.jsonl"))
            if "." not in path.stem}


def finish_issue(root: Path, manifest: Manifest, journal: Journal, state: JournalState,
                 when: datetime) -> tuple[Manifest, SentIssue]:
    """Record a finished send in the manifest, then move its journal aside."""
    start = state.start or {}
    complete = state.complete or {}
    sent_at = complete.get("sent_at") or when.astimezone(UTC).isoformat(timespec="seconds")
    if state.complete is None:
        journal.append({"type": "complete", "sent_at": sent_at})
    record = SentIssue(slug=str(start.get("slug", journal.path.stem)), id=str(start.get("id", "")),
                       subject=str(start.get("subject", "")), sent_at=sent_at,
                       sha256=str(start.get("sha256", "")), sent=state.count(SENT), failed=state.count(FAILED),
                       uncertain=state.count(UNCERTAIN, SENDING))
    manifest = manifest.with_issue(record)
    write_manifest(manifest)
    journal.archive(re.sub(r"[^0-9T]", "", sent_at)[:15])
    return manifest, record


def plan_send(root: Path, slug: str | None = None, *, now: datetime | None = None, mode: str = "send",
              test_to: Sequence[str] = (), resend: bool = False, rate: float | None = None) -> SendPlan:
    """Decide what to send and check everything that can be checked before the first message."""
    site = load_site(root, now=now, drafts=True, scheduled=True)
    config = site.config
    manifest = load_manifest(root)
    secret = check_email_settings(config)
    password = check_smtp_settings(config) if mode != "dry-run" else ""
    for address in test_to:
        problem = address_problem(address)
        if problem:
            raise SendError(f"--to: {problem}")
    subscribers: SubscriberList | None = None
    settings = config.subscribers
    if mode != "test" or (root / (settings.file if settings else "subscribers.csv")).exists():
        subscribers = load_subscribers(config)
    journals = pending_journals(root)
    notes: list[str] = []

    # Sends that finished but were stopped before the manifest was written are recorded first.
    if mode == "send":
        for name, journal in list(journals.items()):
            state = journal.read()
            if state.complete is not None:
                journal.open()
                manifest, _ = finish_issue(root, manifest, journal, state, datetime.now(UTC))
                del journals[name]

    if slug is not None:
        entry = _find_entry(site, slug)
        if entry.status != "published":
            raise SendError(_describe_status(entry))
        sent = manifest.find(entry.slug, entry.id)
        if sent is not None and not resend and mode != "test" and entry.slug not in journals:
            raise SendError(f"{manifest.path.name}: {entry.slug}: was sent on {sent.sent_at} to {sent.sent} "
                            "recipients; pass --resend to send it again to everyone")
        chosen = [entry]
    else:
        if resend:
            raise SendError("--resend: name the issue to send again, like 'newsletter send SLUG --resend'")
        chosen = [entry for entry in reversed(site.published)
                  if manifest.find(entry.slug, entry.id) is None or entry.slug in journals]
        for name in journals if mode == "send" else ():
            if not any(entry.slug == name for entry in chosen):
                notes.append(f"{name}: an unfinished send is in {journals[name].shown}, but the post is no "
                             "longer published; it is left as it is")

    env = make_environment(config)
    warnings: list[Problem] = list(site.warnings)
    issues: list[IssuePlan] = []
    for entry in chosen:
        parts = render_email(site, entry, env)
        warnings.extend(parts.warnings)
        _check_fields(parts, subscribers)
        if mode == "test":
            known = {s.key: s for s in (subscribers.subscribers if subscribers else ())}
            people = tuple(known.get(address.lower(), Subscriber(address)) for address in test_to)
            mail = IssueMail(config, parts, secrets.token_hex(8), secret, TEST_PREFIX)
            issues.append(IssuePlan(entry, mail, people, len(people)))
            continue
        assert subscribers is not None
        pending = journals.get(entry.slug)
        state = pending.read() if pending is not None else JournalState()
        run = str((state.start or {}).get("run") or secrets.token_hex(8))
        if state.start and state.start.get("sha256") != email_hash(parts):
            notes.append(f"{entry.slug}: the email changed since this send started; the recipients still "
                         "to go get the current version")
        mail = IssueMail(config, parts, run, secret)
        people = tuple(s for s in subscribers.subscribers if not state.is_done(s.key))
        done = len(subscribers.subscribers) - len(people)
        issues.append(IssuePlan(entry, mail, people, len(subscribers.subscribers), done,
                                resuming=state.start is not None))
    return SendPlan(config, mode, tuple(issues), manifest, password=password,
                    rate=rate if rate is not None else (config.smtp.rate if config.smtp else None),
                    notes=tuple(notes), warnings=tuple(warnings))


def smtp_transport(plan: SendPlan, **options: object) -> SmtpTransport:
    """The SMTP transport for a plan's [smtp] settings."""
    smtp = plan.config.smtp
    assert smtp is not None
    return SmtpTransport(smtp.host, smtp.port, smtp.security, smtp.username, plan.password, **options)  # type: ignore[arg-type]


def _start_record(issue: IssuePlan) -> dict[str, object]:
    return {"type": "start", "run": issue.mail.run, "slug": issue.entry.slug, "id": issue.entry.id,
            "subject": issue.mail.parts.subject, "sha256": email_hash(issue.mail.parts),
            "recipients": issue.total, "started_at": datetime.now(UTC).isoformat(timespec="seconds")}


def execute_plan(plan: SendPlan, transport_for: Callable[[IssuePlan], Transport], *,
                 on_issue: Callable[[IssuePlan], None] | None = None, **sender_options: object) -> list[IssueResult]:
    """Send each planned issue in order (oldest first), journalling and recording it when the plan records.

    *sender_options* go to ``Sender``: retry, clock, sleep, now, progress, stop.
    """
    results: list[IssueResult] = []
    manifest = plan.manifest
    rate = None if plan.mode == "dry-run" else plan.rate
    for issue in plan.issues:
        if on_issue is not None:
            on_issue(issue)
        journal: Journal | None = None
        if plan.records:
            journal = Journal(Journal.path_for(plan.config.root, issue.entry.slug), plan.config.root)
            if journal.open().start is None:
                journal.append(_start_record(issue))
        sender_ = Sender(transport_for(issue), journal, rate=rate, **sender_options)  # type: ignore[arg-type]
        try:
            result = sender_.send_issue(issue.mail, issue.recipients)
            if journal is not None and result.complete:
                state = journal.read()
                # The manifest records the email as finally sent, even if it changed since the start.
                start = {**(state.start or {}), **_start_record(issue)}
                manifest, record = finish_issue(plan.config.root, manifest, journal,
                                                dataclasses.replace(state, start=start), sender_.now())
                # Recipients left uncertain by an earlier, killed run are reported now, by name.
                result = dataclasses.replace(result, recorded=record,
                                             uncertain=tuple(state.listed(UNCERTAIN, SENDING)))
        finally:
            if journal is not None:
                journal.close()
        results.append(result)
        if result.stopped:
            break
    return results


# ---------------------------------------------------------------------------------------------
# Status


@dataclass(frozen=True)
class PostStatus:
    """One line of `newsletter status`."""

    entry: Entry
    sent: SentIssue | None
    edited: bool
    in_progress: JournalState | None


def post_statuses(root: Path, now: datetime | None = None) -> list[PostStatus]:
    """Every post, newest first, with whether and when it was sent and whether it changed since."""
    site = load_site(root, now=now, drafts=True, scheduled=True)
    manifest = load_manifest(root)
    journals = pending_journals(root)
    env = None
    statuses = []
    for entry in site.entries:
        sent = manifest.find(entry.slug, entry.id)
        edited = False
        if sent is not None and sent.sha256:
            env = env or make_environment(site.config)
            edited = email_hash(render_email(site, entry, env)) != sent.sha256
        journal = journals.get(entry.slug)
        statuses.append(PostStatus(entry, sent, edited, journal.read() if journal is not None else None))
    return statuses
