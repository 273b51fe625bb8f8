"""What a send puts on the wire for each recipient equals what the slow, obvious way would give.

A send encodes an issue's parts once and fills only the lines that differ per recipient, and it
writes MAIL FROM and RCPT TO without the email package's address parser. These laws say the
shortcuts change no byte.
"""

from __future__ import annotations

import smtplib

from hypothesis import given, settings
from hypothesis import strategies as st

from newsletter.outputs.mime import fill_placeholders, quoted_printable
from newsletter.send.message import BodyTemplate
from newsletter.send.subscribers import _ADDRESS_RE, Subscriber, address_problem, fill_merge_fields
from newsletter.send.transports import smtp_path

_CHARACTERS = st.characters(blacklist_categories=("Cs",))  # what UTF-8 can encode
# What trips quoted-printable and the line split: line ends of every kind, trailing blanks, lone dots,
# '=', long lines, non-ASCII; and the fields themselves, a fallback with a carriage return included.
_PIECES = st.sampled_from([
    "{subscriber.name}", "{subscriber.name|there}", "{subscriber.city|far \r away}", "{unsubscribe_url}",
    "{subscriber.}", "{unsubscribe_url", "\n", "\r\n", "\r", "\n\n", " ", "\t", " \n", ".", "\n.\n", "=",
    "é", "🙂", "x" * 75, "y" * 160, "<a href=\"{unsubscribe_url}\">Unsubscribe</a>",
])
_TEXTS = st.lists(st.one_of(st.text(_CHARACTERS, max_size=12), _PIECES), max_size=24).map("".join)
_VALUES = st.one_of(st.text(_CHARACTERS, max_size=16), st.sampled_from(["", "Zoë & <Bob>", "a\nb", "{unsubscribe_url}"]))


@settings(max_examples=400, derandomize=True)
@given(_TEXTS, _VALUES, st.booleans())
def test_a_part_encoded_once_and_filled_per_line_is_the_filled_part_encoded(text, name, html):
    reader = Subscriber("ann@example.com", (("name", name),))
    link = "https://example.com/unsubscribe?id=a1&list=2"

    def fill(part: str) -> str:
        return fill_placeholders(fill_merge_fields(part, reader, escape=html), link, html=html)

    assert BodyTemplate.compile(text).render(fill) == quoted_printable(fill(text))


def test_only_the_lines_with_something_to_fill_are_left_open():
    body = BodyTemplate.compile("Hello {subscriber.name|there},\n\n" + "A line that is the same for all.\n" * 50
                                + "Unsubscribe: {unsubscribe_url}\n")
    assert [piece for piece in body.pieces if isinstance(piece, str)] == [
        "Hello {subscriber.name|there},\n", "Unsubscribe: {unsubscribe_url}\n"]


@settings(max_examples=100, derandomize=True)
@given(st.from_regex(_ADDRESS_RE, fullmatch=True))
def test_every_address_a_list_may_hold_goes_out_as_smtplib_writes_it(address):
    assert address_problem(address) is None
    assert smtp_path(address) == smtplib.quoteaddr(address) == f"<{address}>"


def test_an_address_of_another_shape_is_left_to_smtplib():
    for address in ("Ann <ann@example.com>", '"ann smith"@example.com', "<>", "ann@[127.0.0.1]"):
        assert smtp_path(address) == smtplib.quoteaddr(address)
