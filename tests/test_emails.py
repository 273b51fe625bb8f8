"""The built email: inlined HTML, plain text and the whole MIME message."""

from __future__ import annotations

import email
import os
import re
from datetime import UTC
from email import policy

import lxml.html
import pytest

from newsletter.config import load_config
from newsletter.outputs import inline, mime

EMAIL_CONFIG = """
[email]
from = "Tess Tester <news@example.com>"
reply_to = "tess@example.com"
unsubscribe_url = "https://example.com/unsubscribe?email={email}"
unsubscribe_mailto = "leave@example.com"
"""

BODY = """\
Opening paragraph with a [relative link](other-post/) and a [footnote](#fn1).

## A talk

![The hall](static/hall.png "Caption")

<img src="static/noalt.png">

```python
print("hi")
```

<iframe src="https://video.example/embed/42" title="Recording"></iframe>
<form action="https://evil.example/"><input name="x"></form>
<p onmouseover="x()">hover</p>
"""


def _build(newsletter, body=BODY, title="Rejekts 2025 — Day Two", config=EMAIL_CONFIG):
    newsletter.write("newsletter.toml", (newsletter.root / "newsletter.toml").read_text() + config)
    newsletter.post("2025-04-01-day-two", f'title: "{title}"\ndate: 2025-04-01 09:30\n'
                    "summary: What happened on day two.", body)
    result = newsletter.run("build")
    assert result.exit_code == 0, result.output
    return result


def test_email_html_is_inlined_absolute_and_safe(newsletter):
    _build(newsletter)
    html = (newsletter.dist / "email/day-two.html").read_text()
    doc = lxml.html.document_fromstring(html)
    assert doc.xpath("//script | //form | //iframe | //input") == []
    assert not [el for el in doc.iter() if isinstance(el.tag, str) and any(a.startswith("on") for a in el.attrib)]
    for img in doc.iter("img"):
        assert img.get("src", "").startswith("https://example.com/letter/")
        assert img.get("alt") is not None
    hrefs = [a.get("href") for a in doc.iter("a")]
    assert "https://example.com/letter/other-post/" in hrefs
    assert "https://example.com/letter/day-two/#fn1" in hrefs  # the web version's anchor
    assert "https://video.example/embed/42" in hrefs
    assert "https://example.com/letter/day-two/" in hrefs  # view in browser
    assert "https://example.com/unsubscribe?email=sample.reader@example.com" in hrefs  # a sample's, complete
    # premailer moved the styles onto the elements, including Pygments' code colours
    assert "font-family" in doc.xpath("//td[contains(@class, 'content')]")[0].get("style")
    assert any("color" in (span.get("style") or "") for span in doc.xpath("//pre//span"))
    assert 'name="color-scheme" content="light dark"' in html
    assert "prefers-color-scheme: dark" in html
    assert "<!--[if mso]>" in html and 'width="600"' in html


def test_preheader_comes_first_and_is_hidden(newsletter):
    _build(newsletter)
    doc = lxml.html.document_fromstring((newsletter.dist / "email/day-two.html").read_text())
    body_text = doc.body.text_content().strip()
    assert body_text.startswith("What happened on day two.")
    preheader = doc.xpath("//div[contains(@class, 'preheader')]")[0]
    assert "display:none" in preheader.get("style").replace(" ", "")


def test_build_warns_about_what_it_removed_and_missing_alt(newsletter):
    result = _build(newsletter)
    assert "posts/2025-04-01-day-two.md: warning: email-removed: removed <iframe> (turned into a link)" in result.stderr
    assert "removed <form>" in result.stderr and "onmouseover" in result.stderr


def test_plain_text_part(newsletter):
    _build(newsletter)
    text = (newsletter.dist / "email/day-two.txt").read_text()
    assert text.startswith("Rejekts 2025 — Day Two\n")
    assert "View it in your browser: https://example.com/letter/day-two/" in text
    assert "A talk\n------" in text
    assert '    print("hi")' in text
    assert "relative link [1]" in text and "[1] https://example.com/letter/other-post/" in text
    assert "Unsubscribe: https://example.com/unsubscribe?email=sample.reader@example.com\n" in text


