"""Read the subscriber list (CSV) and the unsubscribe list into validated ``Subscriber`` values.

Every bad row is reported at once, naming the file and line. Addresses are compared without regard
to case: a duplicate row is mailed once, and an address on the unsubscribe list or the suppression
list (suppression.py) is never mailed.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass
from email.utils import getaddresses
from pathlib import Path
from typing import Any

from ..config import Config, SubscribersConfig
from ..errors import Problem, SubscriberError
from ..posts import clean_text, one_line
from ..render.merge import fill_merge_fields as fill_fields
from ..render.merge import merge_fields as merge_fields
from .listserver import fetch_subscribers_csv
from .suppression import SuppressionList

# Deliberately stricter than RFC 5321: an ASCII local part without quotes or spaces, and a domain
# of dot-separated labels. Anything else is far more often a typo than a real mailbox.
_ADDRESS_RE = re.compile(
    r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z0-9-]{2,63}$"
)
_FIELD_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")




@dataclass(frozen=True)
class Subscriber:
    """One recipient: a validated address and the other columns of its row, each on one line."""

    email: str
    fields: tuple[tuple[str, str], ...] = ()

    @property
    def key(self) -> str:
        """The address as compared for duplicates and unsubscribes."""
        return self.email.lower()

    @property
    def name(self) -> str:
        return self.get("name")

    def get(self, field: str) -> str:
        """The value of a column ('' when the row has none); 'email' is the address."""
        if field == "email":
            return self.email
        return dict(self.fields).get(field, "")


@dataclass(frozen=True)
class SubscriberList:
    """The recipients of an issue, in file order, and the columns the CSV offers to templates."""

    path: Path
    subscribers: tuple[Subscriber, ...]
    columns: tuple[str, ...]
    duplicates: int = 0
    unsubscribed: int = 0
    suppressed: int = 0


def _ascii_domain(domain: str) -> str | None:
    try:
        return domain.encode("idna").decode("ascii")
    except UnicodeError:
        return None


def address_problem(address: str) -> str | None:
    """Say what is wrong with an address, or None when it is fine to mail."""
    if not address:
        return "is empty"
    if not address.isascii():
        local, _, domain = address.rpartition("@")
        if not local.isascii():
            return f"{address!r} has non-ASCII characters before the @, which most mail servers refuse"
        puny = _ascii_domain(domain)
        return (f"{address!r} has a non-ASCII domain; write it as {local}@{puny}" if puny else
                f"{address!r} has non-ASCII characters; write the domain in its xn-- (punycode) form")
    if not _ADDRESS_RE.fullmatch(address):
        return f"{address!r} is not an address like 'jana@example.com'"
    return None


def parse_recipient(text: str) -> Subscriber:
    """Read one address as given on the command line: 'jana@example.com' or 'Jana Nováková <jana@example.com>'.

    Raise ValueError saying what is wrong. The display name may be any text on one line; it
    becomes the recipient's name.
    """
    if any(ord(char) < 32 or ord(char) == 127 for char in text):
        raise ValueError(f"{text!r} is not an address: it has a line break or control character")
    found = getaddresses([text])
    if len(found) != 1 or not found[0][1]:
        raise ValueError(f"{text!r} is not one address like 'jana@example.com' or 'Jana <jana@example.com>'")
    name, address = found[0]
    problem = address_problem(address)
    if problem:
        raise ValueError(problem)
    return Subscriber(address, (("name", one_line(name).strip()),) if name.strip() else ())


def _display(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


def _read_text(path: Path, shown: str, what: str) -> str:
    try:
        return path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise SubscriberError(f"{shown}: not found; {what}") from None
    except UnicodeDecodeError as error:
        raise SubscriberError(f"{shown}: not UTF-8 text ({error.reason} at byte {error.start}); "
                              "save it as UTF-8") from None
    except OSError as error:
        raise SubscriberError(f"{shown}: cannot be read: {error.strerror}") from None


def read_unsubscribed(path: Path, shown: str) -> set[str]:
    """Lower-cased addresses from an unsubscribe list: one a line; blank lines and '#' lines skipped."""
    text = _read_text(path, shown, "create it (one address a line) or remove 'unsubscribed' from [subscribers]")
    found: set[str] = set()
    problems: list[Problem] = []
    for number, line in enumerate(text.splitlines(), start=1):
        address = line.strip()
        if not address or address.startswith("#"):
            continue
        problem = address_problem(address)
        if problem:
            problems.append(Problem(shown, problem, number))
            continue
        found.add(address.lower())
    if problems:
        raise SubscriberError(problems=problems)
    return found


# Exports from email services name the address column in their own ways (Mailchimp "Email
# Address", Buttondown's newer "email_address", "E-mail"); read as names, they all mean 'email'.
_EMAIL_COLUMNS = ("email_address", "e_mail", "e_mail_address", "emailaddress")
# Without a 'name' column, one is made from these (Mailchimp "First Name"/"Last Name", FNAME/LNAME).
_FIRST_NAME_COLUMNS = ("first_name", "firstname", "fname")
_LAST_NAME_COLUMNS = ("last_name", "lastname", "lname", "surname")


def column_name(header: str) -> str:
    """A header cell as a column name: lower case, spaces, hyphens and dots as underscores."""
    return re.sub(r"[\s.-]+", "_", one_line(header).strip().lower()).strip("_")


def _columns(reader: Iterator[list[str]], shown: str) -> list[str]:
    """Read the header row: column names, one of them 'email', each usable as a merge field."""
    try:
        header = next(reader, None)
    except csv.Error as error:
        raise SubscriberError(f"{shown}:1: not valid CSV: {error}") from None
    if header is None:
        raise SubscriberError(f"{shown}: is empty; the first line must be a header like 'email,name'")
    columns = [column_name(column) for column in header]
    if "email" not in columns:
        alias = next((column for column in _EMAIL_COLUMNS if column in columns), None)
        if alias is None:
            raise SubscriberError(f"{shown}:1: the header row has no 'email' column (nor 'Email Address'); "
                                  "start the file with a header like 'email,name'")
        columns[columns.index(alias)] = "email"
    problems: list[Problem] = []
    for column in columns:
        if not _FIELD_NAME_RE.fullmatch(column):
            problems.append(Problem(shown, f"column name {column!r} must be letters, digits and "
                                    "underscores, so templates can use it as {subscriber.<name>}", 1))
    if len(set(columns)) != len(columns):
        problems.append(Problem(shown, "the header row names a column twice", 1))
    if problems:
        raise SubscriberError(problems=problems)
    return columns


def _rows(reader: Any, shown: str, problems: list[Problem]) -> Iterator[tuple[int, list[str]]]:
    """Yield each row that is not blank with the line it starts on; a CSV error ends the rows, as a problem."""
    line = reader.line_num + 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            problems.append(Problem(shown, f"not valid CSV: {error}", line))
            return
        start, line = line, reader.line_num + 1
        if any(cell.strip() for cell in row):
            yield start, row


def parse_subscribers(text: str, shown: str, unsubscribed: frozenset[str] | set[str] = frozenset()) -> tuple[
        list[Subscriber], tuple[str, ...], int, int]:
    """Parse CSV text into subscribers.

    Return them, the columns, and how many duplicate and unsubscribed rows were dropped.
    """
    reader = csv.reader(text.splitlines(keepends=True), strict=True)
    columns = _columns(reader, shown)
    email_at = columns.index("email")
    others = [(index, column) for index, column in enumerate(columns) if column != "email"]
    name_parts = _name_parts(columns)
    problems: list[Problem] = []
    subscribers: list[Subscriber] = []
    seen: set[str] = set()
    duplicates = dropped = 0
    for start, row in _rows(reader, shown, problems):
        if len(row) != len(columns):
            problems.append(Problem(shown, f"has {len(row)} fields, the header has {len(columns)}", start))
            continue
        address = row[email_at].strip()
        problem = address_problem(address)
        if problem:
            problems.append(Problem(shown, problem, start, "email"))
            continue
        key = address.lower()
        if key in seen:
            duplicates += 1
            continue
        seen.add(key)
        if key in unsubscribed:
            dropped += 1
            continue
        # A value spread over several lines (a quoted field with a newline) is folded onto one line,
        # so nothing from the file can start a new line in a header or the text part.
        fields = tuple((column, one_line(clean_text(row[index])[0])) for index, column in others)
        if name_parts:
            values = dict(fields)
            fields += (("name", " ".join(values[part].strip() for part in name_parts if values[part].strip())),)
        subscribers.append(Subscriber(address, fields))
    if problems:
        raise SubscriberError(problems=problems)
    return subscribers, tuple(columns) + (("name",) if name_parts else ()), duplicates, dropped


def _name_parts(columns: list[str]) -> tuple[str, ...]:
    """The first- and last-name columns a 'name' is made from, when the list has no 'name' column."""
    if "name" in columns:
        return ()
    first = next((column for column in _FIRST_NAME_COLUMNS if column in columns), None)
    if first is None:
        return ()
    last = next((column for column in _LAST_NAME_COLUMNS if column in columns), None)
    return (first, last) if last else (first,)


def load_subscribers(config: Config) -> SubscriberList:
    """Read [subscribers] file, drop duplicates and unsubscribed addresses; every bad row is an error."""
    settings = config.subscribers or SubscribersConfig()
    if settings.source:
        return _load_from_list_server(config, settings)
    path = config.root / settings.file
    shown = _display(path, config.root)
    unsubscribed: set[str] = set()
    if settings.unsubscribed:
        unsubscribed_path = config.root / settings.unsubscribed
        unsubscribed = read_unsubscribed(unsubscribed_path, _display(unsubscribed_path, config.root))
    text = _read_text(path, shown, "create it with a header row 'email,name' and one subscriber a line, "
                                   "or set [subscribers] file in newsletter.toml")
    subscribers, columns, duplicates, dropped = parse_subscribers(text, shown, unsubscribed)
    # Addresses that bounced or were refused for good (suppression.py) are never mailed again.
    suppressed = SuppressionList.of(config).addresses()
    kept = tuple(subscriber for subscriber in subscribers if subscriber.key not in suppressed)
    return SubscriberList(path, kept, columns, duplicates, dropped, len(subscribers) - len(kept))


def fill_merge_fields(text: str, subscriber: Subscriber, *, escape: bool) -> str:
    """Fill {subscriber.<name>} fields with the recipient's values (HTML-escaped when *escape*), or
    their fallbacks where the recipient has none."""
    return fill_fields(text, subscriber.get, escape=escape)


def _load_from_list_server(config: Config, settings: SubscribersConfig) -> SubscriberList:
    """Read the active list from the list server named in [subscribers] source (the unsubscribe file still counts)."""
    unsubscribed: set[str] = set()
    if settings.unsubscribed:
        unsubscribed_path = config.root / settings.unsubscribed
        unsubscribed = read_unsubscribed(unsubscribed_path, _display(unsubscribed_path, config.root))
    shown = settings.source
    subscribers, columns, duplicates, dropped = parse_subscribers(fetch_subscribers_csv(config), shown, unsubscribed)
    return SubscriberList(Path("list server"), tuple(subscribers), columns, duplicates, dropped)
