"""Decide what `newsletter send` will do, checking everything that can be checked before the first message.

Planning only reads: the site, the settings, the subscriber list, manifest.json and the journals.
It comes in two halves, ``survey`` (read and check) and ``choose`` (pick the issues and make their
messages ready), so that run.py can record, in between, a send that had finished but was stopped
before manifest.json said so. ``plan_send`` does both halves at once and hands such sends back in
``SendPlan.finished`` for ``execute_plan`` to record.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

from ..build.phases import load_site
from ..config import Config, UncertainPolicy, suggest
from ..errors import Problem, SendError
from ..outputs.email import render_email
from ..outputs.mime import EmailParts
from ..render.templates import make_environment
from ..site import Entry, Site
from .journal import Journal, JournalState, match_journals, pending_journals
from .manifest import Manifest, SentIssue, load_manifest
from .message import IssueMail, email_hash
from .settings import before_start, check_email_settings, check_smtp_settings, since_line
from .subscribers import Subscriber, SubscriberList, load_subscribers, merge_fields, parse_recipient

TEST_PREFIX = "[TEST] "


class SendMode(StrEnum):
    """Where a run of `newsletter send` sends, and whether it records what it did."""

    SEND = "send"          # every subscriber over SMTP, journalled and recorded in manifest.json
    DRY_RUN = "dry-run"    # .eml files in a folder; nothing recorded
    TEST = "test"          # a [TEST] copy to the --to addresses only; nothing recorded


@dataclass(frozen=True)
class FinishedSend:
    """A send whose every recipient is done but which manifest.json does not record yet."""

    journal: Journal
    record: SentIssue


@dataclass(frozen=True)
class IssuePlan:
    """One issue to send in this run."""

    entry: Entry
    mail: IssueMail
    recipients: tuple[Subscriber, ...]
    total: int
    already_done: int = 0
    resuming: bool = False
    again: int = 0          # recipients left uncertain before, mailed again in this run
    journal: Path | None = None  # the unfinished send's journal this run continues

    @property
    def subject(self) -> str:
        return self.mail.subject_prefix + self.mail.parts.subject


@dataclass(frozen=True)
class SendPlan:
    """What `newsletter send` is about to do, decided before anything is sent."""

    config: Config
    mode: SendMode
    issues: tuple[IssuePlan, ...]
    manifest: Manifest                            # as it will be once `finished` is recorded
    password: str = field(default="", repr=False)
    rate: float | None = None
    notes: tuple[str, ...] = ()
    warnings: tuple[Problem, ...] = ()
    finished: tuple[FinishedSend, ...] = ()       # not yet written to manifest.json
    uncertain: UncertainPolicy = UncertainPolicy.SKIP

    @property
    def records(self) -> bool:
        return self.mode is SendMode.SEND


@dataclass(frozen=True)
class Groundwork:
    """Everything a plan is made from, read and checked: the first half of planning."""

    site: Site
    mode: SendMode
    manifest: Manifest                  # with the finished sends in it
    subscribers: SubscriberList | None  # None for a test copy when there is no list
    journals: dict[str, Journal]        # sends started and not finished, by slug
    strays: tuple[Journal, ...]         # unfinished sends of issues that no post has the id of any more
    finished: tuple[FinishedSend, ...]
    test_to: tuple[Subscriber, ...]
    secret: str = field(repr=False)
    password: str = field(repr=False)


def _finished_sends(journals: dict[str, Journal], when: datetime) -> list[FinishedSend]:
    finished = []
    for name, journal in journals.items():
        state = journal.read()
        if state.complete is not None:
            finished.append(FinishedSend(journal, state.sent_issue(name, state.sent_at(when))))
    return finished


def survey(root: Path, *, now: datetime | None = None, mode: SendMode | str = SendMode.SEND,
           test_to: Sequence[str] = ()) -> Groundwork:
    """Read the site, the settings, the subscriber list and the journals, and check them all."""
    mode = SendMode(mode)
    site = load_site(root, now=now, drafts=True, scheduled=True)
    config = site.config
    manifest = load_manifest(root)
    secret = check_email_settings(config)
    password = check_smtp_settings(config) if mode is not SendMode.DRY_RUN else ""
    recipients = []
    for text in test_to:
        try:
            recipients.append(parse_recipient(text))
        except ValueError as problem:
            raise SendError(f"--to: {problem}") from None
    subscribers: SubscriberList | None = None
    settings = config.subscribers
    if mode is not SendMode.TEST or (root / (settings.file if settings else "subscribers.csv")).exists():
        subscribers = load_subscribers(config)
    journals = pending_journals(root)
    # Sends that finished but were stopped before the manifest was written count as sent.
    finished = _finished_sends(journals, datetime.now(UTC)) if mode is SendMode.SEND else []
    for done in finished:
        manifest = manifest.with_issue(done.record)
        del journals[done.journal.path.stem]
    by_slug, strays = match_journals(journals, ((entry.slug, entry.id) for entry in site.entries))
    return Groundwork(site, mode, manifest, subscribers, by_slug, tuple(strays), tuple(finished), tuple(recipients),
                      secret=secret, password=password)


def _check_fields(parts: EmailParts, subscribers: SubscriberList | None) -> None:
    used = merge_fields(parts.html) | merge_fields(parts.text)
    columns = set(subscribers.columns) if subscribers is not None else {"email", "name"}
    unknown = sorted(used - columns - {"email"})
    if unknown:
        source = subscribers.path.name if subscribers is not None else "the subscriber list"
        raise SendError(f"{parts.entry.post.display_path}: {{subscriber.{unknown[0]}}} is not a column of "
                        f"{source} (columns: {', '.join(sorted(columns))}); add the column or fix the name")


def describe_status(entry: Entry) -> str:
    if entry.status == "draft":
        return f"{entry.post.display_path}: is a draft; drafts are never sent (remove 'draft: true' to send it)"
    return (f"{entry.post.display_path}: is scheduled for {entry.post.date.isoformat()}; it can be sent "
            "from then on (or pass --now to send as of a later time)")


def find_entry(site: Site, slug: str) -> Entry:
    for entry in site.entries:
        if entry.slug == slug:
            return entry
    raise SendError(f"no post has the slug {slug!r}{suggest(slug, [e.slug for e in site.entries])}; "
                    "'newsletter status' lists them")


def _named_entry(ground: Groundwork, slug: str, resend: bool) -> Entry:
    entry = find_entry(ground.site, slug)
    if entry.status != "published":
        raise SendError(describe_status(entry))
    config = ground.site.config
    if (ground.mode is not SendMode.TEST and entry.slug not in ground.journals
            and before_start(config, entry.post.date)):
        raise SendError(f"{since_line(config)}: send.since: {entry.slug} is dated before "
                        f"{config.send.since}, so it is never sent; move the start line to send it")
    sent = ground.manifest.find(entry.slug, entry.id)
    if sent is not None and not resend and ground.mode is not SendMode.TEST and entry.slug not in ground.journals:
        raise SendError(f"{ground.manifest.path.name}: {entry.slug}: was sent on {sent.sent_at} to {sent.sent} "
                        "recipients; pass --resend to send it again to everyone")
    return entry


def _due_entries(ground: Groundwork, resend: bool) -> tuple[list[Entry], list[str]]:
    """Every published issue not sent yet, oldest first, and a note on each unfinished send left behind."""
    if resend:
        raise SendError("--resend: name the issue to send again, like 'newsletter send SLUG --resend'")
    journals = ground.journals
    config = ground.site.config
    chosen = [entry for entry in reversed(ground.site.published)
              if entry.slug in journals
              or (ground.manifest.find(entry.slug, entry.id) is None and not before_start(config, entry.post.date))]
    notes = []
    for name in journals if ground.mode is SendMode.SEND else ():
        if not any(entry.slug == name for entry in chosen):
            notes.append(f"{name}: an unfinished send is in {journals[name].shown}, but the post is no "
                         "longer published; it is left as it is")
    for stray in ground.strays if ground.mode is SendMode.SEND else ():
        notes.append(f"{stray.shown}: an unfinished send of an issue that no post has the id of any more "
                     "(was its 'id:' or date changed?); it is left as it is")
    return chosen, notes


def _as_known(person: Subscriber, known: Subscriber | None) -> Subscriber:
    """A --to recipient with the list's columns when the address is on it; a name given with --to wins."""
    if known is None:
        return person
    if not person.name:
        return known
    fields = tuple((column, value) for column, value in known.fields if column != "name")
    return Subscriber(known.email, (("name", person.name), *fields))


