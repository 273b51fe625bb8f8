"""The list in SQLite (the standard library's sqlite3): one file, write-ahead log, one row per address.

Each row carries the proof of consent a writer needs: when the subscription was asked for and
confirmed, from which page, and the wording of the form (or that it was imported). A row's state
is a ``Status``; only ``active`` rows are mailed. Every change is one short transaction, committed
before the server answers, so a killed server loses nothing it confirmed.
"""

from __future__ import annotations

import secrets
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

from ..errors import ListsError


class Status(StrEnum):
    """Where an address stands; stored in the database."""

    PENDING = "pending"            # asked, not confirmed yet
    ACTIVE = "active"              # confirmed (or imported): mailed
    UNSUBSCRIBED = "unsubscribed"
    BOUNCED = "bounced"            # suppressed after a permanent failure
    COMPLAINED = "complained"      # suppressed after a spam complaint

    @property
    def suppressed(self) -> bool:
        return self in (Status.BOUNCED, Status.COMPLAINED)


class Consent(StrEnum):
    """How an address came to be on the list."""

    FORM = "form"            # double opt-in through the subscribe form
    IMPORTED = "imported"    # moved in with `newsletter lists import`


_SCHEMA = """
CREATE TABLE IF NOT EXISTS subscribers (
    id INTEGER PRIMARY KEY,
    email TEXT NOT NULL,
    email_key TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL,
    unsubscribe_token TEXT NOT NULL UNIQUE,
    confirm_nonce TEXT,
    consent TEXT NOT NULL,
    requested_at TEXT,
    confirmed_at TEXT,
    source_page TEXT NOT NULL DEFAULT '',
    wording TEXT NOT NULL DEFAULT '',
    changed_at TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS subscribers_by_status ON subscribers (status, id);
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
COLUMNS = ("email", "name", "status", "consent", "requested_at", "confirmed_at", "source_page", "wording",
           "changed_at", "reason")


def now_text() -> str:
    """The current time as stored: ISO 8601 in UTC, to the second."""
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class Request:
    """What the subscribe form sent, checked."""

    email: str
    name: str
    source_page: str
    wording: str


@dataclass(frozen=True)
class Pending:
    """A subscription waiting for its confirmation: what the confirmation email needs."""

    id: int
    email: str
    name: str
    nonce: str
    should_mail: bool   # False when the address is already on the list or suppressed


def connect(path: Path) -> sqlite3.Connection:
    """Open (creating if needed) the database at *path* in WAL mode; a ListsError when it cannot be used."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(path, isolation_level=None, timeout=10.0, check_same_thread=False)
        connection.execute("PRAGMA journal_mode=WAL")
        # In WAL mode NORMAL keeps every commit when the process dies (it is in the log file the
        # moment it commits) and the file consistent through a power cut, which may undo the last
        # few commits. FULL would add an fsync to every commit: 10-20 ms a request on this disk.
        connection.execute("PRAGMA synchronous=NORMAL")
        connection.execute("PRAGMA busy_timeout=10000")
        connection.executescript(_SCHEMA)
    except sqlite3.DatabaseError as error:
        raise ListsError(f"{path}: cannot be used as the list database: {error}") from None
    except OSError as error:
        raise ListsError(f"{path}: cannot be opened: {error.strerror}") from None
    return connection


