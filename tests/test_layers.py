"""The house rules that import-linter cannot state: each third-party library has one importer, and
modules stay small enough to read in one sitting."""

from __future__ import annotations

import ast
import sys
from collections import defaultdict
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "newsletter"
MAX_LINES = 400


def _modules() -> dict[str, ast.Module]:
    return {path.relative_to(PACKAGE).as_posix(): ast.parse(path.read_text(encoding="utf-8"))
            for path in sorted(PACKAGE.rglob("*.py"))}


def _third_party(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return {name for name in names if name not in sys.stdlib_module_names and name != "newsletter"}


def test_each_third_party_library_is_imported_in_one_module():
    importers: dict[str, list[str]] = defaultdict(list)
    for module, tree in _modules().items():
        for library in _third_party(tree):
            # The command line is one layer of Click code, spread over a few files.
            owner = "cli/" if module.startswith("cli/") else module
            if owner not in importers[library]:
                importers[library].append(owner)
    shared = {library: modules for library, modules in importers.items() if len(modules) > 1}
    assert shared == {}
    # The rule is only worth something if the libraries are really there.
    assert {"click", "jinja2", "lxml", "feedgen", "pyromark", "yaml", "frontmatter",
            "starlette", "uvicorn", "email_validator"} <= set(importers)


def test_only_the_command_line_imports_click():
    importers = [module for module, tree in _modules().items() if "click" in _third_party(tree)]
    assert importers and all(module.startswith("cli/") for module in importers)


def test_no_module_is_too_long_to_read_in_one_sitting():
    lengths = {module: len(path.read_text(encoding="utf-8").splitlines())
               for module, path in ((p.relative_to(PACKAGE).as_posix(), p) for p in PACKAGE.rglob("*.py"))}
    assert {module: lines for module, lines in lengths.items() if lines > MAX_LINES} == {}
