"""Where messages go: an SMTP server, a folder of .eml files (``--dry-run``) or a list in memory (tests).

Every transport delivers one message at a time and reports its fate with the exceptions of
failures.py. This is the one module that imports smtplib (and ssl and socket for it): whatever
smtplib raises is translated here into those exceptions or into a ``SendError`` that says what to
fix. ``Handover`` marks the moment the whole message becomes the server's (see sender.py).
"""

from __future__ import annotations

import re
import smtplib
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from ..errors import SendError
from .failures import PermanentFailure, TransientFailure, UncertainDelivery


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
    """One message a MemoryTransport was given."""

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


# An address in the only shape the sender hands over (subscribers.py checks each one): dot-separated
# atoms of ASCII letters, digits and the symbols RFC 5322 allows unquoted, an @, a domain of labels.
_PLAIN_ADDRESS = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
                            r"@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*")


def smtp_path(address: str) -> str:
    """The address in angle brackets for MAIL FROM or RCPT TO, as smtplib writes it."""
    # smtplib runs every address through the email package's address parser first, which costs
    # more than the rest of a message's commands; a plain address comes out of it as it went in.
    if _PLAIN_ADDRESS.fullmatch(address):
        return f"<{address}>"
    return smtplib.quoteaddr(address)


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

    def _open(self) -> smtplib.SMTP:
        """Open the connection and read the greeting; a refusal for now is transient, for good a SendError."""
        try:
            # Connecting through the constructor lets smtplib check the certificate against the host name.
            if self.security == "ssl":
                return smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=self._context())
            return smtplib.SMTP(self.host, self.port, timeout=self.timeout)
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

    def _greet(self, smtp: smtplib.SMTP) -> None:
        """Say EHLO, switch to TLS when configured, and log in; close the connection on any failure."""
        try:
            smtp.ehlo()
            if self.security == "starttls":
                if not smtp.has_extn("starttls"):
                    raise SendError(f"{self.where}: the server does not offer STARTTLS, so the password and "
                                    "every message would cross the network unencrypted; nothing was sent. "
                                    "Use the provider's STARTTLS port (587) or security = \"ssl\" (port 465)")
                smtp.starttls(context=self._context())
                smtp.ehlo()
            if self.username:
                smtp.login(self.username, self._password)
        except SendError:
            smtp.close()
            raise
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

    def _connect(self) -> smtplib.SMTP:
        smtp = self._open()
        self._greet(smtp)
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
            # What smtp.mail() and smtp.rcpt() send when given no options.
            smtp.putcmd("mail", f"FROM:{smtp_path(envelope_from)}")
            code, reply = smtp.getreply()
            if code != 250:
                self._refused(smtp, code, reply, whole=True)
            smtp.putcmd("rcpt", f"TO:{smtp_path(recipient)}")
            code, reply = smtp.getreply()
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
        except (OSError, smtplib.SMTPServerDisconnected) as error:
            # The final '.' never left: the server cannot have taken the message.
            self.reset()
            raise TransientFailure(f"connection lost before the end of the message: {error}") from None
        handover.after()
        try:
            assert smtp.sock is not None
            smtp.sock.settimeout(self.data_timeout)
            code, reply = smtp.getreply()
            smtp.sock.settimeout(self.timeout)
        except (OSError, smtplib.SMTPServerDisconnected) as error:
            self.reset()
            if isinstance(error, TimeoutError) or isinstance(error.__context__, TimeoutError):
                raise UncertainDelivery(f"no answer from {self.where} within {self.data_timeout:.0f} s "
                                        "after the whole message was sent") from None
            # The server had the whole message; it may have committed it before the line dropped.
            raise UncertainDelivery(f"the connection to {self.where} was lost after the whole message was "
                                    f"sent, before the server answered ({error})") from None
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
