"""Write the build cache's records as JSON and read them back, making only the classes named here.

The cache lives in a folder that CI caches and tools restore, so reading it must never run code
(as unpickling does). JSON has no tuples, dates, paths or records: a record is written as an object
with a tag under a key no record has, and read back by the one class named for that tag. How each
field is written follows its annotation, worked out once per class: text, numbers and tuples of
them go to the C encoder as they are; a tuple of anything else, and a dict of tuples, is written as
an array (an object) of its items and made a tuple again from the annotation, with no tag of its
own; only dates, paths, enums and records are turned into JSON and back by hand. At 1,000 posts
that is most of the cost of reading and writing it.

A record is read back as copy and pickle restore an object: a new instance whose ``__dict__`` takes
the fields, every one of them and no other, with no call of ``__init__`` (a frozen dataclass's sets
each field through ``object.__setattr__``, slow over thousands of records).
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

# How a field is written and read: None when the C encoder takes its value as it is and it reads
# back the same; else a pair of functions.
_Convert = tuple[Callable[[Any], Any], Callable[[Any], Any]] | None


class Codec:
    """Encode values made of *records* (dataclasses), tuples, dicts, lists, datetimes, paths and
    plain JSON values; decode them back into the same types."""

    def __init__(self, records: Iterable[type]) -> None:
        self._records: dict[str, type] = {record.__name__: record for record in records}
        self._fields: dict[str, tuple[tuple[str, _Convert], ...]] = {}
        # Per record: the names of all its fields, and how to read those that are not read as they are.
        self._names: dict[str, frozenset[str]] = {}
        self._reads: dict[str, tuple[tuple[str, Callable[[Any], Any]], ...]] = {}
        for name, record in self._records.items():
            if "__slots__" in vars(record) or hasattr(record, "__post_init__"):
                raise TypeError(f"{name}: the build cache restores a record's fields into its __dict__ and "
                                "calls nothing, so a record can have neither __slots__ nor __post_init__")
            hints = typing.get_type_hints(record)
            self._fields[name] = tuple((field.name, self._convert(hints[field.name]))
                                       for field in dataclasses.fields(record))
            self._names[name] = frozenset(field for field, _ in self._fields[name])
            self._reads[name] = tuple((field, convert[1]) for field, convert in self._fields[name]
                                      if convert is not None and convert[1] is not _same)
        self._readers: dict[str, Callable[[dict[str, Any]], Any]] = {
            "tuple": lambda found: tuple(found["v"]),
            "path": lambda found: Path(found["v"]),
            "datetime": lambda found: _read_datetime(found["v"]),
        }

    def _convert(self, hint: Any) -> _Convert:
        """How to write and read a field annotated *hint*."""
        if hint in _PLAIN:
            return None
        origin, args = typing.get_origin(hint), typing.get_args(hint)
        if origin is tuple and args:
            if all(arg in _PLAIN for arg in args if arg is not Ellipsis):
                return (_same, tuple)  # written as an array; read back as a tuple
            # The items are written (and tagged) as they need; the tuple itself is a plain array.
            return (lambda value: [self._plain(item) for item in value], tuple)
        if origin is dict and args[:1] == (str,):
            inner = self._convert(args[1])
            if inner is not None and inner[1] is not _same:
                write, read = inner
                return (lambda value: {_key(key): write(item) for key, item in value.items()},
                        lambda value: {key: read(item) for key, item in value.items()})
        if origin in (typing.Union, types.UnionType) and all(arg in _PLAIN for arg in args):
            return None
        if hint is datetime:
            return (_datetime, _read_datetime)
        if origin in (typing.Union, types.UnionType) and set(args) == {datetime, type(None)}:
            return (lambda value: None if value is None else _datetime(value),
                    lambda value: None if value is None else _read_datetime(value))
        if hint is Path:
            return (str, Path)
        if isinstance(hint, type) and issubclass(hint, enum.Enum):
            return (lambda value: value.value, hint)
        # Anything else (records, dicts, unions of paths and text) is tagged and read back by its tag.
        return (self._plain, _same)

    def dumps(self, value: object) -> bytes:
        """*value* as compact JSON bytes."""
        # ASCII: the standard library's C encoder takes its fast path for it.
        return json.dumps(self._plain(value), separators=(",", ":")).encode("ascii")

    def loads(self, data: bytes) -> Any:
        """The value *data* holds; ValueError if it is not what dumps writes."""
        try:
            return json.loads(data, object_hook=self._read)
        except (KeyError, TypeError, RecursionError, AttributeError) as error:
            raise ValueError(f"not a cache record: {error}") from None

    def _plain(self, value: object) -> Any:
        if value is None or isinstance(value, (str, bool, int, float)):
            return value
        if isinstance(value, tuple):
            return {_TAG: "tuple", "v": [self._plain(item) for item in value]}
        if isinstance(value, list):
            return [self._plain(item) for item in value]
        if isinstance(value, dict):
            return {_key(key): self._plain(item) for key, item in value.items()}
        if isinstance(value, datetime):
            return {_TAG: "datetime", "v": _datetime(value)}
        if isinstance(value, PurePath):
            return {_TAG: "path", "v": str(value)}
        name = type(value).__name__
        if name in self._records and type(value) is self._records[name]:
            found: dict[str, Any] = {_TAG: name}
            for field, convert in self._fields[name]:
                item = getattr(value, field)
                found[field] = item if convert is None else convert[0](item)
            return found
        raise TypeError(f"the build cache cannot hold a {name}")

    def _read(self, found: dict[str, Any]) -> Any:
        tag = found.pop(_TAG, None)
        if tag is None:
            return found
        reader = self._readers.get(tag)
        if reader is not None:
            return reader(found)
        if found.keys() != self._names[tag]:
            raise ValueError(f"not a cache record: {tag} with the fields {', '.join(sorted(found))}")
        for field, read in self._reads[tag]:
            found[field] = read(found[field])
        record: Any = object.__new__(self._records[tag])
        record.__dict__.update(found)
        return record


def _same(value: Any) -> Any:
    return value


def _key(key: object) -> str:
    if not isinstance(key, str) or key == _TAG:
        raise TypeError(f"the build cache keys records by text, not {type(key).__name__}")
    return key


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
