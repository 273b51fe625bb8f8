"""Measure the memory of a process and all its descendants, from /proc (Linux).

The figure is the summed proportional set size (PSS): a forked worker shares most of its pages
with its parent, and PSS divides each shared page among the processes that map it, so the sum
counts it once. Summing resident sizes (RSS) would count it once per process; it is the fallback
where a process's PSS cannot be read.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass


def tree(pid: int) -> list[int]:
    """The process and all its descendants."""
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        found.append(current)
        try:
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as children:
                    pending += [int(child) for child in children.read().split()]
        except OSError:
            continue
    return found


def _field_kib(path: str, name: str) -> int | None:
    """The value in KiB of the line that starts with *name* in a /proc file, if it can be read."""
    try:
        with open(path) as lines:
            for line in lines:
                if line.startswith(name):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


@dataclass(frozen=True)
class Reading:
    """The memory of a process tree: KiB summed over *processes*, as PSS or (where unreadable) RSS."""

    kib: int
    processes: int
    kind: str  # "PSS", or "RSS" when the PSS of one of the processes could not be read

    @property
    def mib(self) -> float:
        return self.kib / 1024

    def __str__(self) -> str:
        return f"{self.mib:7.1f} MiB ({self.kind}, {self.processes} processes)"


def read(pid: int) -> Reading:
    """Read the summed memory of *pid* and its descendants now (zero for a process that has gone)."""
    return summed(tree(pid))


def summed(pids: list[int]) -> Reading:
    """Read the memory of these processes now, summed; one that has ended meanwhile counts for nothing."""
    pss_kib = rss_kib = processes = 0
    kind = "PSS"
    for pid in pids:
        # PSS first: a process with neither figure readable afterwards has ended (or is a zombie).
        pss = _field_kib(f"/proc/{pid}/smaps_rollup", "Pss:")
        rss = _field_kib(f"/proc/{pid}/status", "VmRSS:")
        if pss is None and rss is None:
            continue
        if pss is None:
            kind = "RSS"
        processes += 1
        pss_kib += pss or 0
        rss_kib += rss or 0
    return Reading(pss_kib if kind == "PSS" else rss_kib, processes, kind)


class Sampler(threading.Thread):
    """Reads the memory of a process tree every *interval* seconds and keeps the peak.

    With *alone* false, a tree of a single process is left alone: its own peak resident size
    (wait4's ru_maxrss) measures it exactly once it ends, and reading the PSS of a process of
    several GiB makes the kernel walk all its memory, which slows it down.
    """

    def __init__(self, pid: int, interval: float = 0.1, *, alone: bool = True) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.interval = interval
        self.alone = alone
        self.peak: Reading | None = None
        self.finished = threading.Event()

    @property
    def peak_kib(self) -> int:
        return self.peak.kib if self.peak else 0

    def run(self) -> None:
        while not self.finished.wait(self.interval):
            pids = tree(self.pid)
            if not self.alone and len(pids) < 2:
                continue
            reading = summed(pids)
            if self.peak is None or reading.kib > self.peak.kib:
                self.peak = reading

    def stop(self) -> Reading | None:
        """Stop sampling; return the peak seen."""
        self.finished.set()
        self.join()
        return self.peak


@dataclass(frozen=True)
class Growth:
    """The memory of a process tree before and after a run of work, and the peak seen during it."""

    before: Reading
    after: Reading
    peak: Reading

    def lines(self, who: str, work: str) -> list[str]:
        """The figures as a benchmark prints them, one a line."""
        return [f"  {f'{who} memory before {work}':<44} {self.before}",
                f"  {f'{who} memory after them':<44} {self.after}",
                f"  {f'{who} memory growth':<44} {self.after.mib - self.before.mib:+7.1f} MiB",
                f"  {f'{who} memory peak during {work}':<44} {self.peak}"]
