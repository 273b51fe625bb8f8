"""Process the bounce mailbox: what `newsletter bounces` does.

Each message not processed before is read (reports.py). Hard bounces go to the suppression list;
soft ones are remembered and suppress the address once it soft-bounced on ``soft_limit`` issues in
a row; complaints go to the unsubscribe list (or, without one, to the suppression list). Then the
ledger (ledger.py) remembers the reports, and only after that, when ``[bounces] delete`` says so,
the understood ones are deleted. A message that is not understood is never touched.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import multiprocessing
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from ...config import Config, SubscribersConfig
from ...errors import MailboxError, SubscriberError
from ...layout import STATE_DIR
from ..journal import JOURNAL_DIR, Journal, pending_journals
from ..manifest import load_manifest, shown_path
from ..message import copy_digest
from ..settings import LOCAL_HOSTS
from ..subscribers import address_problem, read_unsubscribed
from ..suppression import Suppression, SuppressionKind, SuppressionList
from .imap import ImapMailbox
from .ledger import Ledger, load_ledger
from .maildir import MaildirMailbox
from .reports import Finding, Outcome, Report, header_token, read_report

HOST_ENV = "NEWSLETTER_IMAP_HOST"
USER_ENV = "NEWSLETTER_IMAP_USER"
_LOCK_NAME = f"{STATE_DIR}/bounces.lock"
_PARALLEL_FROM = 400     # fewer new reports than this are read in this process: starting workers costs more
_WINDOW = 4096           # reports handed to the workers at a time


class Mailbox(Protocol):
    """Where reports are read from: an IMAP folder or a Maildir, keyed by UID or file name."""

    @property
    def where(self) -> str: ...

    def open(self) -> None: ...

    def message_ids(self) -> dict[Any, bytes]: ...

    def messages(self, keys: Sequence[Any]) -> Iterator[tuple[Any, bytes]]: ...

    def delete(self, keys: Sequence[Any]) -> int: ...   # how many are gone; the rest are marked deleted

    def close(self) -> None: ...


@dataclass
class BounceSummary:
    """What one run of `newsletter bounces` found and did."""

    where: str
    read: int = 0
    already: int = 0
    not_understood: int = 0
    findings: dict[Outcome, int] = field(default_factory=lambda: dict.fromkeys(Outcome, 0))
    suppressed: list[Suppression] = field(default_factory=list)
    unsubscribed: list[str] = field(default_factory=list)
    deleted: int = 0
    marked: int = 0         # marked deleted but left for a mail client to expunge
    suppression_file: str = ""
    unsubscribe_file: str = ""


def open_mailbox(config: Config, maildir: Path | None = None) -> Mailbox:
    """The mailbox to read: *maildir*, else [bounces] maildir, else the IMAP server [bounces] names."""
    settings = config.bounces
    if maildir is None and settings.maildir:
        maildir = config.root / settings.maildir
    if maildir is not None:
        return MaildirMailbox(maildir, shown_path(maildir, config.root))
    host = settings.host or os.environ.get(HOST_ENV, "")
    username = settings.username or os.environ.get(USER_ENV, "")
    password = os.environ.get(settings.password_env, "")
    where = config.path.name
    if not host:
        raise MailboxError(f"{where}: [bounces]: set host (or export {HOST_ENV}) to read reports over IMAP, "
                           "or maildir (or pass --maildir) to read a Maildir folder")
    if not username:
        raise MailboxError(f"{where}: bounces.username: not set; set it or export {USER_ENV}")
    if not password:
        raise MailboxError(f"{where}: bounces.password_env: the environment variable {settings.password_env} "
                           f"is not set; export it with the IMAP password for {username} (it is never read "
                           "from a file)")
    if settings.security == "none" and host.strip("[]").lower() not in LOCAL_HOSTS:
        raise MailboxError(f"{where}: bounces.security: \"none\" sends the password unencrypted, so it is "
                           f"only allowed for localhost, not {host!r}; use \"ssl\" or \"starttls\"")
    return ImapMailbox(host, settings.port, settings.security, username, password, settings.mailbox)


@contextlib.contextmanager
def _only_run(root: Path) -> Iterator[None]:
    """Keep two runs of `newsletter bounces` apart: both would count the same reports."""
    path = root / _LOCK_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            import fcntl
        except ImportError:  # Windows: no flock; runs are rarely started twice there
            yield
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise MailboxError(f"{shown_path(path, root)}: another 'newsletter bounces' is running; "
                               "wait for it to finish") from None
        yield
    finally:
        os.close(fd)


def _send_order(root: Path) -> list[str]:
    """Every issue sent or being sent, oldest first: what 'in a row' counts along."""
    sent = sorted(load_manifest(root).issues, key=lambda issue: (issue.sent_at, issue.slug))
    order = [issue.slug for issue in sent]
    return order + [slug for slug in pending_journals(root) if slug not in order]


def _copies(root: Path) -> dict[str, str]:
    """Whose copy each Message-ID's digits name, from every send journal there is, finished or not."""
    folder = root / JOURNAL_DIR
    copies: dict[str, str] = {}
    for path in sorted(folder.glob("*.jsonl")) if folder.is_dir() else ():
        state = Journal(path, root).read()
        run = str((state.start or {}).get("run", ""))
        if run:
            copies.update((copy_digest(run, key), key) for key in state.states)
    return copies


