"""Write the build cache's records as JSON and read them back, making only the classes named here.

The cache lives in a folder that CI caches and tools restore, so reading it must never run code
(as unpickling does). JSON has no tuples, dates, paths or records. Each field is written and read
by its annotation, worked out once per class: a record inside a record is a plain object whose
class the annotation names, a tuple is an array read back as a tuple, a date is an array of its
parts. Only the outermost record, and values whose annotation leaves their type open (a path or a
text), carry a tag under a key no record has. A record is read back only when the file holds
exactly its fields, and without a call of its __init__. Text, numbers and containers of them are
handed to the C encoder and decoder as they are: at 1,000 posts, converting the rest is most of
the cost.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import types
import typing
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path, PurePath
from typing import Any
from zoneinfo import ZoneInfo

_TAG = "\x00"
_PLAIN = (str, int, float, bool, type(None))

# How a value is written and read: None when JSON holds it as it is and it reads back the same.
_Convert = tuple[Callable[[Any], Any], Callable[[Any], Any]] | None


class Codec:
    """Encode values made of *records* (dataclasses), tuples, dicts, lists, datetimes, paths and
    plain JSON values; decode them back into the same types."""

    def __init__(self, records: Iterable[type]) -> None:
        self._records: dict[str, type] = {record.__name__: record for record in records}
        self._converts: dict[object, _Convert] = {}
        for name, record in self._records.items():
            if "__slots__" in vars(record) or hasattr(record, "__post_init__"):
                raise TypeError(f"{name}: the build cache restores a record's fields into its __dict__ and "
                                "calls nothing, so a record can have neither __slots__ nor __post_init__")

    def dumps(self, value: object) -> bytes:
        """*value* as compact JSON bytes."""
        # ASCII: the standard library's C encoder takes its fast path for it.
        return json.dumps(self._tagged(value), separators=(",", ":")).encode("ascii")

    def loads(self, data: bytes) -> Any:
        """The value *data* holds; ValueError if it is not what dumps writes."""
        try:
            return self._untagged(json.loads(data))
        except (KeyError, TypeError, IndexError, RecursionError, AttributeError) as error:
            raise ValueError(f"not a cache record: {error}") from None

    # -- by annotation ------------------------------------------------------------------------------

    def _convert(self, hint: Any) -> _Convert:
        """How to write and read a value annotated *hint*, worked out once."""
        if hint not in self._converts:
            self._converts[hint] = self._work_out(hint)
        return self._converts[hint]

    def _work_out(self, hint: Any) -> _Convert:
        origin, args = typing.get_origin(hint), typing.get_args(hint)
        if hint in _PLAIN or (origin in (typing.Union, types.UnionType) and all(arg in _PLAIN for arg in args)):
            return None
        if origin in (typing.Union, types.UnionType) and len(args) == 2 and type(None) in args:
            inner = self._convert(next(arg for arg in args if arg is not type(None)))
            if inner is None:
                return None
            write, read = inner
            return (lambda value: None if value is None else write(value),
                    lambda value: None if value is None else read(value))
        if origin is tuple:
            return self._tuple(args)
        if origin is dict and args and args[0] is str:
            return self._dict(args[1])
        if hint is datetime:
            return (_datetime, _read_datetime)
        if hint is Path:
            return (str, Path)
        if isinstance(hint, type) and issubclass(hint, enum.Enum):
            return (lambda value: value.value, hint)
        if isinstance(hint, type) and self._records.get(hint.__name__) is hint:
            return self._record(hint)
        # Anything else (unions of paths and text, lists of anything) is tagged and read by its tags.
        return (self._tagged, self._untagged)

    def _tuple(self, args: tuple[Any, ...]) -> _Convert:
        if len(args) == 2 and args[1] is Ellipsis:
            item = self._convert(args[0])
            if item is None:
                return (_same, tuple)  # the C encoder writes a tuple as an array
            write, read = item
            return (lambda value: [write(each) for each in value], lambda value: tuple(read(each) for each in value))
        places = [self._convert(arg) or (_same, _same) for arg in args]

        def read_fixed(value: list[Any]) -> tuple[Any, ...]:
            if len(value) != len(places):
                raise TypeError(f"expected {len(places)} values, found {len(value)}")
            return tuple(read(each) for (_, read), each in zip(places, value, strict=True))

        return (lambda value: [write(each) for (write, _), each in zip(places, value, strict=True)], read_fixed)

    def _dict(self, hint: Any) -> _Convert:
        item = self._convert(hint)
        if item is None:
            return (_text_keys, _a_dict)
        write, read = item
        return (lambda value: {key: write(each) for key, each in _text_keys(value).items()},
                lambda value: {key: read(each) for key, each in _a_dict(value).items()})

    def _record(self, record: type) -> _Convert:
        hints = typing.get_type_hints(record)
        names = tuple(field.name for field in dataclasses.fields(record))
        fields = frozenset(names)
        converted = tuple((name, convert) for name in names if (convert := self._convert(hints[name])) is not None)
        writes = tuple((name, write) for name, (write, _) in converted)
        reads = tuple((name, read) for name, (_, read) in converted)

        def write(value: object) -> dict[str, Any]:
            if type(value) is not record:
                raise TypeError(f"the build cache expected a {record.__name__}, not a {type(value).__name__}")
            found = {name: getattr(value, name) for name in names}
            for name, convert in writes:
                found[name] = convert(found[name])
            return found

        def read(found: dict[str, Any]) -> object:
            if found.keys() != fields:
                raise TypeError(f"a {record.__name__} with the fields {', '.join(sorted(found))}")
            for name, convert in reads:
                found[name] = convert(found[name])
            # Restored as copy and pickle restore an object: the fields into its __dict__, with no
            # call of __init__ (a frozen dataclass's sets each field through object.__setattr__).
            made: Any = object.__new__(record)
            made.__dict__.update(found)
            return made

        return (write, read)

    # -- by tag -------------------------------------------------------------------------------------

    def _tagged(self, value: object) -> Any:
        """*value* with tags wherever JSON alone would not say what it was."""
        if value is None or isinstance(value, (str, bool, int, float)):
            return value
        if isinstance(value, tuple):
            return {_TAG: "tuple", "v": [self._tagged(item) for item in value]}
        if isinstance(value, list):
            return [self._tagged(item) for item in value]
        if isinstance(value, dict):
            return {key: self._tagged(item) for key, item in _text_keys(value).items()}
        if isinstance(value, datetime):
            return {_TAG: "datetime", "v": _datetime(value)}
        if isinstance(value, PurePath):
            return {_TAG: "path", "v": str(value)}
        name = type(value).__name__
        if self._records.get(name) is type(value):
            convert = self._convert(type(value))
            assert convert is not None
            return {_TAG: name, "v": convert[0](value)}
        raise TypeError(f"the build cache cannot hold a {name}")

    def _untagged(self, found: Any) -> Any:
        if isinstance(found, list):
            return [self._untagged(item) for item in found]
        if not isinstance(found, dict):
            return found
        tag = found.get(_TAG)
        if tag is None:
            return {key: self._untagged(item) for key, item in found.items()}
        if tag == "tuple":
            return tuple(self._untagged(item) for item in found["v"])
        if tag == "path":
            return Path(found["v"])
        if tag == "datetime":
            return _read_datetime(found["v"])
        convert = self._convert(self._records[tag])
        assert convert is not None
        return convert[1](found["v"])


def _same(value: Any) -> Any:
    return value


def _a_dict(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise TypeError(f"expected an object, found {type(value).__name__}")
    return value


def _text_keys(value: dict[Any, Any]) -> dict[str, Any]:
    for key in value:
        if not isinstance(key, str) or key == _TAG:
            raise TypeError(f"the build cache keys records by text, not {type(key).__name__}")
    return value


def _datetime(value: datetime) -> list[Any]:
    # A named zone is kept by name, with the fold that tells the two 02:30s of an autumn night apart.
    if isinstance(value.tzinfo, ZoneInfo):
        return [value.replace(tzinfo=None).isoformat(), value.tzinfo.key, value.fold]
    return [value.isoformat()]


def _read_datetime(found: list[Any]) -> datetime:
    value = datetime.fromisoformat(found[0])
    if len(found) == 3:
        value = value.replace(tzinfo=ZoneInfo(found[1]), fold=found[2])
    return value
