"""The suppression list, ``[subscribers] bounced`` (``bounced.csv``): addresses no send mails again.

An address lands here when the SMTP server refuses it for good during a send, when a delivery
report says it bounced (hard, or soft on too many issues in a row), or when its owner complains
and there is no unsubscribe list to put it on. Each row says when and why::

    email,date,kind,reason
    gone@example.com,2025-09-01T08:00:12+00:00,refused,550 5.1.1 <gone@example.com>: no such user

Rows are only ever appended, each batch in one write() to a file opened for appending and flushed
to disk at once, so a process killed at any moment loses at most the row it was writing, and a torn
last row is cut off before the next append. The writer may delete a row by hand to mail the
address again. Like the subscriber list it is personal data: `init` keeps it out of git.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

from ..config import Config, SubscribersConfig
from ..errors import Problem, SubscriberError
from ..posts import clean_text, one_line
from .manifest import shown_path

HEADER = ("email", "date", "kind", "reason")
_REASON_LIMIT = 400


class SuppressionKind(StrEnum):
    """Why an address is suppressed."""

    REFUSED = "refused"        # the SMTP server refused it for good (5xx) during a send
    BOUNCED = "bounced"        # a delivery report: failed for good
    SOFT = "soft"              # delivery reports: failed for now, on soft_limit issues in a row
    COMPLAINT = "complaint"    # a feedback-loop complaint, with no unsubscribe list to put it on


@dataclass(frozen=True)
class Suppression:
    """One row of the suppression list."""

    email: str
    kind: SuppressionKind
    reason: str
    date: str = ""

    def __post_init__(self) -> None:
        # Reasons come from remote servers: one line, no control characters, of a sane length.
        object.__setattr__(self, "reason", one_line(clean_text(self.reason)[0])[:_REASON_LIMIT])

    @property
    def key(self) -> str:
        return self.email.lower()

    def row(self) -> list[str]:
        when = self.date or datetime.now(UTC).isoformat(timespec="seconds")
        return [self.email, when, str(self.kind), self.reason]


def suppression_path(config: Config) -> Path:
    """Where the suppression list of *config* lives."""
    return config.root / (config.subscribers or SubscribersConfig()).bounced


def _whole_lines(data: bytes) -> bytes:
    """*data* up to its last newline: a row without one was torn by a kill while being written."""
    end = data.rfind(b"\n")
    return data[: end + 1] if end >= 0 else b""


def parse_suppressed(text: str, shown: str) -> set[str]:
    """Lower-cased addresses from the text of a suppression list; a bad row is an error naming its line."""
    from .subscribers import address_problem

    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    problems: list[Problem] = []
    try:
        header = [column.strip().lower() for column in next(reader, [])]
        if header and "email" not in header:
            raise SubscriberError(f"{shown}:1: the header row has no 'email' column; it should be "
                                  f"'{','.join(HEADER)}'")
        at = header.index("email") if header else 0
        found: set[str] = set()
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            address = row[at].strip() if at < len(row) else ""
            problem = address_problem(address)
            if problem:
                problems.append(Problem(shown, f"{problem}; fix or delete the row", reader.line_num, "email"))
                continue
            found.add(address.lower())
    except csv.Error as error:
        raise SubscriberError(f"{shown}:{reader.line_num}: not valid CSV: {error}; fix or delete the row") from None
    if problems:
        raise SubscriberError(problems=problems)
    return found


class SuppressionList:
    """The suppression list file: read it, and append rows to it safely."""

    def __init__(self, path: Path, root: Path) -> None:
        self.path = path
        self.shown = shown_path(path, root)
        self._known: set[str] | None = None

    @classmethod
    def of(cls, config: Config) -> SuppressionList:
        return cls(suppression_path(config), config.root)

    def addresses(self) -> set[str]:
        """Every suppressed address, lower-cased; none when there is no file yet."""
        if self._known is None:
            try:
                data = self.path.read_bytes()
            except FileNotFoundError:
                data = b""
            except OSError as error:
                raise SubscriberError(f"{self.shown}: cannot be read: {error.strerror}") from None
            try:
                text = _whole_lines(data).decode("utf-8-sig")
            except UnicodeDecodeError as error:
                raise SubscriberError(f"{self.shown}: not UTF-8 text ({error.reason} at byte {error.start}); "
                                      "save it as UTF-8") from None
            self._known = parse_suppressed(text, self.shown)
        return self._known

    def add(self, entries: Iterable[Suppression]) -> list[Suppression]:
        """Append the rows for addresses not suppressed yet, in one write, on disk before returning them."""
        known = self.addresses()
        fresh: dict[str, Suppression] = {}
        for entry in entries:
            if entry.key not in known and entry.key not in fresh:
                fresh[entry.key] = entry
        if not fresh:
            return []
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        for entry in fresh.values():
            writer.writerow(entry.row())
        self._append(buffer.getvalue().encode("utf-8"))
        known.update(fresh)
        return list(fresh.values())

    def _append(self, rows: bytes) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
        except OSError as error:
            raise SubscriberError(f"{self.shown}: cannot be opened: {error.strerror}") from None
        try:
            size = os.fstat(fd).st_size
            if size == 0:
                rows = (",".join(HEADER) + "\n").encode("ascii") + rows
            elif os.pread(fd, 1, size - 1) != b"\n":
                # A torn last row: the next one would be glued onto it. Only then is the file read
                # back; a send appends a row for each refusal, and the file may be long.
                whole = len(_whole_lines(os.pread(fd, size, 0)))
                os.ftruncate(fd, whole)
                if whole == 0:
                    rows = (",".join(HEADER) + "\n").encode("ascii") + rows
            if os.write(fd, rows) != len(rows):
                raise SubscriberError(f"{self.shown}: short write; is the disk full?")
            os.fsync(fd)
        except OSError as error:
            raise SubscriberError(f"{self.shown}: cannot be written: {error.strerror}") from None
        finally:
            os.close(fd)
