"""Send the confirmation and welcome emails from a thread of their own, over the newsletter's SMTP settings.

A request only queues its email, so that a slow mail server never slows the answer down. One
connection is kept and reused; a message that fails is logged (without its address) and dropped:
the subscriber can ask again.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from email.header import Header
from email.utils import format_datetime, formataddr, make_msgid, parseaddr

from ..config import Config, ListsConfig
from ..outputs.mime import list_server_unsubscribe_url, list_unsubscribe, quoted_printable, sender
from ..send.failures import PermanentFailure, TransientFailure, UncertainDelivery
from ..send.transports import Handover, Transport
from .pages import Pages

log = logging.getLogger("newsletter.lists")


def _header(name: str, value: str) -> bytes:
    # Every value here is ASCII already (names and subjects as RFC 2047 encoded words, folded by the
    # encoder); any other line break would start a header of its own, so none may reach here.
    if "\r" in value.replace("\r\n ", "") or "\n" in value.replace("\r\n ", "") or not value.isascii():
        raise ValueError(f"{name}: not a one-line ASCII value")
    return f"{name}: {value}\r\n".encode("ascii")


def _subject(text: str) -> str:
    """A subject as it may stand in the header: as it is when ASCII, else encoded words on lines of 78 at most."""
    return text if text.isascii() else Header(text, "utf-8", header_name="Subject").encode(linesep="\r\n")


def _mailbox(name: str, address: str) -> str:
    # A name is one encoded word, however long: the standard library's reader would put a space
    # into a name folded over several (names are at most 100 characters, the line stays short).
    return formataddr((name, address), charset="utf-8")


def compose(config: Config, to: tuple[str, str], subject: str, text: str, unsubscribe_token: str = "") -> bytes:
    """A plain-text email to one person (name, address) from the newsletter's sender.

    Laid out by hand: the standard library's header objects cost some 15 ms a message in pure
    Python, time the mailer's thread would take from the requests (they share one interpreter lock).
    """
    from_name, from_address = parseaddr(sender(config))
    name, address = to
    domain = from_address.rpartition("@")[2] or "localhost"
    head = [_header("From", _mailbox(from_name, from_address)),
            _header("To", _mailbox(name, address)),
            _header("Subject", _subject(subject)),
            _header("Date", format_datetime(datetime.now(UTC))),
            _header("Message-ID", make_msgid(domain=domain))]
    if unsubscribe_token:
        head += [_header("List-Unsubscribe", list_unsubscribe(config, address, unsubscribe_token)),
                 _header("List-Unsubscribe-Post", "List-Unsubscribe=One-Click")]
    head += [_header("MIME-Version", "1.0"), _header("Content-Type", 'text/plain; charset="utf-8"'),
             _header("Content-Transfer-Encoding", "quoted-printable")]
    return b"".join(head) + b"\r\n" + quoted_printable(text)


def confirmation_message(pages: Pages, to: tuple[str, str], confirm_url: str, hours: int, wording: str) -> bytes:
    """The email with the link that confirms a subscription (templates/lists/confirm.txt)."""
    text = pages.mail_text("confirm", subscriber_name=to[0], confirm_url=confirm_url, hours=hours, wording=wording)
    subject = pages.gettext("Confirm your subscription to %(title)s") % {"title": pages.config.site.title}
    return compose(pages.config, to, subject, text)


def welcome_message(pages: Pages, to: tuple[str, str], unsubscribe_token: str) -> bytes:
    """The email that greets a new subscriber, with the list's unsubscribe link (templates/lists/welcome.txt)."""
    url = list_server_unsubscribe_url(pages.config.lists.url if pages.config.lists else "", unsubscribe_token)
    text = pages.mail_text("welcome", subscriber_name=to[0], unsubscribe_url=url)
    subject = pages.gettext("Welcome to %(title)s") % {"title": pages.config.site.title}
    return compose(pages.config, to, subject, text, unsubscribe_token)


def sample_messages(config: Config) -> dict[str, bytes]:
    """The confirmation and welcome emails for a made-up reader, as the list server would send them."""
    pages = Pages(config)
    lists = config.lists or ListsConfig(url="https://lists.example.com/")
    base = lists.url or "https://lists.example.com/"
    to = ("Jana Novak", "jana@example.com")
    return {"confirm": confirmation_message(pages, to, f"{base}confirm/SAMPLE-TOKEN", lists.confirm_hours,
                                            pages.wording),
            "welcome": welcome_message(pages, to, "SAMPLE-TOKEN")}


class Mailer:
    """A queue of emails and the thread that sends them, one connection for all."""

    def __init__(self, config: Config, transport: Callable[[], Transport]) -> None:
        self.config = config
        self.envelope_from = parseaddr(sender(config))[1]
        self._transport = transport
        self._queue: queue.Queue[tuple[str, Callable[[], bytes]] | None] = queue.Queue(maxsize=10_000)
        self._thread = threading.Thread(target=self._run, name="lists-mailer", daemon=True)
        self._thread.start()

    def __repr__(self) -> str:
        return f"Mailer(from={self.envelope_from!r})"

    def post(self, address: str, make: Callable[[], bytes]) -> None:
        """Queue one message, made in the mailer's thread by *make*; when the queue is full (a flood), it is dropped."""
        try:
            self._queue.put_nowait((address, make))
        except queue.Full:
            log.warning("mail queue full; a confirmation email was dropped")

    def wait(self) -> None:
        """Block until every queued message was tried (for tests and shutdown)."""
        self._queue.join()

    def stop(self) -> None:
        self._queue.put(None)   # after the messages already queued
        self._thread.join(timeout=30)

    def _run(self) -> None:
        transport: Transport | None = None
        while True:
            item = self._queue.get()
            try:
                if item is None:
                    if transport is not None:
                        transport.close()
                    return
                address, make = item
                data = make()   # here rather than in the request: laying out a message takes milliseconds
                transport = transport or self._transport()
                self._deliver(transport, address, data)
            except Exception as error:  # noqa: BLE001 - the thread must outlive any one message
                log.error("could not send an email: %s", error)
                if transport is not None:
                    transport.reset()
            finally:
                self._queue.task_done()

    def _deliver(self, transport: Transport, address: str, data: bytes) -> None:
        for attempt in range(2):
            try:
                transport.send(self.envelope_from, address, data, Handover())
                return
            except TransientFailure as error:
                transport.reset()
                if attempt:
                    log.error("the mail server did not take an email: %s", error.reply)
            except (PermanentFailure, UncertainDelivery) as error:
                log.error("the mail server refused an email: %s", error.reply)
                return
