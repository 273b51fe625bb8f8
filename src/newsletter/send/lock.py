"""The lock, ``.newsletter/send.lock``, that stops two sends of the same newsletter at once."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ..errors import LockError
from ..layout import STATE_DIR
from .manifest import shown_path

LOCK_NAME = f"{STATE_DIR}/send.lock"
# A lock file still empty after this long was left by a process killed while taking it.
_EMPTY_LOCK_GRACE = 5.0




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
    """The process that holds the lock, as its lock file says."""

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
        self.shown = shown_path(self.path, root)
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
