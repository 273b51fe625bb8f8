"""Carry out a send plan: journal each issue, send it, and record it in manifest.json once it is done.

This is where a send writes its records; planning (plan.py) only reads. ``prepare_send`` is what
`newsletter send` runs first: it records any send that finished before a stop, then plans.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from .failures import PermanentFailure
from .journal import Journal, JournalState, Mark, RecipientState
from .manifest import Manifest, SentIssue, write_manifest
from .message import email_hash
from .plan import FinishedSend, IssuePlan, SendMode, SendPlan, choose, survey
from .sender import IssueResult, Sender
from .suppression import Suppression, SuppressionKind, SuppressionList
from .transports import DirectoryTransport, SmtpTransport, Transport
from .uncertain import reopen_uncertain


def _archive(journal: Journal, sent_at: str) -> None:
    journal.archive(re.sub(r"[^0-9T]", "", sent_at)[:15])


def record_finished(manifest: Manifest, finished: Sequence[FinishedSend]) -> None:
    """Write *manifest*, which holds the *finished* sends, then move their journals aside."""
    if not finished:
        return
    write_manifest(manifest)
    for done in finished:
        done.journal.open()  # cuts off a torn last line before the journal is kept for reference
        _archive(done.journal, done.record.sent_at)


def finish_issue(manifest: Manifest, journal: Journal, state: JournalState,
                 when: datetime) -> tuple[Manifest, SentIssue]:
    """Record a finished send in the manifest, then move its journal aside."""
    sent_at = state.sent_at(when)
    if state.complete is None:
        journal.append({"type": Mark.COMPLETE, "sent_at": sent_at})
    record = state.sent_issue(journal.path.stem, sent_at)
    manifest = manifest.with_issue(record)
    write_manifest(manifest)
    _archive(journal, sent_at)
    return manifest, record


def prepare_send(root: Path, slug: str | None = None, *, now: datetime | None = None,
                 mode: SendMode | str = SendMode.SEND, test_to: Sequence[str] = (), resend: bool = False,
                 rate: float | None = None, all_due: bool = False, resend_uncertain: bool = False) -> SendPlan:
    """Record any send that finished before a stop, then plan this one (see plan.plan_send).

    With *resend_uncertain*, finished sends that left recipients uncertain are reopened first.
    """
    notes = reopen_uncertain(root, slug) if resend_uncertain and SendMode(mode) is SendMode.SEND else []
    ground = survey(root, now=now, mode=mode, test_to=test_to)
    record_finished(ground.manifest, ground.finished)
    plan = choose(dataclasses.replace(ground, finished=()), slug, resend=resend, rate=rate, all_due=all_due,
                  resend_uncertain=resend_uncertain)
    return dataclasses.replace(plan, notes=(*notes, *plan.notes)) if notes else plan


def smtp_transport(plan: SendPlan, **options: object) -> SmtpTransport:
    """The SMTP transport for a plan's [smtp] settings."""
    smtp = plan.config.smtp
    assert smtp is not None
    return SmtpTransport(smtp.host, smtp.port, smtp.security, smtp.username, plan.password,
                         **options)  # type: ignore[arg-type]


def transports_for(plan: SendPlan, folder: Path | None) -> Callable[[IssuePlan], Transport]:
    """Where each issue of *plan* goes: a folder of .eml files per issue, or one SMTP connection for all."""
    if folder is not None:
        return lambda issue: DirectoryTransport(folder / issue.entry.slug)
    smtp = smtp_transport(plan)
    return lambda issue: smtp


def _suppressor(plan: SendPlan) -> Callable[[str, PermanentFailure], None] | None:
    """Put each address the server refuses for good on the suppression list, so no later send mails it."""
    if not plan.records:
        return None
    suppressed = SuppressionList.of(plan.config)

    def refused(address: str, failure: PermanentFailure) -> None:
        if failure.about_address:
            suppressed.add([Suppression(address, SuppressionKind.REFUSED, failure.reply)])

    return refused


def _start_record(issue: IssuePlan) -> dict[str, object]:
    return {"type": Mark.START, "run": issue.mail.run, "slug": issue.entry.slug, "id": issue.entry.id,
            "subject": issue.mail.parts.subject, "sha256": email_hash(issue.mail.parts),
            "recipients": issue.total, "started_at": datetime.now(UTC).isoformat(timespec="seconds")}


def execute_plan(plan: SendPlan, transport_for: Callable[[IssuePlan], Transport], *,
                 on_issue: Callable[[IssuePlan], None] | None = None, **sender_options: object) -> list[IssueResult]:
    """Send each planned issue in order (oldest first), journalling and recording it when the plan records.

    Sends the plan found finished but not yet recorded are recorded first.
    *sender_options* go to ``Sender``: retry, clock, sleep, now, progress, stop.
    """
    record_finished(plan.manifest, plan.finished)
    results: list[IssueResult] = []
    manifest = plan.manifest
    rate = None if plan.mode is SendMode.DRY_RUN else plan.rate
    sender_options.setdefault("refused", _suppressor(plan))
    for issue in plan.issues:
        if on_issue is not None:
            on_issue(issue)
        journal: Journal | None = None
        if plan.records:
            root = plan.config.root
            journal = Journal(issue.journal, root) if issue.journal else Journal.for_issue(root, issue.entry.id)
            if journal.open().start is None:
                journal.append(_start_record(issue))
        sender = Sender(transport_for(issue), journal, rate=rate, uncertain=plan.uncertain,
                        **sender_options)  # type: ignore[arg-type]
        try:
            result = sender.send_issue(issue.mail, issue.recipients)
            if journal is not None and result.complete:
                state = journal.read()
                # The manifest records the email as finally sent, even if it changed since the start.
                start = {**(state.start or {}), **_start_record(issue)}
                manifest, record = finish_issue(manifest, journal, dataclasses.replace(state, start=start),
                                                sender.now())
                # Recipients left uncertain by an earlier, killed run are reported now, by name.
                uncertain = state.listed(RecipientState.UNCERTAIN, RecipientState.SENDING)
                result = dataclasses.replace(result, recorded=record, uncertain=tuple(uncertain))
            if journal is not None:
                # This run's and earlier runs' uncertain recipients, for the summary.
                unsure = result.recorded.uncertain if result.recorded is not None else journal.read().uncertain
                result = dataclasses.replace(result, unsure=unsure)
        finally:
            if journal is not None:
                journal.close()
        results.append(result)
        if result.stopped:
            break
    return results
