"""Remember bounces and complaints reported after a send: what `newsletter bounces` does.

reports.py reads one message (a delivery report, a feedback-loop complaint, or neither); imap.py
and maildir.py read the mailbox they arrive in; ledger.py remembers what was processed and what
each issue drew; process.py ties them together and writes the suppression and unsubscribe lists.
Only the ledger is imported here, so that `newsletter status` does not load the mail libraries.
"""

from __future__ import annotations

from .ledger import IssueBounces, Outcome, bounce_counts

__all__ = ["IssueBounces", "Outcome", "bounce_counts"]
