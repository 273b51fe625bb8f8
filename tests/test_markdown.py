from newsletter.markdown import code_css, render_markdown


def test_commonmark_extensions_render():
    html = render_markdown(
        "| a | b |\n|---|---|\n| 1 | 2 |\n\n~~old~~ text[^n]\n\n- [x] done\n- [ ] open\n\n[^n]: A note.\n"
    ).html
    assert "<table>" in html and "<td>1</td>" in html
    assert "<s>old</s>" in html
    assert 'class="footnote-ref"' in html and "A note." in html
    assert 'type="checkbox"' in html and 'checked="checked"' in html


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
        '<figure><img src="static/hall.png" alt="Hall" /><figcaption>The main hall</figcaption></figure>'
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
