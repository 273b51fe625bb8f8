"""Read one message from the bounce mailbox: a delivery report, a complaint, or something else.

Delivery reports come in many shapes: RFC 3464 delivery-status notifications (Postfix, Gmail,
Microsoft, Amazon SES, newer Exim) and older home-grown ones (Exim's X-Failed-Recipients, qmail's
text ...). flufl.bounce, Mailman's detector set, tells which recipients failed for good and which
only for now; this is the one module that imports it. The standard library's email package then
reads what the report itself says about each recipient (Status, Diagnostic-Code), and the returned
message's headers say which issue it was. Complaints from feedback loops (ARF, RFC 5965) are a
report of their own kind, read here with the email package. A message that is none of these is
"not understood" and is never touched.
"""

from __future__ import annotations

import email
import email.parser
import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import Message
from email.utils import getaddresses, parseaddr

from flufl.bounce import all_failures

from .ledger import Outcome

# Our own Message-IDs, as send/message.py makes them: <slug.20-hex-digits@domain>, the digits
# telling one recipient's copy from another's.
_OUR_MESSAGE_ID = re.compile(r"<([a-z0-9]+(?:-[a-z0-9]+)*)\.([0-9a-f]{20})@[^<>\s]+>")
_OUR_MESSAGE_ID_BYTES = re.compile(_OUR_MESSAGE_ID.pattern.encode("ascii"))
# Feedback types (RFC 5965, section 7.3) that mean "the recipient does not want this mail".
_COMPLAINTS = frozenset({"abuse", "fraud"})


@dataclass(frozen=True)
class Finding:
    """One recipient a report is about."""

    address: str
    outcome: Outcome
    reason: str


@dataclass(frozen=True)
class Report:
    """What one message in the bounce mailbox says; no findings means it was not understood."""

    token: str                       # what identifies the message between runs
    findings: tuple[Finding, ...]
    issue: str = ""                  # the slug of the issue it is about, when the returned headers say
    copy: str = ""                   # which recipient's copy it returns: the digits of our Message-ID

    @property
    def understood(self) -> bool:
        return bool(self.findings)


def message_token(message_id: str | None, data: bytes) -> str:
    """The report's Message-ID, or a hash of its bytes when it has none."""
    cleaned = " ".join((message_id or "").split())
    return cleaned if cleaned else "sha256:" + hashlib.sha256(data).hexdigest()


def header_token(head: bytes) -> str:
    """The token of a message from its header block alone (as an IMAP server returns it)."""
    parsed = email.parser.BytesHeaderParser().parsebytes(head)
    return " ".join(str(parsed.get("Message-ID", "")).split())


Parts = dict[str, list[Message]]


def _parts_by_type(message: Message) -> Parts:
    """Every part of *message* by content type, found in one walk (asking a part its type is slow)."""
    found: Parts = {}
    for part in message.walk():
        found.setdefault(part.get_content_type(), []).append(part)
    return found


