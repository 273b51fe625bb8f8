"""Problems kept between checks, each under a key over everything it was computed from.

A warm `newsletter check` recomputes only the issues and feed items whose key changed: an issue's
key covers its post, its built page and email (their units' keys), the config, the code, and what
every issue can link to (the build's paths and each issue's status). Kept as JSON, which loads
nothing but data, beside the check's build cache; a file that does not parse is started afresh.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import Problem
from ..files import write_atomically
from .findings import finding

_NAME = "findings.json"


@dataclass(frozen=True)
class IssueMemo:
    """What checking one issue found, and the lines of its images (the site-wide image rules read them)."""

    key: str
    findings: tuple[Problem, ...]
    image_lines: dict[str, int | None]
    # What the issue's body links to, valid while the post is the same (its entry key).
    entry_key: str = ""
    links: tuple[str, ...] = ()


def _finding(raw: Any) -> Problem:
    path, line, rule, message = raw
    return finding(str(path), line if isinstance(line, int) else None, str(rule), str(message))


def _row(found: Problem) -> list[object]:
    return [str(found.path), found.line, found.rule, found.message]


@dataclass
class Memo:
    """The findings of the last check by issue and by feed item; only what this check used is kept."""

    folder: Path
    namespace: str
    issues: dict[str, IssueMemo] = field(default_factory=dict)
    items: dict[str, tuple[Problem, ...]] = field(default_factory=dict)
    _used_issues: dict[str, IssueMemo] = field(default_factory=dict)
    _used_items: dict[str, tuple[Problem, ...]] = field(default_factory=dict)
    # The keys of each feed document's items, so that a document that did not change keeps its
    # items' findings too: the next edit re-checks only the item it changed.
    parts: dict[str, tuple[str, ...]] = field(default_factory=dict)
    _used_parts: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # The last build's feed documents as read (see check.feeds): file and stamp → (id, link, title).
    dist_feeds: dict[str, list[tuple[str, str, str]]] = field(default_factory=dict)

    @classmethod
    def load(cls, folder: Path, namespace: str) -> Memo:
        memo = cls(folder, namespace)
        try:
            data = json.loads((folder / _NAME).read_text(encoding="utf-8"))
            if data.get("namespace") != namespace:
                return memo
            for path, raw in data["issues"].items():
                memo.issues[path] = IssueMemo(raw["key"], tuple(_finding(row) for row in raw["findings"]),
                                              {src: line for src, line in raw["images"]}, raw["entry"],
                                              tuple(raw["links"]))
            for key, rows in data["items"].items():
                memo.items[key] = tuple(_finding(row) for row in rows)
            for key, items in data.get("parts", {}).items():
                memo.parts[str(key)] = tuple(str(item) for item in items)
            for key, entries in data.get("dist_feeds", {}).items():
                memo.dist_feeds[str(key)] = [(str(a), str(b), str(c)) for a, b, c in entries]
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return cls(folder, namespace)
        return memo

    def links(self, path: str, entry_key: str) -> tuple[str, ...] | None:
        """What the issue's body linked to when last checked, if its post is still the same."""
        found = self.issues.get(path)
        return found.links if found is not None and found.entry_key == entry_key else None

    def issue(self, path: str, key: str) -> IssueMemo | None:
        found = self.issues.get(path)
        if found is None or found.key != key:
            return None
        self._used_issues[path] = found
        return found

    def keep_issue(self, path: str, memo: IssueMemo) -> None:
        self._used_issues[path] = memo

    def item(self, key: str) -> tuple[Problem, ...] | None:
        found = self.items.get(key)
        if found is not None:
            self._used_items[key] = found
        return found

    def keep_item(self, key: str, findings: tuple[Problem, ...]) -> None:
        self._used_items[key] = findings

    def document(self, key: str) -> tuple[Problem, ...] | None:
        """The findings of a feed document checked before with the same key; its items stay kept."""
        found = self.item(key)
        if found is not None:
            for item in self.parts.get(key, ()):
                self.item(item)
            self._used_parts[key] = self.parts.get(key, ())
        return found

    def keep_document(self, key: str, findings: tuple[Problem, ...], items: tuple[str, ...]) -> None:
        self.keep_item(key, findings)
        self._used_parts[key] = items

    def save(self) -> None:
        """Write what this check used; a memo that cannot be written only costs time next time."""
        data = {"namespace": self.namespace,
                "issues": {path: {"key": memo.key, "findings": [_row(f) for f in memo.findings],
                                  "images": [[src, line] for src, line in memo.image_lines.items()],
                                  "entry": memo.entry_key, "links": list(memo.links)}
                           for path, memo in sorted(self._used_issues.items())},
                "items": {key: [_row(f) for f in findings] for key, findings in sorted(self._used_items.items())},
                "parts": {key: list(items) for key, items in sorted(self._used_parts.items())},
                "dist_feeds": {key: [list(entry) for entry in entries]
                               for key, entries in sorted(self.dist_feeds.items())}}
        try:
            write_atomically(self.folder / _NAME, json.dumps(data).encode("utf-8"), durable=False)
        except OSError:
            pass
