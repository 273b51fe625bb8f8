"""Count requests per key in fixed windows: per sending IP, and confirmation emails per address.

Kept in memory: the limits protect a small server from floods and mailboxes from being bombed
with confirmation emails, and a restart that forgets them does no harm.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

_MAX_KEYS = 100_000   # past this many keys, windows that ended are dropped before counting on


@dataclass
class Window:
    """At most *limit* events per key in each window of *seconds*."""

    limit: int
    seconds: float
    _counts: dict[str, tuple[float, int]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def allow(self, key: str, now: float) -> bool:
        """Count one event for *key*; False when it is over the limit (and it is not counted)."""
        with self._lock:
            if len(self._counts) > _MAX_KEYS:
                self._counts = {k: v for k, v in self._counts.items() if now - v[0] < self.seconds}
            start, count = self._counts.get(key, (now, 0))
            if now - start >= self.seconds:
                start, count = now, 0
            if count >= self.limit:
                return False
            self._counts[key] = (start, count + 1)
            return True
