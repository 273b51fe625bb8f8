"""Commands that make and show the newsletter: init, new, build, preview, check."""

from __future__ import annotations

import ipaddress
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from ..config import PLACEHOLDER_URL, PREVIEW_HOST, PREVIEW_PORT
from .app import main, now_option, report_warnings


@main.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path), default=".")
@click.option("--title", default="My Newsletter", show_default=True, help="The newsletter's title.")
@click.option("--url", default=PLACEHOLDER_URL, show_default=True,
              help="Where the web archive will live (absolute).")
def init(directory: Path, title: str, url: str) -> None:
    """Create a new newsletter: newsletter.toml, posts/ with one example post, .gitignore.

    \b
    Example:
        newsletter init ship-it-weekly --title "Ship It Weekly" --url https://example.com/news/
    """
    from ..scaffold import create_newsletter

    for path in create_newsletter(directory, title=title, url=url, today=datetime.now().date()):
        click.echo(f"created {path}")
    click.echo(f"Next: cd {directory} && newsletter build")


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
    from ..scaffold import create_post

    click.echo(create_post(root, title, when))


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

    def __exit__(self, *_: object) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None


@main.command()
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              help="Output folder (default: dist/ in the newsletter folder).")
@click.option("--drafts", is_flag=True, help="Build drafts too (never sent, never in feeds).")
@now_option("Build (scheduled posts dated before it are published)")
@click.option("--clean", is_flag=True, help="Throw away the build cache and build everything afresh.")
@click.option("-j", "--jobs", type=click.IntRange(min=1), help="Processes to build with (default: one per core).")
@click.pass_obj
def build(root: Path, out: Path | None, drafts: bool, now: datetime | None, clean: bool, jobs: int | None) -> None:
    """Build the web archive, the emails and the feeds into dist/.

    The new build is written beside the old one and swapped in at the end, so a failed build
    leaves the previous dist/ untouched.

    \b
    Example:
        newsletter build
        newsletter build --drafts --out /tmp/preview
        newsletter build --now 2025-12-24T09:00+01:00
    """
    # Imported when used: `newsletter status` and `send` need not load the whole build.
    from ..build.engine import build as build_site

    with _BuildProgress() as progress:
        result = build_site(root, out.absolute() if out else None, drafts=drafts, now=now, clean=clean,
                            jobs=jobs, progress=progress.update)
    report_warnings(result.warnings)
    plural = "issue" if result.issues == 1 else "issues"
    warned = f", {len(result.warnings)} warning{'s' if len(result.warnings) != 1 else ''}" if result.warnings else ""
    try:
        shown = result.out.relative_to(Path.cwd())
    except ValueError:
        shown = result.out
    remade = "nothing changed" if result.made == 0 else f"{result.made} remade"
    click.echo(f"Built {result.issues} {plural} ({result.files} files, {remade}) into {shown}/ "
               f"in {result.seconds:.2f} s{warned}.")


def _is_loopback(host: str) -> bool:
    """Whether *host* is reachable from this machine only (127.0.0.0/8, ::1, localhost)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a name other than localhost may resolve to any address


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
    # Each command imports the stage it drives when it runs: `newsletter build` starts faster.
    from ..preview import run_preview

    if not _is_loopback(host):
        click.echo(f"warning: --host {host}: the preview, drafts and scheduled issues included, is visible "
                   "to every machine that can reach this one on the network; use 127.0.0.1 to keep it "
                   "to yourself", err=True)

    run_preview(root, slug=slug, host=host, port=port, drafts=drafts, open_browser=open_browser,
                report=lambda text, err=False: click.echo(text, err=err))


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
    from ..check import check_newsletter

    report = check_newsletter(root)
    click.echo(report.to_json(strict=strict) if output_format == "json" else report.to_text(strict=strict))
    sys.exit(1 if report.failed(strict) else 0)
