"""Subscriber lists as email services export them: columns read by name, a name made from first and last."""

from __future__ import annotations

import email
from email import policy

import pytest

from newsletter.errors import SubscriberError
from newsletter.send.subscribers import parse_subscribers
from smtp_server import TOKEN_SECRET, send_config

MAILCHIMP = (
    '"Email Address","First Name","Last Name",Address,"Phone Number",MEMBER_RATING,OPTIN_TIME,TAGS\n'
    'jana@example.com,Jana,Nováková,,,"2","2024-02-01 10:00:00",\n'
    'petr@example.com,Petr,,,,"1","2024-03-01 10:00:00","""vip"""\n'
)
SUBSTACK = (
    "email,active_subscription,expiry,plan,email_disabled,created_at\n"
    "jana@example.com,true,,monthly,false,2024-02-01T10:00:00.000Z\n"
)
BUTTONDOWN = (
    "email_address,notes,metadata,tags,referrer_url,creation_date,type\n"
    "jana@example.com,,{},[],https://example.com/,2024-02-01T10:00:00Z,regular\n"
)
SHOUTING = "EMAIL,FNAME,LNAME\njana@example.com,Jana,Nováková\n"


@pytest.mark.parametrize("text, name", [
    (MAILCHIMP, "Jana Nováková"), (SUBSTACK, ""), (BUTTONDOWN, ""), (SHOUTING, "Jana Nováková"),
])
def test_service_exports_are_read_by_column_name(text, name):
    subscribers, columns, _, _ = parse_subscribers(text, "export.csv")
    assert subscribers[0].email == "jana@example.com"
    assert subscribers[0].name == name
    assert "email" in columns and len(columns) == len(set(columns))


def test_a_mailchimp_export_keeps_its_other_columns_under_plain_names():
    subscribers, columns, _, _ = parse_subscribers(MAILCHIMP, "export.csv")
    assert columns == ("email", "first_name", "last_name", "address", "phone_number", "member_rating",
                       "optin_time", "tags", "name")
    assert [s.name for s in subscribers] == ["Jana Nováková", "Petr"]
    assert subscribers[1].get("tags") == '"vip"' and subscribers[0].get("first_name") == "Jana"


def test_a_name_column_wins_over_first_and_last_names():
    subscribers, columns, _, _ = parse_subscribers("email,name,first_name\njana@example.com,J. N.,Jana\n", "x.csv")
    assert subscribers[0].name == "J. N." and columns == ("email", "name", "first_name")


@pytest.mark.parametrize("header, message", [
    ("Address,Name\n", "the header row has no 'email' column (nor 'Email Address')"),
    ("Email,EMAIL\n", "names a column twice"),
    ("email,Město\n", "column name 'město' must be letters, digits and underscores"),
])
def test_headers_that_cannot_be_read_are_errors_naming_the_line(header, message):
    with pytest.raises(SubscriberError) as caught:
        parse_subscribers(header + "jana@example.com,x\n", "export.csv")
    assert str(caught.value).startswith("export.csv:1: ") and message in str(caught.value)


def test_a_mailchimp_export_is_mailed_with_the_names_it_holds(newsletter, monkeypatch):
    monkeypatch.setenv("NEWSLETTER_TOKEN_SECRET", TOKEN_SECRET)
    config = (newsletter.root / "newsletter.toml").read_text() + send_config(2525, unsubscribed="")
    newsletter.write("newsletter.toml", config)
    newsletter.write("subscribers.csv", MAILCHIMP)
    newsletter.post("2025-04-01-day-two", 'title: "Day Two"\ndate: 2025-04-01', "Hi {subscriber.first_name}.\n")

    result = newsletter.run("send", "--dry-run")

    assert result.exit_code == 0, result.output
    files = sorted((newsletter.root / ".newsletter/dry-run/day-two").glob("*.eml"))
    messages = [email.message_from_bytes(path.read_bytes(), policy=policy.default) for path in files]
    assert [m["To"].addresses[0].display_name for m in messages] == ["Jana Nováková", "Petr"]
    assert "Hi Jana." in messages[0].get_body(("plain",)).get_content()
