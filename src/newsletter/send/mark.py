"""Record issues in manifest.json as sent without sending them: the start line of a moved-in archive.

An issue marked so carries zero recipients and a note saying why, and is never sent by a later
`newsletter send` (unless named with ``--resend``), exactly as if it had gone out.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from ..build.phases import load_site
from ..errors import SendError
from ..outputs.email import render_email
from ..render.templates import make_environment
from ..site import Entry, Site
from .journal import match_journals, pending_journals
from .manifest import Manifest, SentIssue, load_manifest, write_manifest
from .message import email_hash
from .plan import describe_status, find_entry
from .settings import before_start

MARKED_NOTE = "marked as sent without sending (newsletter send --mark-sent)"


def _named(site: Site, manifest: Manifest, journals: Sequence[str], slug: str) -> Entry:
    entry = find_entry(site, slug)
    if entry.status != "published":
        raise SendError(describe_status(entry))
    if entry.slug in journals:
        raise SendError(f"{entry.slug}: a send of it is under way; run 'newsletter send' to finish it "
                        "instead of marking it")
    sent = manifest.find(entry.slug, entry.id)
    if sent is not None:
        raise SendError(f"{manifest.path.name}: {entry.slug}: is recorded already (on {sent.sent_at}); "
                        "nothing to mark")
    return entry


def mark_sent(root: Path, slugs: Sequence[str] = (), *, now: datetime | None = None) -> list[SentIssue]:
    """Record *slugs* (or every issue due) in manifest.json as sent to nobody; return the new records."""
    site = load_site(root, now=now, drafts=True, scheduled=True)
    manifest = load_manifest(root)
    journals = list(match_journals(pending_journals(root), ((e.slug, e.id) for e in site.entries))[0])
    if slugs:
        entries = [_named(site, manifest, journals, slug) for slug in dict.fromkeys(slugs)]
    else:
        entries = [entry for entry in reversed(site.published)
                   if manifest.find(entry.slug, entry.id) is None and entry.slug not in journals
                   and not before_start(site.config, entry.post.date)]
    env = make_environment(site.config)
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    records = []
    for entry in entries:
        parts = render_email(site, entry, env)
        record = SentIssue(slug=entry.slug, id=entry.id, subject=parts.subject, sent_at=stamp,
                           sha256=email_hash(parts), sent=0, note=MARKED_NOTE)
        manifest = manifest.with_issue(record)
        records.append(record)
    if records:
        write_manifest(manifest)
    return records
