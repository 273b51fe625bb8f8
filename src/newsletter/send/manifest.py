"""What was sent: the committed manifest, the per-issue journal, and the lock that keeps sends apart.

``manifest.json`` (at the newsletter's root, meant for git) records each issue sent: when, the
subject, how many recipients, and a hash of the email. It is written atomically and formatted to
diff well. While an issue is being sent, ``.newsletter/journal/<slug>.jsonl`` records every
recipient as it happens, one JSON object a line, so a send stopped at any moment resumes where it
was. ``.newsletter/send.lock`` stops two sends of the same newsletter at once.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..errors import NewsletterError
from ..files import sync_folder, write_atomically
from ..layout import MANIFEST_NAME

STATE_DIR = ".newsletter"
JOURNAL_DIR = f"{STATE_DIR}/journal"
LOCK_NAME = f"{STATE_DIR}/send.lock"
# A lock file still empty after this long was left by a process killed while taking it.
_EMPTY_LOCK_GRACE = 5.0


class ManifestError(NewsletterError):
    """manifest.json or a send journal cannot be read or written."""


class LockError(NewsletterError):
    """Another send of the same newsletter is running."""


def _shown(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


def atomic_write(path: Path, data: bytes) -> None:
    """Write *data* durably in place of *path*, or raise ManifestError and leave *path* as it was."""
    try:
        write_atomically(path, data)
    except OSError as error:
        raise ManifestError(f"{path}: cannot be written: {error.strerror}") from None


# ---------------------------------------------------------------------------------------------
# The manifest


@dataclass(frozen=True)
class SentIssue:
    """One issue in the manifest."""

    slug: str
    id: str
    subject: str
    sent_at: str
    sha256: str
    sent: int
    failed: int = 0
    uncertain: int = 0

    def to_json(self) -> dict[str, Any]:
        recipients = {"sent": self.sent, "failed": self.failed}
        if self.uncertain:
            recipients["uncertain"] = self.uncertain
        return {"id": self.id, "subject": self.subject, "sent_at": self.sent_at,
                "sha256": self.sha256, "recipients": recipients}


@dataclass(frozen=True)
class Manifest:
    """Every issue sent so far, by slug."""

    path: Path
    issues: tuple[SentIssue, ...] = ()

    def find(self, slug: str, issue_id: str = "") -> SentIssue | None:
        """The record of an issue, matched by slug or by its permanent id."""
        for issue in self.issues:
            if issue.slug == slug or (issue_id and issue.id == issue_id):
                return issue
        return None

    def with_issue(self, sent: SentIssue) -> Manifest:
        """A manifest with *sent* added, replacing any earlier record of the same issue."""
        kept = [issue for issue in self.issues if issue.slug != sent.slug and issue.id != sent.id]
        return replace(self, issues=tuple(sorted([*kept, sent], key=lambda issue: issue.slug)))

    def to_bytes(self) -> bytes:
        data = {"issues": {issue.slug: issue.to_json() for issue in self.issues}}
        return (json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


def _parse_issue(slug: str, raw: Any, shown: str) -> SentIssue:
    where = f"issues.{slug}"

    def bad(what: str) -> ManifestError:
        return ManifestError(f"{shown}: {where}{what}; fix it or restore the file from git")

    if not isinstance(raw, dict):
        raise bad(": expected an object")
    values: dict[str, Any] = {}
    for key in ("id", "subject", "sent_at", "sha256"):
        if not isinstance(raw.get(key), str):
            raise bad(f".{key}: expected a string")
        values[key] = raw[key]
    recipients = raw.get("recipients")
    if not isinstance(recipients, dict):
        raise bad(".recipients: expected an object like {\"sent\": 120, \"failed\": 0}")
    for key in ("sent", "failed", "uncertain"):
        count = recipients.get(key, 0)
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            raise bad(f".recipients.{key}: expected a whole number")
        values[key] = count
    return SentIssue(slug=slug, **values)


def load_manifest(root: Path) -> Manifest:
    """Read root/manifest.json; a missing file is an empty manifest, a broken one an error."""
    path = root / MANIFEST_NAME
    shown = _shown(path, root)
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        return Manifest(path)
    except UnicodeDecodeError as error:
        raise ManifestError(f"{shown}: not UTF-8 text ({error.reason} at byte {error.start}); "
                            "restore it from git") from None
    except OSError as error:
        raise ManifestError(f"{shown}: cannot be read: {error.strerror}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise ManifestError(f"{shown}:{error.lineno}: not valid JSON: {error.msg} (column {error.colno}); "
                            "fix it or restore it from git") from None
    if not isinstance(data, dict) or not isinstance(data.get("issues"), dict):
        raise ManifestError(f"{shown}: expected an object with an \"issues\" object; fix it or restore it from git")
    issues = [_parse_issue(slug, raw, shown) for slug, raw in data["issues"].items()]
    return Manifest(path, tuple(sorted(issues, key=lambda issue: issue.slug)))


def write_manifest(manifest: Manifest) -> None:
    """Write the manifest atomically, sorted and indented so that git diffs stay readable."""
    atomic_write(manifest.path, manifest.to_bytes())


# ---------------------------------------------------------------------------------------------
# The journal

# What the journal says about one recipient, by the last record about them.
SENDING = "sending"        # handed over (or about to be); no answer recorded
SENT = "sent"              # the server accepted it
FAILED = "failed"          # the server refused it for good (5xx)
DEFERRED = "deferred"      # refused for now (4xx) too many times; tried again on the next run
RETRY = "retry"            # refused for now after hand-over: not delivered, may be tried again
UNCERTAIN = "uncertain"    # handed over, but the connection was lost before the server answered

DONE = frozenset({SENT, FAILED, UNCERTAIN, SENDING})


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

    def is_done(self, key: str) -> bool:
        """Whether a recipient must not be tried again in this send (sent, refused, or perhaps sent)."""
        return self.states.get(key) in DONE

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


def parse_journal(text: str, shown: str) -> tuple[JournalState, int]:
    """Read journal text; return the state and how many bytes of it are whole lines.

    Only the last line can be torn (the process was killed while writing it); it is ignored. A bad
    line anywhere else means the file was damaged, and is an error.
    """
    lines = text.split("\n")
    # Everything after the last newline is a torn record (or nothing).
    whole = len(text) - len(lines[-1])
    start: dict[str, Any] | None = None
    complete: dict[str, Any] | None = None
    states: dict[str, str] = {}
    replies: dict[str, str] = {}
    addresses: dict[str, str] = {}
    for number, line in enumerate(lines[:-1], start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            kind = record["type"]
        except (json.JSONDecodeError, KeyError, TypeError):
            raise ManifestError(f"{shown}:{number}: damaged journal line; move the file aside to start "
                                "this issue's send afresh (recipients it lists may then get it twice)") from None
        if kind == "start":
            start = record
        elif kind == "complete":
            complete = record
        else:
            address = str(record.get("to", ""))
            key = address.lower()
            states[key] = kind
            # Only recipients worth naming in a report keep their address and reply: a list of
            # a hundred thousand is read in one go, and most of them were simply sent.
            if kind == SENT:
                addresses.pop(key, None)
                replies.pop(key, None)
                continue
            addresses[key] = address
            if record.get("reply"):
                replies[key] = str(record["reply"])
    return JournalState(start, states, replies, addresses, complete), len(text[:whole].encode("utf-8"))


class Journal:
    """An issue's send journal, open for appending one record a line."""

    def __init__(self, path: Path, root: Path) -> None:
        self.path = path
        self.shown = _shown(path, root)
        self._fd: int | None = None

    @staticmethod
    def path_for(root: Path, slug: str) -> Path:
        return root / JOURNAL_DIR / f"{slug}.jsonl"

    def read(self) -> JournalState:
        """The journal's state, or an empty one when there is no journal."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return JournalState()
        except OSError as error:
            raise ManifestError(f"{self.shown}: cannot be read: {error.strerror}") from None
        return parse_journal(data.decode("utf-8", errors="replace"), self.shown)[0]

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
            state, whole = parse_journal(data.decode("utf-8", errors="replace"), self.shown)
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
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def archive(self, stamp: str) -> Path:
        """Move a finished journal aside (kept for reference), so the next send of the issue starts afresh."""
        self.close()
        target = self.path.with_name(f"{self.path.stem}.{stamp}.done.jsonl")
        os.replace(self.path, target)
        sync_folder(self.path.parent)
        return target


# ---------------------------------------------------------------------------------------------
# The lock


@contextlib.contextmanager
def _serialised(folder: Path) -> Iterator[None]:
    """Hold an exclusive flock on *folder* so that two processes never take over a stale lock at once."""
    try:
        import fcntl
    except ImportError:  # Windows: no flock; the O_EXCL create below still stops a double take-over
        yield
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    except OSError:
        return True
    return True


@dataclass(frozen=True)
class LockOwner:
    pid: int
    host: str
    started: str

    def describe(self) -> str:
        return f"process {self.pid} on {self.host} since {self.started}"


class SendLock:
    """``.newsletter/send.lock``: created with O_EXCL, holding the owner's pid and host."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.path = root / LOCK_NAME
        self.shown = _shown(self.path, root)
        self.held = False
        self.took_over: LockOwner | None = None

    def _read(self) -> LockOwner | None:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            return LockOwner(int(data["pid"]), str(data["host"]), str(data.get("started", "?")))
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def _create(self) -> bool:
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            return False
        owner = {"pid": os.getpid(), "host": socket.gethostname(),
                 "started": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
        try:
            os.write(fd, (json.dumps(owner) + "\n").encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)
        return True

    def _stale(self) -> tuple[bool, LockOwner | None]:
        owner = self._read()
        if owner is None:
            # Empty or half-written: its writer was killed right after creating it, unless it is
            # being written this very moment.
            try:
                age = time.time() - self.path.stat().st_mtime
            except FileNotFoundError:
                return True, None
            return age > _EMPTY_LOCK_GRACE, None
        if owner.host != socket.gethostname():
            return False, owner  # cannot tell whether a process on another machine still runs
        return not _alive(owner.pid), owner

    def acquire(self) -> None:
        """Take the lock, taking over a stale one left by a dead process; else raise LockError."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self._create():
            self.held = True
            return
        with _serialised(self.path.parent):
            stale, owner = self._stale()
            if not stale:
                who = owner.describe() if owner else "a process that is taking it right now"
                raise LockError(f"{self.shown}: another send is running ({who}); wait for it to finish, "
                                f"or delete {self.shown} if you are sure it is not running")
            before = self._read()
            if before == owner:
                self.path.unlink(missing_ok=True)
            if not self._create():
                raise LockError(f"{self.shown}: another send took the lock just now; wait for it to finish")
        self.held = True
        self.took_over = owner or LockOwner(0, "?", "?")

    def release(self) -> None:
        if not self.held:
            return
        owner = self._read()
        if owner is not None and owner.pid == os.getpid() and owner.host == socket.gethostname():
            self.path.unlink(missing_ok=True)
        self.held = False

    def __enter__(self) -> SendLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
