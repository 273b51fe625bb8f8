"""Keys over what every output depends on: this package's code, library versions, config, templates."""

from __future__ import annotations

import sys
from functools import lru_cache
from importlib import metadata
from pathlib import Path

from ..config import Config
from ..outputs.units import digest
from ..render.inputs import catalogue_files, template_files


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
    parts: list[object] = [sys.version_info[:2]]
    for name in ("pyromark", "Pygments", "premailer", "feedgen", "Jinja2", "lxml",
                 "css-inline", "Babel"):
        try:
            parts.append(f"{name}={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            parts.append(f"{name}=-")
    package = Path(__file__).resolve().parents[1]
    code = [*package.rglob("*.py"), *package.rglob("*.po")]
    for path in sorted(code, key=lambda path: path.relative_to(package).as_posix()):
        parts.append(path.read_bytes())
    return digest(*parts)