@dataclass
class _Run:
    """The decisions of one run, made in memory before anything is written."""

    config: Config
    ledger: Ledger
    order: list[str]
    summary: BounceSummary
    suppress: list[Suppression] = field(default_factory=list)
    unsubscribe: list[str] = field(default_factory=list)
    copies: dict[str, str] | None = None    # read from the journals when a complaint first needs them

    def complainant(self, report: Report) -> Report:
        """A complaint as about the recipient of the copy it returns, whatever address it names.

        Feedback loops that hide the complainer (RFC 6590) name no address, or a made-up one; the
        Message-ID of the returned copy is ours and names the recipient exactly. Without a journal
        of that send, the report's own address stands.
        """
        complaint = next((f for f in report.findings if f.outcome is Outcome.COMPLAINT), None)
        if complaint is None or not report.copy:
            return report
        if self.copies is None:
            self.copies = _copies(self.config.root)
        address = self.copies.get(report.copy)
        if address is None:
            return report
        others = tuple(f for f in report.findings if f.outcome is not Outcome.COMPLAINT)
        return dataclasses.replace(report, findings=(*others, dataclasses.replace(complaint, address=address)))

    def apply(self, report: Report) -> None:
        for finding in report.findings:
            self.summary.findings[finding.outcome] += 1
            self.ledger.count(report.issue, finding.outcome)
            self._decide(finding, report.issue)
        self.ledger.processed.add(report.token)

    def _decide(self, finding: Finding, issue: str) -> None:
        address, reason = finding.address, finding.reason
        if finding.outcome is Outcome.HARD:
            self.suppress.append(Suppression(address, SuppressionKind.BOUNCED, reason))
            self.ledger.forget_soft(address)
        elif finding.outcome is Outcome.SOFT:
            streak = self.ledger.soft_streak(address, issue, self.order)
            if streak >= self.config.bounces.soft_limit:
                self.suppress.append(Suppression(address, SuppressionKind.SOFT,
                                                 f"soft bounces on {streak} issues in a row; last: {reason}"))
                self.ledger.forget_soft(address)
        elif (self.config.subscribers or SubscribersConfig()).unsubscribed:
            self.unsubscribe.append(address)
        else:
            self.suppress.append(Suppression(address, SuppressionKind.COMPLAINT, reason))


