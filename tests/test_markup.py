import random
import textwrap

import pytest

from newsletter.outputs.email import mail_safety_warnings
from newsletter.render.mailsafe import Removal, Removed, make_safe
from newsletter.render.text import fill, html_to_text
from newsletter.render.tree import Fragment, rewrite_urls
from newsletter.render.urls import absolute_url, is_elsewhere, is_site_relative, page_relative_url

SITE = "https://example.com/letter/"


class _Safe:
    """An HTML fragment made safe for mail: its HTML and the email's warnings about the changes."""

    def __init__(self, html: str) -> None:
        fragment = Fragment(html)
        self.notes = tuple(note.message for note in mail_safety_warnings(make_safe(fragment), "post.md"))
        self.html = fragment.html()


def make_mail_safe(html: str) -> _Safe:
    return _Safe(html)


@pytest.mark.parametrize("url, expected", [
    ("static/a.png", SITE + "static/a.png"),
    ("/static/a.png", SITE + "static/a.png"),
    ("../static/a.png", SITE + "static/a.png"),
    ("other-post/#part", SITE + "other-post/#part"),
    ("#section", "#section"),
    ("https://elsewhere.org/x", "https://elsewhere.org/x"),
    ("mailto:a@example.com", "mailto:a@example.com"),
    ("//cdn.example.org/x.png", "https://cdn.example.org/x.png"),
    (" //cdn.example.org/x.png", "https://cdn.example.org/x.png"),
    ("{unsubscribe_url}", "{unsubscribe_url}"),
])
def test_absolute_url(url, expected):
    assert absolute_url(url, SITE) == expected


def test_page_relative_url():
    assert page_relative_url("static/a.png", 1) == "../static/a.png"
    assert page_relative_url("/x/", 2) == "../../x/"
    assert page_relative_url("https://a.org/", 1) == "https://a.org/"


def test_rewrite_urls_covers_href_src_and_srcset():
    html = '<p><a href="x/">x</a><img src="a.png" srcset="a.png 1x, b.png 2x" alt=""></p>'
    out = rewrite_urls(html, lambda url: absolute_url(url, SITE))
    assert f'href="{SITE}x/"' in out
    assert f'src="{SITE}a.png"' in out
    assert f'srcset="{SITE}a.png 1x, {SITE}b.png 2x"' in out


def test_rewrite_urls_keeps_leading_text():
    assert rewrite_urls("hello <b>there</b>", lambda url: url) == "hello <b>there</b>"


def test_mail_safe_removes_scripts_forms_and_handlers_and_links_iframes():
    html = ('<p onclick="steal()">Hi<script>alert(1)</script></p>'
            '<form action="/x"><input name="q"></form>'
            '<iframe src="https://video.example/embed/1" title="The talk"></iframe>'
            '<a href="javascript:alert(1)">bad</a>')
    safe = make_mail_safe(html)
    for banned in ("<script", "<form", "<iframe", "onclick", "javascript:", "<input"):
        assert banned not in safe.html
    assert '<a href="https://video.example/embed/1">The talk</a>' in safe.html
    assert any("iframe" in note for note in safe.notes)


def test_mail_safe_notes_follow_the_document_and_miss_no_handler():
    html = ('<a href="javascript:go()">first</a><div onmouseover="x()">second</div>'
            '<img src="a.png"><section><span onclick="y()">third</span></section><embed src="z.swf">')
    safe = make_mail_safe(html)
    assert "onmouseover" not in safe.html and "onclick" not in safe.html and "<embed" not in safe.html
    assert [note.split(" from the email")[0] for note in safe.notes if note.startswith("removed")] == [
        "removed javascript: link on <a>", "removed onmouseover attribute on <div>",
        "removed onclick attribute on <span>", "removed <embed>"]
    assert '<img src="a.png" alt="">' in safe.html


def test_urls_are_rewritten_on_every_element_that_carries_one():
    html = ('<a href="a/">a</a><img src="b.png" srcset="c.png 2x, d.png 3x"><video poster="e.jpg">'
            '<source src="f.mp4"></video><blockquote cite="g/">q</blockquote><iframe src="h/"></iframe>'
            '<svg><image href="i.png"></image><use href="j.svg"></use></svg><math href="k/">x</math>')
    rewritten = rewrite_urls(html, lambda url: "/" + url)
    for url in ("/a/", "/b.png", "/c.png 2x, /d.png 3x", "/e.jpg", "/f.mp4", "/g/", "/h/", "/i.png", "/j.svg", "/k/"):
        assert f'"{url}"' in rewritten