def test_eml_is_a_complete_multipart_alternative_message(newsletter):
    _build(newsletter)
    raw = (newsletter.dist / "email/day-two.eml").read_bytes()
    message = email.message_from_bytes(raw, policy=policy.default)
    assert message["From"] == "Tess Tester <news@example.com>"
    assert message["To"].addresses[0].addr_spec == "sample.reader@example.com"
    assert message["Subject"] == "Rejekts 2025 — Day Two"
    assert b"Subject: Rejekts 2025 =?utf-8?" in raw  # RFC 2047 for the non-ASCII dash
    assert message["Date"].datetime.isoformat() == "2025-04-01T09:30:00+02:00"
    assert message["Message-ID"].startswith("<day-two.") and message["Message-ID"].endswith(">")
    assert message["MIME-Version"] == "1.0"
    assert message["Reply-To"] == "tess@example.com"
    unsubscribe = message["List-Unsubscribe"]
    assert "<mailto:leave@example.com?subject=unsubscribe>" in unsubscribe
    assert "<https://example.com/unsubscribe?email=sample.reader@example.com>" in unsubscribe
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message.get_content_type() == "multipart/alternative"
    parts = list(message.iter_parts())
    assert [part.get_content_type() for part in parts] == ["text/plain", "text/html"]
    assert "https://example.com/unsubscribe?email=sample.reader@example.com" in parts[1].get_content()
    assert "{unsubscribe_url}" not in parts[0].get_content()
    assert max(len(line) for line in raw.split(b"\r\n")) <= 998


def test_eml_without_https_unsubscribe_has_no_one_click_header(newsletter):
    _build(newsletter, config='\n[email]\nfrom = "T <t@example.com>"\nunsubscribe_mailto = "u@example.com"\n')
    message = email.message_from_bytes((newsletter.dist / "email/day-two.eml").read_bytes(), policy=policy.default)
    assert message["List-Unsubscribe"] == "<mailto:u@example.com?subject=unsubscribe>"
    assert message["List-Unsubscribe-Post"] is None


def test_header_injection_through_the_title_is_impossible(newsletter):
    _build(newsletter, title="Hi\\r\\nBcc: victim@example.com")
    raw = (newsletter.dist / "email/day-two.eml").read_bytes()
    message = email.message_from_bytes(raw, policy=policy.default)
    assert message["Bcc"] is None
    assert b"\r\nBcc:" not in raw


def test_emails_over_gmail_clip_size_warn(newsletter):
    big = "\n\n".join(f"Paragraph {n} " + "with quite a lot of words in it " * 12 for n in range(300))
    result = _build(newsletter, body=big)
    assert "Gmail clips" in result.stderr
    assert (newsletter.dist / "email/day-two.html").stat().st_size > 102 * 1024


def test_a_normal_issue_fits_under_gmail_clip(newsletter):
    result = _build(newsletter)
    assert "Gmail clips" not in result.stderr
    assert (newsletter.dist / "email/day-two.html").stat().st_size < 102 * 1024


def test_raw_img_without_alt_gets_an_empty_one_and_a_warning(newsletter):
    result = _build(newsletter)
    assert "<img src='static/noalt.png'> has no alt attribute" in result.stderr


def test_unsubscribe_urls_stay_plain_on_the_wire_and_escaped_in_html(newsletter):
    config = EMAIL_CONFIG.replace("?email={email}", "?list=ship-it-weekly-and-friends&email={email}&token=x")
    _build(newsletter, config=config)
    raw = (newsletter.dist / "email/day-two.eml").read_bytes()
    url = b"https://example.com/unsubscribe?list=ship-it-weekly-and-friends&email=sample.reader@example.com&token=x"
    assert b"<" + url + b">" in raw  # not folded into RFC 2047 encoded words
    message = email.message_from_bytes(raw, policy=policy.default)
    html = message.get_body(("html",)).get_content()
    assert 'href="https://example.com/unsubscribe?list=ship-it-weekly-and-friends&amp;email=' in html


def test_eml_bytes_are_what_the_standard_generator_writes(newsletter):
    from datetime import datetime

    from newsletter.build.phases import load_site
    from newsletter.outputs.email import build_message, message_bytes, render_email
    from newsletter.render.templates import make_environment

    _build(newsletter, title="Ünïcode — “quoted” & long " + "words " * 20)
    site = load_site(newsletter.root)
    entry = site.entries[0]
    parts = render_email(site, entry, make_environment(site.config))
    message = build_message(site.config, parts, to="Žofie Nováková <zofie@example.com>", message_id="<a@b>",
                            date=datetime(2025, 4, 1, tzinfo=UTC), subject_prefix="[Test] ")
    assert message_bytes(message) == message.as_bytes()
    assert (newsletter.dist / "email/day-two.eml").read_bytes().startswith(b"From: Tess Tester")


