"""A real SMTP server for tests: aiosmtpd on 127.0.0.1 in a thread, recording what it accepts.

Faults can be scripted per recipient: replies to RCPT TO or to the end of DATA (451, 550 ...),
a connection dropped in the middle of DATA, and one dropped after the message was taken in
place of the reply. ``on_message`` runs inside the server as each
message is accepted, which lets a test kill the sending process at a precise point.
"""

from __future__ import annotations

import email
import email.policy
import socket
import ssl
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session


@dataclass(frozen=True)
class Received:
    """One message the server accepted."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes
    tls: bool = False

    @property
    def message(self) -> EmailMessage:
        return email.message_from_bytes(self.data, policy=email.policy.default)  # type: ignore[return-value]


@dataclass
class Recorder:
    """The aiosmtpd handler: records accepted messages, answers scripted faults."""

    received: list[Received] = field(default_factory=list)
    # address -> replies to use for its next RCPT TO / end of DATA, one per attempt
    rcpt_replies: dict[str, list[str]] = field(default_factory=dict)
    data_replies: dict[str, list[str]] = field(default_factory=dict)
    # addresses whose next DATA is cut off by closing the connection
    drop_in_data: set[str] = field(default_factory=set)
    # addresses whose next message is accepted (and recorded) after the final '.', and then the
    # connection is dropped instead of answering: the sender cannot know it was delivered
    drop_after_data: set[str] = field(default_factory=set)
    on_message: Callable[[Received], None] | None = None
    on_rcpt: Callable[[str], None] | None = None
    connections: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def _next(self, table: dict[str, list[str]], address: str) -> str | None:
        with self.lock:
            queue = table.get(address.lower())
            return queue.pop(0) if queue else None

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str,
                          rcpt_options: list[str]) -> str:
        if self.on_rcpt is not None:
            self.on_rcpt(address)
        reply = self._next(self.rcpt_replies, address)
        if reply is not None:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        reply = self._next(self.data_replies, envelope.rcpt_tos[0])
        if reply is not None:
            return reply
        data = envelope.original_content or b""
        received = Received(envelope.mail_from, tuple(envelope.rcpt_tos), bytes(data), session.ssl is not None)
        with self.lock:
            self.received.append(received)
            drop = envelope.rcpt_tos[0].lower() in self.drop_after_data
            self.drop_after_data.discard(envelope.rcpt_tos[0].lower())
        if self.on_message is not None:
            self.on_message(received)
        if drop and server.transport is not None:
            server.transport.abort()
        return "250 Message accepted"

    # ----- what tests look at

    def rcpt_counts(self) -> Counter[str]:
        with self.lock:
            return Counter(address.lower() for message in self.received for address in message.rcpt_tos)

    def messages(self) -> list[EmailMessage]:
        with self.lock:
            return [received.message for received in self.received]


class _FaultySMTP(SMTP):
    """aiosmtpd's SMTP session that can vanish in the middle of DATA."""

    def __init__(self, handler: Recorder, **kwargs: object) -> None:
        super().__init__(handler, **kwargs)  # type: ignore[arg-type]
        handler.connections += 1

    async def smtp_DATA(self, arg: str) -> None:
        handler: Recorder = self.event_handler
        envelope = self.envelope
        if envelope is not None and envelope.rcpt_tos:
            address = envelope.rcpt_tos[0].lower()
            with handler.lock:
                drop = address in handler.drop_in_data
                handler.drop_in_data.discard(address)
            if drop:
                await self.push("354 End data with <CR><LF>.<CR><LF>")
                await self._reader.readuntil(b"\r\n")  # the first line of the message, then gone
                assert self.transport is not None
                self.transport.abort()
                return
        await super().smtp_DATA(arg)


class _Controller(Controller):
    def factory(self) -> SMTP:
        return _FaultySMTP(self.handler, **self.SMTP_kwargs)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class SmtpServer:
    """aiosmtpd on 127.0.0.1 and a free port, in a thread; use as a context manager."""

    def __init__(self, recorder: Recorder | None = None, *, tls_context: ssl.SSLContext | None = None) -> None:
        self.recorder = recorder or Recorder()
        self.port = free_port()
        kwargs: dict[str, object] = {}
        if tls_context is not None:
            kwargs["tls_context"] = tls_context
        self.controller = _Controller(self.recorder, hostname="127.0.0.1", port=self.port,
                                      ready_timeout=5.0, **kwargs)

    def __enter__(self) -> SmtpServer:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()


TOKEN_SECRET = "test-token-secret"


def send_config(port: int, *, security: str = "none", host: str = "127.0.0.1", username: str = "",
                unsubscribe_url: str = "https://example.com/unsubscribe?email={email}&token={token}",
                unsubscribe_mailto: str = "unsubscribe@example.com", unsubscribed: str = "unsubscribed.txt") -> str:
    """The [email], [smtp] and [subscribers] sections of a newsletter that sends to *port*."""
    lines = ['', '[email]', 'from = "Tess Tester <news@example.com>"']
    if unsubscribe_url:
        lines.append(f'unsubscribe_url = "{unsubscribe_url}"')
    if unsubscribe_mailto:
        lines.append(f'unsubscribe_mailto = "{unsubscribe_mailto}"')
    lines += ['', '[smtp]', f'host = "{host}"', f'port = {port}', f'security = "{security}"', 'rate = 1000']
    if username:
        lines.append(f'username = "{username}"')
    lines += ['', '[subscribers]', 'file = "subscribers.csv"']
    if unsubscribed:
        lines.append(f'unsubscribed = "{unsubscribed}"')
    return "\n".join(lines) + "\n"
