"""What a transport reports about one message; ``SendError`` (errors.py) is what stops a whole send.

These three are never shown as they are: a transport raises them for one message and the sender
decides what they mean for that recipient (try again, record a refusal, or report a probable
delivery).
"""

from __future__ import annotations


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


class UncertainDelivery(Exception):
    """The whole message was handed over but no answer came: it was probably delivered."""

    def __init__(self, reply: str) -> None:
        super().__init__(reply)
        self.reply = reply
