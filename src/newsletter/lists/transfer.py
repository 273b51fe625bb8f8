"""Move a list in and out: import a CSV (consent marked as imported), export every row, or copy the database.

An import checks the whole file first (every bad row named with its line) and adds nothing unless
all rows are good; addresses already on file are left as they are. An export is written to a
temporary file and renamed into place, so a backup is never half-written.
"""

from __future__ import annotations

import csv
import io
import os
import sqlite3
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..errors import ListsError, SubscriberError
from ..files import write_atomically
from ..send.subscribers import parse_subscribers
from .settings import ListSettings, database_path
from .store import COLUMNS, Store, all_rows, connect


@dataclass(frozen=True)
class Imported:
    """What an import did."""

    added: int
    already: int
    duplicates: int


def import_csv(settings: ListSettings, path: Path) -> Imported:
    """Add every address of a CSV with an email column (and optionally name) as confirmed, consent 'imported'."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise ListsError(f"{path}: not found; give the path of a CSV with a header row like 'email,name'") from None
    except UnicodeDecodeError as error:
        raise ListsError(f"{path}: not UTF-8 text ({error.reason} at byte {error.start}); save it as UTF-8") from None
    except OSError as error:
        raise ListsError(f"{path}: cannot be read: {error.strerror}") from None
    try:
        subscribers, _, duplicates, _ = parse_subscribers(text, str(path))
    except SubscriberError as error:
        raise ListsError(str(error)) from None
    store = Store(settings.database, settings.signer.unsubscribe_token)
    try:
        added, already = store.add_imported([(s.email, s.name) for s in subscribers], f"import of {path.name}")
    finally:
        store.close()
    return Imported(added, already, duplicates)


def export_csv(database: Path, out: Path) -> int:
    """Write every row with its consent record to *out* as CSV; how many rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    count = 0
    for row in all_rows(database):
        writer.writerow(row)
        count += 1
    write_atomically(out, buffer.getvalue().encode("utf-8"))
    return count


def copy_database(database: Path, out: Path) -> None:
    """Write a consistent copy of the database to *out* (SQLite's online backup), safe while the server runs."""
    out.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
    os.close(handle)
    try:
        source = connect(database)
        target = sqlite3.connect(temporary)
        try:
            source.backup(target)
        finally:
            target.close()
            source.close()
        os.replace(temporary, out)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def export(database: Path, out: Path, *, sqlite_copy: bool = False) -> int:
    """Back the list up to *out*: CSV of every row, or with *sqlite_copy* a copy of the database; rows written."""
    if not database.exists():
        raise ListsError(f"{database}: no list database here yet; 'newsletter lists serve' or "
                         "'newsletter lists import' creates it")
    if out.resolve() == database.resolve():
        raise ListsError(f"{out}: is the database itself; export to another file")
    if sqlite_copy:
        copy_database(database, out)
        return sum(1 for _ in all_rows(out))
    return export_csv(database, out)


__all__ = ["Imported", "copy_database", "database_path", "export", "export_csv", "import_csv"]
