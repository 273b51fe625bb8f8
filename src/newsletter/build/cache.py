"""A build cache (.newsletter/cache for `build`): posts read before, rendered bodies, and the last build.

Everything here can be deleted at any time; the next build is then a cold one. Entries are keyed
so that a stale one is never used: posts by file name, size and modification time, bodies by the
post's content digest, and the whole cache by the code and library versions that made it. The
records are JSON (codec.py): a file that does not read back is dropped, and reading one never
runs code.
"""

from __future__ import annotations

import dataclasses
import functools
import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from ..errors import BuildError, Problem
from ..files import write_atomically
from ..outputs.units import digest
from ..posts import Post, ReadPost
from ..render.body import Image, Outline, RenderedBody
from ..sources import Stamp, stamp_of
from .codec import Codec

_STATE = "state.json"
_BODIES = "bodies"
_QUICK = "quick.json"


@dataclass
class UnitRecord:
    """What one unit made in the last build: its key, its output paths, the warnings it raised."""

    key: str
    paths: tuple[str, ...]
    warnings: tuple[Problem, ...]


@dataclass
class BuildRecord:
    """The last build written to ``out``: its id (also in the output's marker file) and its units."""

    build_id: str
    out: str
    units: dict[str, UnitRecord] = field(default_factory=dict)
    hashes: dict[str, str] = field(default_factory=dict)  # output path -> digest of its bytes
    # output path -> (size, modification time) of its file once written: edits by hand show.
    stamps: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class BuiltIssue:
    """One issue a build made, as those who show the build list it."""

    slug: str
    title: str
    date: datetime
    status: str
    source: str
    preheader: str


@dataclass(frozen=True)
class QuickRecord:
    """Enough of the last build to say "nothing changed" without loading anything else.

    It holds while the inputs' fingerprint is the same and the clock stays between the last
    build's time and the first scheduled post's.
    """

    fingerprint: str
    build_id: str
    built_at: datetime
    next_due: datetime | None
    issues: tuple[BuiltIssue, ...]
    files: int
    warnings: tuple[Problem, ...]
    outputs: dict[str, str] = field(default_factory=dict)  # as BuildRecord.stamps


_FINGERPRINT_WITHIN = 256


def read_quick_record(folder: Path, fingerprint: str, now: datetime, marker: str) -> QuickRecord | None:
    """The last build's quick record (in the cache *folder*) if its output is still right as of *now*."""
    try:
        data = (folder / _QUICK).read_bytes()
    except OSError:
        return None
    # The fingerprint is the record's first field: a record of other inputs (after any edit) is
    # told at a glance, without decoding its thousands of output stamps.
    if fingerprint.encode() not in data[:_FINGERPRINT_WITHIN]:
        return None
    try:
        quick = _CODEC.loads(data)
    except ValueError:
        return None
    if not isinstance(quick, QuickRecord) or quick.fingerprint != fingerprint or quick.build_id != marker:
        return None
    if now < quick.built_at or (quick.next_due is not None and now >= quick.next_due):
        return None
    return quick


def write_quick_record(folder: Path, quick: QuickRecord) -> None:
    write_atomically(folder / _QUICK, _CODEC.dumps(quick), durable=False)


@dataclass
class _State:
    namespace: str
    posts: dict[str, tuple[int, int, int, ReadPost]] = field(default_factory=dict)
    outlines: dict[str, Outline] = field(default_factory=dict)
    record: BuildRecord | None = None


_CODEC = Codec((_State, ReadPost, Post, Outline, Image, Problem, BuildRecord, UnitRecord, QuickRecord, BuiltIssue))


class HeldCache:
    """The cache as the last build of a long-lived process (the preview) left it, so that the next
    build need not read it back: good for as long as the cache file is the one that build wrote.

    A build that fails part-way may have changed the state without writing it: it drops what is
    held (see ``phases.make_build``), and the next build reads the file again.
    """

    def __init__(self) -> None:
        self._state: _State | None = None
        self._stamp: Stamp | None = None

    def take(self, file: Path, namespace: str) -> _State | None:
        """The state held, if *file* is still what it was when the state was held, for *namespace*."""
        if self._state is None or self._state.namespace != namespace:
            return None
        try:
            stamp = stamp_of(file.stat())
        except OSError:
            return None
        return self._state if stamp == self._stamp else None

    def hold(self, state: _State, file: Path) -> None:
        try:
            self._state, self._stamp = state, stamp_of(file.stat())
        except OSError:
            self.drop()

    def drop(self) -> None:
        self._state = self._stamp = None


