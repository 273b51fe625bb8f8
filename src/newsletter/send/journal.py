"""The journal of a send under way: ``.newsletter/journal/<key>.jsonl``, one JSON record a line.

A send records every recipient as it happens, so a send stopped at any moment resumes where it
was. The first record ("start") names the issue and its run; then come records about recipients,
each with its state as "type" and the address as "to"; the last ("complete") says every recipient
is done. A finished journal is moved aside as ``<key>.<stamp>.done.jsonl``.

The key is a hash of the issue's permanent id, not its slug: a slug changed between a stopped
send and its resume (with the id pinned) still finds the journal, so nobody is mailed twice.
Journals named by slug, as earlier versions wrote them, are still found (``match_journals``).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from ..errors import ManifestError
from ..files import sync_folder
from ..layout import STATE_DIR
from .manifest import SentIssue, atomic_write, shown_path

JOURNAL_DIR = f"{STATE_DIR}/journal"


class RecipientState(StrEnum):
    """What the journal says about one recipient, by the last record about them."""

    SENDING = "sending"        # handed over (or about to be); no answer recorded
    SENT = "sent"              # the server accepted it
    FAILED = "failed"          # the server refused it for good (5xx)
    DEFERRED = "deferred"      # refused for now (4xx) too many times; tried again on the next run
    RETRY = "retry"            # refused for now after hand-over: not delivered, may be tried again
    UNCERTAIN = "uncertain"    # handed over, but the connection was lost before the server answered


class Mark(StrEnum):
    """The records that are about the send rather than about one recipient."""

    START = "start"
    COMPLETE = "complete"


# A recipient in one of these is not tried again in the same send: sent, refused, or perhaps sent.
DONE = frozenset({RecipientState.SENT, RecipientState.FAILED, RecipientState.UNCERTAIN, RecipientState.SENDING})
# Handed the whole message with no answer heard: perhaps sent, perhaps not.
UNSURE = frozenset({RecipientState.UNCERTAIN, RecipientState.SENDING})


@dataclass(frozen=True)
class JournalState:
    """What a journal records: the send it belongs to and the last word on each recipient."""

    start: dict[str, Any] | None = None
    states: dict[str, str] = field(default_factory=dict)
    replies: dict[str, str] = field(default_factory=dict)
    addresses: dict[str, str] = field(default_factory=dict)
    complete: dict[str, Any] | None = None

    def state(self, key: str) -> str | None:
        return self.states.get(key)

    def is_done(self, key: str, *, resend_uncertain: bool = False) -> bool:
        """Whether a recipient must not be tried again in this send (sent, refused, or perhaps sent).

        With *resend_uncertain*, a recipient who was perhaps sent the message is tried again.
        """
        state = self.states.get(key)
        return state in DONE and not (resend_uncertain and state in UNSURE)

    @property
    def uncertain(self) -> int:
        """How many recipients were handed the message without an answer being heard."""
        return self.count(*UNSURE)

    def count(self, *states: str) -> int:
        return sum(1 for state in self.states.values() if state in states)

    def with_state(self, key: str, address: str, state: str, reply: str = "") -> JournalState:
        states = dict(self.states)
        states[key] = state
        replies = dict(self.replies)
        if reply:
            replies[key] = reply
        addresses = dict(self.addresses)
        addresses[key] = address
        return replace(self, states=states, replies=replies, addresses=addresses)

    def listed(self, *states: str) -> list[tuple[str, str]]:
        """(address, reply) of every recipient in one of *states*, in the order first seen."""
        return [(self.addresses.get(key, key), self.replies.get(key, "")) for key, state in self.states.items()
                if state in states]

    def sent_at(self, when: datetime) -> str:
        """When the send finished: as its "complete" record says, else *when* (it finishes now)."""
        # A send reopened to mail its uncertain recipients again keeps the time it first finished.
        return ((self.complete or {}).get("sent_at") or (self.start or {}).get("sent_at")
                or when.astimezone(UTC).isoformat(timespec="seconds"))

    def sent_issue(self, slug: str, sent_at: str) -> SentIssue:
        """The manifest's record of this finished send; *slug* is used when the start record lacks one."""
        start = self.start or {}
        return SentIssue(slug=str(start.get("slug", slug)), id=str(start.get("id", "")),
                         subject=str(start.get("subject", "")), sent_at=sent_at, sha256=str(start.get("sha256", "")),
                         sent=self.count(RecipientState.SENT), failed=self.count(RecipientState.FAILED),
                         uncertain=self.uncertain)


