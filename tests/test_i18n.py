"""The newsletter in its own language: catalogues, Czech with no English left, plurals, overrides, errors."""

from __future__ import annotations

import re
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from lxml import etree, html

from example import copy_example
from newsletter.build.engine import build

REPO = Path(__file__).resolve().parents[1]
LOCALE = REPO / "src" / "newsletter" / "locale"
NOW = datetime(2026, 1, 1, tzinfo=UTC)
SHIPPED = ("cs", "de", "en", "es", "fr")


def catalogue(language: str):
    with (LOCALE / f"{language}.po").open("rb") as source:
        return read_po(source)


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def example(tmp_path: Path, language: str) -> Path:
    """A copy of this repository's example newsletter in *language*."""
    root = copy_example(tmp_path / f"example-{language}")
    config = root / "newsletter.toml"
    config.write_text(re.sub(r'(?m)^language = .*$', f'language = "{language}"', config.read_text()))
    return root


# --- the catalogues ------------------------------------------------------------------------------

def test_the_shipped_languages_are_the_catalogues():
    assert tuple(sorted(path.stem for path in LOCALE.glob("*.po"))) == SHIPPED


def test_the_template_holds_every_string_in_the_code_and_templates():
    """newsletter.pot is what `pybabel extract -F babel.cfg` finds now: no string left out of it."""
    method_map = [("src/newsletter/**.py", "python"), ("templates/*.html", "jinja2"), ("templates/*.txt", "jinja2"),
                  ("templates/*.xsl", "jinja2"), ("templates/lists/*.html", "jinja2"), ("templates/lists/*.txt", "jinja2"),
                  ("templates/preview/*.html", "jinja2")]
    options = {pattern: {"extensions": "jinja2.ext.i18n", "trim_blocks": "true", "lstrip_blocks": "true"}
               for pattern, method in method_map if method == "jinja2"}
    found = {message if isinstance(message, str) else message[0]
             for _file, _line, message, _comments, _context in extract_from_dir(str(REPO), method_map, options)}
    with (LOCALE / "newsletter.pot").open("rb") as source:
        template = {message.id if isinstance(message.id, str) else message.id[0] for message in read_po(source)
                    if message.id}
    assert found == template


@pytest.mark.parametrize("language", SHIPPED)
def test_each_catalogue_is_complete_and_its_placeholders_match(language):
    with (LOCALE / "newsletter.pot").open("rb") as source:
        template = read_po(source)
    translated = catalogue(language)
    assert translated.num_plurals == {"cs": 3}.get(language, 2)
    for message in template:
        if not message.id:
            continue
        ours = translated.get(message.id)
        assert ours is not None, f"{language}: {message.id!r} is missing"
        strings = ours.string if isinstance(ours.string, tuple) else (ours.string,)
        assert all(strings) and len(strings) == (translated.num_plurals if message.pluralizable else 1), ours.id
        assert not ours.fuzzy
    assert [error for _message, errors in translated.check() for error in errors] == []


# --- Czech from end to end ------------------------------------------------------------------------

def _visible_text(path: Path) -> str:
    """What a reader sees of a page, email or feed page: its text, link titles and labels."""
    data = path.read_bytes()
    if path.suffix == ".txt":
        return data.decode("utf-8")
    tree = etree.fromstring(data) if path.suffix == ".xsl" else html.document_fromstring(data)
    for hidden in tree.iter("{*}style", "style", "script"):
        hidden.getparent().remove(hidden)
    labels = [value for element in tree.iter() if isinstance(element.tag, str)
              for name, value in element.attrib.items() if name in ("aria-label", "title", "alt")]
    return "\n".join(["".join(tree.itertext()), *labels])


NUMBERS = {"minutes", "issues", "number", "count"}


def _english_patterns() -> dict[str, re.Pattern[str]]:
    """Each string of the English catalogue as a pattern: numbers and names where its placeholders are.

    A name stays within one sentence, so that "Hello %(name)s," is not found in a post's "Hello from
    the road! I am writing ... desk,".
    """
    patterns = {}
    czech = catalogue("cs")
    for message in catalogue("en"):
        # A word Czech shares with English ("web") cannot tell the two apart.
        if not message.id or czech.get(message.id).string in (message.string, message.id):
            continue
        for string in (message.string if isinstance(message.string, tuple) else (message.string,)):
            text = re.sub(r"<[^>]+>", "", string)  # a link's words are what shows
            parts = re.split(r"%\((\w+)\)s", text)
            pattern = "".join(re.escape(part) if index % 2 == 0 else (r"[\d\s.,]+" if part in NUMBERS else r"[^\n.!?]+?")
                              for index, part in enumerate(parts))
            patterns[string] = re.compile(rf"(?<![\w-]){pattern.strip()}(?![\w-])")
    return patterns


@pytest.fixture(scope="module")
def czech(tmp_path_factory) -> Path:
    root = example(tmp_path_factory.mktemp("cs"), "cs")
    build(root, now=NOW)
    return root / "dist"


