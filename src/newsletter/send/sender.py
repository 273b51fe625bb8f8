"""Send one issue recipient by recipient: retries with back-off, a steady rate, the journal, exactly once.

Every recipient's fate is written to the issue's journal (journal.py) as it happens, so a send
stopped at any moment resumes with the recipients not yet done.

Exactly once, and the one moment it cannot be promised
------------------------------------------------------
A message is the server's once it has read the final "." of DATA; we learn that when its reply
arrives. The journal is written on both sides of that moment: an attempt record ("sending") just
before the final "." goes out, and the outcome ("sent", "failed", ...) once the reply is read.
If the sending process dies between the two, the journal shows an attempt with no outcome, and
the next run treats that recipient as *uncertain*: the server most likely accepted the message
(it had all of it), so it is not sent again, and the recipient is reported by name so the writer
can decide. This is at-most-once for that instant: a duplicate is never sent; the price is that a
process killed in the microseconds between writing the attempt and writing the "." leaves one
recipient reported as uncertain who did not get the issue. The attempt record is fsync'd while
the server processes the message, so even a power cut can at worst leave that one message
unrecorded (then sent again) if it falls between the "." and that fsync.

That fsync is the only one a recipient costs. A "sent" record is written at once but made durable
by the next recipient's attempt fsync (an fsync covers everything written to the file before it),
or by the "complete" record, or by closing the journal. A killed process loses nothing written;
only a power cut in that moment can lose the last "sent" record, and then the recipient reads as
an attempt with no outcome: uncertain, as above, never forgotten.

A connection lost after the "." and a timeout waiting for the reply (the timeout is long, ten
minutes, as RFC 5321 section 4.5.3.2.6 advises) are the same uncertainty seen from a live process:
the server had the whole message and may have committed it. All three cases follow one policy,
``[send] uncertain`` (config.UncertainPolicy): "skip" (the default) counts the recipient as
probably delivered and reports it; "resend" mails it again, with the same Message-ID, at once when
the process is alive and on the next run after a kill, so that nobody is missed and a rare second
copy carries the id mail systems use to fold duplicates.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from ..config import UncertainPolicy
from ..errors import SendError
from ..site import Entry
from .failures import PermanentFailure, TransientFailure, UncertainDelivery
from .journal import Journal, RecipientState
from .manifest import SentIssue
from .message import IssueMail
from .subscribers import Subscriber
from .transports import Handover, Transport

SENDING, SENT, FAILED = RecipientState.SENDING, RecipientState.SENT, RecipientState.FAILED
DEFERRED, RETRY, UNCERTAIN = RecipientState.DEFERRED, RecipientState.RETRY, RecipientState.UNCERTAIN


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to try a message again after a transient failure."""

    tries: int = 5
    base_delay: float = 1.0
    max_delay: float = 60.0

    def delay(self, attempt: int) -> float:
        """Seconds to wait after the *attempt*-th failure (1, 2, 4, ... times the base)."""
        return min(self.max_delay, self.base_delay * 2 ** (attempt - 1))


@dataclass(frozen=True)
class Progress:
    """How far the send of one issue is, reported after every recipient."""

    slug: str
    done: int
    total: int
    sent: int
    failed: int
    elapsed: float

    @property
    def rate(self) -> float:
        return self.done / self.elapsed if self.elapsed > 0 else 0.0


@dataclass(frozen=True)
class IssueResult:
    """What one run did with one issue."""

    entry: Entry
    sent: int
    failed: tuple[tuple[str, str], ...]
    uncertain: tuple[tuple[str, str], ...]
    deferred: tuple[tuple[str, str], ...]
    complete: bool
    stopped: bool
    seconds: float
    recorded: SentIssue | None = None
    unsure: int = 0     # recipients uncertain so far in the issue's send, this run's and earlier ones

    @property
    def messages(self) -> int:
        return self.sent + len(self.failed)


class _Pacer:
    """Hold messages to at most *rate* a second, without bursting to catch up after a slow patch."""

    def __init__(self, rate: float | None, clock: Callable[[], float], sleep: Callable[[float], None]) -> None:
        self.interval = 1.0 / rate if rate else 0.0
        self.clock = clock
        self.sleep = sleep
        self.next_at: float | None = None

    def wait(self) -> None:
        if not self.interval:
            return
        now = self.clock()
        if self.next_at is not None and self.next_at > now:
            self.sleep(self.next_at - now)
            now = self.next_at
        self.next_at = now + self.interval


