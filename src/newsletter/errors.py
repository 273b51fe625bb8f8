"""Errors the library raises for problems in a user's own input.

Every error a user can fix is a ``NewsletterError``; the CLI prints its message (one line per
problem) and exits 1. Anything else is a bug and keeps its traceback.

    NewsletterError
    ├── ConfigError      newsletter.toml is missing, unreadable or invalid
    ├── PostError        one or more posts are invalid (all problems reported together)
    ├── TemplateError    a template does not parse or uses an unknown variable
    ├── BuildError       the outputs could not be written
    ├── SourceError      an input is a link outside the folder, a loop or a special file
    ├── SubscriberError  the subscriber list is unreadable or has a bad row
    ├── ManifestError    manifest.json or a send journal is unreadable
    ├── LockError        another send of this newsletter is running
    ├── SendError        the SMTP server or its settings do not allow sending
    ├── ListsError       the list server's settings, database or CSV cannot be used  (lists/)
    ├── MailboxError     the bounce mailbox (IMAP or Maildir) cannot be read
    └── ServeError       the preview server cannot start                      (preview/server.py)

A transport's per-message outcomes (send/failures.py) are not errors a user sees: the sender
turns them into a recipient's state.
"""

from __future__ import annotations

import reprlib
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

# A value quoted in a message is cut short: a YAML alias can make a few hundred bytes stand for
# billions of list items, and a message must never grow with what it quotes.
_BRIEF = reprlib.Repr()
_BRIEF.maxlevel = 2
_BRIEF.maxstring = _BRIEF.maxother = 80
_BRIEF.maxlong = 40
_BRIEF.maxlist = _BRIEF.maxtuple = _BRIEF.maxdict = _BRIEF.maxset = _BRIEF.maxfrozenset = 4


def shown(value: object) -> str:
    """Write *value* as Python would for a message, cut short where it is long or deep."""
    return _BRIEF.repr(value)


class Severity(StrEnum):
    """How bad a problem is: errors stop a build (and fail a check), warnings only with --strict."""

    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Problem:
    """One thing wrong (or worth a warning) in one file, at one line where there is one.

    The one located diagnostic of the package: loader and build errors, the warnings units return,
    and `check`'s findings. *rule* names the check rule a warning belongs to, so that ``[check]
    ignore`` switches it off wherever it shows up.
    """

    path: Path | str
    message: str
    line: int | None = None
    field: str | None = None
    rule: str | None = None
    severity: Severity = Severity.ERROR

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else f"{self.path}"
        what = f"{self.field}: {self.message}" if self.field else self.message
        if self.rule:
            return f"{where}: {self.severity}: {self.rule}: {what}"
        return f"{where}: {what}"

    def as_dict(self) -> dict[str, object]:
        """The problem as plain data, for JSON reports."""
        return {"path": str(self.path), "line": self.line, "severity": str(self.severity), "rule": self.rule,
                "message": f"{self.field}: {self.message}" if self.field else self.message}


def warning(path: Path | str, message: str, line: int | None, rule: str, field: str | None = None) -> Problem:
    """A problem that does not stop the build, filed under the check rule that covers it."""
    return Problem(path, message, line, field, rule, Severity.WARNING)


class NewsletterError(Exception):
    """A problem in the user's input; its message is fit to show as it is."""

    def __init__(self, message: str | None = None, problems: list[Problem] | None = None) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems or ())
        if message is None:
            message = "\n".join(str(problem) for problem in self.problems)
        super().__init__(message)

    def __reduce__(self) -> tuple[type[NewsletterError], tuple[str, list[Problem]]]:
        # Errors cross from build workers to the builder pickled: keep the located problems.
        return type(self), (str(self), list(self.problems))


class ConfigError(NewsletterError):
    """newsletter.toml is missing, unreadable or invalid."""


class PostError(NewsletterError):
    """One or more posts are invalid."""


class TemplateError(NewsletterError):
    """A template does not parse or refers to something that does not exist."""


class BuildError(NewsletterError):
    """The outputs could not be written."""


class SourceError(NewsletterError):
    """An input file may not be read: a link outside the folder or to a private file, a loop, a FIFO."""


class SubscriberError(NewsletterError):
    """The subscriber list or the unsubscribe list is missing or has bad rows."""


class ManifestError(NewsletterError):
    """manifest.json or a send journal cannot be read or written."""


class LockError(NewsletterError):
    """Another send of the same newsletter is running."""


class SendError(NewsletterError):
    """Sending cannot start (bad settings, nothing to send) or cannot go on (server unreachable)."""


class ListsError(NewsletterError):
    """The list server cannot start, or its database or an imported CSV cannot be used."""


class MailboxError(NewsletterError):
    """The bounce mailbox cannot be reached or read, or its settings are incomplete."""
