"""The build cache's key over the libraries that shape the outputs: the versions are read from the
names of the installed metadata folders, agree with importlib.metadata, and an upgrade remakes all."""

from __future__ import annotations

import sys
import zipfile
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import pytest

from newsletter.build.engine import build
from newsletter.build.keys import LIBRARIES, code_digest, library_versions

NOW = datetime(2025, 6, 1, tzinfo=UTC)


def _installed(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "-"


def _metadata_folder(parent: Path, folder: str, name: str, version: str) -> None:
    target = parent / folder
    target.mkdir(parents=True)
    text = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    (target / ("PKG-INFO" if folder.endswith(".egg-info") else "METADATA")).write_text(text, encoding="utf-8")


@pytest.fixture
def path_first(monkeypatch, tmp_path):
    """A folder put first on sys.path, as a library installed there would be."""
    folder = tmp_path / "site-packages"
    folder.mkdir()
    monkeypatch.setattr(sys, "path", [str(folder), *sys.path])
    return folder


def test_the_versions_are_the_ones_importlib_metadata_reads():
    versions = library_versions(LIBRARIES)
    assert versions == {name: _installed(name) for name in LIBRARIES}
    # Only worth something when the libraries are there to be read.
    assert versions["Jinja2"] != "-" and versions["lxml"] != "-"


def test_a_library_first_on_the_path_wins_whatever_the_spelling_of_its_folder(path_first):
    _metadata_folder(path_first, "jinja2-99.1.dist-info", "Jinja2", "99.1")
    _metadata_folder(path_first, "CSS_Inline-7.0.dist-info", "css-inline", "7.0")
    versions = library_versions(["Jinja2", "css-inline", "lxml"])
    assert versions == {"Jinja2": "99.1", "css-inline": "7.0", "lxml": _installed("lxml")}


def test_a_library_that_is_not_installed_has_no_version(path_first):
    assert library_versions(["no-such-library-here"]) == {"no-such-library-here": "-"}


def test_a_metadata_folder_that_names_no_version_is_read_inside(path_first):
    _metadata_folder(path_first, "Widget.egg-info", "Widget", "2.5")
    assert library_versions(["widget"]) == {"widget": "2.5"}


def test_a_library_in_a_zip_archive_on_the_path_is_found(monkeypatch, tmp_path):
    archive = tmp_path / "libraries.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr("Gadget-3.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: Gadget\nVersion: 3.0\n")
    monkeypatch.setattr(sys, "path", [str(archive), *sys.path])
    assert library_versions(["Gadget", "no-such-library-here"]) == {"Gadget": "3.0", "no-such-library-here": "-"}


def test_an_upgraded_library_remakes_every_output(newsletter, path_first):
    newsletter.post("2025-04-01-first", 'title: "First"\ndate: 2025-04-01')
    code_digest.cache_clear()
    try:
        made = build(newsletter.root, now=NOW, jobs=1).made
        assert build(newsletter.root, now=NOW, jobs=1).made == 0
        _metadata_folder(path_first, f"jinja2-{_installed('Jinja2')}.post1.dist-info", "Jinja2",
                         f"{_installed('Jinja2')}.post1")
        code_digest.cache_clear()
        assert build(newsletter.root, now=NOW, jobs=1).made == made
    finally:
        code_digest.cache_clear()
