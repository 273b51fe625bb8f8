"""Remember bounces and complaints reported after a send: what `newsletter bounces` does.

reports.py reads one message (a delivery report, a feedback-loop complaint, or neither); imap.py
and maildir.py read the mailbox they arrive in; ledger.py remembers what was processed and what
each issue drew; process.py ties them together and writes the suppression and unsubscribe lists.
"""

from __future__ import annotations

from .ledger import IssueBounces, bounce_counts
from .process import BounceSummary, open_mailbox, process_bounces
from .reports import Outcome, Report, read_report

__all__ = ["BounceSummary", "IssueBounces", "Outcome", "Report", "bounce_counts", "open_mailbox",
           "process_bounces", "read_report"]
