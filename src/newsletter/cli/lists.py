"""Commands of the list server: lists serve, lists import, lists export."""

from __future__ import annotations

from pathlib import Path

import click

from ..config import load_config
from .app import main


@main.group()
def lists() -> None:
    """Run the subscription list server and move its list in and out.

    The server takes sign-ups from the form on the site (double opt-in), answers the emails'
    one-click unsubscribe links, and gives `newsletter send` the list when [subscribers] source
    points at it. Settings are in [lists]; secrets in the environment (see the README).

    \b
    Example:
        newsletter lists serve --port 8025
        newsletter lists import old-list.csv
        newsletter lists export backup.csv
    """


@lists.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on: keep 127.0.0.1 behind a TLS proxy on the same machine.")
@click.option("--port", type=click.IntRange(1, 65535), default=8025, show_default=True, help="Port to listen on.")
@click.option("--trusted-proxies", default="127.0.0.1", show_default=True, metavar="ADDRS",
              help="Comma-separated proxy addresses whose X-Forwarded-For is believed ('*' for any).")
@click.pass_obj
def serve(root: Path, host: str, port: int, trusted_proxies: str) -> None:
    """Serve subscribe, confirm, unsubscribe and the list's API until stopped (Ctrl-C).

    \b
    Example:
        NEWSLETTER_LISTS_SECRET=... NEWSLETTER_LISTS_API_TOKEN=... newsletter lists serve
    """
    from ..lists.server import serve as run
    from ..lists.settings import load_settings

    config = load_config(root)
    load_settings(config)  # a missing secret is reported before anything else is said
    click.echo(f"List server for {config.site.title} on http://{host}:{port}/ (public address "
               f"{config.lists.url if config.lists else '?'}); stop with Ctrl-C.", err=True)
    run(config, host, port, trusted_proxies)


@lists.command(name="import")
@click.argument("csv_file", type=click.Path(dir_okay=False, path_type=Path))
@click.pass_obj
def import_(root: Path, csv_file: Path) -> None:
    """Add the addresses of a CSV (header row: email[,name]) as subscribed, consent marked 'imported'.

    Nothing is added unless every row is good; addresses already on the list keep their record.

    \b
    Example:
        newsletter lists import subscribers.csv
    """
    from ..lists.settings import load_settings
    from ..lists.transfer import import_csv

    settings = load_settings(load_config(root), need_api_token=False)
    done = import_csv(settings, csv_file.absolute())
    extra = f", {done.duplicates} duplicate rows skipped" if done.duplicates else ""
    click.echo(f"Imported {done.added} addresses ({done.already} already on the list{extra}).")


@lists.command()
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--sqlite", "sqlite_copy", is_flag=True, help="Write a copy of the database instead of a CSV.")
@click.pass_obj
def export(root: Path, out: Path, sqlite_copy: bool) -> None:
    """Back the list up: every address with its status and consent record, as CSV (or --sqlite).

    Safe while the server runs. Keep backups out of git: they hold personal data.

    \b
    Example:
        newsletter lists export backups/list-$(date +%F).csv
        newsletter lists export --sqlite backups/list.sqlite3
    """
    from ..lists.transfer import database_path
    from ..lists.transfer import export as run

    config = load_config(root)
    count = run(database_path(config), out.absolute(), sqlite_copy=sqlite_copy)
    click.echo(f"Wrote {count} rows to {out}.")
