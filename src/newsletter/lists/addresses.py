"""Check what a subscriber typed: the address (with email-validator, the one module importing it) and the name.

An address is kept as ``newsletter send`` will mail it: the domain in its ASCII (punycode) form,
and only addresses that send accepts too. What is wrong is said in the words *gettext* gives
(the site's language); email-validator's own explanation is English, so it is added only when
*explain* is set (the site is in English).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable

import email_validator

from ..send.subscribers import address_problem

MAX_ADDRESS = 254   # the longest address SMTP can carry (RFC 5321 path limit, less the brackets)
MAX_NAME = 100

Words = Callable[[str], str]


def _english(message: str) -> str:
    return message


def check_address(typed: str, gettext: Words = _english, *, explain: bool = True) -> tuple[str, str | None]:
    """The address to store, and what is wrong with it (None when nothing is)."""
    typed = typed.strip()
    if not typed:
        return "", gettext("Please enter your email address.")
    if len(typed) > MAX_ADDRESS:
        return "", gettext("That address is too long.")
    try:
        checked = email_validator.validate_email(typed, check_deliverability=False)
    except email_validator.EmailNotValidError as error:
        because = f" ({error})" if explain else ""
        return "", gettext("That is not a valid email address.") + because
    address = checked.ascii_email
    if address is None:
        return "", gettext("Please use an address written in plain ASCII letters before the @ sign.")
    if address_problem(address):
        return "", gettext("That is not an address we can send to; please check it.")
    return address, None


def check_name(typed: str, gettext: Words = _english) -> tuple[str, str | None]:
    """The name to store (may be empty), and what is wrong with it (None when nothing is)."""
    name = " ".join(typed.split(" ")).strip()
    if len(name) > MAX_NAME:
        return "", gettext("Please keep the name under %(count)s characters.") % {"count": MAX_NAME}
    # A line break or other control character would let a name add headers to an email.
    if any(unicodedata.category(character).startswith("C") for character in name):
        return "", gettext("The name may not contain line breaks or control characters.")
    return name, None