def test_the_czech_example_has_no_english_string_left(czech):
    outputs = [*czech.glob("**/*.html"), *czech.glob("email/*.txt"), czech / "feed.xsl"]
    assert len(outputs) > 15
    patterns = _english_patterns()
    assert "View this issue in your browser" in patterns and "%(minutes)s min read" in patterns
    left = {}
    for path in outputs:
        text = _visible_text(path)
        found = [string for string, pattern in patterns.items() if pattern.search(text)]
        if found:
            left[path.relative_to(czech).as_posix()] = found
    assert left == {}


def test_czech_dates_and_words(czech):
    page = (czech / "rejekts-2025-day-two" / "index.html").read_text()
    assert '<html lang="cs" dir="ltr">' in page
    assert "1. dubna 2025" in page and "minut čtení" in page
    text = (czech / "email" / "rejekts-2025-day-two.txt").read_text()
    assert "Zobrazit v prohlížeči: https://example.com/newsletter/rejekts-2025-day-two/" in text
    assert "Odhlásit odběr:" in text
    assert "Všechny štítky" in (czech / "index.html").read_text()
    tags = (czech / "tags" / "index.html").read_text()
    assert re.search(r"\d+ vydání", tags)


@pytest.mark.parametrize("words, expected", [(100, "1 minuta čtení"), (300, "2 minuty čtení"),
                                             (1100, "5 minut čtení")])
def test_czech_plurals_of_reading_time(newsletter, words, expected):
    config = newsletter.root / "newsletter.toml"
    config.write_text(config.read_text().replace('[site]\n', '[site]\nlanguage = "cs"\n'))
    newsletter.post("2025-04-01-one", "title: One\ndate: 2025-04-01", "slovo " * words + "\n")
    result = newsletter.run("build")
    assert result.exit_code == 0, result.output
    for path in ("one/index.html", "index.html", "email/one.html", "email/one.txt"):
        assert expected in (newsletter.dist / path).read_text(), path


@pytest.mark.parametrize("language, words", [
    ("de", ("1. April 2025", "Diese Ausgabe im Browser ansehen", "Abbestellen")),
    ("fr", ("1 avril 2025", "Voir ce numéro dans votre navigateur", "Se désabonner")),
    ("es", ("1 de abril de 2025", "Ver este número en tu navegador", "Darse de baja")),
])
def test_german_french_and_spanish_emails(newsletter, language, words):
    config = newsletter.root / "newsletter.toml"
    config.write_text(config.read_text().replace('[site]\n', f'[site]\nlanguage = "{language}"\n'))
    newsletter.post("2025-04-01-one", "title: One\ndate: 2025-04-01")
    assert newsletter.run("build").exit_code == 0
    email = (newsletter.dist / "email" / "one.html").read_text()
    for word in words:
        assert word in email


# --- the writer's own words -----------------------------------------------------------------------

OWN = '''\
msgid ""
msgstr ""
"Content-Type: text/plain; charset=UTF-8\\n"
"Language: cs\\n"

msgid "Unsubscribe"
msgstr "Zrušit odběr"
'''


def test_a_writers_catalogue_overrides_single_strings(newsletter):
    config = newsletter.root / "newsletter.toml"
    config.write_text(config.read_text().replace('[site]\n', '[site]\nlanguage = "cs"\n'))
    newsletter.post("2025-04-01-one", "title: One\ndate: 2025-04-01")
    newsletter.write("locales/cs.po", OWN)
    assert newsletter.run("build").exit_code == 0
    email = (newsletter.dist / "email" / "one.html").read_text()
    assert "Zrušit odběr</a>" in email and "Zobrazit toto vydání v prohlížeči" in email


def test_an_english_writer_can_reword_a_string(newsletter):
    newsletter.post("2025-04-01-one", "title: One\ndate: 2025-04-01")
    newsletter.write("locales/en.po", OWN.replace("Language: cs", "Language: en").replace("Zrušit odběr", "Leave"))
    assert newsletter.run("build").exit_code == 0
    assert ">Leave</a>" in (newsletter.dist / "email" / "one.html").read_text()


def test_a_broken_catalogue_is_an_error_naming_it(newsletter):
    newsletter.post("2025-04-01-one", "title: One\ndate: 2025-04-01")
    newsletter.write("locales/en.po", OWN + "\nLinks: Odkazy\n")
    result = newsletter.run("build")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.stderr == ("error: locales/en.po:9: not a valid gettext catalogue: unknown or misformatted "
                             "keyword; see the shipped catalogues for the form\n")


def test_a_translation_with_other_placeholders_is_an_error(newsletter):
    newsletter.post("2025-04-01-one", "title: One\ndate: 2025-04-01")
    newsletter.write("locales/en.po", OWN + '\n#, python-format\nmsgid "Tagged “%(tag)s”"\nmsgstr "Tag %(name)s"\n')
    result = newsletter.run("build")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.stderr.startswith("error: locales/en.po:10: 'Tagged “%(tag)s”': ")


