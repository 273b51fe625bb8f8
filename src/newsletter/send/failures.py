"""What a transport reports about one message; ``SendError`` (errors.py) is what stops a whole send.

These three are never shown as they are: a transport raises them for one message and the sender
decides what they mean for that recipient (try again, record a refusal, or report a probable
delivery).
"""

from __future__ import annotations

import re

# The reply's code and, when the server gives one, its enhanced status code (RFC 3463).
_REPLY_RE = re.compile(r"^(?P<code>[2-5]\d\d)(?:[ -](?P<enhanced>[245]\.\d{1,3}\.\d{1,3})\b)?")
# Without an enhanced code: 550 mailbox unavailable, 551 user not local, 553 mailbox name not allowed.
_ADDRESS_CODES = frozenset({"550", "551", "553"})


class TransientFailure(Exception):
    """The message was not taken this time (4xx, lost connection); it may be tried again."""

    def __init__(self, reply: str, *, connecting: bool = False) -> None:
        super().__init__(reply)
        self.reply = reply
        self.connecting = connecting


class PermanentFailure(Exception):
    """The server refused the message for good (5xx); *whole* when it refuses every message (MAIL FROM)."""

    def __init__(self, reply: str, *, whole: bool = False) -> None:
        super().__init__(reply)
        self.reply = reply
        self.whole = whole

    @property
    def about_address(self) -> bool:
        """Whether the refusal says the address itself is bad, so that it is not worth mailing again.

        An enhanced status code decides when there is one: 5.1.x (no such mailbox or domain) and
        5.2.1 (mailbox disabled) are; a full mailbox, a message too big, or a refusal by policy
        (5.7.x: spam filters, the sender's reputation) are not, since they may pass next time.
        """
        found = _REPLY_RE.match(self.reply)
        if found is None or self.whole:
            return False
        enhanced = found.group("enhanced")
        if enhanced is not None:
            return enhanced.startswith("5.1.") or enhanced == "5.2.1"
        return found.group("code") in _ADDRESS_CODES


class UncertainDelivery(Exception):
    """The whole message was handed over but no answer came: it was probably delivered."""

    def __init__(self, reply: str) -> None:
        super().__init__(reply)
        self.reply = reply
