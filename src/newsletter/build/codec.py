"""Write the build cache's records as JSON and read them back, making only the classes named here.

The cache lives in a folder that CI caches and tools restore, so reading it must never run code
(as unpickling does). JSON has no tuples, dates, paths or records; each is written as an object
with a tag under a key no record has, and read back by the one class named for that tag.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path, PurePath
from typing import Any
from zoneinfo import ZoneInfo

_TAG = "\x00"


class Codec:
    """Encode values made of *records* (dataclasses), tuples, dicts, lists, datetimes, paths and
    plain JSON values; decode them back into the same types."""

    def __init__(self, records: Iterable[type]) -> None:
        self._records: dict[str, type] = {record.__name__: record for record in records}
        self._fields = {name: tuple(field.name for field in dataclasses.fields(record))
                        for name, record in self._records.items()}
        self._readers: dict[str, Callable[[dict[str, Any]], Any]] = {
            "tuple": lambda found: tuple(found["v"]),
            "path": lambda found: Path(found["v"]),
            "datetime": _read_datetime,
        }

    def dumps(self, value: object) -> bytes:
        """*value* as compact JSON bytes."""
        # ASCII: the standard library's C encoder takes its fast path for it.
        return json.dumps(self._plain(value), separators=(",", ":")).encode("ascii")

    def loads(self, data: bytes) -> Any:
        """The value *data* holds; ValueError if it is not what dumps writes."""
        try:
            return json.loads(data, object_hook=self._read)
        except (KeyError, TypeError, RecursionError) as error:
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
            return _datetime(value)
        if isinstance(value, PurePath):
            return {_TAG: "path", "v": str(value)}
        name = type(value).__name__
        if name in self._records and type(value) is self._records[name]:
            return {_TAG: name, **{field: self._plain(getattr(value, field)) for field in self._fields[name]}}
        raise TypeError(f"the build cache cannot hold a {name}")

    def _read(self, found: dict[str, Any]) -> Any:
        tag = found.pop(_TAG, None)
        if tag is None:
            return found
        reader = self._readers.get(tag)
        if reader is not None:
            return reader(found)
        return self._records[tag](**found)


def _key(key: object) -> str:
    if not isinstance(key, str) or key == _TAG:
        raise TypeError(f"the build cache keys records by text, not {type(key).__name__}")
    return key


def _datetime(value: datetime) -> dict[str, Any]:
    # A named zone is kept by name, with the fold that tells the two 02:30s of an autumn night apart.
    if isinstance(value.tzinfo, ZoneInfo):
        return {_TAG: "datetime", "v": value.replace(tzinfo=None).isoformat(), "zone": value.tzinfo.key,
                "fold": value.fold}
    return {_TAG: "datetime", "v": value.isoformat()}


def _read_datetime(found: dict[str, Any]) -> datetime:
    value = datetime.fromisoformat(found["v"])
    if "zone" in found:
        value = value.replace(tzinfo=ZoneInfo(found["zone"]), fold=found["fold"])
    return value
