"""Send issues to subscribers exactly once, and say what was sent.

A send is planned first (plan.py: which issues, to whom, every check done before anything goes
out), then carried out recipient by recipient (run.py, sender.py) through a transport
(transports.py): SMTP for real, a folder of .eml files for ``--dry-run``, memory for tests. The
journal (journal.py) records each recipient as it happens; manifest.json (manifest.py) records each
issue once every recipient is done; a lock (lock.py) keeps two sends apart. This module gathers
what the command line uses.
"""

from __future__ import annotations

from ..errors import LockError, ManifestError, SendError
from .lock import SendLock
from .mark import mark_sent
from .plan import IssuePlan, SendMode, SendPlan, plan_send
from .run import execute_plan, prepare_send, smtp_transport, transports_for
from .sender import IssueResult, Progress
from .status import PostStatus, post_statuses
from .transports import DirectoryTransport, Transport

__all__ = [
    "DirectoryTransport",
    "IssuePlan",
    "IssueResult",
    "LockError",
    "ManifestError",
    "PostStatus",
    "Progress",
    "SendError",
    "SendLock",
    "SendMode",
    "SendPlan",
    "Transport",
    "execute_plan",
    "mark_sent",
    "plan_send",
    "post_statuses",
    "prepare_send",
    "smtp_transport",
    "transports_for",
]