class Store:
    """The list database: every read and change the server and the CLI make."""

    def __init__(self, path: Path, token_for: Callable[[str], str]) -> None:
        self.path = path
        self.token_for = token_for
        self.db = connect(path)
        self._rekey()

    def __repr__(self) -> str:
        return f"Store({str(self.path)!r})"

    def close(self) -> None:
        self.db.close()

    def _transaction(self) -> sqlite3.Connection:
        self.db.execute("BEGIN IMMEDIATE")
        return self.db

    def _rekey(self) -> None:
        """Recompute every unsubscribe token when the secret changed since the last start."""
        marker = self.token_for("\0marker")
        row = self.db.execute("SELECT value FROM settings WHERE key = 'token_marker'").fetchone()
        if row is not None and row[0] == marker:
            return
        db = self._transaction()
        try:
            keys = [key for (key,) in db.execute("SELECT email_key FROM subscribers")]
            # Placeholders first, so that no new token collides with an old one on the way.
            db.execute("UPDATE subscribers SET unsubscribe_token = '!' || id")
            db.executemany("UPDATE subscribers SET unsubscribe_token = ? WHERE email_key = ?",
                           ((self.token_for(key), key) for key in keys))
            db.execute("INSERT OR REPLACE INTO settings (key, value) VALUES ('token_marker', ?)", (marker,))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def request(self, asked: Request) -> Pending:
        """Record a subscription request; say whether a confirmation email should go out."""
        key = asked.email.lower()
        when = now_text()
        db = self._transaction()
        try:
            row = db.execute("SELECT id, status, confirm_nonce FROM subscribers WHERE email_key = ?",
                             (key,)).fetchone()
            if row is None:
                nonce = secrets.token_urlsafe(12)
                cursor = db.execute(
                    "INSERT INTO subscribers (email, email_key, name, status, unsubscribe_token, confirm_nonce, "
                    "consent, requested_at, source_page, wording, changed_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                    (asked.email, key, asked.name, Status.PENDING, self.token_for(key), nonce, Consent.FORM, when,
                     asked.source_page, asked.wording, when))
                pending = Pending(int(cursor.lastrowid or 0), asked.email, asked.name, nonce, True)
            elif row[1] in (Status.PENDING, Status.UNSUBSCRIBED):
                # A pending request keeps its nonce, so the link of an earlier email still works.
                nonce = row[2] or secrets.token_urlsafe(12)
                db.execute("UPDATE subscribers SET email = ?, name = ?, status = ?, confirm_nonce = ?, consent = ?, "
                           "requested_at = ?, source_page = ?, wording = ?, changed_at = ? WHERE id = ?",
                           (asked.email, asked.name, Status.PENDING, nonce, Consent.FORM, when, asked.source_page,
                            asked.wording, when, row[0]))
                pending = Pending(row[0], asked.email, asked.name, nonce, True)
            else:
                pending = Pending(row[0], asked.email, asked.name, "", False)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return pending

    def confirm(self, row_id: int, nonce: str) -> tuple[str, str] | None:
        """Confirm a pending request; its address and name, or None when the nonce is not (or no longer) valid."""
        when = now_text()
        row = self.db.execute(
            "UPDATE subscribers SET status = ?, confirmed_at = ?, confirm_nonce = NULL, changed_at = ? "
            "WHERE id = ? AND confirm_nonce = ? AND status = ? RETURNING email, name",
            (Status.ACTIVE, when, when, row_id, nonce, Status.PENDING)).fetchone()
        return (row[0], row[1]) if row is not None else None

    def knows_token(self, token: str) -> bool:
        """Whether an unsubscribe token belongs to an address on file."""
        row = self.db.execute("SELECT 1 FROM subscribers WHERE unsubscribe_token = ?", (token,)).fetchone()
        return row is not None

    def unsubscribe(self, token: str) -> bool:
        """Take the address with this unsubscribe token off the list; False when no address has it."""
        cursor = self.db.execute(
            "UPDATE subscribers SET status = ?, confirm_nonce = NULL, changed_at = ?, reason = 'unsubscribed' "
            "WHERE unsubscribe_token = ? AND status IN (?, ?)",
            (Status.UNSUBSCRIBED, now_text(), token, Status.ACTIVE, Status.PENDING))
        return cursor.rowcount > 0 or self.knows_token(token)

    def suppress(self, entries: list[tuple[str, Status, str]]) -> int:
        """Mark addresses bounced or complained (address, status, reason); how many were on file."""
        when = now_text()
        count = 0
        db = self._transaction()
        try:
            for address, status, reason in entries:
                cursor = db.execute("UPDATE subscribers SET status = ?, confirm_nonce = NULL, changed_at = ?, "
                                    "reason = ? WHERE email_key = ?", (status, when, reason, address.lower()))
                count += cursor.rowcount
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return count

    def add_imported(self, rows: list[tuple[str, str]], source: str) -> tuple[int, int]:
        """Add confirmed addresses from an import (consent: imported); how many were added and already there."""
        when = now_text()
        added = 0
        db = self._transaction()
        try:
            for address, name in rows:
                key = address.lower()
                cursor = db.execute(
                    "INSERT INTO subscribers (email, email_key, name, status, unsubscribe_token, consent, "
                    "requested_at, confirmed_at, source_page, wording, changed_at) VALUES (?,?,?,?,?,?,?,?,?,?,?) "
                    "ON CONFLICT (email_key) DO NOTHING",
                    (address, key, name, Status.ACTIVE, self.token_for(key), Consent.IMPORTED, None, when, source,
                     "", when))
                added += cursor.rowcount
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return added, len(rows) - added

    def count(self, status: Status | None = None) -> int:
        if status is None:
            return int(self.db.execute("SELECT count(*) FROM subscribers").fetchone()[0])
        return int(self.db.execute("SELECT count(*) FROM subscribers WHERE status = ?", (status,)).fetchone()[0])


def stream_rows(path: Path, query: str, parameters: tuple[object, ...] = (), batch: int = 2000) -> Iterator[tuple]:
    """Yield the rows of *query* batch by batch from a connection of their own (a reader never blocks writers)."""
    reader = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False)
    try:
        cursor = reader.execute(query, parameters)
        while rows := cursor.fetchmany(batch):
            yield from rows
    finally:
        reader.close()


def active_rows(path: Path) -> Iterator[tuple[str, str]]:
    """Every active address and name, oldest first."""
    return stream_rows(path, "SELECT email, name FROM subscribers WHERE status = ? ORDER BY id", (Status.ACTIVE,))


# One CSV line (RFC 4180, CRLF) per active row, laid out by SQLite: some five times faster than
# Python's csv module for the whole list. Addresses never need quoting (they are checked on the
# way in); a name does when it holds a comma, a quote or a line break.
_CSV_LINE = """
SELECT email || ',' || CASE WHEN name GLOB '*[,"' || char(10) || char(13) || ']*'
                            THEN '"' || replace(name, '"', '""') || '"' ELSE name END || char(13, 10)
FROM subscribers WHERE status = ? ORDER BY id
"""


def active_csv(path: Path, batch: int = 5000) -> Iterator[str]:
    """The active list as CSV text without its header, *batch* rows at a time."""
    lines: list[str] = []
    for (line,) in stream_rows(path, _CSV_LINE, (Status.ACTIVE,), batch):
        lines.append(line)
        if len(lines) >= batch:
            yield "".join(lines)
            lines = []
    if lines:
        yield "".join(lines)


def all_rows(path: Path) -> Iterator[tuple]:
    """Every row with its consent record (the columns of COLUMNS), oldest first: what a backup holds."""
    return stream_rows(path, f"SELECT {', '.join(COLUMNS)} FROM subscribers ORDER BY id")
