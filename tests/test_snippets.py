"""Snippets: Markdown blocks from snippets/ in every issue's page and email, and the card layout."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import feedparser

from newsletter.build.engine import build

NOW = datetime(2025, 6, 1, tzinfo=UTC)

CARD = """\
---
layout: card
title: "Kubernetes for the rest of us"
dates: "12–13 June 2025 · Prague"
price: "€890 per seat"
button: "Book your seat"
link: "https://example.com/courses/k8s"
---
Two days of hands-on labs.
"""


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def letter_with_snippets(newsletter) -> None:
    newsletter.post("2025-04-01-one", "title: One\ndate: 2025-04-01", "The first body.\n")
    newsletter.post("2025-04-02-two", "title: Two\ndate: 2025-04-02", "The second body.\n")
    newsletter.write("snippets/courses.md", CARD)
    newsletter.write("snippets/hello.md", "---\nposition: top\n---\nHello from the *top*.\n")


def test_every_issue_shows_every_snippet_on_the_web_and_in_the_email(newsletter):
    letter_with_snippets(newsletter)
    result = newsletter.run("build")
    assert result.exit_code == 0, result.output
    for slug, body in (("one", "The first body."), ("two", "The second body.")):
        for path in (f"{slug}/index.html", f"email/{slug}.html"):
            html = (newsletter.dist / path).read_text()
            top, own, card = (html.index("Hello from the <em>top</em>."), html.index(f"{body}</p>"),
                              html.index("Kubernetes for the rest of us"))
            assert top < own < card, path
            assert "12–13 June 2025 · Prague" in html and "€890 per seat" in html
            assert "Book your seat</a>" in html and 'href="https://example.com/courses/k8s"' in html
        text = (newsletter.dist / f"email/{slug}.txt").read_text()
        assert text.index("Hello from the top.") < text.index(body) < text.index("Kubernetes for the rest of us")
        assert "Book your seat [" in text and "https://example.com/courses/k8s" in text


def test_feeds_carry_the_issue_without_its_snippets(newsletter):
    letter_with_snippets(newsletter)
    assert newsletter.run("build").exit_code == 0
    feed = feedparser.parse((newsletter.dist / "feed.xml").read_bytes())
    assert not feed.bozo and len(feed.entries) == 2
    for item in feed.entries:
        assert "body." in item.content[0].value
        assert "Kubernetes for the rest of us" not in item.content[0].value
        assert "Hello from" not in item.content[0].value


def test_a_post_leaves_snippets_out_or_picks_them(newsletter):
    letter_with_snippets(newsletter)
    newsletter.post("2025-04-03-none", "title: None\ndate: 2025-04-03\nsnippets: false")
    newsletter.post("2025-04-04-some", "title: Some\ndate: 2025-04-04\nsnippets: [courses]")
    assert newsletter.run("build").exit_code == 0
    for path in ("none/index.html", "email/none.html", "email/none.txt"):
        text = (newsletter.dist / path).read_text()
        assert "Kubernetes for the rest" not in text and "Hello from" not in text, path
    for path in ("some/index.html", "email/some.html"):
        text = (newsletter.dist / path).read_text()
        assert "Kubernetes for the rest" in text and "Hello from" not in text, path


def test_a_post_naming_a_snippet_that_does_not_exist(newsletter):
    letter_with_snippets(newsletter)
    newsletter.post("2025-04-03-bad", "title: Bad\ndate: 2025-04-03\nsnippets: [course]")
    result = newsletter.run("build")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.stderr == ("error: posts/2025-04-03-bad.md:4: snippets: no snippet 'course' (did you mean "
                             "'courses'?); snippets/ has: courses, hello\n")
    assert not newsletter.dist.exists()


def test_a_bad_snippets_value(newsletter):
    newsletter.post("2025-04-03-bad", "title: Bad\ndate: 2025-04-03\nsnippets: 3")
    result = newsletter.run("build")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: posts/2025-04-03-bad.md:4: snippets: expected false, or a list of "
                                    "snippet names")


def test_a_card_without_its_link_and_a_bad_layout(newsletter):
    newsletter.post("2025-04-01-one", "title: One\ndate: 2025-04-01")
    newsletter.write("snippets/courses.md", CARD.replace('link: "https://example.com/courses/k8s"\n', ""))
    newsletter.write("snippets/other.md", "---\nlayout: box\n---\nText.\n")
    result = newsletter.run("build")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.stderr.splitlines() == [
        "error: snippets/courses.md:2: link: a card needs 'link: ...' in the front matter",
        "error: snippets/other.md:2: layout: expected one of text, card, got 'box'",
    ]


def test_snippet_key_errors_name_their_line(newsletter):
    newsletter.post("2025-04-01-one", "title: One\ndate: 2025-04-01")
    newsletter.write("snippets/courses.md", CARD.replace("price:", "prize:").replace('"Book your seat"', "42"))
    newsletter.write("snippets/plain.md", "+++\nposition = \"middle\"\n+++\nText.\n")
    result = newsletter.run("build")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.stderr.splitlines() == [
        "error: snippets/courses.md:5: prize: unknown key (did you mean 'price'?); known keys: layout, position, "
        "title, dates, price, button, link",
        "error: snippets/courses.md:6: button: expected text, got 42; put it in quotes",
        "error: snippets/plain.md:2: position: expected one of bottom, top, got 'middle'",
    ]
    assert not newsletter.dist.exists()


def test_a_snippet_with_front_matter_that_does_not_parse(newsletter):
    newsletter.post("2025-04-01-one", "title: One\ndate: 2025-04-01")
    newsletter.write("snippets/courses.md", "---\ntitle: [unclosed\n---\nText.\n")
    result = newsletter.run("build")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: snippets/courses.md:")
    assert "front matter is not valid YAML" in result.stderr


def _cold(root: Path, tmp_path: Path) -> dict[str, bytes]:
    copy = tmp_path / "cold-copy"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(root, copy, ignore=shutil.ignore_patterns("dist", ".newsletter"))
    build(copy, now=NOW, jobs=1)
    return _files(copy / "dist")


def test_editing_snippets_gives_what_a_cold_build_gives(newsletter, tmp_path):
    letter_with_snippets(newsletter)
    root = newsletter.root
    steps = [
        lambda: newsletter.write("snippets/courses.md", CARD.replace("€890", "€990")),
        lambda: newsletter.write("snippets/footer.md", "Thanks for reading.\n"),
        lambda: (root / "snippets/hello.md").unlink(),
        lambda: newsletter.post("2025-04-01-one", "title: One\ndate: 2025-04-01\nsnippets: false"),
        lambda: newsletter.write("templates/snippet.html", "<div>{{ snippet.name }}: {{ body }}</div>"),
    ]
    build(root, now=NOW, jobs=1)
    first = _files(newsletter.dist)
    build(root, now=NOW, jobs=1)
    assert _files(newsletter.dist) == first  # byte-identical between runs
    for number, step in enumerate(steps):
        step()
        build(root, now=NOW, jobs=1)
        assert _files(newsletter.dist) == _cold(root, tmp_path), f"after step {number}"
        if number == 0:
            assert "€990" in (newsletter.dist / "email/two.html").read_text()
