"""Send issues to subscribers exactly once, and say what was sent.

A send is planned first (plan.py: which issues, to whom, every check done before anything goes
out), then carried out recipient by recipient (run.py, sender.py) through a transport
(transports.py): SMTP for real, a folder of .eml files for ``--dry-run``, memory for tests. The
journal (journal.py) records each recipient as it happens; manifest.json (manifest.py) records each
issue once every recipient is done; a lock (lock.py) keeps two sends apart. This module gathers
what the command line uses.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..errors import LockError, ManifestError, SendError
    from .lock import SendLock
    from .mark import mark_sent
    from .plan import IssuePlan, SendMode, SendPlan, plan_send
    from .run import execute_plan, prepare_send, smtp_transport, transports_for
    from .sender import IssueResult, Progress
    from .status import PostStatus, post_statuses
    from .transports import DirectoryTransport, Transport

# Each name is imported from its module when first asked for: `newsletter status` reads records and
# need not load the SMTP machinery.
_HOMES = {
    "LockError": "..errors", "ManifestError": "..errors", "SendError": "..errors",
    "SendLock": ".lock", "mark_sent": ".mark",
    "IssuePlan": ".plan", "SendMode": ".plan", "SendPlan": ".plan", "plan_send": ".plan",
    "execute_plan": ".run", "prepare_send": ".run", "smtp_transport": ".run", "transports_for": ".run",
    "IssueResult": ".sender", "Progress": ".sender",
    "PostStatus": ".status", "post_statuses": ".status",
    "DirectoryTransport": ".transports", "Transport": ".transports",
}

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


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(home, __name__), name)
