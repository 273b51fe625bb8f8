"""The command that mails the newsletter: send (status and bounces are in records.py)."""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ..config import load_config
from ..layout import DRY_RUN_DIR
from .app import counted, main, now_option, report_warnings

if TYPE_CHECKING:
    from ..send import IssuePlan, IssueResult, Progress, SendPlan


class _SendProgress:
    """A progress bar with counts and rate on a terminal; a plain line now and then otherwise."""

    def __init__(self) -> None:
        self.tty = sys.stdout.isatty()
        self.bar: Any = None
        self.latest: Progress | None = None
        self.shown = 0
        self.last_line = 0.0

    def start(self, issue: IssuePlan) -> None:
        self.finish()
        self.shown = 0
        self.last_line = time.monotonic()
        self.latest = None
        if self.tty and issue.recipients:
            self.bar = click.progressbar(
                length=len(issue.recipients), label=issue.entry.slug, show_pos=True, show_eta=True,
                item_show_func=lambda _: self._counts())
            self.bar.__enter__()

    def _counts(self) -> str:
        latest = self.latest
        if latest is None:
            return ""
        failed = f", {latest.failed} failed" if latest.failed else ""
        return f"{latest.sent} sent{failed}, {latest.rate:.0f} msg/s"

    def update(self, progress: Progress) -> None:
        if self.bar is not None:
            self.latest = progress
            self.bar.update(progress.done - self.shown)
            self.shown = progress.done
            return
        now = time.monotonic()
        # Plain lines for logs (CI): every 10 % or every 10 seconds, and the last one.
        step = max(1, progress.total // 10)
        if progress.done == progress.total or progress.done % step == 0 or now - self.last_line >= 10:
            self.last_line = now
            failed = f", {progress.failed} failed" if progress.failed else ""
            click.echo(f"  {progress.slug}: {progress.done}/{progress.total} done, {progress.sent} sent{failed} "
                       f"({progress.rate:.1f} msg/s)")

    def finish(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None


@contextlib.contextmanager
def _stop_on_signal() -> Iterator[Callable[[], bool]]:
    """Turn the first Ctrl-C or SIGTERM into 'stop after the current message'; a second one stops at once."""
    requested = False

    def handler(signum: int, frame: object) -> None:
        nonlocal requested
        if requested:
            raise KeyboardInterrupt
        requested = True
        click.echo("\nStopping after the current message; run the same command again to continue.", err=True)

    if threading.current_thread() is not threading.main_thread():
        yield lambda: requested
        return
    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield lambda: requested
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _describe_plan(plan: SendPlan, out: Path | None) -> None:
    verb = {"send": "Will send", "dry-run": "Will write", "test": "Will send a test copy of"}[plan.mode]
    for issue in plan.issues:
        whom = ", ".join(s.email for s in issue.recipients) if plan.mode == "test" else counted(
            len(issue.recipients), "recipient")
        again = f"; {counted(issue.again, 'uncertain recipient')} mailed again" if issue.again else ""
        resumed = (f" (resuming: {issue.already_done:,} of {issue.total:,} already done{again})"
                   if issue.resuming else "")
        click.echo(f"{verb} {issue.entry.slug}: \"{issue.subject}\" to {whom}{resumed}")
    if plan.mode == "dry-run" and out is not None:
        click.echo(f"Messages go to {out}/<slug>/ as .eml files; nothing is sent or recorded.")
    elif plan.mode == "test":
        click.echo("A test send records nothing in manifest.json.")


def _report_result(plan: SendPlan, result: IssueResult, out: Path | None) -> bool:
    """Print what happened to one issue; return whether it is finished."""
    slug = result.entry.slug
    rate = f" in {result.seconds:.1f} s ({result.messages / result.seconds:.0f} msg/s)" if result.seconds > 0 else ""
    if plan.mode == "dry-run":
        click.echo(f"Wrote {counted(result.sent, 'message')} for {slug} into {out / slug if out else ''}/.")
    elif plan.mode == "test":
        click.echo(f"Sent {counted(result.sent, 'test copy')} of {slug}{rate}; nothing recorded.")
    else:
        click.echo(f"Sent {slug} to {counted(result.sent, 'recipient')}{rate}.")
    for address, reply in result.failed:
        click.echo(f"warning: {slug}: {address}: refused by the server: {reply}", err=True)
    resend = plan.uncertain == "resend"
    for address, reply in result.uncertain:
        why = reply or "the send was stopped after handing the message over"
        then = "it is mailed again on the next run" if resend else "probably delivered, so it is not sent again"
        click.echo(f"warning: {slug}: {address}: uncertain ({why}); {then}", err=True)
    if result.unsure:
        then = ("they are mailed again on the next run" if resend else
                f"counted as probably delivered; 'newsletter send --resend-uncertain {slug}' mails them again")
        click.echo(f"Uncertain: {counted(result.unsure, 'recipient')} of {slug} got the whole message but "
                   f"no answer came from the server; {then}.")
    for address, reply in result.deferred:
        click.echo(f"error: {slug}: {address}: not sent yet ({reply}); run 'newsletter send' again to retry",
                   err=True)
    if result.recorded is not None:
        record = result.recorded
        extra = "".join(f", {n} {what}" for n, what in ((record.failed, "failed"), (record.uncertain, "uncertain"))
                        if n)
        click.echo(f"Recorded {slug} in manifest.json ({record.sent:,} sent{extra}); commit it.")
    if result.stopped:
        click.echo(f"error: {slug}: stopped before every recipient was done; run 'newsletter send' again "
                   "to continue where it stopped", err=True)
    return result.complete


def _confirm(plan: SendPlan, yes: bool) -> None:
    from ..send import SendError, SendMode

    if plan.mode is SendMode.DRY_RUN or yes:
        return
    if not sys.stdin.isatty():
        raise SendError("not sending without confirmation, and there is no terminal to ask on; "
                        "pass --yes to send without asking")
    click.confirm("Send now?", abort=True)


def _mark_sent(root: Path, slugs: tuple[str, ...], now: datetime | None) -> None:
    from ..send import SendLock, mark_sent

    load_config(root)
    with SendLock(root):
        records = mark_sent(root, slugs, now=now)
    if not records:
        click.echo("Nothing to mark: every published issue is in manifest.json already.")
        return
    for record in records:
        click.echo(f"Marked {record.slug} as sent without sending it.")
    click.echo(f"Recorded {counted(len(records), 'issue')} in manifest.json with no recipients; commit it.")


@main.command()
@click.argument("slugs", nargs=-1, metavar="[SLUG]...")
@click.option("-y", "--yes", is_flag=True, help="Send without asking for confirmation (for CI).")
@click.option("--dry-run", is_flag=True,
              help="Write every message that would be sent as an .eml file instead; records nothing.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              help=f"Folder for --dry-run messages (default: {DRY_RUN_DIR}).")
@click.option("--to", "test_to", multiple=True, metavar="ADDR",
              help="Send a [TEST] copy to ADDR only (repeatable); records nothing.")
@click.option("--resend", is_flag=True, help="Send SLUG again although manifest.json says it was sent.")
@click.option("--mark-sent", is_flag=True,
              help="Record the SLUGs (or every issue due) in manifest.json as sent, without sending them.")
@click.option("--all-due", is_flag=True,
              help="On the first send of a newsletter, send every issue due, however many.")
@click.option("--resend-uncertain", is_flag=True,
              help="Mail again the recipients of SLUG (or of every issue) left uncertain, same Message-ID.")
@now_option("Send (scheduled posts dated before it are due)")
@click.option("--rate", type=click.FloatRange(min=0, min_open=True), metavar="N",
              help="At most N messages a second (overrides smtp.rate).")
@click.pass_obj
def send(root: Path, slugs: tuple[str, ...], yes: bool, dry_run: bool, out: Path | None,
         test_to: tuple[str, ...], resend: bool, mark_sent: bool, all_due: bool, resend_uncertain: bool,
         now: datetime | None, rate: float | None) -> None:
    """Send due issues (or the issue SLUG) to every subscriber over SMTP, exactly once.

    Issues are sent oldest first, and each is recorded in manifest.json when every recipient is
    done. A send that is stopped (Ctrl-C, a crash, a lost connection) continues where it stopped
    when run again: nobody gets an issue twice. The SMTP password is read from the environment
    variable named by smtp.password_env. Issues dated before [send] since are never sent; the first
    send of a newsletter with more than one issue due asks for --all-due.

    \b
    Example:
        newsletter send --dry-run
        newsletter send rejekts-2025-day-two --to me@example.com
        newsletter send --mark-sent old-post another-old-post
        NEWSLETTER_SMTP_PASSWORD=... newsletter send --yes
        NEWSLETTER_SMTP_PASSWORD=... newsletter send --resend-uncertain rejekts-2025-day-two
    """
    from ..send import SendLock, SendMode, execute_plan, prepare_send, transports_for

    if mark_sent:
        if dry_run or test_to or resend or all_due or resend_uncertain:
            raise click.UsageError("--mark-sent cannot be used with --dry-run, --to, --resend, --all-due "
                                   "or --resend-uncertain")
        _mark_sent(root, slugs, now)
        return
    if len(slugs) > 1:
        raise click.UsageError("name one issue to send (several SLUGs are only for --mark-sent)")
    slug = slugs[0] if slugs else None
    if dry_run and test_to:
        raise click.UsageError("--dry-run and --to cannot be used together")
    if out is not None and not dry_run:
        raise click.UsageError("--out is only for --dry-run")
    if resend_uncertain and (dry_run or test_to or resend):
        raise click.UsageError("--resend-uncertain cannot be used with --dry-run, --to or --resend")
    mode = SendMode.DRY_RUN if dry_run else SendMode.TEST if test_to else SendMode.SEND
    folder = (out.absolute() if out else root / DRY_RUN_DIR) if dry_run else None
    load_config(root)  # outside a newsletter, say so before the lock makes a .newsletter/ folder
    with contextlib.ExitStack() as held:
        if mode is SendMode.SEND:
            lock = held.enter_context(SendLock(root))
            if lock.took_over is not None:
                click.echo(f"warning: {lock.shown}: took over a stale lock left by "
                           f"{lock.took_over.describe()}, which is no longer running", err=True)
        plan = prepare_send(root, slug, now=now, mode=mode, test_to=test_to, resend=resend, rate=rate,
                            all_due=all_due, resend_uncertain=resend_uncertain)
        report_warnings(plan.warnings)
        for note in plan.notes:
            click.echo(f"note: {note}", err=True)
        if not plan.issues:
            click.echo("Nothing to send: no recipient is uncertain." if resend_uncertain else
                       "Nothing to send: every published issue is in manifest.json.")
            return
        _describe_plan(plan, folder)
        _confirm(plan, yes)
        progress = _SendProgress()
        with _stop_on_signal() as stop:
            try:
                results = execute_plan(plan, transports_for(plan, folder), on_issue=progress.start,
                                       progress=progress.update, stop=stop)
            finally:
                progress.finish()
    finished = [_report_result(plan, result, folder) for result in results]
    _report_to_list_server(plan, results)
    if not all(finished):
        sys.exit(1)


def _report_to_list_server(plan: SendPlan, results: list[IssueResult]) -> None:
    """Tell the list server ([subscribers] source) which addresses refused mail for good, so it lists them no more."""
    from ..errors import SubscriberError
    from ..send import SendMode
    from ..send.listserver import report_suppressions

    source = plan.config.subscribers.source if plan.config.subscribers is not None else ""
    refused = sorted({address for result in results for address, _ in result.failed})
    if plan.mode is not SendMode.SEND or not source or not refused:
        return
    try:
        known = report_suppressions(plan.config, refused, "bounce")
    except SubscriberError as error:
        click.echo(f"warning: {error}; the refused addresses were not reported", err=True)
        return
    click.echo(f"Reported {len(refused)} refused addresses to the list server ({known} were on its list).")

