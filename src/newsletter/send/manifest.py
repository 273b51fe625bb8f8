"""The committed record of what was sent: ``manifest.json`` at the newsletter's root, meant for git.

It records each issue sent: when, the subject, how many recipients, and a hash of the email. It is
written atomically and formatted to diff well. The journal of a send under way is in journal.py,
the lock that keeps two sends apart in lock.py.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ..errors import ManifestError
from ..files import write_atomically
from ..layout import MANIFEST_NAME


def shown_path(path: Path, root: Path) -> str:
    """*path* as shown in messages: relative to the newsletter's root when it is inside it."""
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
    note: str = ""     # why the counts are what they are, e.g. marked as sent without sending

    def to_json(self) -> dict[str, Any]:
        recipients = {"sent": self.sent, "failed": self.failed}
        if self.uncertain:
            recipients["uncertain"] = self.uncertain
        data: dict[str, Any] = {"id": self.id, "subject": self.subject, "sent_at": self.sent_at,
                                "sha256": self.sha256, "recipients": recipients}
        if self.note:
            data["note"] = self.note
        return data


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
    note = raw.get("note", "")
    if not isinstance(note, str):
        raise bad(".note: expected a string")
    return SentIssue(slug=slug, note=note, **values)


def load_manifest(root: Path) -> Manifest:
    """Read root/manifest.json; a missing file is an empty manifest, a broken one an error."""
    path = root / MANIFEST_NAME
    shown = shown_path(path, root)
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
