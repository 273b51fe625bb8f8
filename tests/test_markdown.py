import pytest

from newsletter.render.markdown import code_css, render_markdown


def test_commonmark_extensions_render():
    html = render_markdown(
        "| a | b |\n|---|---|\n| 1 | 2 |\n\n~~old~~ text[^n]\n\n- [x] done\n- [ ] open\n\n[^n]: A note.\n"
    ).html
    assert "<table>" in html and "<td>1</td>" in html
    assert "<del>old</del>" in html
    assert 'class="footnote-ref"' in html and "A note." in html
    assert 'type="checkbox"' in html and " checked " in html


def test_headings_get_ids():
    html = render_markdown("## Keynote: GitOps at scale\n").html
    assert '<h2 id="keynote-gitops-at-scale">' in html


def test_fenced_code_is_highlighted_with_classes():
    html = render_markdown("```python\ndef f():\n    return 1\n```\n").html
    assert '<pre class="highlight"><code class="language-python">' in html
    assert '<span class="k">def</span>' in html


def test_unknown_language_is_escaped_plain_code():
    html = render_markdown("```nosuchlang\n<b>x</b>\n```\n").html
    assert "&lt;b&gt;x&lt;/b&gt;" in html


def test_titled_image_alone_in_a_paragraph_becomes_a_figure():
    html = render_markdown('![Hall](static/hall.png "The main hall")\n').html
    assert html.strip() == (
        '<figure><img src="static/hall.png" alt="Hall"><figcaption>The main hall</figcaption></figure>'
    )


def test_image_in_running_text_stays_inline():
    html = render_markdown('Look: ![x](a.png "t") here\n').html
    assert "<figure>" not in html and 'title="t"' in html


def test_first_paragraph_is_plain_text():
    body = render_markdown("# Title\n\nThe **first** [one](x/).\n\nSecond.\n")
    assert body.first_paragraph == "The first one."


def test_word_count_and_reading_time():
    body = render_markdown(" ".join(["word"] * 460) + "\n\n```\ncode here\n```\n")
    assert body.word_count == 462
    assert body.reading_minutes == 3


def test_images_are_reported_with_their_file_line():
    body = render_markdown("Intro.\n\n![](static/a.png)\n", first_line=7)
    assert [(image.src, image.alt, image.line) for image in body.images] == [("static/a.png", "", 9)]


def test_code_css_has_light_and_dark_styles():
    light, dark = code_css()
    assert ".highlight .k" in light and ".highlight .k" in dark and light != dark


def test_task_lists_and_aligned_cells_get_what_the_stylesheets_expect():
    html = render_markdown("- [x] done\n- [ ] open\n\n| a | b |\n|:-:|--:|\n| 1 | 2 |\n").html
    assert '<ul class="contains-task-list">' in html and html.count('<li class="task-list-item">') == 2
    assert '<td style="text-align: center">1</td>' in html and '<td style="text-align: right">2</td>' in html
    assert "align=" not in html and html.count("disabled") == 2


def test_heading_ids_are_unique_and_never_clash_with_written_ones():
    html = render_markdown('<h2 id="setup">Mine</h2>\n\n## Setup\n\n## Setup\n').html
    assert '<h2 id="setup">Mine</h2>' in html
    assert '<h2 id="setup-1">Setup</h2>' in html and '<h2 id="setup-2">Setup</h2>' in html


def test_footnote_marks_are_not_words_and_backrefs_stay_text():
    body = render_markdown("One two[^a].\n\n[^a]: Three.\n")
    assert body.word_count == 3
    assert body.first_paragraph == "One two."
    assert "↩\ufe0e</a>" in body.html


def test_image_lines_count_line_breaks_inside_a_block():
    body = render_markdown("- item\n\n- text\n  more ![a *b*](one.png)\n  ![](two.png)\n\n<img src=\"raw.png\">\n",
                           first_line=3)
    assert [(image.src, image.alt, image.line) for image in body.images] == [("one.png", "a b", 6), ("two.png", "", 7)]


def test_footnotes_are_gathered_at_the_end_with_links_both_ways():
    html = render_markdown("One[^a] and two[^b], one again[^a].\n\n[^b]: Second.\n\n[^a]: First.\n").html
    assert '<a href="#fn-1" id="fnref-1">1</a>' in html and '<a href="#fn-1" id="fnref-1-2">1</a>' in html
    assert '<a href="#fn-2" id="fnref-2">2</a>' in html
    notes = html[html.index('<section class="footnotes">'):]
    assert notes.index('id="fn-1"') < notes.index('id="fn-2"')
    assert notes.count('class="footnote-backref"') == 2 and 'href="#fnref-1"' in notes
    assert "footnote-definition" not in html


def test_rendering_many_posts_does_not_grow_memory():
    """The preview server renders every post on every save: the renderer must free what it parses."""
    resource = pytest.importorskip("resource")
    talk = "## Talk\n\n- **Point** with `code` and a [link](x/).\n\n" + "Words of a paragraph. " * 60 + "\n\n"
    text = talk * 12 + "```yaml\nkey: value\n```\n\n![Hall](static/hall.png \"Caption\")\n"
    render_markdown(text)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for _ in range(400):
        render_markdown(text)
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert grown_kib < 16 * 1024, f"rendering 400 posts grew the process by {grown_kib // 1024} MiB"


def test_highlighting_survives_a_page_that_holds_the_marker_character():
    html = render_markdown("Private \ue000 use.\n\n```python\nx = 1\n```\n").html
    assert "Private \ue000 use." in html
    assert '<span class="n">x</span>' in html and html.count("\ue000") == 1


def test_stray_document_end_tags_in_a_post_lose_nothing():
    body = render_markdown("Before.\n\n</body>\n\nAfter the end tag.\n\n</HTML >\n\nInline </body> text, and the last line.\n")
    assert "After the end tag." in body.html and "Inline  text, and the last line." in body.html
    assert "</body" not in body.html.lower() and "</html" not in body.html.lower()
    assert body.html.rstrip().endswith("</p>")