def _test_issue(ground: Groundwork, entry: Entry, parts: EmailParts) -> IssuePlan:
    known = {s.key: s for s in (ground.subscribers.subscribers if ground.subscribers else ())}
    people = tuple(_as_known(person, known.get(person.key)) for person in ground.test_to)
    mail = IssueMail(ground.site.config, parts, secrets.token_hex(8), ground.secret, TEST_PREFIX)
    return IssuePlan(entry, mail, people, len(people))


def _subscribers_issue(ground: Groundwork, entry: Entry, parts: EmailParts,
                       resend_uncertain: bool) -> tuple[IssuePlan, str | None]:
    """The issue for every subscriber it has not reached yet, and a note when its email changed meanwhile.

    With *resend_uncertain*, that includes those handed the message before without an answer heard.
    """
    assert ground.subscribers is not None
    pending = ground.journals.get(entry.slug)
    state = pending.read() if pending is not None else JournalState()
    run = str((state.start or {}).get("run") or secrets.token_hex(8))
    note = None
    if state.start and state.start.get("sha256") != email_hash(parts):
        note = (f"{entry.slug}: the email changed since this send started; the recipients still "
                "to go get the current version")
    everyone = ground.subscribers.subscribers
    people = tuple(s for s in everyone if not state.is_done(s.key, resend_uncertain=resend_uncertain))
    again = sum(1 for s in people if state.is_done(s.key)) if resend_uncertain else 0
    mail = IssueMail(ground.site.config, parts, run, ground.secret)
    return IssuePlan(entry, mail, people, len(everyone), len(everyone) - len(people),
                     resuming=state.start is not None, again=again,
                     journal=pending.path if pending is not None else None), note


