"""Which files a build's templates and catalogues come from: the lists cache keys read, worked out
without loading Jinja or Babel (`status` keys every issue's email and renders none)."""

from __future__ import annotations

from pathlib import Path

from ..config import Config
from ..layout import TEMPLATES_DIR

LOCALES_DIR = "locales"  # the newsletter's own catalogues
SHIPPED_DIR = Path(__file__).resolve().parents[1] / "locale"


def builtin_templates() -> Path:
    """The default templates: packaged beside the code in a wheel, at the repo's top in a checkout."""
    package = Path(__file__).resolve().parents[1]
    packaged = package / "templates"
    return packaged if packaged.is_dir() else package.parents[1] / "templates"


def template_folders(config: Config) -> list[Path]:
    """The folders templates are looked up in, first match wins: the newsletter's own, then ours."""
    own = config.root / TEMPLATES_DIR
    builtin = builtin_templates()
    if own.is_dir() and own.resolve() != builtin.resolve():
        return [own, builtin]
    return [builtin]


def template_files(config: Config) -> list[Path]:
    """Every file a template can be loaded from, folder by folder, in name order."""
    files: list[Path] = []
    for folder in template_folders(config):
        # The preview's own pages live beside the templates but never shape a build.
        files += [path for path in sorted(folder.rglob("*"))
                  if path.is_file() and "preview" not in path.relative_to(folder).parts[:1]]
    return files


def catalogue_files(config: Config) -> list[Path]:
    """Every catalogue a build in any language may read, for cache keys."""
    own = sorted((config.root / LOCALES_DIR).glob("*.po")) if (config.root / LOCALES_DIR).is_dir() else []
    return [*sorted(SHIPPED_DIR.glob("*.po")), *own]
