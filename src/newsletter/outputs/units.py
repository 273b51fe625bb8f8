"""The one shape every output stage returns: units of outputs, each with a key over its inputs."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import PurePosixPath

from ..errors import Problem


@dataclass(frozen=True)
class Output:
    """One file of the build: a path inside the output folder and its bytes (or a file to copy)."""

    path: PurePosixPath
    data: bytes = b""
    source: str | None = None


def digest(*parts: object) -> str:
    """A short stable hash of some values, for cache keys."""
    return hashlib.sha256("\0".join(map(str, parts)).encode("utf-8")).hexdigest()[:32]


@dataclass(frozen=True)
class Unit:
    """Outputs made together from the same inputs, with a key over every one of those inputs.

    A build remakes a unit only when its key differs from the one it had in the last build.
    ``heavy`` units are worth sending to another process when there are many of them;
    a ``slow_start`` one (the first in a process loads and warms a large library) is worth it alone.
    """

    name: str
    key: str
    make: Callable[[], tuple[list[Output], list[Problem]]] = field(repr=False, compare=False)
    heavy: bool = False
    slow_start: bool = False


def unit_of(output_maker: Callable[[], Output], name: str, key: str, *, heavy: bool = False) -> Unit:
    """A unit of one output that raises no warnings."""
    return Unit(name, key, partial(_made_alone, output_maker), heavy=heavy)


def _made_alone(output_maker: Callable[[], Output]) -> tuple[list[Output], list[Problem]]:
    return [output_maker()], []


def make_all(units: list[Unit]) -> tuple[list[Output], list[Problem]]:
    """Make every unit here and now: all outputs in memory, and all the warnings."""
    outputs: list[Output] = []
    warnings: list[Problem] = []
    for unit in units:
        made, said = unit.make()
        outputs.extend(made)
        warnings.extend(said)
    return outputs, warnings