def _damaged(shown: str, number: int, what: str) -> ManifestError:
    return ManifestError(f"{shown}:{number}: damaged journal line ({what}); delete or correct that line and "
                         "run again (only the recipient it was about could then get the issue twice)")


_TEXT_FIELDS = {Mark.START: ("run", "slug", "id", "subject", "sha256", "started_at", "sent_at"),
                Mark.COMPLETE: ("sent_at",)}
_RECIPIENT_STATES = frozenset(RecipientState)
_SPACE = re.compile(r"\s")


def _record_problem(record: Any) -> str | None:
    """Say what makes *record* unusable, or None when it is a record this module could have written."""
    if not isinstance(record, dict) or not isinstance(record.get("type"), str):
        return "not an object with a \"type\""
    kind = record["type"]
    if kind in _TEXT_FIELDS:
        wrong = [key for key in _TEXT_FIELDS[kind] if key in record and not isinstance(record[key], str)]
        if wrong:
            return f"{wrong[0]} is not text"
        count = record.get("recipients", 0)
        if not isinstance(count, int) or isinstance(count, bool):
            return "recipients is not a whole number"
        return None
    if kind in _RECIPIENT_STATES:
        address = record.get("to")
        if (not isinstance(address, str) or "@" not in address or len(address) > 320
                or not address.isascii() or _SPACE.search(address)):
            return "\"to\" is not an address"
        if not isinstance(record.get("reply", ""), str):
            return "reply is not text"
    return None


def parse_journal(data: bytes, shown: str) -> tuple[JournalState, int]:
    """Read journal bytes; return the state and how many bytes of them are whole lines.

    Only the last line can be torn (the process was killed while writing it); it is ignored. A line
    anywhere else that is not a record this module writes (not UTF-8, not JSON, a field of the wrong
    type) means the file was damaged, and is an error naming the line: counting it could mail
    someone twice or count someone twice. Records of a type it does not know are skipped.
    """
    # Everything after the last newline is a torn record (or nothing).
    whole = data.rfind(b"\n") + 1
    start: dict[str, Any] | None = None
    complete: dict[str, Any] | None = None
    states: dict[str, str] = {}
    replies: dict[str, str] = {}
    addresses: dict[str, str] = {}
    for number, raw in enumerate(data[:whole].split(b"\n")[:-1], start=1):
        if not raw.strip():
            continue
        try:
            record = json.loads(raw.decode("utf-8"))
        except UnicodeDecodeError:
            raise _damaged(shown, number, "not UTF-8") from None
        except (json.JSONDecodeError, RecursionError):
            raise _damaged(shown, number, "not JSON") from None
        problem = _record_problem(record)
        if problem:
            raise _damaged(shown, number, problem)
        kind = record["type"]
        if kind == Mark.START:
            start = record
        elif kind == Mark.COMPLETE:
            complete = record
        elif kind in _RECIPIENT_STATES:
            address = record["to"]
            key = address.lower()
            states[key] = kind
            # Only recipients worth naming in a report keep their address and reply: a list of
            # a hundred thousand is read in one go, and most of them were simply sent.
            if kind == RecipientState.SENT:
                addresses.pop(key, None)
                replies.pop(key, None)
                continue
            addresses[key] = address
            if record.get("reply"):
                replies[key] = record["reply"]
    return JournalState(start, states, replies, addresses, complete), whole


