"""Posts written for Hugo, Jekyll, Eleventy and Pelican: their keys read as ours, or named in errors."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from newsletter.config import load_config
from newsletter.errors import ConfigError
from newsletter.posts import read_post

FILE = "posts/2025-04-01-day-two.md"


def lenient(newsletter) -> None:
    config = newsletter.root / "newsletter.toml"
    config.write_text(config.read_text() + '\n[posts]\nforeign_keys = "ignore"\n')


def read(newsletter, text: str):
    path = newsletter.write(FILE, text)
    post, errors, warnings = read_post(path, load_config(newsletter.root))
    return post, [str(e) for e in errors], [str(w) for w in warnings]


HUGO_YAML = """\
---
title: Day two
date: 2025-04-01T09:30:00+02:00
lastmod: 2025-04-03
description: Platform teams and rollbacks.
categories: [conferences]
tags: [kubernetes]
authors: [Jana Novak, Petr Dvorak]
images: [static/hall.png, static/other.png]
weight: 10
aliases: [/old/day-two/]
---

Body.
"""


def test_strict_by_default_each_foreign_key_names_the_key_it_would_become(newsletter):
    post, errors, _ = read(newsletter, HUGO_YAML)
    assert post is None
    assert f"{FILE}:4: lastmod: unknown key; 'lastmod' (Hugo) means 'updated' here: rename it to " \
           "'updated', or set foreign_keys = \"ignore\" under [posts] in newsletter.toml to read it as " \
           "'updated'" in errors
    assert any(e.startswith(f"{FILE}:5: description: unknown key; 'description' (Hugo, Eleventy) means "
                            "'summary' here: rename") for e in errors)
    assert any(e.startswith(f"{FILE}:6: categories: unknown key; 'categories' (Hugo, Jekyll) means 'tags' "
                            "here, joined with tags: rename it to 'tags'") for e in errors)
    assert any(e.startswith(f"{FILE}:10: weight: unknown key; 'weight' (Hugo) has no use here: "
                            "delete it, or set foreign_keys") for e in errors)
    assert len(errors) == 7, errors


def test_ignore_reads_hugo_keys_as_ours_and_skips_the_rest(newsletter):
    lenient(newsletter)
    post, errors, warnings = read(newsletter, HUGO_YAML)
    assert errors == [] and warnings == []
    assert post.summary == "Platform teams and rollbacks."
    assert post.tags == ("kubernetes", "conferences")
    assert post.updated == datetime(2025, 4, 2, 22, 0, tzinfo=UTC)
    assert post.author == "Jana Novak, Petr Dvorak"
    assert post.image == "static/hall.png"


def test_our_own_key_wins_over_a_foreign_one(newsletter):
    lenient(newsletter)
    post, errors, _ = read(newsletter, "---\ntitle: T\ndate: 2025-04-01\nsummary: Ours.\n"
                                       "description: Theirs.\nexcerpt: Jekyll's.\n---\n")
    assert errors == [] and post.summary == "Ours."


def test_jekyll_keys(newsletter):
    lenient(newsletter)
    post, errors, _ = read(newsletter, """\
---
layout: post
title: Day two
date: 2025-04-01 09:30:00 +0200
last_modified_at: 2025-04-02 10:00:00 +0200
excerpt: What we saw.
category: conferences
permalink: /2025/04/01/day-two.html
published: false
---
""")
    assert errors == []
    assert post.date == datetime(2025, 4, 1, 7, 30, tzinfo=UTC)
    assert post.updated == datetime(2025, 4, 2, 8, 0, tzinfo=UTC)
    assert (post.summary, post.tags, post.draft) == ("What we saw.", ("conferences",), True)


def test_pelican_and_eleventy_keys(newsletter):
    lenient(newsletter)
    post, errors, _ = read(newsletter, """\
---
title: Day two
date: 2025-04-01
modified: 2025-04-05
status: draft
description: From Eleventy.
eleventyExcludeFromCollections: false
---
""")
    assert errors == []
    assert post.draft is True and post.summary == "From Eleventy."
    assert post.updated == datetime(2025, 4, 4, 22, 0, tzinfo=UTC)


def test_ignore_warns_about_a_near_miss_of_our_keys_and_says_nothing_of_others(newsletter):
    lenient(newsletter)
    post, errors, warnings = read(newsletter, "---\ntitle: T\ndate: 2025-04-01\nsumary: Typo.\n"
                                              "my_param: 3\n---\n")
    assert errors == [] and post.summary == ""
    assert warnings == [f"{FILE}:4: warning: load-warning: sumary: unknown key skipped (did you mean 'summary'?)"]


def test_a_converted_value_of_the_wrong_type_is_reported_at_the_foreign_key(newsletter):
    lenient(newsletter)
    post, errors, _ = read(newsletter, "---\ntitle: T\ndate: 2025-04-01\ndescription: [a, b]\n---\n")
    assert post is None
    assert errors == [f"{FILE}:4: description: expected text; put it in quotes, got ['a', 'b'] "
                      "(read as 'summary')"]


def test_a_bad_foreign_keys_setting(newsletter):
    lenient(newsletter)
    config = newsletter.root / "newsletter.toml"
    config.write_text(config.read_text().replace('"ignore"', '"map"'))
    with pytest.raises(ConfigError) as caught:
        load_config(newsletter.root)
    assert str(caught.value).endswith("posts.foreign_keys: expected one of strict, ignore, got 'map'")


HUGO_SECTION = """\
+++
title = "Posts"
+++
"""

HUGO_POST = """\
+++
title = "Rejekts day one"
date = 2025-03-31T18:00:00+02:00
lastmod = 2025-04-02T08:00:00+02:00
draft = false
description = "Talks from the first day."
categories = ["conferences"]
tags = ["kubernetes"]
weight = 1
[params]
  toc = true
+++

The first day. <!--more-->

## GitOps rollbacks

Rolling back is a commit.
"""

HUGO_YAML_POST = """\
---
title: "Second post"
date: 2025-04-01
description: "A YAML one."
series: [rejekts]
---

Text of the second post.
"""


def test_a_hugo_content_folder_copied_into_posts_builds(newsletter):
    lenient(newsletter)
    newsletter.write("posts/_index.md", HUGO_SECTION)
    newsletter.write("posts/rejekts-day-one.md", HUGO_POST)
    newsletter.write("posts/second-post.md", HUGO_YAML_POST)
    result = newsletter.run("build")
    assert result.exit_code == 0, result.output
    page = (newsletter.dist / "rejekts-day-one" / "index.html").read_text()
    assert "GitOps rollbacks" in page
    archive = (newsletter.dist / "index.html").read_text()
    assert "Talks from the first day." in archive and "A YAML one." in archive
    assert (newsletter.dist / "tags" / "conferences" / "index.html").exists()
    assert not (newsletter.dist / "index" / "index.html").exists()
    feed = (newsletter.dist / "feed.xml").read_text()
    assert "<updated>2025-04-02T06:00:00Z</updated>" in feed or "2025-04-02T08:00:00+02:00" in feed


def test_a_hugo_folder_without_the_setting_fails_naming_the_mappings(newsletter):
    newsletter.write("posts/rejekts-day-one.md", HUGO_POST)
    result = newsletter.run("build")
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert "posts/rejekts-day-one.md:4: lastmod: unknown key; 'lastmod' (Hugo) means 'updated' here" \
        in result.stderr
    assert "posts/rejekts-day-one.md:10: params: unknown key" in result.stderr
    assert not newsletter.dist.exists()