def test_mail_safe_removes_svg_and_mathml_with_their_links():
    safe = make_mail_safe('<math href="javascript:alert(1)">x</math><svg><a href="JavaScript:go()">y</a></svg>'
                          '<p>kept</p>')
    assert safe.html == "<p>kept</p>"
    assert [note.split(" from")[0] for note in safe.notes] == ["removed <math>", "removed <svg>"]


@pytest.mark.parametrize("html, gone", [
    ('<svg><a xlink:href="javascript:go()">y</a></svg>', "javascript"),
    ('<svg><animate attributeName="href" values="javascript:alert(1)"/></svg>', "javascript"),
    ('<math><mi xlink:href="javascript:alert(1)">x</mi></math>', "javascript"),
    ('<base href="https://evil.example/">', "evil"),
    ('<meta http-equiv="refresh" content="0;url=https://evil.example/">', "evil"),
    ('<link rel="stylesheet" href="https://evil.example/s.css">', "evil"),
    ('<a href="data:text/html;base64,PHNjcmlwdD4=">x</a>', "data:"),
    ('<a href="java\tscript:go()">x</a>', "script:"),
    ('<a href=" vbscript:go()">x</a>', "vbscript"),
    ('<p><button formaction="javascript:go()">x</button></p>', "javascript"),
    ('<img src="a.png" alt="" srcset="javascript:go() 2x">', "javascript"),
    ('<img src="data:image/svg+xml;base64,PHN2Zz4=" alt="">', "data:"),
    ('<div formaction="https://evil.example/" style="color: red">x</div>', "evil"),
    ('<q cite="javascript:go()">x</q>', "javascript"),
])
def test_mail_safe_keeps_only_what_it_knows_to_be_safe(html, gone):
    safe = make_mail_safe(html)
    assert gone not in safe.html.lower()
    assert safe.notes and all(note.startswith("removed ") for note in safe.notes)


def test_mail_safe_keeps_ordinary_links_images_and_unknown_elements_content():
    html = ('<p><a href="https://a.org/" title="A">a</a> <a href="mailto:me@example.com">m</a> '
            '<a href="tel:+420123">t</a> <a href="other/#x">o</a> <a href="{unsubscribe_url}">u</a></p>'
            '<img src="data:image/png;base64,iVBORw0KGgo=" alt="dot" srcset="a.png 1x, b.png 2x">'
            '<table><tr><td colspan="2" style="color: red">c</td></tr></table>')
    safe = make_mail_safe(html)
    assert safe.html == html
    assert safe.notes == ()
    custom = make_mail_safe("<p>a <my-widget data-x=\"1\">held <b>text</b></my-widget> b</p>")
    assert custom.html == "<p>a held <b>text</b> b</p>"
    assert custom.notes == ("removed the <my-widget> tags (what they held is kept) from the email: "
                            "mail clients block it",)


def test_a_picture_keeps_its_image_in_mail():
    safe = make_mail_safe('<picture><source srcset="a.webp" type="image/webp"><img src="a.png" alt="A"></picture>'
                          '<p>after</p>')
    assert safe.html == '<img src="a.png" alt="A"><p>after</p>'
    assert [note.split(" from")[0] for note in safe.notes] == [
        "removed the <picture> tags (what they held is kept)", "removed <source>"]


def test_mail_safe_turns_task_checkboxes_into_marks():
    html = ('<ul><li><input type="checkbox" checked disabled> done</li>'
            '<li><input type="checkbox" disabled> open</li></ul>')
    safe = make_mail_safe(html).html
    assert "☑ done" in safe and "☐ open" in safe and "<input" not in safe


def test_plain_text_keeps_structure_and_numbers_links():
    html = ("<h2>A talk</h2><p>See <a href='x/'>this</a> and <a href='https://a.org/'>that</a>.</p>"
            "<ul><li>one</li><li>two</li></ul><pre><code>kubectl get pods\n</code></pre>"
            "<blockquote><p>quoted</p></blockquote>")
    text, links = html_to_text(html, SITE)
    assert "A talk\n------" in text
    assert "See this [1] and that [2]." in text
    assert "- one\n- two" in text
    assert "    kubectl get pods" in text
    assert "> quoted" in text
    assert links == [SITE + "x/", "https://a.org/"]