@dataclass
class Sender:
    """Send one issue's messages through a transport, journalling each recipient when a journal is given."""

    transport: Transport
    journal: Journal | None = None
    rate: float | None = None
    retry: RetryPolicy = RetryPolicy()
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    now: Callable[[], datetime] = lambda: datetime.now(UTC)
    progress: Callable[[Progress], None] | None = None
    stop: Callable[[], bool] = lambda: False
    uncertain: UncertainPolicy = UncertainPolicy.SKIP
    # Told of each refusal for good before the journal records it (run.py suppresses the address).
    refused: Callable[[str, PermanentFailure], None] | None = None

    def _record(self, record: dict[str, object], *, sync: bool = True) -> None:
        if self.journal is not None:
            self.journal.append(record, sync=sync)

    def _sync(self) -> None:
        if self.journal is not None:
            self.journal.sync()

    def send_one(self, mail: IssueMail, subscriber: Subscriber, pacer: _Pacer) -> tuple[str, str]:
        """Try one recipient until it is sent, refused, uncertain, or out of tries; return (state, reply)."""
        address = subscriber.email
        data = mail.message(subscriber, self.now())
        attempt = 0
        while True:
            attempt += 1
            handed = False

            def before() -> None:
                nonlocal handed
                handed = True
                # Written (not yet fsync'd) just before the final '.', so a process killed after
                # this point finds the recipient "sending" on restart and does not send again.
                self._record({"type": SENDING, "to": address}, sync=False)

            pacer.wait()
            try:
                self.transport.send(mail.envelope_from, address, data, Handover(before, self._sync))
            except TransientFailure as failure:
                if handed:
                    # The server said no (or never said yes) after the hand-over: not delivered.
                    self._record({"type": RETRY, "to": address, "reply": failure.reply})
                self.transport.reset()
                if attempt >= self.retry.tries:
                    if failure.connecting:
                        raise SendError(f"{failure.reply}; gave up after {attempt} tries. "
                                        "Run 'newsletter send' again later to continue where it stopped") from None
                    self._record({"type": DEFERRED, "to": address, "reply": failure.reply})
                    return DEFERRED, failure.reply
                self.sleep(self.retry.delay(attempt))
                continue
            except PermanentFailure as failure:
                if failure.whole:
                    raise SendError(f"the server refuses to send anything from {mail.envelope_from}: "
                                    f"{failure.reply}; nothing more was sent. Fix the cause and run "
                                    "'newsletter send' again to continue") from None
                if self.refused is not None:
                    self.refused(address, failure)
                self._record({"type": FAILED, "to": address, "reply": failure.reply})
                return FAILED, failure.reply
            except UncertainDelivery as uncertain:
                self._record({"type": UNCERTAIN, "to": address, "reply": uncertain.reply})
                self.transport.reset()
                if self.uncertain is not UncertainPolicy.RESEND or attempt >= self.retry.tries:
                    return UNCERTAIN, uncertain.reply
                # The same bytes again, Message-ID included: a mailbox that got both shows one.
                self.sleep(self.retry.delay(attempt))
                continue
            self._record({"type": SENT, "to": address}, sync=False)  # durable with the next fsync (see above)
            return SENT, ""

    def send_issue(self, mail: IssueMail, recipients: Sequence[Subscriber]) -> IssueResult:
        """Send *mail* to each of *recipients* in order; stop early when asked to."""
        started = self.clock()
        pacer = _Pacer(self.rate, self.clock, self.sleep)
        outcomes: dict[str, list[tuple[str, str]]] = {FAILED: [], UNCERTAIN: [], DEFERRED: []}
        sent = done = 0
        stopped = False
        try:
            for subscriber in recipients:
                if self.stop():
                    stopped = True
                    break
                state, reply = self.send_one(mail, subscriber, pacer)
                done += 1
                if state == SENT:
                    sent += 1
                else:
                    outcomes[state].append((subscriber.email, reply))
                if self.progress is not None:
                    self.progress(Progress(mail.parts.entry.slug, done, len(recipients), sent,
                                           len(outcomes[FAILED]), self.clock() - started))
        finally:
            self.transport.close()
        return IssueResult(entry=mail.parts.entry, sent=sent, failed=tuple(outcomes[FAILED]),
                           uncertain=tuple(outcomes[UNCERTAIN]), deferred=tuple(outcomes[DEFERRED]),
                           complete=not stopped and not outcomes[DEFERRED], stopped=stopped,
                           seconds=self.clock() - started)
