"""What `newsletter status` shows: every post, whether and when it was sent, and whether it changed since."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from ..build.records import email_digests, open_site
from ..site import Entry
from .bounces import IssueBounces, bounce_counts
from .journal import JournalState, match_journals, pending_journals
from .manifest import SentIssue, load_manifest
from .settings import before_start


@dataclass(frozen=True)
class PostStatus:
    """One line of `newsletter status`."""

    entry: Entry
    sent: SentIssue | None
    edited: bool
    in_progress: JournalState | None
    before_start: bool = False     # dated before [send] since: never sent
    bounces: IssueBounces | None = None       # what `newsletter bounces` read about it


def post_statuses(root: Path, now: datetime | None = None) -> list[PostStatus]:
    """Every post, newest first, with whether and when it was sent and whether it changed since.

    "Changed since" compares the hash in manifest.json with the email as a build makes it now:
    taken from the last build's record where nothing the email is made from has changed, so only
    issues edited since that build are rendered again.
    """
    site, cache = open_site(root, now=now, drafts=True, scheduled=True)
    manifest = load_manifest(root)
    journals, _ = match_journals(pending_journals(root), ((entry.slug, entry.id) for entry in site.entries))
    by_slug = {issue.slug: issue for issue in manifest.issues}
    by_id = {issue.id: issue for issue in manifest.issues if issue.id}
    sent_of = {entry.slug: by_slug.get(entry.slug) or by_id.get(entry.id) for entry in site.entries}
    digests = email_digests(site, cache, [slug for slug, sent in sent_of.items() if sent is not None and sent.sha256])
    bounced = bounce_counts(root)
    statuses = []
    for entry in site.entries:
        sent = sent_of[entry.slug]
        edited = sent is not None and entry.slug in digests and not sent.sha256.startswith(digests[entry.slug])
        journal = journals.get(entry.slug)
        statuses.append(PostStatus(entry, sent, edited, journal.read() if journal is not None else None,
                                   before_start(site.config, entry.post.date), bounced.get(entry.slug)))
    return statuses