def test_header_values_made_from_config_cannot_break_lines(newsletter):
    from datetime import datetime

    import pytest

    from newsletter.build.phases import load_site
    from newsletter.outputs.email import build_message, render_email
    from newsletter.render.templates import make_environment

    _build(newsletter)
    site = load_site(newsletter.root)
    parts = render_email(site, site.entries[0], make_environment(site.config))
    with pytest.raises(ValueError):
        build_message(site.config, parts, to="a@example.com", message_id="<a@b>\r\nBcc: victim@example.com",
                      date=datetime(2025, 4, 1, tzinfo=UTC))


_PAGE = "<html><head><style>p { color: #c00 } .n { margin: 0 }</style></head><body><p class='n'>x</p></body></html>"


def test_a_warmed_premailer_process_inlines_as_premailer_here_does(newsletter):
    config = load_config(newsletter.root)
    with inline.warm_premailer(config) as warm:
        assert warm is not None and warm.serves_this_process()
        assert not inline.starts_slowly("premailer", warm)
        process = warm.process
        assert inline.inline(_PAGE, "premailer", warm) == inline._premailer(_PAGE)
    assert not process.is_alive()


def test_a_warmed_premailer_process_that_died_is_replaced_by_inlining_here(newsletter):
    config = load_config(newsletter.root)
    with inline.warm_premailer(config) as warm:
        assert warm is not None
        warm.process.kill()
        warm.process.join()
        assert inline.inline(_PAGE, "premailer", warm) == inline._premailer(_PAGE)


def test_no_premailer_process_is_warmed_for_css_inline(newsletter):
    config = newsletter.root / "newsletter.toml"
    config.write_text(config.read_text() + '\n[email]\nfrom = "Tess <tess@example.com>"\ninliner = "css-inline"\n')
    with inline.warm_premailer(load_config(newsletter.root)) as warm:
        assert warm is None
    assert not inline.starts_slowly("css-inline", None) and inline.starts_slowly("premailer", None)


def test_importing_premailer_leaves_the_environment_as_it_was(monkeypatch):
    monkeypatch.delenv("PREMAILER_CACHE_MAXSIZE", raising=False)
    inline._premailer_class.cache_clear()
    premailer_class = inline._premailer_class()
    assert "PREMAILER_CACHE_MAXSIZE" not in os.environ
    import premailer.cache
    # The cache was sized when premailer was first imported, in this process or by an earlier test.
    assert premailer.cache.cache.maxsize == 8192 and premailer_class.__name__ == "Premailer"


@pytest.mark.parametrize(("name", "value"), [
    ("From", "Žofie Nováková <zofie@example.com>"),
    ("To", '"Last, First" <first.last@example.com>, Ann <ann@example.org>'),
    ("Subject", "Čtvrtletní přehled: " + "a long subject that has to fold " * 4),
    ("Content-Type", 'multipart/alternative; boundary="=_0123456789abcdef"'),
])
def test_the_message_policy_parses_and_folds_as_the_standard_one(name, value):
    standard = policy.SMTP.fold_binary(name, policy.SMTP.header_store_parse(name, value)[1])
    for _ in range(2):  # the second time from what it remembers
        stored = mime.MESSAGE_POLICY.header_store_parse(name, value)[1]
        assert mime.MESSAGE_POLICY.fold_binary(name, stored) == standard
        assert mime.MESSAGE_POLICY.header_fetch_parse(name, str(stored)) == policy.SMTP.header_fetch_parse(name, str(stored))


# -- finished documents and merge fields --------------------------------------------------------

GREETING = """\
Hi {subscriber.name|there}, greetings to {subscriber.city}.

Second paragraph.
"""


def _eml_parts(dist, slug):
    message = email.message_from_bytes((dist / f"email/{slug}.eml").read_bytes(), policy=policy.default)
    assert message.defects == [] and all(part.defects == [] for part in message.walk())
    html = message.get_body(("html",)).get_content().replace("\r\n", "\n")
    text = message.get_body(("plain",)).get_content().replace("\r\n", "\n")
    return message, html, text


def test_built_html_and_text_are_the_eml_parts_with_nothing_left_to_fill(newsletter):
    _build(newsletter, body=GREETING + BODY)
    message, html, text = _eml_parts(newsletter.dist, "day-two")
    assert (newsletter.dist / "email/day-two.html").read_text(encoding="utf-8") == html
    assert (newsletter.dist / "email/day-two.txt").read_text(encoding="utf-8") == text
    for part in (html, text):
        assert "{unsubscribe_url}" not in part and "{subscriber." not in part
        assert "Hi Sample Reader, greetings to ." in part
        assert "https://example.com/unsubscribe?email=sample.reader@example.com" in part
    assert message["To"].addresses[0].display_name == "Sample Reader"


