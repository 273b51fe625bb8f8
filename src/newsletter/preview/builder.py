"""The preview's builder: the newsletter built with the build machinery and described issue by issue."""

from __future__ import annotations

import time
from pathlib import Path

from ..build.engine import gather, load_site, write_tree
from .state import Build, Builder, Issue


def site_builder(root: Path, *, drafts: bool = True) -> Builder:
    """Make a builder of the newsletter in *root*, with or without its drafts."""

    def build(folder: Path, number: int) -> Build:
        started = time.perf_counter()
        # Scheduled posts are always shown: the preview is where they are checked before their time.
        site = load_site(root, drafts=drafts, scheduled=True)
        outputs, warnings = gather(site)
        write_tree(outputs, folder)
        by_path = {output.path.as_posix(): output for output in outputs}
        issues = []
        shown = {entry.post.display_path for entry in site.entries}
        for entry in site.entries:
            # The same measure as the build's own warning about Gmail's clip.
            html = by_path.get(f"email/{entry.slug}.html")
            size = len(html.data) if html else 0
            own = tuple(str(warning) for warning in warnings if str(warning.path) == entry.post.display_path)
            issues.append(Issue(slug=entry.slug, title=entry.post.title, date=entry.post.date,
                                status=entry.status, source=entry.post.display_path,
                                preheader=entry.preheader, size=size, warnings=own))
        general = tuple(str(warning) for warning in warnings if str(warning.path) not in shown)
        return Build(number=number, folder=folder, site_title=site.config.site.title,
                     site_url=site.config.site.url, issues=tuple(issues), warnings=general,
                     seconds=time.perf_counter() - started)

    return build
