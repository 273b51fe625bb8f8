"""Make sends that finished with uncertain recipients unfinished again, for ``send --resend-uncertain``.

A finished send is in manifest.json, its journal moved aside. To mail its uncertain recipients
again, the journal is reopened (journal.reopen_finished): the send then resumes like any other,
mails only those recipients, with the Message-IDs they were sent before, and is recorded again.
"""

from __future__ import annotations

from pathlib import Path

from .journal import JOURNAL_DIR, match_journals, pending_journals, reopen_finished
from .manifest import load_manifest


def reopen_uncertain(root: Path, slug: str | None = None) -> list[str]:
    """Reopen the finished sends of *slug* (or of every issue) that left recipients uncertain.

    Return a note for each that cannot be reopened because its journal, which names them, is gone.
    """
    manifest = load_manifest(root)
    pending, _ = match_journals(pending_journals(root), ((issue.slug, issue.id) for issue in manifest.issues))
    notes = []
    for issue in manifest.issues:
        if not issue.uncertain or issue.slug in pending or slug not in (None, issue.slug, issue.id):
            continue
        if reopen_finished(root, issue) is None:
            notes.append(f"{issue.slug}: {issue.uncertain} recipients are uncertain, but the journal that names "
                         f"them (in {JOURNAL_DIR}/) is gone; they cannot be mailed again")
    return notes
