"""The `newsletter` command: parse options, call one library function, report. The only Click importer.

``app.py`` holds the group and what every command shares; ``site.py`` the commands that make and
show the newsletter; ``sending.py`` the ones that mail it and say what was sent; ``lists.py`` the list server's.
"""

from __future__ import annotations

from . import lists, records, sending, site
from .app import main, run

__all__ = ["lists", "main", "records", "run", "sending", "site"]