def test_an_unknown_language_code_lists_the_shipped_ones(newsletter):
    config = newsletter.root / "newsletter.toml"
    config.write_text(config.read_text().replace('[site]\n', '[site]\nlanguage = "klingon"\n'))
    newsletter.post("2025-04-01-one", "title: One\ndate: 2025-04-01")
    result = newsletter.run("build")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.stderr == (f"error: {config}:2: site.language: unknown language code 'klingon'; use a code like "
                             "cs, de, en, es, fr (those have built-in translations) or any other BCP 47 code, "
                             "such as 'pl' or 'pt-BR'\n")
    assert not newsletter.dist.exists()


def test_a_language_without_our_translation_warns_and_keeps_english_words(newsletter):
    config = newsletter.root / "newsletter.toml"
    config.write_text(config.read_text().replace('[site]\n', '[site]\nlanguage = "pl"\n'))
    newsletter.post("2025-04-01-one", "title: One\ndate: 2025-04-01")
    result = newsletter.run("build")
    assert result.exit_code == 0
    assert "site.language: no built-in translation for 'pl'" in result.output + result.stderr
    email = (newsletter.dist / "email" / "one.html").read_text()
    assert "View this issue in your browser" in email and "1 kwietnia 2025" in email


def test_editing_a_catalogue_gives_what_a_cold_build_gives(newsletter, tmp_path):
    root = newsletter.root
    config = root / "newsletter.toml"
    config.write_text(config.read_text().replace('[site]\n', '[site]\nlanguage = "cs"\n'))
    newsletter.post("2025-04-01-one", "title: One\ndate: 2025-04-01\ntags: [k8s]")
    newsletter.post("2025-04-02-two", "title: Two\ndate: 2025-04-02")
    steps = [
        lambda: newsletter.write("locales/cs.po", OWN),
        lambda: newsletter.write("locales/cs.po", OWN.replace("Zrušit odběr", "Odejít")),
        lambda: (root / "locales/cs.po").unlink(),
        lambda: config.write_text(config.read_text().replace('language = "cs"', 'language = "de"')),
    ]
    build(root, now=NOW, jobs=1)
    first = _files(newsletter.dist)
    build(root, now=NOW, jobs=1)
    assert _files(newsletter.dist) == first
    for number, step in enumerate(steps):
        step()
        build(root, now=NOW, jobs=1)
        copy = tmp_path / f"cold-{number}"
        shutil.copytree(root, copy, ignore=shutil.ignore_patterns("dist", ".newsletter"))
        build(copy, now=NOW, jobs=1)
        assert _files(newsletter.dist) == _files(copy / "dist"), f"after step {number}"
        if number == 1:
            assert ">Odejít</a>" in (newsletter.dist / "email" / "one.html").read_text()


# --- the preview -----------------------------------------------------------------------------------

def test_the_preview_speaks_the_newsletters_language(newsletter):
    from newsletter.preview import Preview

    config = newsletter.root / "newsletter.toml"
    config.write_text(config.read_text().replace('[site]\n', '[site]\nlanguage = "cs"\n'))
    newsletter.post("2025-04-01-one", "title: One\ndate: 2025-04-01 09:30", "slovo " * 300 + "\n")
    newsletter.post("2025-05-01-wip", "title: Rozepsané\ndate: 2025-05-01\ndraft: true")
    preview = Preview(newsletter.root)
    try:
        preview.rebuild()
        listing = preview.respond("/_preview/").body.decode("utf-8")
        issue = preview.respond("/_preview/one/").body.decode("utf-8")
        missing = preview.respond("/_preview/nobody/").body.decode("utf-8")
    finally:
        preview.close()
    assert '<html lang="cs" dir="ltr">' in listing
    assert "<h1>Vydání</h1>" in listing and "2 vydání v tomto sestavení" in listing
    assert ">koncept<" in listing and ">vydáno<" in listing
    assert "1. dubna 2025 · 9:30" in issue and "Ve schránce" in issue and "Prostý text" in issue
    assert re.search(r"<strong>\d+,\d KB</strong> HTML; zbývá \d+,\d KB", issue)
    assert "Nic tu není" in missing
    for english in ("In the inbox", "Plain text", "Warnings", "All issues", "Nothing here"):
        assert english not in issue + listing + missing


@pytest.mark.browser
def test_the_live_reload_overlay_speaks_the_newsletters_language(tmp_path):
    from playwright.sync_api import expect

    from browser import chromium
    from newsletter.preview.server import start_preview

    root = example(tmp_path, "cs")
    post = root / "posts" / "2025-04-01-rejekts-2025-day-two.md"
    with start_preview(root, port=0) as server, chromium() as browser:
        page = browser.new_page()
        page.goto(server.url + "rejekts-2025-day-two/")
        post.write_text(post.read_text(encoding="utf-8").replace("rejekts]", "rejekts", 1), encoding="utf-8")
        overlay = page.locator("#newsletter-preview-error")
        expect(overlay).to_be_visible(timeout=15000)
        assert overlay.locator("h2").inner_text() == ("Poslední sestavení selhalo — stále ukazuji poslední dobré "
                                                      "sestavení")