def _unsubscribed(config: Config) -> tuple[Path, str, set[str]]:
    """The unsubscribe list's path, its name as shown, and the addresses on it (none yet: an empty set)."""
    path = config.root / (config.subscribers or SubscribersConfig()).unsubscribed
    shown = shown_path(path, config.root)
    return path, shown, read_unsubscribed(path, shown) if path.is_file() else set()


def _append_unsubscribed(config: Config, addresses: list[str]) -> tuple[list[str], str]:
    """Add *addresses* not there yet to the unsubscribe list, in one write, flushed to disk."""
    path, shown, known = _unsubscribed(config)
    fresh = list(dict.fromkeys(a for a in addresses if a.lower() not in known))
    if not fresh:
        return [], shown
    try:
        with open(path, "ab") as handle:
            needs_newline = handle.tell() > 0 and not path.read_bytes().endswith(b"\n")
            handle.write(("\n" if needs_newline else "").encode() + "".join(f"{a}\n" for a in fresh).encode())
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as error:
        raise SubscriberError(f"{shown}: cannot be written: {error.strerror}") from None
    return fresh, shown


def _reports(mailbox: Mailbox, keys: Sequence[Any]) -> Iterator[tuple[Any, Report]]:
    """Read each message of *keys*; many of them are parsed in as many processes as there are cores.

    Parsing is what a run spends its time on (about a millisecond a report), and reports do not
    depend on one another. The mailbox is read here, a window at a time, so memory stays bounded.
    """
    messages = mailbox.messages(keys)
    jobs = min(os.cpu_count() or 1, 8)
    if len(keys) < _PARALLEL_FROM or jobs < 2:
        for key, data in messages:
            yield key, read_report(data)
        return
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else None)
    with context.Pool(jobs) as pool:
        while window := list(itertools.islice(messages, _WINDOW)):
            reports = pool.map(read_report, [data for _, data in window], chunksize=64)
            yield from zip([key for key, _ in window], reports, strict=True)


def _read_new(mailbox: Mailbox, run: _Run) -> tuple[list[Any], list[Any]]:
    """Read every message not processed before; return the keys of those understood now and before."""
    heads = mailbox.message_ids()
    processed = run.ledger.processed
    earlier = [key for key, head in heads.items() if header_token(head) in processed]
    done_before = set(earlier)
    understood: list[Any] = []
    for key, found in _reports(mailbox, [key for key in heads if key not in done_before]):
        report = run.complainant(found)
        # An "address" a report names that could not be mailed anyway would only spoil the lists.
        report = dataclasses.replace(report, findings=tuple(
            finding for finding in report.findings if address_problem(finding.address) is None))
        run.summary.read += 1
        if report.token in processed:  # no Message-ID, known by its hash; or a second copy
            earlier.append(key)
        elif not report.understood:
            run.summary.not_understood += 1
        else:
            run.apply(report)
            understood.append(key)
    run.summary.already = len(earlier)
    return understood, earlier


def process_bounces(config: Config, mailbox: Mailbox) -> BounceSummary:
    """Read *mailbox*, record what its reports say, and delete the understood ones when configured."""
    summary = BounceSummary(mailbox.where)
    with _only_run(config.root):
        suppressed = SuppressionList.of(config)
        suppressed.addresses()  # a broken list stops the run before the mailbox is opened
        if (config.subscribers or SubscribersConfig()).unsubscribed:
            _unsubscribed(config)
        run = _Run(config, load_ledger(config.root), _send_order(config.root), summary)
        summary.suppression_file = suppressed.shown
        mailbox.open()
        try:
            understood, earlier = _read_new(mailbox, run)
            summary.suppressed = suppressed.add(run.suppress)
            if run.unsubscribe:
                summary.unsubscribed, summary.unsubscribe_file = _append_unsubscribed(config, run.unsubscribe)
            run.ledger.write()
            if config.bounces.delete:
                summary.deleted = mailbox.delete(earlier + understood)
                summary.marked = len(earlier) + len(understood) - summary.deleted
        finally:
            mailbox.close()
    return summary