def test_merge_fields_are_filled_in_email_only_and_give_their_fallback_elsewhere(newsletter):
    _build(newsletter, body=GREETING)
    page = (newsletter.dist / "day-two/index.html").read_text()
    assert "Hi there, greetings to ." in page
    for path in newsletter.dist.rglob("*"):
        if path.is_file() and path.suffix in (".html", ".xml", ".json") and "email" not in path.parts:
            assert "{subscriber." not in path.read_text(encoding="utf-8"), path


TABLE_GREETING = """\
| Greeting | Where |
|----------|-------|
| Hi {subscriber.name|there}! | {subscriber.city|your town} |
"""


def _table_rows(html):
    doc = lxml.html.document_fromstring(html)
    return [[cell.text_content().strip() for cell in row.xpath("td|th")] for row in doc.xpath("//table//tr")
            if row.xpath("ancestor::table[1][not(@role='presentation')]")]


def test_a_merge_field_with_its_fallback_fits_in_a_table_cell(newsletter):
    _build(newsletter, body=TABLE_GREETING)
    _message, html, text = _eml_parts(newsletter.dist, "day-two")
    assert _table_rows(html) == [["Greeting", "Where"], ["Hi Sample Reader!", "your town"]]
    assert "Hi Sample Reader! | your town" in text
    page = (newsletter.dist / "day-two/index.html").read_text(encoding="utf-8")
    assert _table_rows(page) == [["Greeting", "Where"], ["Hi there!", "your town"]]
    assert "{subscriber." not in page


def test_check_warns_about_a_merge_field_without_fallback(newsletter):
    _build(newsletter, body=GREETING)
    result = newsletter.run("check")
    lines = [line for line in result.output.splitlines() if "merge-fallback" in line]
    assert len(lines) == 1
    assert lines[0].startswith("posts/2025-04-01-day-two.md:7: warning: merge-fallback: {subscriber.city}")


def test_sending_fills_each_recipients_value_or_the_fallback(newsletter):
    from datetime import datetime

    from newsletter.build.phases import load_site
    from newsletter.outputs.email import render_email
    from newsletter.render.templates import make_environment
    from newsletter.send.message import IssueMail
    from newsletter.send.subscribers import Subscriber

    _build(newsletter, body=GREETING)
    site = load_site(newsletter.root)
    mail = IssueMail(site.config, render_email(site, site.entries[0], make_environment(site.config)), "run")
    when = datetime(2025, 4, 1, tzinfo=UTC)
    for person, greeting in [(Subscriber("ann@example.com", (("name", "Ann & Co"), ("city", "Brno"))),
                              "Hi Ann & Co, greetings to Brno."),
                             (Subscriber("bob@example.com"), "Hi there, greetings to .")]:
        message = email.message_from_bytes(mail.message(person, when), policy=policy.default)
        assert greeting in message.get_body(("plain",)).get_content()
        assert greeting.replace("&", "&amp;") in message.get_body(("html",)).get_content()
        assert person.email.split("@")[0] in message.get_body(("html",)).get_content()


ENCODED_WORD = re.compile(rb"=\?[^?]+\?[bq]\?[^?]*\?=", re.IGNORECASE)


def test_a_long_non_ascii_subject_is_encoded_words_of_75_characters_at_most(newsletter):
    title = "Čtvrtletní přehled: žluťoučký kůň úpěl ďábelské ódy — 日本語のタイトル 🎉 and more"
    _build(newsletter, title=title)
    raw = (newsletter.dist / "email/day-two.eml").read_bytes()
    head = raw.split(b"\r\n\r\n", 1)[0]
    words = ENCODED_WORD.findall(head)
    assert len(words) > 2 and all(len(word) <= 75 for word in words)
    subject = head.split(b"Subject: ", 1)[1].split(b"\r\nDate:", 1)[0]
    assert all(len(line) <= 78 for line in (b"Subject: " + subject).split(b"\r\n"))
    message = email.message_from_bytes(raw, policy=policy.default)
    assert message["Subject"] == title and message.defects == []
    assert message["Subject"].defects == ()


def test_messages_carry_a_list_id_made_from_the_site(newsletter):
    _build(newsletter)
    message = email.message_from_bytes((newsletter.dist / "email/day-two.eml").read_bytes(), policy=policy.default)
    assert message["List-Id"] == "Test Letter <letter.example.com>"


