"""Where things live: the newsletter folder's own names, and every output path in the build.

Every module asks here instead of spelling a path itself, and the slugs a post may not take are
derived from the output's top-level names, so a new output folder cannot clash with an issue.
"""

from __future__ import annotations

from pathlib import PurePosixPath

# -- the newsletter folder --------------------------------------------------------------------

CONFIG_NAME = "newsletter.toml"
POSTS_DIR = "posts"
STATIC_DIR = "static"
TEMPLATES_DIR = "templates"
SNIPPETS_DIR = "snippets"
MANIFEST_NAME = "manifest.json"
# Which issues each feed archive page holds, in the order the pages filled: kept in git so that
# a page, once full, holds the same issues whatever is published later and wherever it is built.
FEED_ARCHIVE_NAME = "feed-archive.json"
STATE_DIR = ".newsletter"
CACHE_DIR = ".newsletter/cache"
DRY_RUN_DIR = ".newsletter/dry-run"
PREVIEW_DIR = ".newsletter/preview"
CHECK_DIR = ".newsletter/check"
DEFAULT_OUT = "dist"

# -- the output folder ------------------------------------------------------------------------

# Where the feeds live in the output; pages advertise them, outputs/feeds.py writes them.
ATOM_PATH = PurePosixPath("feed.xml")
RSS_PATH = PurePosixPath("rss.xml")
JSON_PATH = PurePosixPath("feed.json")
ARCHIVE_DIR = PurePosixPath("feed/archive")
STYLESHEET = PurePosixPath("assets/style.css")
EMAIL_DIR = PurePosixPath("email")
TAGS_DIR = PurePosixPath("tags")
PAGES_DIR = "page"
# The web page that explains the feeds to people: the site links here, never to a raw feed.
FEEDS_PAGE = "feeds"
PREVIEW_PREFIX = "_preview"


# The folder URL of the page that lists every tag.
TAGS_INDEX = f"{TAGS_DIR}/"


def tag_feed_path(tag_slug: str) -> PurePosixPath:
    return TAGS_DIR / tag_slug / "feed.xml"


# Top-level names in the output folder that a post's slug must not take.
RESERVED_SLUGS = frozenset({
    EMAIL_DIR.name, TAGS_DIR.name, PAGES_DIR, STATIC_DIR, STYLESHEET.parts[0], ARCHIVE_DIR.parts[0], "index",
    PREVIEW_PREFIX, FEEDS_PAGE,
})
