"""Read the bounce mailbox over IMAP; the one module that imports imapclient.

Only the Message-ID of each message is fetched first; whole messages are fetched for the ones not
processed before, in batches, and without marking anything as read (BODY.PEEK). Deleting is asked
for by UID, for the messages that were understood and nothing else. Whatever imapclient, imaplib,
ssl or the network raise is translated here into a ``MailboxError`` that says what to fix.
"""

from __future__ import annotations

import imaplib
import ssl
from collections.abc import Callable, Iterator, Sequence
from functools import partial
from typing import Any, TypeVar

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError, LoginError

from ...errors import MailboxError

_BATCH = 250
_PEEK_HEADER = "BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"
_HEADER = b"BODY[HEADER.FIELDS (MESSAGE-ID)]"
_T = TypeVar("_T")


class ImapMailbox:
    """One mailbox (folder) on an IMAP server, open for reading and, when asked, deleting."""

    def __init__(self, host: str, port: int, security: str, username: str, password: str, folder: str, *,
                 timeout: float = 60.0, ssl_context: ssl.SSLContext | None = None) -> None:
        self.host = host
        self.port = port
        self.security = security
        self.username = username
        self._password = password
        self.folder = folder
        self.timeout = timeout
        self.ssl_context = ssl_context
        self._client: IMAPClient | None = None

    def __repr__(self) -> str:  # never show the password, even in a traceback
        return f"ImapMailbox({self.host!r}, {self.port}, {self.security!r}, username={self.username!r})"

    @property
    def where(self) -> str:
        return f"{self.folder} on {self.host}:{self.port}"

    def _call(self, what: str, action: Callable[[], _T]) -> _T:
        try:
            return action()
        except LoginError:
            raise MailboxError(f"{self.host}:{self.port}: the server refused the login for {self.username!r}; "
                               "check the user and the password") from None
        except ssl.SSLError as error:
            raise MailboxError(f"{self.host}:{self.port}: TLS failed ({error.reason or error}); check "
                               "bounces.security and bounces.port in newsletter.toml") from None
        except (IMAPClientError, imaplib.IMAP4.error) as error:
            raise MailboxError(f"{self.where}: {what} failed: {error}") from None
        except OSError as error:
            raise MailboxError(f"{self.host}:{self.port}: cannot {what}: {error}") from None

    def open(self) -> None:
        """Connect, log in and select the folder (read-write only when something is to be deleted)."""
        def connect() -> IMAPClient:
            context = self.ssl_context or ssl.create_default_context()
            client = IMAPClient(self.host, self.port, ssl=self.security == "ssl", ssl_context=context,
                                timeout=self.timeout)
            if self.security == "starttls":
                client.starttls(context)
            client.login(self.username, self._password)
            return client

        self._client = self._call("connect", connect)
        client = self._client
        self._call(f"selecting {self.folder!r}", lambda: client.select_folder(self.folder))

    def _open_client(self) -> IMAPClient:
        assert self._client is not None, "mailbox is not open"
        return self._client

    def message_ids(self) -> dict[int, bytes]:
        """The header block holding Message-ID of every message in the folder, by UID."""
        client = self._open_client()
        uids: Sequence[int] = self._call("searching", lambda: client.search("ALL"))
        heads: dict[int, bytes] = {}
        for start in range(0, len(uids), _BATCH * 8):
            batch = uids[start: start + _BATCH * 8]
            fetched: dict[int, Any] = self._call("fetching headers", partial(client.fetch, batch, [_PEEK_HEADER]))
            heads.update({uid: data.get(_HEADER, b"") for uid, data in fetched.items()})
        return heads

    def messages(self, uids: Sequence[int]) -> Iterator[tuple[int, bytes]]:
        """The whole bytes of each message in *uids*, in batches, leaving them unread."""
        client = self._open_client()
        for start in range(0, len(uids), _BATCH):
            batch = list(uids[start: start + _BATCH])
            fetched: dict[int, Any] = self._call("fetching messages", partial(client.fetch, batch, ["BODY.PEEK[]"]))
            for uid in batch:
                if uid in fetched:
                    yield uid, fetched[uid].get(b"BODY[]", b"")

    def delete(self, uids: Sequence[int]) -> int:
        """Mark the messages *uids* deleted and expunge them, unless that would take others too; say how many went."""
        if not uids:
            return 0
        client = self._open_client()

        def remove() -> int:
            client.delete_messages(list(uids))
            if client.has_capability("UIDPLUS"):
                client.uid_expunge(list(uids))
                return len(uids)
            # A plain EXPUNGE removes every message marked deleted in the folder: someone else's
            # marks would be carried out too. Then ours stay marked for a mail client to expunge.
            if set(client.search(["DELETED"])) - set(uids):
                return 0
            client.expunge()
            return len(uids)

        return self._call("deleting", remove)

    def close(self) -> None:
        if self._client is not None:
            try:
                self._client.logout()
            except (IMAPClientError, imaplib.IMAP4.error, OSError):
                pass
            self._client = None