def _uncertain_entries(ground: Groundwork, slug: str | None) -> list[Entry]:
    """The issues, oldest first, whose unfinished send left recipients uncertain (only *slug*'s if given)."""
    if slug is not None:
        entry = find_entry(ground.site, slug)
        pending = ground.journals.get(entry.slug)
        if pending is None or not pending.read().uncertain:
            raise SendError(f"{entry.slug}: no recipient of it is uncertain; there is nobody to mail again")
        return [entry]
    return [entry for entry in reversed(ground.site.published)
            if entry.slug in ground.journals and ground.journals[entry.slug].read().uncertain]


def _refuse_back_catalogue(ground: Groundwork, entries: Sequence[Entry]) -> None:
    """Refuse a first send that would mail more than one issue at once: most likely an imported archive."""
    config = ground.site.config
    if (len(entries) < 2 or ground.mode is not SendMode.SEND or config.send.since is not None
            or ground.manifest.issues or ground.manifest.path.exists() or ground.journals):
        return
    newest = entries[-1]
    day = newest.post.date.astimezone(config.site.tz).date()
    count = len(entries)
    raise SendError(f"{ground.manifest.path.name}: not found, so this is the first send, and {count} published "
                    f"issues are due: every subscriber would get all {count}. Choose one: set "
                    f"'since = {day.isoformat()}' under [send] in {config.path.name} to send only issues "
                    f"from that day on; run 'newsletter send --mark-sent SLUG...' to record older issues as "
                    f"sent without sending them; or pass --all-due to send all {count}")


def choose(ground: Groundwork, slug: str | None = None, *, resend: bool = False,
           rate: float | None = None, all_due: bool = False, resend_uncertain: bool = False) -> SendPlan:
    """Pick the issues to send (*slug*, or every one due) and make each one's messages ready.

    A first send with more than one issue due is refused unless *all_due* says it is meant. With
    *resend_uncertain*, only the issues with uncertain recipients are picked, and those are mailed again.
    """
    notes: list[str] = []
    config = ground.site.config
    policy = UncertainPolicy.RESEND if resend_uncertain else UncertainPolicy(config.send.uncertain)
    if resend_uncertain:
        entries = _uncertain_entries(ground, slug)
    elif slug is not None:
        entries = [_named_entry(ground, slug, resend)]
    else:
        entries, notes = _due_entries(ground, resend)
        if not all_due:
            _refuse_back_catalogue(ground, entries)
    env = make_environment(config)
    warnings: list[Problem] = list(ground.site.load_warnings)
    issues: list[IssuePlan] = []
    for entry in entries:
        parts = render_email(ground.site, entry, env)
        warnings.extend(parts.warnings)
        _check_fields(parts, ground.subscribers)
        if ground.mode is SendMode.TEST:
            issues.append(_test_issue(ground, entry, parts))
            continue
        issue, note = _subscribers_issue(ground, entry, parts, policy is UncertainPolicy.RESEND)
        issues.append(issue)
        if note:
            notes.append(note)
    return SendPlan(config, ground.mode, tuple(issues), ground.manifest, password=ground.password,
                    rate=rate if rate is not None else (config.smtp.rate if config.smtp else None),
                    notes=tuple(notes), warnings=tuple(warnings), finished=ground.finished, uncertain=policy)


def plan_send(root: Path, slug: str | None = None, *, now: datetime | None = None,
              mode: SendMode | str = SendMode.SEND, test_to: Sequence[str] = (), resend: bool = False,
              rate: float | None = None, all_due: bool = False) -> SendPlan:
    """Decide what to send and check everything that can be checked before the first message; write nothing."""
    return choose(survey(root, now=now, mode=mode, test_to=test_to), slug, resend=resend, rate=rate,
                  all_due=all_due)
