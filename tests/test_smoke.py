def test_build_of_a_one_post_newsletter(newsletter):
    newsletter.post("2025-04-01-hello", 'title: "Hello"\ndate: 2025-04-01', "Hello **world**.\n")
    result = newsletter.run("build")
    assert result.exit_code == 0, result.output
    assert "Hello <strong>world</strong>" in (newsletter.dist / "hello/index.html").read_text()
