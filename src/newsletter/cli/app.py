"""The `newsletter` group: the folder option, the shared options, and where library errors are shown.

Commands raise the library's ``NewsletterError`` as it is; the group prints it as one
``error:`` line per problem and exits 1, so no command needs a try block of its own.
"""

from __future__ import annotations

import atexit
import gc
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import click

from .. import __version__
from ..errors import NewsletterError, Problem

F = TypeVar("F", bound=Callable[..., Any])


class _Newsletter(click.Group):
    """A group whose commands' library errors become one line each on stderr and exit code 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except NewsletterError as error:
            for line in str(error).splitlines():
                click.echo(f"error: {line}", err=True)
            ctx.exit(1)


def report_warnings(warnings: Iterable[Problem]) -> None:
    for warning in warnings:
        # A warning filed under a check rule says so ('path:line: warning: rule: ...'), which is
        # the id `[check] ignore` takes; the others are marked at the start.
        click.echo(str(warning) if warning.rule else f"warning: {warning}", err=True)


def _parse_now(ctx: click.Context, param: click.Parameter, value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"expected an ISO date or datetime like 2025-04-01T09:00+02:00, got {value!r}",
                                 ctx=ctx, param=param) from None


def now_option(purpose: str) -> Callable[[F], F]:
    """--now DATETIME, parsed once; a time without an offset is in the newsletter's time zone."""
    return click.option("--now", "now", metavar="DATETIME", callback=_parse_now,
                        help=f"{purpose} as if it were this time (ISO; without an offset, in site.timezone).")


@click.group(cls=_Newsletter, context_settings={"help_option_names": ["-h", "--help"]})
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


def counted(number: int, word: str) -> str:
    """Write *number* and *word*, with an s when there is not exactly one."""
    return f"{number:,} {word}{'' if number == 1 else 's'}"


def run(**options: Any) -> None:
    """Run the `newsletter` command in a process that ends when it returns: the console script."""
    atexit.register(_skip_the_last_collection)
    main(**options)


def _skip_the_last_collection() -> None:
    # As it exits, Python collects garbage once more, walking every object left: after a build that
    # is a large heap with nothing to free (a tenth of a second at 1,000 issues). Frozen, it is left.
    gc.freeze()