def _text(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if isinstance(payload, bytes):
        return payload.decode(part.get_content_charset() or "utf-8", "replace")
    return str(part.get_payload())


def _returned_headers(parts: Parts) -> Iterator[Message]:
    """The header blocks of the returned message: a message/rfc822 part or a text/rfc822-headers part."""
    for part in parts.get("message/rfc822", ()):
        inner = part.get_payload()
        if isinstance(inner, list) and inner and isinstance(inner[0], Message):
            yield inner[0]
    for part in parts.get("text/rfc822-headers", ()):
        yield email.parser.HeaderParser().parsestr(_text(part))


def _issue(data: bytes, parts: Parts) -> tuple[str, str]:
    """The slug of the issue a report is about and which copy, from the Message-ID of ours it returns or quotes.

    Whatever the shape (a returned message/rfc822 or text/rfc822-headers part, In-Reply-To, or the
    message quoted as plain text as Exim and qmail do), the Message-ID is there as it was sent, so
    the raw report is searched first; only an encoded text part needs decoding.
    """
    found = _OUR_MESSAGE_ID_BYTES.search(data)
    if found:
        return found.group(1).decode("ascii"), found.group(2).decode("ascii")
    for kind, found_parts in parts.items():
        for part in found_parts if kind.startswith("text/") else ():
            match = _OUR_MESSAGE_ID.search(_text(part))
            if match:
                return match.group(1), match.group(2)
    return "", ""


def _recipient_fields(parts: Parts) -> dict[str, tuple[str, str]]:
    """(Status, Diagnostic-Code) for each recipient a delivery-status part lists, by lower-cased address."""
    fields: dict[str, tuple[str, str]] = {}
    for part in parts.get("message/delivery-status", ()):
        blocks = part.get_payload()
        for block in blocks if isinstance(blocks, list) else ():
            if not isinstance(block, Message):
                continue
            status = " ".join(str(block.get("Status", "")).split())
            diagnostic = " ".join(str(block.get("Diagnostic-Code", "")).split())
            for name in ("Original-Recipient", "Final-Recipient"):
                value = str(block.get(name, ""))
                address = parseaddr(value.split(";", 1)[-1])[1].lower()
                if address:
                    fields.setdefault(address, (status, diagnostic))
    return fields


def _soft_status(status: str) -> bool:
    # 4.x.x is transient by definition (RFC 3463); X.2.2 is a full mailbox, which empties again.
    return status.startswith("4.") or status[1:6] == ".2.2"


def _bounces(message: Message, parts: Parts) -> list[Finding]:
    try:
        temporary, permanent = all_failures(message)
    except (LookupError, TypeError, ValueError, AttributeError, UnicodeError):
        return []  # a detector choked on a malformed message: leave it for a person to read
    fields = _recipient_fields(parts)
    subject = " ".join(str(message.get("Subject", "")).split())
    findings = []
    for raw, failed_for_good in [(a, False) for a in sorted(temporary)] + [(a, True) for a in sorted(permanent)]:
        address = raw.decode("ascii", "replace")
        status, diagnostic = fields.get(address.lower(), ("", ""))
        outcome = Outcome.HARD if failed_for_good and not _soft_status(status) else Outcome.SOFT
        reason = diagnostic or (f"status {status}" if status else subject) or "delivery failed"
        findings.append(Finding(address, outcome, reason))
    return findings


def _complaints(parts: Parts) -> list[Finding] | None:
    """The complainants of an ARF report, or None when the message is not one."""
    reports = parts.get("message/feedback-report", [])
    if not reports:
        return None
    findings = []
    for part in reports:
        payload = part.get_payload()
        # The email package reads the report's fields as a message of their own (or leaves the text).
        fields = payload[0] if isinstance(payload, list) and payload else None
        if not isinstance(fields, Message):
            fields = email.message_from_string(_text(part))
        kind = str(fields.get("Feedback-Type", "")).strip().lower()
        if kind not in _COMPLAINTS:
            continue
        recipients = [address for _, address in getaddresses(fields.get_all("Original-Rcpt-To", []))]
        if not recipients:  # optional in the report: the returned message says whom it was sent to
            for block in _returned_headers(parts):
                recipients += [address for _, address in getaddresses(block.get_all("To", []))]
        agent = " ".join(str(fields.get("User-Agent", "")).split())
        reason = f"complaint ({kind})" + (f" via {agent}" if agent else "")
        # Some feedback loops hide the address (RFC 6590): then only the returned Message-ID tells
        # whose copy it was (process.py), and a finding without an address waits for that.
        findings += [Finding(address, Outcome.COMPLAINT, reason)
                     for address in [a for a in recipients if "@" in a] or [""]]
    return findings


def read_report(data: bytes) -> Report:
    """Read one message from the bounce mailbox."""
    message = email.message_from_bytes(data)
    token = message_token(message.get("Message-ID"), data)
    parts = _parts_by_type(message)
    complaints = _complaints(parts)
    findings = complaints if complaints is not None else _bounces(message, parts)
    if not findings:
        return Report(token, ())
    return Report(token, tuple(findings), *_issue(data, parts))