def test_plain_text_wraps_long_paragraphs_but_not_urls():
    text, _ = html_to_text("<p>" + "word " * 40 + "https://example.com/" + "x" * 90 + "</p>", SITE)
    lines = text.split("\n")
    assert all(len(line) <= 72 for line in lines if "https://" not in line)
    assert any(line.endswith("x" * 90) for line in lines)


def test_fill_lays_out_lines_as_textwrap_does_without_breaking_words():
    rng = random.Random(5)
    for _ in range(2000):
        words = ["w" * rng.choice([1, 3, 7, 20, 75]) for _ in range(rng.randint(1, 30))]
        first, indent = rng.choice([("", ""), ("- ", "  "), ("10. ", "    "), ("  ", "  ")])
        expected = textwrap.fill(" ".join(words), 72, initial_indent=first, subsequent_indent=indent,
                                 break_long_words=False, break_on_hyphens=False)
        assert fill(words, 72, first, indent) == expected


def test_style_code_turns_token_classes_into_inline_styles():
    fragment = Fragment('<pre class="highlight"><code class="language-yaml"><span class="nt">key</span>'
                        '<span class="p">:</span> <span class="l l-Scalar">v</span></code></pre>'
                        '<p><span class="nt">prose</span></p>')
    html = fragment.style_code({"nt": "color: #008000", "l": "color: #BA2121"}).html()
    assert '<span style="color: #008000">key</span>:' in html
    assert '<span style="color: #BA2121">v</span>' in html
    assert '<span class="nt">prose</span>' in html


@pytest.mark.parametrize("url, site_relative, elsewhere", [
    ("static/a.png", True, False),
    ("../x/", True, False),
    ("#top", False, False),
    ("{unsubscribe_url}", False, False),
    ("//cdn.example.org/a.png", False, True),
    (" https://a.org/", False, True),
    ("mailto:a@example.com", False, True),
    ("", False, False),
])
def test_one_helper_tells_what_kind_of_link_a_url_is(url, site_relative, elsewhere):
    assert is_site_relative(url) is site_relative
    assert is_elsewhere(url) is elsewhere


def test_scheme_relative_links_take_the_site_scheme_in_email_text_and_stay_on_pages():
    html = '<p><a href="//cdn.example.org/doc">doc</a><img src="//cdn.example.org/a.png" alt="a"></p>'
    text, links = html_to_text(html, SITE)
    assert links == ["https://cdn.example.org/doc"] and "doc [1]" in text
    assert absolute_url("//cdn.example.org/a.png", "http://localhost:8000/") == "http://cdn.example.org/a.png"
    assert page_relative_url("//cdn.example.org/a.png", 1) == "//cdn.example.org/a.png"


def test_make_safe_returns_what_it_removed_as_records():
    fragment = Fragment('<p onclick="x()">a</p><a href=" JavaScript:go()">b</a><iframe src="v/"></iframe>'
                        '<img src="a.png"><script>1</script>')
    changes = make_safe(fragment)
    assert changes.removed == (
        Removed(Removal.EVENT_HANDLER, "p", "onclick"),
        Removed(Removal.SCRIPT_LINK, "a", "href", " JavaScript"),
        Removed(Removal.IFRAME, "iframe"),
        Removed(Removal.ELEMENT, "script"),
    )
    assert changes.alt_added == ("a.png",)
    assert "<script" not in fragment.html() and '<a href="v/">v/</a>' in fragment.html()


def test_the_email_warnings_name_each_change_in_document_order():
    html = ('<p onclick="x()">a</p><a href="javascript:go()">b</a><iframe src="v/"></iframe><img src="a.png">'
            '<form><input name="q"></form>')
    safe = make_mail_safe(html)
    assert "<form" not in safe.html and 'alt=""' in safe.html
    assert safe.notes == (
        "<img src='a.png'> has no alt attribute; describe the image with alt=\"...\" (an empty one was added)",
        "removed onclick attribute on <p> from the email: mail clients block it",
        "removed javascript: link on <a> from the email: mail clients block it",
        "removed <iframe> (turned into a link) from the email: mail clients block it",
        "removed <form> from the email: mail clients block it",
    )
