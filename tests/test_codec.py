"""The build cache's records read back as they were written: types, zones, folds, paths and texts."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from newsletter.build.codec import Codec
from newsletter.errors import Problem, Severity


@dataclass(frozen=True)
class _Inner:
    when: datetime
    where: Path | str
    problems: tuple[Problem, ...] = ()


@dataclass
class _Outer:
    name: str
    inner: dict[str, _Inner] = field(default_factory=dict)
    pairs: dict[str, tuple[int, int, _Inner]] = field(default_factory=dict)
    later: datetime | None = None
    words: tuple[str, ...] = ()


CODEC = Codec((_Outer, _Inner, Problem))


def test_records_read_back_equal_with_their_zone_fold_paths_and_texts():
    # 02:30 on the night the clocks go back happens twice in Prague; fold=1 is the second time.
    second = datetime(2025, 10, 26, 2, 30, tzinfo=ZoneInfo("Europe/Prague"), fold=1)
    inner = _Inner(second, Path("posts/a.md"), (Problem(Path("posts/a.md"), "odd", line=3, severity=Severity.WARNING),))
    outer = _Outer("x", {"a": inner, "b": _Inner(datetime(2025, 1, 1), "a text, not a path")},
                   {"p": (1, 2, inner)}, None, ("one", "two"))
    back = CODEC.loads(CODEC.dumps(outer))
    assert back == outer
    assert back.inner["a"].when.tzinfo.key == "Europe/Prague" and back.inner["a"].when.fold == 1
    assert back.inner["a"].when.utcoffset() != second.replace(fold=0).utcoffset()
    assert isinstance(back.inner["a"].where, Path) and isinstance(back.inner["b"].where, str)
    assert isinstance(back.words, tuple) and isinstance(back.pairs["p"], tuple)


@pytest.mark.parametrize("data", [
    b'{"\\u0000": "_Outer", "v": {"name": "x", "inner": [1]}}',
    b'{"\\u0000": "_Outer", "v": {"name": "x", "pairs": {"p": [1, 2]}}}',
    b'{"\\u0000": "_Outer", "v": {"name": "x", "surprise": 1}}',
    b'{"\\u0000": "Path", "v": "/etc"}',
    b'{"\\u0000": "_Outer", "v": {"name": "x", "later": ["2025-01-01T00:00", "../../etc/passwd", 0]}}',
])
def test_a_record_of_the_wrong_shape_is_a_value_error(data):
    with pytest.raises(ValueError):
        CODEC.loads(data)


def test_a_value_of_an_unnamed_class_is_refused_on_the_way_in():
    with pytest.raises(TypeError):
        CODEC.dumps(_Outer("x", {"a": object()}))  # type: ignore[dict-item]
