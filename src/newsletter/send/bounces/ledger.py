"""What `newsletter bounces` remembers between runs: ``.newsletter/bounces.json``.

It holds the reports already processed (by Message-ID, so a second run changes nothing), the
issues each address soft-bounced on (to count them in a row), and how many hard bounces, soft
bounces and complaints each issue drew (for `newsletter status`). It is written atomically after
the suppression and unsubscribe lists, so a run stopped part-way processes the same reports again
next time, and the lists, which take each address once, end up the same.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from ...errors import ManifestError
from ...files import write_atomically
from ...layout import STATE_DIR
from ..manifest import shown_path

LEDGER_NAME = f"{STATE_DIR}/bounces.json"


class Outcome(StrEnum):
    """What a report says about one recipient."""

    HARD = "hard"              # failed for good: the address is dead
    SOFT = "soft"              # failed for now (mailbox full, delayed, greylisted too long)
    COMPLAINT = "complaint"    # marked the message as spam


@dataclass(frozen=True)
class IssueBounces:
    """How many reports of each kind an issue drew."""

    hard: int = 0
    soft: int = 0
    complaints: int = 0

    def to_json(self) -> dict[str, int]:
        return {"hard": self.hard, "soft": self.soft, "complaints": self.complaints}

    def plus(self, outcome: Outcome) -> IssueBounces:
        return IssueBounces(self.hard + (outcome is Outcome.HARD), self.soft + (outcome is Outcome.SOFT),
                            self.complaints + (outcome is Outcome.COMPLAINT))


@dataclass
class Ledger:
    """The state of `newsletter bounces`, read from and written to its file."""

    path: Path
    processed: set[str] = field(default_factory=set)
    soft: dict[str, list[str]] = field(default_factory=dict)     # address -> issues it soft-bounced on
    issues: dict[str, IssueBounces] = field(default_factory=dict)  # slug ("" when unknown) -> counts

    def count(self, issue: str, outcome: Outcome) -> None:
        self.issues[issue] = self.issues.get(issue, IssueBounces()).plus(outcome)

    def soft_streak(self, address: str, issue: str, order: Sequence[str]) -> int:
        """Record a soft bounce on *issue*; return on how many issues in a row (in send *order*) it bounced.

        The run counts back from the newest issue it bounced on: an issue sent in between that did
        not bounce ends it. A report that names no known issue is not counted toward it.
        """
        key = address.lower()
        bounced = self.soft.setdefault(key, [])
        if issue and issue not in bounced:
            bounced.append(issue)
        positions = sorted(order.index(slug) for slug in bounced if slug in order)
        if not positions:
            return 0
        streak, at = 1, positions[-1]
        for position in reversed(positions[:-1]):
            if position != at - 1:
                break
            streak, at = streak + 1, position
        return streak

    def forget_soft(self, address: str) -> None:
        self.soft.pop(address.lower(), None)

    def to_bytes(self) -> bytes:
        data = {"version": 1, "processed": sorted(self.processed),
                "soft": {address: slugs for address, slugs in sorted(self.soft.items())},
                "issues": {slug: counts.to_json() for slug, counts in sorted(self.issues.items())}}
        return (json.dumps(data, indent=1, ensure_ascii=False) + "\n").encode("utf-8")

    def write(self) -> None:
        try:
            write_atomically(self.path, self.to_bytes())
        except OSError as error:
            raise ManifestError(f"{self.path}: cannot be written: {error.strerror}") from None


def _counts(raw: Any) -> IssueBounces:
    if not isinstance(raw, dict):
        raise TypeError
    values = [raw.get(key, 0) for key in ("hard", "soft", "complaints")]
    if not all(isinstance(value, int) and not isinstance(value, bool) for value in values):
        raise TypeError
    return IssueBounces(*values)


def load_ledger(root: Path) -> Ledger:
    """Read the ledger; none yet is an empty one, a damaged one an error that says what to do."""
    path = root / LEDGER_NAME
    shown = shown_path(path, root)
    try:
        data = json.loads(path.read_bytes().decode("utf-8"))
        processed = set(data["processed"])
        soft = {str(address): [str(slug) for slug in slugs] for address, slugs in data["soft"].items()}
        issues = {str(slug): _counts(counts) for slug, counts in data["issues"].items()}
    except FileNotFoundError:
        return Ledger(path)
    except OSError as error:
        raise ManifestError(f"{shown}: cannot be read: {error.strerror}") from None
    except (ValueError, KeyError, TypeError, AttributeError):
        raise ManifestError(f"{shown}: damaged; move it aside and run 'newsletter bounces' again (the "
                            "reports still in the mailbox are then counted again)") from None
    return Ledger(path, processed, soft, issues)


def bounce_counts(root: Path) -> dict[str, IssueBounces]:
    """How many hard bounces, soft bounces and complaints each issue drew, by slug."""
    return {slug: counts for slug, counts in load_ledger(root).issues.items() if slug}
