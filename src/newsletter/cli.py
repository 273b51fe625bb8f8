"""The `newsletter` command: parse options, call the library, report."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

import click

from . import __version__
from .build import build as build_site
from .errors import NewsletterError
from .scaffold import create_newsletter, create_post


def _fail(error: NewsletterError) -> None:
    for line in str(error).splitlines():
        click.echo(f"error: {line}", err=True)
    sys.exit(1)


def _report_warnings(warnings) -> None:  # type: ignore[no-untyped-def]
    for warning in warnings:
        click.echo(f"warning: {warning}", err=True)


def _parse_now(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"expected an ISO date or datetime like 2025-04-01T09:00+02:00, got {value!r}")
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
        raise click.BadParameter(f"expected YYYY-MM-DD, got {day!r}", param_hint="--date")
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
@click.pass_obj
def build(root: Path, out: Path | None, drafts: bool, now_text: str | None, clean: bool) -> None:
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
    try:
        result = build_site(root, out.absolute() if out else None, drafts=drafts, now=now, clean=clean)
    except NewsletterError as error:
        _fail(error)
    _report_warnings(result.warnings)
    plural = "issue" if result.issues == 1 else "issues"
    warned = f", {len(result.warnings)} warning{'s' if len(result.warnings) != 1 else ''}" if result.warnings else ""
    try:
        shown = result.out.relative_to(Path.cwd())
    except ValueError:
        shown = result.out
    click.echo(f"Built {result.issues} {plural} ({result.files} files) into {shown}/ "
               f"in {result.seconds:.2f} s{warned}.")