class BuildCache:
    """Posts, bodies and the last build's record for one newsletter (a PostCache and a BodyStore)."""

    def __init__(self, folder: Path, namespace: str, stamps: dict[str, Stamp | None] | None = None,
                 held: HeldCache | None = None) -> None:
        self.folder = folder
        # Stamps of the post files, taken at the start of the build; others are asked for as needed.
        self.stamps = stamps or {}
        self.held = held
        self.state = (held.take(folder / _STATE, namespace) if held is not None else None) or self._load(namespace)
        self._seen_posts: set[str] = set()
        # The slugs of the posts read again from their files in this build: the ones just saved.
        self.read_again: list[str] = []
        self._seen_bodies: set[str] = set()
        self._changed = False

    def _load(self, namespace: str) -> _State:
        try:
            state = _CODEC.loads((self.folder / _STATE).read_bytes())
        except (OSError, ValueError):
            return _State(namespace)
        if not isinstance(state, _State) or state.namespace != namespace:
            return _State(namespace)
        return state

    # -- posts ----------------------------------------------------------------------------------

    def _stamp(self, path: str) -> Stamp:
        stamp = self.stamps.get(path)
        return stamp if stamp is not None else stamp_of(os.stat(path))

    def get(self, path: str) -> ReadPost | None:
        known = self.state.posts.get(path)
        self._seen_posts.add(path)
        try:
            stamp = self._stamp(path)
        except OSError:
            return None
        if known is None or known[:3] != stamp or not self.has_body(known[3].post):
            return None  # read the file again: its body is needed to render it
        return known[3]

    def put(self, path: str, read: ReadPost) -> None:
        # Kept without its Markdown, which the cached body stands in for: a fraction of the size.
        light = ReadPost(dataclasses.replace(read.post, body=""), read.warnings, read.slug_line)
        self.read_again.append(read.post.slug)
        try:
            self.state.posts[path] = (*self._stamp(path), light)
        except OSError:
            return
        self._changed = True

    # -- bodies ---------------------------------------------------------------------------------

    def _body_path(self, post: Post) -> Path:
        return self.folder / _BODIES / f"{post.key}.html"

    def has_body(self, post: Post) -> bool:
        return post.key in self.state.outlines and f"{post.key}.html" in self._bodies_on_disk

    @functools.cached_property
    def _bodies_on_disk(self) -> set[str]:
        # One listing instead of a stat per post; note_body adds the bodies this build writes.
        try:
            return set(os.listdir(self.folder / _BODIES))
        except OSError:
            return set()

    def outline(self, post: Post) -> Outline:
        self._seen_bodies.add(post.key)
        return self.state.outlines[post.key]

    def html(self, post: Post) -> str:
        try:
            return self._body_path(post).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise BuildError(problems=[Problem(self._body_path(post), "the build cache changed during the build; "
                                                                "run 'newsletter build --clean'")]) from None

    def write_body(self, post: Post, body: RenderedBody) -> Outline:
        """Keep a rendered body's HTML on disk (from any process); note its outline with note_body."""
        try:
            write_atomically(self._body_path(post), body.html.encode("utf-8"), durable=False)
        except OSError as error:
            raise BuildError(f"{self.folder}: cannot write the build cache: {error.strerror}; free some space "
                             "(the folder may be deleted at any time)") from None
        return body.outline

    def _derived_path(self, post: Post, name: str) -> Path:
        # Named after the post's key, so that it goes with the body, and after the code that made it.
        return self.folder / _BODIES / f"{post.key}.{digest(self.state.namespace, name)}.html"

    def derived(self, post: Post, name: str) -> str | None:
        path = self._derived_path(post, name)
        if path.name not in self._bodies_on_disk:
            return None
        try:
            return path.read_text(encoding="utf-8")
        except OSError:
            return None

    def keep_derived(self, post: Post, name: str, text: str) -> None:
        """Keep text made from a post's body, from any process; the body's pruning takes it too."""
        path = self._derived_path(post, name)
        try:
            write_atomically(path, text.encode("utf-8"), durable=False)
        except OSError:
            return  # only a cache: the next build makes it again
        self._bodies_on_disk.add(path.name)

    def note_body(self, post: Post, outline: Outline) -> None:
        self._bodies_on_disk.add(f"{post.key}.html")
        self.state.outlines[post.key] = outline
        self._seen_bodies.add(post.key)
        self._changed = True

    # -- the last build -------------------------------------------------------------------------

    @property
    def record(self) -> BuildRecord | None:
        return self.state.record

    def save(self, record: BuildRecord) -> None:
        """Keep what this build used, drop the rest, and write the cache to disk (if anything changed)."""
        posts = {path: known for path, known in self.state.posts.items() if path in self._seen_posts}
        stale = set(self.state.outlines) - self._seen_bodies
        if not self._changed and not stale and len(posts) == len(self.state.posts) and record == self.state.record:
            if self.held is not None:
                self.held.hold(self.state, self.folder / _STATE)
            return
        if self.held is not None:
            self.held.drop()  # held again once written
        self.state.record = record
        self.state.posts = posts
        for key in stale:
            del self.state.outlines[key]
        if stale:
            for name in self._bodies_on_disk:
                if name.split(".", 1)[0] in stale:  # the body and what was made from it
                    (self.folder / _BODIES / name).unlink(missing_ok=True)
        write_atomically(self.folder / _STATE, _CODEC.dumps(self.state))
        if self.held is not None:
            self.held.hold(self.state, self.folder / _STATE)
