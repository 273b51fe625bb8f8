"""What the list server does for each request, apart from HTTP: check, record, queue an email, answer a page.

The web framework (app.py) only reads requests and writes these answers. Every refusal is a page
with a 4xx status that says what to do, and leaves the database as it was.
"""

from __future__ import annotations

import hmac
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from functools import partial
from urllib.parse import parse_qs, urlsplit

from .addresses import check_address, check_name
from .limits import Window
from .mailer import Mailer, confirmation_message, welcome_message
from .pages import Page, Pages
from .settings import ListSettings
from .store import Request, Status, Store, active_csv
from .tokens import UNSUBSCRIBE_RE, ConfirmClaim

MAX_FORM_BYTES = 8 * 1024
MAX_API_BYTES = 1024 * 1024
MAX_PAGE_URL = 2000
_HONEYPOT = "website"   # a field people never see (hidden by the form's CSS) and bots fill in


@dataclass(frozen=True)
class Answer:
    """An API answer: status and a JSON body."""

    status: int
    body: dict[str, object]


def form_fields(content_type: str, body: bytes) -> dict[str, str] | None:
    """The fields of a form body (urlencoded or multipart), first value of each; None when it does not parse."""
    if content_type.split(";")[0].strip().lower() == "multipart/form-data":
        message = BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + content_type.encode("latin-1")
                                                      + b"\r\n\r\n" + body)
        if not message.is_multipart():
            return None
        fields: dict[str, str] = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True)
            if isinstance(name, str) and isinstance(payload, bytes):
                fields.setdefault(name, payload.decode("utf-8", "replace"))
        return fields
    try:
        parsed = parse_qs(body.decode("utf-8"), keep_blank_values=True, strict_parsing=bool(body),
                          max_num_fields=20)
    except (UnicodeDecodeError, ValueError):
        return None
    return {name: values[0] for name, values in parsed.items()}


def _source_page(value: str) -> str | None:
    """The page a form was sent from, as stored; None when it is not an http(s) URL."""
    value = value.strip()
    if not value:
        return ""
    parts = urlsplit(value)
    if len(value) > MAX_PAGE_URL or parts.scheme not in ("http", "https") or not parts.netloc \
            or any(character.isspace() or ord(character) < 32 for character in value):
        return None
    return value


