"""What `newsletter status` shows: every post, whether and when it was sent, and whether it changed since."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from ..build.engine import load_site
from ..outputs.email import render_email
from ..render.templates import make_environment
from ..site import Entry
from .journal import JournalState, pending_journals
from .manifest import SentIssue, load_manifest
from .message import email_hash


@dataclass(frozen=True)
class PostStatus:
    """One line of `newsletter status`."""

    entry: Entry
    sent: SentIssue | None
    edited: bool
    in_progress: JournalState | None


def post_statuses(root: Path, now: datetime | None = None) -> list[PostStatus]:
    """Every post, newest first, with whether and when it was sent and whether it changed since."""
    site = load_site(root, now=now, drafts=True, scheduled=True)
    manifest = load_manifest(root)
    journals = pending_journals(root)
    env = None
    statuses = []
    for entry in site.entries:
        sent = manifest.find(entry.slug, entry.id)
        edited = False
        if sent is not None and sent.sha256:
            env = env or make_environment(site.config)
            edited = email_hash(render_email(site, entry, env)) != sent.sha256
        journal = journals.get(entry.slug)
        statuses.append(PostStatus(entry, sent, edited, journal.read() if journal is not None else None))
    return statuses