class Journal:
    """An issue's send journal, open for appending one record a line."""

    def __init__(self, path: Path, root: Path) -> None:
        self.path = path
        self.shown = shown_path(path, root)
        self._fd: int | None = None

    @staticmethod
    def path_for(root: Path, key: str) -> Path:
        return root / JOURNAL_DIR / f"{key}.jsonl"

    @staticmethod
    def for_issue(root: Path, issue_id: str) -> Journal:
        """A new journal for the issue with the permanent id *issue_id*."""
        return Journal(Journal.path_for(root, journal_key(issue_id)), root)

    def read(self) -> JournalState:
        """The journal's state, or an empty one when there is no journal."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return JournalState()
        except OSError as error:
            raise ManifestError(f"{self.shown}: cannot be read: {error.strerror}") from None
        return parse_journal(data, self.shown)[0]

    def open(self) -> JournalState:
        """Open for appending, cutting off a torn last line first; return what is recorded so far."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
        except OSError as error:
            raise ManifestError(f"{self.shown}: cannot be opened: {error.strerror}") from None
        chunks = []
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
        data = b"".join(chunks)
        try:
            state, whole = parse_journal(data, self.shown)
        except ManifestError:
            os.close(fd)
            raise
        if whole != len(data):
            # Appending after a torn record would glue the next record onto it.
            os.ftruncate(fd, whole)
            os.fsync(fd)
        self._fd = fd
        return state

    def append(self, record: dict[str, Any], *, sync: bool = True) -> None:
        """Append one record as a line in a single write; fsync it unless told not to yet."""
        assert self._fd is not None, "journal is not open"
        line = (json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")
        # One write() per record on an O_APPEND file: a process killed mid-way leaves at most one
        # torn line at the end, which open() cuts off.
        written = os.write(self._fd, line)
        if written != len(line):
            raise ManifestError(f"{self.shown}: short write to the journal; is the disk full?")
        if sync:
            os.fsync(self._fd)

    def sync(self) -> None:
        assert self._fd is not None, "journal is not open"
        os.fsync(self._fd)

    def close(self) -> None:
        """Make every record written durable, and close the file."""
        if self._fd is not None:
            try:
                os.fsync(self._fd)  # the last "sent" record is written without one (sender.py)
            finally:
                os.close(self._fd)
                self._fd = None

    def archive(self, stamp: str) -> Path:
        """Move a finished journal aside (kept for reference), so the next send of the issue starts afresh."""
        self.close()
        target = self.path.with_name(f"{self.path.stem}.{stamp}.done.jsonl")
        os.replace(self.path, target)
        sync_folder(self.path.parent)
        return target


def journal_key(issue_id: str) -> str:
    """The name of an issue's journal: a hash of its permanent id, safe as a file name."""
    return hashlib.sha256(issue_id.encode("utf-8")).hexdigest()[:20]


def match_journals(journals: dict[str, Journal], issues: Iterable[tuple[str, str]]) -> tuple[
        dict[str, Journal], list[Journal]]:
    """Pair unfinished journals (by file name) with *issues*, (slug, id) pairs; return them by slug, and the rest.

    A journal is an issue's when it is named by the issue's id, or (as earlier versions named them)
    by its slug.
    """
    if not journals:
        return {}, []  # the usual case: nothing to pair, and no issue's id to work out
    left = dict(journals)
    by_slug = {}
    for slug, issue_id in issues:
        journal = left.pop(journal_key(issue_id), None) or left.pop(slug, None)
        if journal is not None:
            by_slug[slug] = journal
    return by_slug, list(left.values())


def pending_journals(root: Path) -> dict[str, Journal]:
    """Journals of sends that were started and not finished, by file name (without .jsonl)."""
    folder = root / JOURNAL_DIR
    if not folder.is_dir():
        return {}
    return {path.stem: Journal(path, root) for path in sorted(folder.glob("*.jsonl"))
            if "." not in path.stem}


def reopen_finished(root: Path, issue: SentIssue) -> Journal | None:
    """Make the newest finished journal of *issue* an unfinished one again, to send to some of its recipients.

    Every record but "complete" is copied; the start record keeps the run (so every message keeps
    its Message-ID) and learns when the manifest says the issue was sent. The finished journal
    stays where it is until the reopened one replaces it. None when there is none.
    """
    folder = root / JOURNAL_DIR
    names = {journal_key(issue.id) if issue.id else issue.slug, issue.slug}
    finished = sorted((path for path in folder.glob("*.done.jsonl") if path.name.split(".")[0] in names),
                      key=lambda path: path.name.split(".")[1]) if folder.is_dir() else []
    if not finished:
        return None
    sent_at = issue.sent_at
    journal = Journal(Journal.path_for(root, journal_key(issue.id) if issue.id else issue.slug), root)
    try:
        data = finished[-1].read_bytes()
    except OSError as error:
        raise ManifestError(f"{shown_path(finished[-1], root)}: cannot be read: {error.strerror}") from None
    _, whole = parse_journal(data, shown_path(finished[-1], root))  # a damaged line is an error, as in a resume
    kept = []
    for line in data[:whole].split(b"\n"):
        if not line.strip():
            continue
        record = json.loads(line)
        if record.get("type") == Mark.COMPLETE:
            continue
        if record.get("type") == Mark.START:
            record = {**record, "sent_at": record.get("sent_at") or sent_at}
        kept.append(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")
    atomic_write(journal.path, "".join(kept).encode("utf-8"))
    return journal
