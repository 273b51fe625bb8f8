"""The build cache's JSON codec: records come back equal and of the same types, and a file that
holds anything but what it wrote reads as ValueError, without making an object of it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from newsletter.build.codec import Codec


class Mode(StrEnum):
    FULL = "full"
    SHORT = "short"


@dataclass(frozen=True)
class Leaf:
    name: str
    line: int | None = None


@dataclass(frozen=True)
class Branch:
    path: Path
    when: datetime
    mode: Mode
    tags: tuple[str, ...]
    leaves: tuple[Leaf, ...]
    either: Path | str = ""
    maybe: datetime | None = None


@dataclass
class Tree:
    branches: dict[str, tuple[int, int, Branch]] = field(default_factory=dict)
    leaves: dict[str, Leaf] = field(default_factory=dict)
    last: Branch | None = None


CODEC = Codec((Tree, Branch, Leaf))


def _tree() -> Tree:
    autumn = datetime(2025, 10, 26, 2, 30, tzinfo=ZoneInfo("Europe/Prague"), fold=1)
    branch = Branch(Path("posts/a.md"), autumn, Mode.SHORT, ("x", "y"), (Leaf("one", 3), Leaf("two")),
                    either=Path("static/b.png"), maybe=datetime(2025, 1, 1, tzinfo=UTC))
    plain = Branch(Path("posts/b.md"), datetime(2025, 2, 1, 9, 0, tzinfo=UTC), Mode.FULL, (), ())
    return Tree({"posts/a.md": (1, 2, branch), "posts/b.md": (3, 4, plain)}, {"one": Leaf("one", 3)}, plain)


def test_a_tree_of_records_comes_back_equal_with_the_same_types():
    tree = _tree()
    back = CODEC.loads(CODEC.dumps(tree))
    assert back == tree
    branch = back.branches["posts/a.md"][2]
    assert type(back.branches["posts/a.md"]) is tuple and type(branch.leaves) is tuple
    assert type(branch.path) is type(Path()) and type(branch.either) is type(Path()) and type(branch.mode) is Mode
    assert branch.when.tzinfo == ZoneInfo("Europe/Prague") and branch.when.fold == 1
    assert back.last is not None and back.last.either == "" and back.last.maybe is None


def test_records_read_back_are_as_frozen_as_those_made():
    branch = CODEC.loads(CODEC.dumps(_tree())).last
    with pytest.raises(AttributeError):
        branch.mode = Mode.SHORT


@pytest.mark.parametrize("text", [
    '{"\\u0000": "Leaf", "v": {"name": "one"}}',                                  # a field missing
    '{"\\u0000": "Leaf", "v": {"name": "one", "line": 1, "extra": 2}}',           # a field too many
    '{"\\u0000": "Leaf", "v": {"name": "one", "line": 1, "__class__": "Tree"}}',  # nothing but fields
    '{"\\u0000": "Leaf", "v": {"name": "one", "line": 1, "__dict__": {}}}',
    '{"\\u0000": "Codec", "v": {"records": []}}',                                 # only the classes named
    '{"\\u0000": ["Leaf"], "v": {"name": "one", "line": 1}}',
    '{"\\u0000": "Leaf", "name": "one", "line": 1}',                              # fields beside the tag
    '{"\\u0000": "Branch", "v": {"path": 1, "when": ["2025"], "mode": "full", "tags": [], "leaves": 5,'
    ' "either": "", "maybe": null}}',
    '{"\\u0000": "Tree", "v": {"branches": {"a": 7}, "leaves": {}, "last": null}}',
    '{"\\u0000": "Tree", "v": {"branches": {"a": [1, 2]}, "leaves": {}, "last": null}}',
    '{"\\u0000": "tuple"}',
])
def test_what_it_did_not_write_reads_as_value_error(text):
    with pytest.raises(ValueError):
        CODEC.loads(text.encode())


def test_a_record_that_needs_its_init_or_has_slots_is_refused():
    @dataclass
    class Checked:
        name: str

        def __post_init__(self) -> None:
            assert self.name

    @dataclass(slots=True)
    class Slotted:
        name: str

    for record in (Checked, Slotted):
        with pytest.raises(TypeError, match=record.__name__):
            Codec((record,))


def test_a_value_of_a_class_not_named_is_refused_on_the_way_in():
    with pytest.raises(TypeError):
        CODEC.dumps(Tree(leaves={"one": object()}))  # type: ignore[dict-item]
    with pytest.raises(TypeError):
        CODEC.dumps(Tree(leaves={1: Leaf("one")}))  # type: ignore[dict-item]
