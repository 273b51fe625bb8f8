"""Commands that say what went out and what came back: status, bounces."""

from __future__ import annotations

from datetime import datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ..config import load_config
from .app import counted, main, now_option

if TYPE_CHECKING:
    from ..send import PostStatus
    from ..send.bounces.process import BounceSummary


def _status_detail(status: PostStatus, tz: tzinfo) -> str:
    entry = status.entry
    if entry.status == "draft":
        return "not sent (drafts are never sent)"
    if entry.status == "scheduled":
        return f"due {entry.post.date.astimezone(tz):%Y-%m-%d %H:%M}"
    parts = []
    if status.sent is not None:
        sent = status.sent
        try:
            when = f"{datetime.fromisoformat(sent.sent_at).astimezone(tz):%Y-%m-%d %H:%M}"
        except ValueError:
            when = sent.sent_at
        extra = "".join(f", {n} {what}" for n, what in ((sent.failed, "failed"), (sent.uncertain, "uncertain")) if n)
        parts.append(f"marked sent {when} without sending" if sent.note and not sent.sent
                     else f"sent {when} to {sent.sent:,}{extra}")
        if sent.uncertain and status.in_progress is None:
            parts.append(f"'newsletter send --resend-uncertain {entry.slug}' mails the uncertain again")
        if status.edited:
            parts.append("edited since sent")
    if status.in_progress is None and status.sent is None and status.before_start:
        parts.append("never sent (dated before [send] since)")
    if status.in_progress is not None:
        state = status.in_progress
        done = state.count("sent", "failed", "uncertain", "sending")
        unsure = f", {state.uncertain:,} of them uncertain" if state.uncertain else ""
        parts.append(f"send interrupted after {done:,} recipients{unsure}; 'newsletter send' continues it")
    if not parts:
        parts.append("not sent")
    if _bounce_counts(status):
        parts.append(_bounce_counts(status))
    return "; ".join(parts)


@main.command()
@now_option("Show (which posts are published or scheduled)")
@click.pass_obj
def status(root: Path, now: datetime | None) -> None:
    """List every post: date, draft / scheduled / published, when it was sent and to how many.

    "edited since sent" means the email as it renders now differs from the one recorded in
    manifest.json when it was sent.

    \b
    Example:
        newsletter status
    """
    from ..send import post_statuses

    statuses = post_statuses(root, now)
    tz = load_config(root).site.tz
    if not statuses:
        click.echo("No posts yet: 'newsletter new TITLE' writes one.")
        return
    width = max(len(s.entry.slug) for s in statuses)
    # One write for all the lines: click.echo flushes after each, a write per line for a long list.
    click.echo("\n".join(f"{item.entry.post.date.astimezone(tz):%Y-%m-%d}  {item.entry.status:<9}  "
                          f"{item.entry.slug:<{width}}  {_status_detail(item, tz)}" for item in statuses))


def _bounce_counts(status: PostStatus) -> str:
    counts = status.bounces
    if counts is None:
        return ""
    found = [(counts.hard, "bounced"), (counts.soft, "soft-bounced"), (counts.complaints, "complained")]
    return ", ".join(f"{number:,} {what}" for number, what in found if number)


def _addresses(number: int) -> str:
    return f"{number:,} address{'' if number == 1 else 'es'}"


def _report_bounces(summary: BounceSummary, shown: int = 20) -> None:
    from ..send.bounces import Outcome

    findings = summary.findings
    click.echo(f"Read {counted(summary.read, 'new message')} from {summary.where} "
               f"({summary.already:,} processed before): {counted(findings[Outcome.HARD], 'hard bounce')}, "
               f"{counted(findings[Outcome.SOFT], 'soft bounce')}, "
               f"{counted(findings[Outcome.COMPLAINT], 'complaint')}.")
    changes = [f"  suppressed {entry.email} ({entry.kind}): {entry.reason}" for entry in summary.suppressed]
    changes += [f"  unsubscribed {address} (complaint)" for address in summary.unsubscribed]
    for line in changes[:shown]:
        click.echo(line)
    if len(changes) > shown:
        click.echo(f"  ... and {len(changes) - shown:,} more")
    if summary.suppressed:
        click.echo(f"Added {_addresses(len(summary.suppressed))} to {summary.suppression_file}; "
                   "no send mails them again.")
    if summary.unsubscribed:
        click.echo(f"Added {_addresses(len(summary.unsubscribed))} to {summary.unsubscribe_file}.")
    if summary.deleted:
        click.echo(f"Deleted {counted(summary.deleted, 'processed report')} from {summary.where}.")
    if summary.marked:
        click.echo(f"note: marked {counted(summary.marked, 'processed report')} in {summary.where} as deleted "
                   "without expunging them: other messages there are marked deleted too, and this server "
                   "cannot expunge only some (no UIDPLUS); your mail client removes them all when it "
                   "expunges the folder", err=True)
    if summary.not_understood:
        unread = summary.not_understood
        click.echo(f"note: {counted(unread, 'message')} in {summary.where} {'is' if unread == 1 else 'are'} "
                   "not a delivery report or complaint this can read; left there for you to read", err=True)


@main.command()
@click.option("--maildir", type=click.Path(file_okay=False, path_type=Path),
              help="Read reports from this Maildir folder instead of [bounces] (IMAP or maildir).")
@click.pass_obj
def bounces(root: Path, maildir: Path | None) -> None:
    """Read bounce reports and complaints, and stop mailing the addresses they name.

    Reads delivery-status notifications and feedback-loop complaints from the IMAP mailbox that
    [bounces] names (host, username and the password from the environment) or from a Maildir.
    Hard bounces go to the suppression list ([subscribers] bounced); soft ones suppress an address
    after [bounces] soft_limit issues in a row; complaints go to the unsubscribe list. Reports seen
    before are skipped, and a message that is not a report is never touched.

    \b
    Example:
        NEWSLETTER_IMAP_PASSWORD=... newsletter bounces
        newsletter bounces --maildir ~/Maildir/.bounces
    """
    from ..send.bounces.process import open_mailbox, process_bounces

    config = load_config(root)
    summary = process_bounces(config, open_mailbox(config, maildir.absolute() if maildir else None))
    _report_bounces(summary)
