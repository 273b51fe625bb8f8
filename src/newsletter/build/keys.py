"""Keys over what every output depends on: this package's code, library versions, config, templates."""

from __future__ import annotations

import hashlib
import os
import posixpath
import re
import sys
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

from ..config import Config
from ..outputs.units import digest
from ..render.inputs import catalogue_files, template_files

# The libraries whose versions shape the outputs, by their names on PyPI.
LIBRARIES = ("pyromark", "Pygments", "premailer", "feedgen", "Jinja2", "lxml", "css-inline", "Babel")
_INFO_SUFFIXES = (".dist-info", ".egg-info")


def environment_digest(config: Config) -> str:
    """A key over everything every output depends on: code, library versions, config, templates."""
    parts: list[object] = [code_digest(), config.path.read_bytes()]
    for path in template_files(config):
        parts += [path, path.read_bytes()]
    for path in catalogue_files(config):  # the site's words, in its language
        parts += [path, path.read_bytes()]
    return digest(*parts)


@lru_cache(maxsize=1)
def code_digest() -> str:
    """A key over this package's code and the versions of the libraries that shape its outputs."""
    versions = library_versions(LIBRARIES)
    package = Path(__file__).resolve().parents[1]
    # Each file's bytes go to the hash as they are, under its name and length; a walk of strings,
    # not Path objects: both are worked out at every start of every command.
    names: list[str] = []
    for folder, subfolders, files in os.walk(package):
        subfolders[:] = [name for name in subfolders if name != "__pycache__"]
        inside = Path(folder).relative_to(package).as_posix()
        names += [posixpath.join(inside, name) for name in files if name.endswith((".py", ".po"))]
    code = hashlib.sha256()
    for name in sorted(names):
        data = (package / name).read_bytes()
        code.update(f"{name}\0{len(data)}\0".encode())
        code.update(data)
    return digest(sys.version_info[:2], *(f"{name}={versions[name]}" for name in LIBRARIES), code.hexdigest())


def library_versions(names: Iterable[str]) -> dict[str, str]:
    """The installed version of each library in *names*, by name; '-' for one that is not installed.

    The packaging specifications name an installed library's metadata folder '{name}-{version}.dist-info',
    so one listing of each folder on sys.path finds them all, first on the path first, as
    importlib.metadata does. importlib.metadata (which loads the email package to read the METADATA
    files, tens of milliseconds at every start) answers only what the names leave open: an .egg-info without a
    version, or a zip archive on sys.path.
    """
    wanted = {_normal(name): name for name in names}
    found: dict[str, str] = {}
    unsure = False
    for entry in sys.path:
        try:
            children = sorted(os.listdir(entry or "."))
        except OSError:
            unsure = unsure or os.path.exists(entry or ".")
            continue
        for child in children:
            if not child.lower().endswith(_INFO_SUFFIXES):
                continue
            project, _, version = child.rpartition(".")[0].partition("-")
            name = wanted.get(_normal(project))
            if name is not None and name not in found:
                found[name] = version
    # Left to importlib.metadata: a library whose folder names no version and, when a zip archive
    # is on the path, any library no folder holds.
    unknown = [name for name in wanted.values()
               if (name in found and not found[name]) or (name not in found and unsure)]
    if unknown:
        from importlib import metadata

        for name in unknown:
            try:
                found[name] = metadata.version(name)
            except metadata.PackageNotFoundError:
                found.pop(name, None)
    return {name: found.get(name) or "-" for name in wanted.values()}


def _normal(name: str) -> str:
    """A project's name as its metadata folder may spell it: 'css-inline', 'CSS_Inline' -> 'css_inline'."""
    return re.sub(r"[-_.]+", "_", name).lower()
