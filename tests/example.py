"""The example newsletter of this repository, copied where a test may build and change it."""

from __future__ import annotations

import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# Everything the example is built from: its config, posts, images, snippets and feed archive note.
EXAMPLE_INPUTS = ("newsletter.toml", "posts", "static", "snippets", "feed-archive.json")


def copy_example(root: Path) -> Path:
    """Copy the example's inputs into *root* (made if missing) and return it."""
    root.mkdir(parents=True, exist_ok=True)
    for name in EXAMPLE_INPUTS:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, root / name)
        elif source.is_file():
            shutil.copy(source, root / name)
    return root