def test_init_writes_an_unsubscribe_url_without_the_address(tmp_path):
    from datetime import date

    from newsletter.scaffold import create_newsletter

    create_newsletter(tmp_path, title="Mine", url="https://example.com/", today=date(2025, 1, 1))
    config = (tmp_path / "newsletter.toml").read_text()
    assert "unsubscribe?id={token}" in config and "{email}" not in config


TEXT_POST = """\
Finally ~~guess~~ verify. A claim[^1] and [a link](https://example.org/).

## Čaj 🍵 and 日本語

| Name | Count | Where |
|:-----|------:|:-----:|
| tea | 1 | here |
| 日本茶 | 12345 | there |

[^1]: The source of the claim.
"""


def test_the_text_part_keeps_strikethrough_footnotes_alignment_and_widths(newsletter):
    _build(newsletter, body=TEXT_POST, title="Issue 🎉 日本")
    text = (newsletter.dist / "email/day-two.txt").read_text(encoding="utf-8")
    lines = text.split("\n")
    assert lines[:2] == ["Issue 🎉 日本", "=" * 13]  # emoji and CJK take two columns each
    assert "Čaj 🍵 and 日本語\n" + "-" * 17 + "\n" in text
    assert "Finally ~~guess~~ verify." in text
    assert "A claim¹ and a link [1]." in text and "\n¹ The source of the claim." in text
    assert "[^1]" not in text
    table = [line for line in lines if "|" in line]
    assert table == ["Name   | Count | Where",
                     "-------|-------|------",
                     "tea    |     1 | here",
                     "日本茶 | 12345 | there"]
    assert "\n-- \nYou are receiving this" in text  # the signature separator, trailing space and all


SERVICE_TAGS = {
    "mailchimp": ("*|UNSUB|*", "Hi *|IF:FNAME|**|FNAME|**|ELSE:|*there*|END:IF|*, greetings to *|CITY|*."),
    "kit": ("{{ unsubscribe_url }}", 'Hi {{ subscriber.first_name | default: "there" }}, greetings to '
            "{{ subscriber.city }}."),
    "buttondown": ("{{ unsubscribe_url }}", "Hi {% if subscriber.metadata.first_name %}"
                   "{{ subscriber.metadata.first_name }}{% else %}there{% endif %}, greetings to "
                   "{{ subscriber.metadata.city }}."),
    "listmonk": ("{{ UnsubscribeURL }}", "Hi {{ if .Subscriber.FirstName }}{{ .Subscriber.FirstName }}{{ else }}"
                 "there{{ end }}, greetings to {{ .Subscriber.Attribs.city }}."),
    "brevo": ("{{ unsubscribe }}", "Hi {{ contact.FIRSTNAME|default:'there' }}, greetings to {{ contact.CITY }}."),
    "mailerlite": ("{$unsubscribe}", "Hi {$name|default('there')}, greetings to {$city}."),
}


@pytest.mark.parametrize("service", sorted(SERVICE_TAGS))
def test_merge_tags_write_an_email_services_own_tags(newsletter, service):
    unsubscribe, greeting = SERVICE_TAGS[service]
    _build(newsletter, body=GREETING, config=EMAIL_CONFIG + f'merge_tags = "{service}"\n')
    message, html, text = _eml_parts(newsletter.dist, "day-two")
    # The service addresses the message and writes its own List-Unsubscribe: no sample recipient.
    assert "To" not in message and "List-Unsubscribe" not in message and "List-Unsubscribe-Post" not in message
    assert b"sample" not in (newsletter.dist / "email/day-two.eml").read_bytes().lower()
    assert message["From"].addresses[0].addr_spec == "news@example.com" and message["Subject"]
    assert (newsletter.dist / "email/day-two.html").read_text(encoding="utf-8") == html
    assert (newsletter.dist / "email/day-two.txt").read_text(encoding="utf-8") == text
    assert greeting in text and f"Unsubscribe: {unsubscribe}\n" in text
    doc = lxml.html.document_fromstring(html)
    assert greeting in doc.text_content()
    assert unsubscribe in [a.get("href") for a in doc.iter("a")]
    assert "sample.reader" not in html.split("<body", 1)[1]
    assert "Hi there, greetings to ." in (newsletter.dist / "day-two/index.html").read_text()


def test_an_unknown_email_service_is_refused(newsletter):
    newsletter.write("newsletter.toml", (newsletter.root / "newsletter.toml").read_text()
                     + EMAIL_CONFIG + 'merge_tags = "mailgun"\n')
    result = newsletter.run("build")
    assert result.exit_code == 1
    assert "merge_tags" in result.output + result.stderr and "mailchimp" in result.output + result.stderr
