"""Read the bounce mailbox from a Maildir folder (new/ and cur/), as a local mail server delivers it."""

from __future__ import annotations

import mailbox
from collections.abc import Iterator, Sequence
from pathlib import Path

from ...errors import MailboxError


def _head(data: bytes) -> bytes:
    """The header block of a message: everything up to the first empty line."""
    for separator in (b"\r\n\r\n", b"\n\n"):
        end = data.find(separator)
        if end >= 0:
            return data[: end + len(separator)]
    return data


class MaildirMailbox:
    """A Maildir folder, keyed by the unique name of each message file."""

    def __init__(self, path: Path, shown: str) -> None:
        self.path = path
        self.where = shown
        self._maildir: mailbox.Maildir | None = None

    def open(self) -> None:
        if not (self.path / "cur").is_dir() or not (self.path / "new").is_dir():
            raise MailboxError(f"{self.where}: not a Maildir folder (it needs cur/ and new/ inside); check "
                               "bounces.maildir in newsletter.toml or --maildir")
        self._maildir = mailbox.Maildir(self.path, factory=None, create=False)

    def _box(self) -> mailbox.Maildir:
        assert self._maildir is not None, "mailbox is not open"
        return self._maildir

    def _read(self, key: str) -> bytes | None:
        try:
            return self._box().get_bytes(key)
        except (KeyError, FileNotFoundError):
            return None  # taken away by someone else since the folder was listed
        except OSError as error:
            raise MailboxError(f"{self.where}: {key}: cannot be read: {error.strerror}") from None

    def message_ids(self) -> dict[str, bytes]:
        """The header block of every message, by key."""
        heads = {}
        for key in sorted(self._box().iterkeys()):
            data = self._read(key)
            if data is not None:
                heads[key] = _head(data)
        return heads

    def messages(self, keys: Sequence[str]) -> Iterator[tuple[str, bytes]]:
        for key in keys:
            data = self._read(key)
            if data is not None:
                yield key, data

    def delete(self, keys: Sequence[str]) -> int:
        box = self._box()
        for key in keys:
            try:
                box.discard(key)
            except OSError as error:
                raise MailboxError(f"{self.where}: {key}: cannot be deleted: {error.strerror}") from None
        return len(keys)

    def close(self) -> None:
        self._maildir = None
