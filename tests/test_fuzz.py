"""Generated input of every kind: each build ends in success or a one-line error, within 10 s and 500 MB.

Hypothesis makes newsletters out of front matter (YAML and TOML, well and badly formed, with
aliases, odd types and odd characters), Markdown bodies with raw HTML, and config values; each is
built by the command itself in a child process under a time and memory limit. The examples are
drawn from a fixed seed and their number is bounded, so that the test takes the same time on
every run.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from limits import run_limited

EXAMPLES = 16

# Characters that have broken readers and writers before: line and paragraph separators, C0 and
# C1 controls, a byte-order mark, a lone surrogate's neighbours, quotes and YAML indicators.
_ODD = st.sampled_from(["\u2028", "\u2029", "\x85", "\x00", "\x07", "\x1b", "\x7f", "\x9f", "\ufeff", "\ufffe",
                        "\r", "\t", "\\", '"', "'", "&", "*", "!", "|", ">", "%", "@", "`", "{", "}", "[", "]",
                        ":", "#", "---", "+++", "\ud7ff", "\U0001f600", "é", "Ž"])
_TEXT = st.lists(st.one_of(st.text(max_size=12), _ODD), max_size=8).map("".join)

_YAML_VALUES = st.one_of(
    _TEXT.map(json.dumps),
    _TEXT,
    st.integers(min_value=-10**30, max_value=10**30).map(str),
    st.sampled_from(["2025-04-01", "2025-02-30", "2025-04-01 09:30", "2025-04-01T09:30:00+02:00", "0001-01-01",
                     "9999-12-31", "true", "no", "null", "~", "[]", "{}", "[a, b]", "{a: 1}", ".nan", "-.inf",
                     "&anchor [1, 2]", "*anchor", "!!python/object/apply:os.system ['true']", "!!binary aGk=",
                     "|\n  block\n  text", ">-\n  folded", '"unterminated', "[" * 60 + "]" * 60, "x" * 5000]),
)
_KEYS = st.one_of(st.sampled_from(["title", "date", "summary", "tags", "slug", "draft", "author", "image",
                                   "preheader", "updated", "id", "feed", "check", "tittle", "categories"]),
                  _TEXT.filter(lambda key: key.strip() != ""))

_HTML = st.sampled_from([
    "<embed src=x.swf>", "<source src=a.mp4>", "<track>", "<wbr>", "<keygen>", "<picture><source srcset=a.webp>"
    "<img src=a.png></picture>", "<svg><a href='javascript:go()'>x</a><animate values='javascript:1'/></svg>",
    "<math><mi xlink:href='javascript:1'>x</mi></math>", "<base href='https://evil.example/'>",
    "<meta http-equiv=refresh content='0;url=https://evil.example/'>", "<link rel=stylesheet href=x.css>",
    "<a href='data:text/html,x'>d</a>", "<button formaction='javascript:1'>b</button>",
    "<img src=a.png srcset='javascript:1 2x'>", "<script>alert(1)</script>", "<iframe src=https://v.example/>",
    "<form><input name=q><textarea>t</textarea></form>", "<style>p{color:red}</style>", "<!-- comment -->",
    "</body></html>", "<table><tr><td>cell", "<div>" * 150, "</div>" * 150, "<p onclick=x()>p</p>",
    "<input type=checkbox checked>", "&#0;", "&#x110000;", "&nbsp;", "<![CDATA[x]]>", "<?pi x?>",
])
_MARKDOWN = st.sampled_from([
    "# Heading", "## Sub", "- item", "1. one", "> quote", "> " * 120 + "deep", "```python\nprint(1)\n```",
    "```\nunclosed", "| a | b |\n|---|---|\n| 1 | 2 |", "[^1]\n\n[^1]: note", "![alt](static/x.png 'title')",
    "![](http://images.example/a.jpg)", "[link](../../etc/passwd)", "[js](javascript:alert(1))", "- [x] done",
    "~~strike~~", "**bold** _em_", "{subscriber.name|there}", "{unsubscribe_url}", "---", "+++",
])
_BODY = st.lists(st.one_of(_TEXT, _HTML, _MARKDOWN), max_size=10).map("\n\n".join)


_ODD_TEXT = st.lists(st.one_of(_ODD, st.text(max_size=6)), min_size=1, max_size=6).map("".join)


@st.composite
def _front_matter(draw: st.DrawFn) -> str:
    """Mostly valid front matter with odd text in its values, now and then a wild key or value."""
    if draw(st.integers(0, 9)) == 0:  # TOML
        title = json.dumps(draw(_ODD_TEXT))
        deep = draw(st.sampled_from(["", "x = " + "[" * 1000 + "]" * 1000 + "\n", "x = 1\nx = 2\n"]))
        return f"+++\ntitle = {title}\ndate = 2025-04-01\n{deep}+++\n"
    lines = {"title": json.dumps(draw(_ODD_TEXT)), "date": "2025-04-01"}
    for key in draw(st.lists(st.sampled_from(["summary", "author", "preheader", "tags", "slug", "image", "id"]),
                             max_size=3, unique=True)):
        if key == "tags":
            lines[key] = json.dumps(draw(st.lists(_ODD_TEXT, min_size=1, max_size=3)))
        elif key == "slug":
            lines[key] = draw(st.sampled_from(["ok-slug", "a" * 300, "Bad Slug", "'x\\n'", "index"]))
        else:
            lines[key] = json.dumps(draw(_ODD_TEXT))
    if draw(st.integers(0, 3)) == 0:
        lines[draw(_KEYS)] = draw(_YAML_VALUES)
    text = "".join(f"{key}: {value}\n" for key, value in lines.items())
    return f"---\n{text}---\n"


_CONFIG_VALUES = st.one_of(_TEXT.map(json.dumps), st.integers(-10**20, 10**20).map(str),
                           st.sampled_from(["true", "[]", "{}", "1.5", "inf", "nan", "1979-05-27", '"Europe/Prague"',
                                            '"../../etc/passwd"', '"https://example.com/x/"', '"ftp://x/"',
                                            "[" * 50 + "]" * 50, '"x@y"', '"Name <a@b.example>"']))


@st.composite
def _config(draw: st.DrawFn) -> str:
    site = {"title": '"Fuzz"', "url": '"https://example.com/letter/"'}
    email: dict[str, str] = {}
    if draw(st.booleans()):
        site["title"] = json.dumps(draw(_ODD_TEXT))
        email["from"] = json.dumps(draw(_ODD_TEXT) + " <news@example.com>")
    for _ in range(draw(st.integers(0, 2))):
        section = draw(st.sampled_from(["site", "email"]))
        key = draw(st.sampled_from(["title", "url", "description", "language", "timezone", "author", "page_size"]
                                   if section == "site" else ["from", "reply_to", "unsubscribe_url", "inliner"]))
        (site if section == "site" else email)[key] = draw(_CONFIG_VALUES)
    text = "[site]\n" + "".join(f"{key} = {value}\n" for key, value in site.items())
    if email:
        email.setdefault("from", '"News <news@example.com>"')
        text += "[email]\n" + "".join(f"{key} = {value}\n" for key, value in email.items())
    return text


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(config=_config(), posts=st.lists(st.tuples(_front_matter(), _BODY), min_size=2, max_size=3))
def test_any_input_builds_or_gives_one_line_errors(config: str, posts: list[tuple[str, str]]) -> None:
    root = Path(tempfile.mkdtemp(prefix="newsletter-fuzz-"))
    try:
        (root / "posts").mkdir()
        (root / "newsletter.toml").write_text(config, encoding="utf-8", errors="surrogatepass")
        for number, (front, body) in enumerate(posts, start=1):
            (root / "posts" / f"2025-04-0{number}-post-{number}.md").write_text(
                front + "\n" + body + "\n", encoding="utf-8", errors="surrogatepass")
        outcome = run_limited(root, "build")
        assert outcome.code == 0 or outcome.one_line_error, outcome.text[-3000:]
        assert "Traceback" not in outcome.text, outcome.text[-3000:]
    finally:
        shutil.rmtree(root, ignore_errors=True)
