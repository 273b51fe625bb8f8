"""Signed links: the confirmation token (expiring, used once) and the check of unsubscribe tokens.

A confirmation token is ``<row>.<issued>.<nonce>.<signature>``: the row of the request, when the
link was made (Unix seconds), the request's one-time nonce and an HMAC-SHA256 of the three under the
list server's secret. It names no address. The nonce is cleared when the link is used, which makes
a second use fail; the signature makes a made-up token fail; the time makes an old one fail.
Unsubscribe tokens are made by send (send/listserver.py) and never expire.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass, field
from enum import StrEnum

from ..send.listserver import list_unsubscribe_token

_CONFIRM_PURPOSE = b"confirm\0"
_CONFIRM_RE = re.compile(r"([1-9][0-9]{0,17})\.([0-9]{1,12})\.([A-Za-z0-9_-]{8,64})\.([A-Za-z0-9_-]{43})")
UNSUBSCRIBE_RE = re.compile(r"[A-Za-z0-9_-]{43}")


class TokenProblem(StrEnum):
    """Why a confirmation link does not work."""

    MALFORMED = "malformed"
    FORGED = "forged"
    EXPIRED = "expired"


@dataclass(frozen=True)
class ConfirmClaim:
    """What a valid confirmation token says: which request, with which nonce."""

    row: int
    nonce: str


@dataclass(frozen=True)
class Signer:
    """Makes and checks the list server's tokens with its secret (kept out of reprs)."""

    secret: str = field(repr=False)
    confirm_seconds: int = 48 * 3600

    def _signature(self, payload: str) -> str:
        digest = hmac.new(self.secret.encode("utf-8"), _CONFIRM_PURPOSE + payload.encode("ascii"),
                          hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")

    def confirm_token(self, row: int, nonce: str, now: float) -> str:
        payload = f"{row}.{int(now)}.{nonce}"
        return f"{payload}.{self._signature(payload)}"

    def check_confirm(self, token: str, now: float) -> ConfirmClaim | TokenProblem:
        """The claim of a confirmation token, or why it does not hold."""
        match = _CONFIRM_RE.fullmatch(token)
        if match is None:
            return TokenProblem.MALFORMED
        row, issued, nonce, signature = match.groups()
        if not hmac.compare_digest(signature, self._signature(f"{row}.{issued}.{nonce}")):
            return TokenProblem.FORGED
        if not 0 <= now - int(issued) <= self.confirm_seconds:
            return TokenProblem.EXPIRED
        return ConfirmClaim(int(row), nonce)

    def unsubscribe_token(self, address: str) -> str:
        return list_unsubscribe_token(self.secret, address)
