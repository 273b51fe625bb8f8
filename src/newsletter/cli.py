"""The `newsletter` command: parse options, call the library, report."""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from . import __version__
from .build.engine import build as build_site
from .config import PREVIEW_HOST, PREVIEW_PORT, load_config
from .errors import NewsletterError, Problem
from .layout import DRY_RUN_DIR
from .scaffold import create_newsletter, create_post

# Commands import the stage they drive (delivery, check, serve) when they run: `newsletter build`
# starts faster without the sending, checking and preview machinery.
if TYPE_CHECKING:
    from .send import (
        IssuePlan,
        IssueResult,
        PostStatus,
        Progress,
        SendPlan,
        Transport,
    )


def _fail(error: NewsletterError) -> None:
    for line in str(error).splitlines():
        click.echo(f"error: {line}", err=True)
    sys.exit(1)


def _report_warnings(warnings: Iterable[Problem]) -> None:
    for warning in warnings:
        click.echo(f"warning: {warning}", err=True)


def _parse_now(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"expected an ISO date or datetime like 2025-04-01T09:00+02:00, got {value!r}",
                                 param_hint="--now") from None
    return when


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="newsletter")
@click.option("-C", "--dir", "root", type=click.Path(file_okay=False, path_type=Path), default=".",
              show_default=True, help="The newsletter folder (the one with newsletter.toml).")
@click.pass_context
def main(ctx: click.Context, root: Path) -> None:
    """Write a newsletter in Markdown; publish it as a web archive, emails and feeds.

    \b
    Example:
        newsletter init my-letter && cd my-letter
        newsletter new "Rejekts 2025 — Day Two"
        newsletter build
    """
    ctx.obj = root.absolute()


@main.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path), default=".")
@click.option("--title", default="My Newsletter", show_default=True, help="The newsletter's title.")
@click.option("--url", default="https://example.com/newsletter/", show_default=True,
              help="Where the web archive will live (absolute).")
def init(directory: Path, title: str, url: str) -> None:
    """Create a new newsletter: newsletter.toml, posts/ with one example post, .gitignore.

    \b
    Example:
        newsletter init ship-it-weekly --title "Ship It Weekly" --url https://example.com/news/
    """
    try:
        created = create_newsletter(directory, title=title, url=url, today=datetime.now().date())
    except NewsletterError as error:
        _fail(error)
    for path in created:
        click.echo(f"created {path}")
    click.echo(f"Next: cd {directory} && newsletter build")


@main.command()
@click.argument("slug", required=False)
@click.option("--host", default=PREVIEW_HOST, show_default=True,
              help="Address to listen on. Anything but 127.0.0.1 shows your drafts to other machines.")
@click.option("--port", type=click.IntRange(0, 65535), default=PREVIEW_PORT, show_default=True,
              help="Port to listen on; 0 picks a free one.")
@click.option("--drafts/--no-drafts", default=True, show_default=True,
              help="Show drafts too. Scheduled issues are always shown.")
@click.option("--open/--no-open", "open_browser", default=True, show_default=True,
              help="Open the preview in your web browser.")
@click.pass_obj
def preview(root: Path, slug: str | None, host: str, port: int, drafts: bool, open_browser: bool) -> None:
    """Serve the newsletter on this machine and reload open pages on every save.

    Each issue's page shows the email at 600 px and 375 px, light, dark and force-darkened,
    with its plain-text part, headers, size against Gmail's 102 KB clip and the build's
    warnings. The whole site is served too. Builds go to a temporary folder; dist/ is not
    touched. Stop with Ctrl-C.

    \b
    Example:
        newsletter preview
        newsletter preview rejekts-2025-day-two --no-open
        newsletter preview --port 8001 --no-drafts
    """
    from .preview import run_preview

    try:
        run_preview(root, slug=slug, host=host, port=port, drafts=drafts, open_browser=open_browser,
                    report=lambda text, err=False: click.echo(text, err=err))
    except NewsletterError as error:
        _fail(error)