@dataclass
class ListService:
    """The list server's behaviour, given its settings, database, templates and mailer."""

    settings: ListSettings
    store: Store
    pages: Pages
    mailer: Mailer
    clock: Callable[[], float] = time.time
    per_ip: Window = field(init=False)
    per_address: Window = field(init=False)

    def __post_init__(self) -> None:
        lists = self.settings.lists
        self.per_ip = Window(lists.per_ip_per_hour, 3600)
        self.per_address = Window(lists.per_address_per_day, 86400)

    def refuse(self, status: int, message: str) -> Page:
        """A page saying what went wrong; *message* is in the site's language already."""
        words = self.pages
        titles = {404: words.gettext("Link not found"), 410: words.gettext("Link no longer valid"),
                  413: words.gettext("Too much data"), 415: words.gettext("Not a form"),
                  429: words.gettext("Too many requests")}
        return self.pages.page(status, "error", titles.get(status) or words.gettext("That did not work"), message)

    def _thanks(self) -> Page:
        words = self.pages
        return self.pages.page(200, "done", words.gettext("Check your inbox"),
                               words.gettext("If the address can receive email, a message with a confirmation "
                                             "link is on its way. Open the link to start receiving the newsletter."))

    def subscribe(self, fields: dict[str, str] | None, ip: str) -> Page:
        """Record a subscription request and queue its confirmation email; the same answer for every address."""
        words = self.pages
        if not self.per_ip.allow(ip, self.clock()):
            return self.refuse(429, words.gettext("Too many requests from your network; please try again in an "
                                                  "hour."))
        if fields is None:
            return self.refuse(400, words.gettext("The form could not be read; please go back and send it again."))
        if fields.get(_HONEYPOT, "").strip():
            return self._thanks()   # a bot: it learns nothing, and nothing is stored
        address, problem = check_address(fields.get("email", ""), words.gettext, explain=words.english)
        name, name_problem = check_name(fields.get("name", ""), words.gettext)
        page = _source_page(fields.get("page", ""))
        if problem or name_problem or page is None:
            wrong = problem or name_problem or words.gettext("The page address sent with the form is not valid.")
            return self.refuse(400, wrong + " " + words.gettext("Please go back and correct it."))
        wording = self.pages.wording
        pending = self.store.request(Request(address, name, page, wording))
        if pending.should_mail and self.per_address.allow(address.lower(), self.clock()):
            token = self.settings.signer.confirm_token(pending.id, pending.nonce, self.clock())
            self.mailer.post(address, partial(self._confirmation, name, address, token, wording))
        return self._thanks()

    def confirm(self, token: str) -> Page:
        """Confirm a subscription from the link in its email; then queue the welcome email."""
        words = self.pages
        claim = self.settings.signer.check_confirm(token, self.clock())
        if not isinstance(claim, ConfirmClaim):
            if claim == "expired":
                return self.refuse(410, words.gettext("This confirmation link has expired; please subscribe "
                                                      "again."))
            return self.refuse(400, words.gettext("This confirmation link is not valid; please copy the whole "
                                                  "link from the email, or subscribe again."))
        confirmed = self.store.confirm(claim.row, claim.nonce)
        if confirmed is None:
            return self.refuse(410, words.gettext("This confirmation link was already used or is no longer valid. "
                                                  "If you are not receiving the newsletter, please subscribe "
                                                  "again."))
        address, name = confirmed
        if self.settings.lists.welcome:
            self.mailer.post(address, partial(self._welcome, name, address))
        return self.pages.page(200, "done", words.gettext("You are subscribed"),
                               words.gettext("Thank you for confirming. The next issue will reach you by email."))

    def _confirmation(self, name: str, address: str, token: str, wording: str) -> bytes:
        return confirmation_message(self.pages, (name, address), f"{self.settings.base_url}confirm/{token}",
                                    self.settings.lists.confirm_hours, wording)

    def _welcome(self, name: str, address: str) -> bytes:
        return welcome_message(self.pages, (name, address), self.settings.signer.unsubscribe_token(address))

    def unsubscribe_page(self, token: str) -> Page:
        """The page behind an email's unsubscribe link: one button."""
        words = self.pages
        if not UNSUBSCRIBE_RE.fullmatch(token):
            return self.refuse(400, words.gettext("This unsubscribe link is not complete; please copy the whole "
                                                  "link from the email."))
        if not self.store.knows_token(token):
            return self.refuse(404, words.gettext("This unsubscribe link does not belong to an address on the "
                                                  "list."))
        question = words.gettext("Stop receiving %(title)s by email?") % {"title": self.settings.config.site.title}
        return self.pages.page(200, "unsubscribe", words.gettext("Unsubscribe"), question,
                               action=f"{self.settings.base_url}unsubscribe/{token}")

    def unsubscribe(self, token: str, fields: dict[str, str] | None) -> Page:
        """Unsubscribe at once (RFC 8058 one-click, or the button of the page)."""
        words = self.pages
        if not UNSUBSCRIBE_RE.fullmatch(token):
            return self.refuse(400, words.gettext("This unsubscribe link is not complete."))
        if fields is None or fields.get("List-Unsubscribe") != "One-Click":
            return self.refuse(400, words.gettext("An unsubscribe request must send %(field)s.")
                               % {"field": "List-Unsubscribe=One-Click"})
        if not self.store.unsubscribe(token):
            return self.refuse(404, words.gettext("This unsubscribe link does not belong to an address on the "
                                                  "list."))
        return self.pages.page(200, "done", words.gettext("You are unsubscribed"),
                               words.gettext("You will not receive the newsletter any more."))

    def authorized(self, header: str) -> bool:
        """Whether an Authorization header carries the API's bearer token."""
        scheme, _, token = header.partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode(),
                                                                  self.settings.api_token.encode())

    def subscribers_csv(self) -> Iterator[bytes]:
        """The active list as CSV (email,name), some thousands of rows at a time."""
        yield b"email,name\r\n"
        for text in active_csv(self.settings.database):
            yield text.encode("utf-8")

    def suppress(self, body: bytes) -> Answer:
        """Mark reported bounces and complaints: {"suppressions": [{"email": ..., "reason": "bounce"}]}."""
        try:
            entries = json.loads(body)["suppressions"]
            chosen = [(str(entry["email"]), Status.COMPLAINED if entry.get("reason") == "complaint"
                       else Status.BOUNCED, str(entry.get("reason", "bounce"))[:200]) for entry in entries]
        except (ValueError, KeyError, TypeError, AttributeError):
            return Answer(400, {"error": 'expected {"suppressions": [{"email": "...", "reason": "bounce"}]}'})
        return Answer(200, {"suppressed": self.store.suppress(chosen), "received": len(chosen)})