class _BuildProgress:
    """A progress bar on a terminal, shown only once a build has taken more than a second."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.bar: Any = None
        self.shown = 0

    def __enter__(self) -> _BuildProgress:
        return self

    def update(self, done: int, total: int) -> None:
        if self.bar is None:
            if not sys.stderr.isatty() or time.monotonic() - self.started < 1.0:
                return
            self.bar = click.progressbar(length=total, label="Building", show_pos=True, file=sys.stderr)
            self.bar.__enter__()
        self.bar.update(done - self.shown)
        self.shown = done

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None

    def __exit__(self, *_: object) -> None:
        self.close()


@main.command()
@click.option("--strict", is_flag=True, help="Count warnings as errors: exit 1 on any finding.")
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="How to print the findings; json is for CI.")
@click.pass_obj
def check(root: Path, strict: bool, output_format: str) -> None:
    """Check posts, emails and feeds for what breaks in inboxes and feed readers; write nothing.

    Prints one line per problem (path:line: severity: rule: message) and a summary, and exits 1
    when there are errors (with --strict, warnings too). Switch rules off with [check] ignore in
    newsletter.toml, or with 'check: [rule, ...]' in a post's front matter.

    \b
    Example:
        newsletter check
        newsletter check --strict --format json > check.json
    """
    from .check import check_newsletter

    report = check_newsletter(root)
    click.echo(report.to_json(strict=strict) if output_format == "json" else report.to_text(strict=strict))
    sys.exit(1 if report.failed(strict) else 0)


@main.command()
@click.argument("title")
@click.option("--date", "day", help="Date of the post (YYYY-MM-DD); default today.")
@click.pass_obj
def new(root: Path, title: str, day: str | None) -> None:
    """Create posts/YYYY-MM-DD-slug.md with front matter filled in, and print its path.

    \b
    Example:
        newsletter new "Rejekts 2025 — Day Two"
    """
    try:
        when = datetime.fromisoformat(day).date() if day else datetime.now().date()
    except ValueError:
        raise click.BadParameter(f"expected YYYY-MM-DD, got {day!r}", param_hint="--date") from None
    try:
        path = create_post(root, title, when)
    except NewsletterError as error:
        _fail(error)
    click.echo(path)


@main.command()
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              help="Output folder (default: dist/ in the newsletter folder).")
@click.option("--drafts", is_flag=True, help="Build drafts too (never sent, never in feeds).")
@click.option("--now", "now_text", metavar="DATETIME",
              help="Build as if it were this time (ISO); scheduled posts before it are published.")
@click.option("--clean", is_flag=True, help="Throw away the build cache and build everything afresh.")
@click.option("-j", "--jobs", type=click.IntRange(min=1), help="Processes to build with (default: one per core).")
@click.pass_obj
def build(root: Path, out: Path | None, drafts: bool, now_text: str | None, clean: bool, jobs: int | None) -> None:
    """Build the web archive, the emails and the feeds into dist/.

    The new build is written beside the old one and swapped in at the end, so a failed build
    leaves the previous dist/ untouched.

    \b
    Example:
        newsletter build
        newsletter build --drafts --out /tmp/preview
        newsletter build --now 2025-12-24T09:00+01:00
    """
    now = _parse_now(now_text)
    with _BuildProgress() as progress:
        try:
            result = build_site(root, out.absolute() if out else None, drafts=drafts, now=now, clean=clean,
                                jobs=jobs, progress=progress.update)
        except NewsletterError as error:
            progress.close()
            _fail(error)
    _report_warnings(result.warnings)
    plural = "issue" if result.issues == 1 else "issues"
    warned = f", {len(result.warnings)} warning{'s' if len(result.warnings) != 1 else ''}" if result.warnings else ""
    try:
        shown = result.out.relative_to(Path.cwd())
    except ValueError:
        shown = result.out
    remade = "nothing changed" if result.made == 0 else f"{result.made} remade"
    click.echo(f"Built {result.issues} {plural} ({result.files} files, {remade}) into {shown}/ "
               f"in {result.seconds:.2f} s{warned}.")


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


def _count(number: int, word: str) -> str:
    return f"{number:,} {word}{'' if number == 1 else 's'}"


def _describe_plan(plan: SendPlan, out: Path | None) -> None:
    verb = {"send": "Will send", "dry-run": "Will write", "test": "Will send a test copy of"}[plan.mode]
    for issue in plan.issues:
        whom = ", ".join(s.email for s in issue.recipients) if plan.mode == "test" else _count(
            len(issue.recipients), "recipient")
        resumed = (f" (resuming: {issue.already_done:,} of {issue.total:,} already done)"
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
        click.echo(f"Wrote {_count(result.sent, 'message')} for {slug} into {out / slug if out else ''}/.")
    elif plan.mode == "test":
        click.echo(f"Sent {_count(result.sent, 'test copy')} of {slug}{rate}; nothing recorded.")
    else:
        click.echo(f"Sent {slug} to {_count(result.sent, 'recipient')}{rate}.")
    for address, reply in result.failed:
        click.echo(f"warning: {slug}: {address}: refused by the server: {reply}", err=True)
    for address, reply in result.uncertain:
        why = reply or "the send was stopped after handing the message over"
        click.echo(f"warning: {slug}: {address}: uncertain ({why}); probably delivered, so it is not "
                   "sent again", err=True)
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


@main.command()
@click.argument("slug", required=False)
@click.option("-y", "--yes", is_flag=True, help="Send without asking for confirmation (for CI).")
@click.option("--dry-run", is_flag=True,
              help="Write every message that would be sent as an .eml file instead; records nothing.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              help=f"Folder for --dry-run messages (default: {DRY_RUN_DIR}).")
@click.option("--to", "test_to", multiple=True, metavar="ADDR",
              help="Send a [TEST] copy to ADDR only (repeatable); records nothing.")
@click.option("--resend", is_flag=True, help="Send SLUG again although manifest.json says it was sent.")
@click.option("--now", "now_text", metavar="DATETIME",
              help="Send as if it were this time (ISO): scheduled posts dated before it are due.")
@click.option("--rate", type=click.FloatRange(min=0, min_open=True), metavar="N",
              help="At most N messages a second (overrides smtp.rate).")
@click.pass_obj
def send(root: Path, slug: str | None, yes: bool, dry_run: bool, out: Path | None, test_to: tuple[str, ...],
         resend: bool, now_text: str | None, rate: float | None) -> None:
    """Send due issues (or the issue SLUG) to every subscriber over SMTP, exactly once.

    Issues are sent oldest first, and each is recorded in manifest.json when every recipient is
    done. A send that is stopped (Ctrl-C, a crash, a lost connection) continues where it stopped
    when run again: nobody gets an issue twice. The SMTP password is read from the environment
    variable named by smtp.password_env.

    \b
    Example:
        newsletter send --dry-run
        newsletter send rejekts-2025-day-two --to me@example.com
        NEWSLETTER_SMTP_PASSWORD=... newsletter send --yes
    """
    from .send import (
        DirectoryTransport,
        SendError,
        SendLock,
        execute_plan,
        smtp_transport,
    )
    from .send import prepare_send as plan_send  # records a send that finished before a stop, then plans

    if dry_run and test_to:
        raise click.UsageError("--dry-run and --to cannot be used together")
    if out is not None and not dry_run:
        raise click.UsageError("--out is only for --dry-run")
    mode = "dry-run" if dry_run else "test" if test_to else "send"
    now = _parse_now(now_text)
    folder = (out.absolute() if out else root / DRY_RUN_DIR) if dry_run else None
    lock = SendLock(root) if mode == "send" else None
    finished = True
    try:
        if lock is not None:
            lock.acquire()
            if lock.took_over is not None:
                click.echo(f"warning: {lock.shown}: took over a stale lock left by "
                           f"{lock.took_over.describe()}, which is no longer running", err=True)
        plan = plan_send(root, slug, now=now, mode=mode, test_to=test_to, resend=resend, rate=rate)
        _report_warnings(plan.warnings)
        for note in plan.notes:
            click.echo(f"note: {note}", err=True)
        if not plan.issues:
            click.echo("Nothing to send: every published issue is in manifest.json.")
            return
        _describe_plan(plan, folder)
        if mode != "dry-run" and not yes:
            if not sys.stdin.isatty():
                raise SendError("not sending without confirmation, and there is no terminal to ask on; "
                                "pass --yes to send without asking")
            click.confirm("Send now?", abort=True)
        if folder is not None:
            transport_for: Callable[[IssuePlan], Transport] = lambda issue: DirectoryTransport(
                folder / issue.entry.slug)
        else:
            smtp = smtp_transport(plan)
            transport_for = lambda issue: smtp  # noqa: E731 - one connection, reused across issues
        progress = _SendProgress()
        with _stop_on_signal() as stop:
            try:
                results = execute_plan(plan, transport_for, on_issue=progress.start, progress=progress.update,
                                       stop=stop)
            finally:
                progress.finish()
        for result in results:
            finished = _report_result(plan, result, folder) and finished
    except NewsletterError as error:
        _fail(error)
    finally:
        if lock is not None:
            lock.release()
    if not finished:
        sys.exit(1)


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
        parts.append(f"sent {when} to {sent.sent:,}{extra}")
        if status.edited:
            parts.append("edited since sent")
    if status.in_progress is not None:
        state = status.in_progress
        done = state.count("sent", "failed", "uncertain", "sending")
        parts.append(f"send interrupted after {done:,} recipients; 'newsletter send' continues it")
    if not parts:
        parts.append("not sent")
    return "; ".join(parts)


@main.command()
@click.option("--now", "now_text", metavar="DATETIME",
              help="Show as if it were this time (ISO): which posts are published or scheduled.")
@click.pass_obj
def status(root: Path, now_text: str | None) -> None:
    """List every post: date, draft / scheduled / published, when it was sent and to how many.

    "edited since sent" means the email as it renders now differs from the one recorded in
    manifest.json when it was sent.

    \b
    Example:
        newsletter status
    """
    from .send import post_statuses

    now = _parse_now(now_text)
    try:
        statuses = post_statuses(root, now)
        tz = load_config(root).site.tz
    except NewsletterError as error:
        _fail(error)
    if not statuses:
        click.echo("No posts yet: 'newsletter new TITLE' writes one.")
        return
    width = max(len(s.entry.slug) for s in statuses)
    for item in statuses:
        click.echo(f"{item.entry.post.date.astimezone(tz):%Y-%m-%d}  {item.entry.status:<9}  "
                   f"{item.entry.slug:<{width}}  {_status_detail(item, tz)}")
