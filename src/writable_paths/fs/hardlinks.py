"""Regular files with several hard links: one inode, one mode.

A file whose links all lie inside the app gets one mode, and a selected link
decides it (``policy.link_wins``). A file with a link elsewhere is left as it
is: changing it would change the other place too. The walk only records where
it saw each link; the file is settled once every directory was walked, and
only if every recorded link is still there and still that file (a link moved
during the walk would otherwise be counted twice).

A link is a directory and a name: two places count as two links only if they
are in two different directories (by device and inode, whatever they are
called by now), so a directory renamed while the build runs, seen by the walk
under two names, is one link, not two. And the links of a file cannot change
without changing its ``st_ctime`` (link, unlink and rename all set it), so the
places are counted only while it stays what it was before the first look, older
than that look, and the file is changed only if it still has that ``st_ctime``:
a link moved from one directory to another between the looks, or afterwards,
leaves the file alone.

An app can hold hundreds of thousands of links (pnpm's store), so a sighting is
a few machine integers in arrays, not an object: the inode, the link's
directory (one tuple per directory, shared by its links), its name (bytes in
one buffer) and its "shape", the few values that most links share (link count,
mode and group before and after, the decision), interned. Settling groups the
sightings by inode a bucket at a time, so no table of every file is ever built.
"""

from __future__ import annotations

import os
import stat
import time
from array import array

from ..core.policy import link_wins, linked_outside
from .beneath import open_beneath

TYPE_CHECKING = False  # the build imports this module: no typing at run time
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from ..core.decide import Decision
    from .walk import Dir, Entry

    Key = tuple[int, int]
    # st_nlink, old st_mode, old st_gid, the mode wanted, the group wanted (-1: none),
    # and the decision that wanted them.
    Shape = tuple[int, int, int, int, int, Decision]

_PER_BUCKET = 2048  # sightings grouped at a time while settling, on average
_CHANGE, _FINDING = 1, 2  # what settling found for a file (at its first sighting)
# The clock the kernel stamps st_ctime with (Linux's CLOCK_REALTIME_COARSE; the
# time module does not name it): a file changed after a reading of it has a
# st_ctime no older than that reading.
_CTIME_CLOCK = 5
_RECOUNTS = 3  # counts of a file changed just now before it is taken for linked outside
# What a worker sends the build's process (the rest are lookups while adding).
_ARRAYS = ("_dev", "_ino", "_shape", "_dir", "_name")
_SENT = (*_ARRAYS, "_shapes", "_dirs", "_names")


class Linked:
    """One hard-linked file as settled: where it is, and the mode it gets."""

    __slots__ = ("ctime", "decision", "gid", "links", "mode", "names", "old_gid", "old_mode")

    def __init__(self, names: tuple[str, ...], shape: Shape, winner: Shape, ctime: int = 0) -> None:
        self.names = names  # its first link by name, whichever process saw it
        self.ctime = ctime  # its st_ctime_ns while its links were counted
        self.links, self.old_mode, self.old_gid = shape[0], shape[1], shape[2]
        self.mode = winner[3]
        self.gid = None if winner[4] < 0 else winner[4]
        self.decision = winner[5]

    @property
    def path(self) -> str:
        return "/".join(self.names)

    def needs_change(self) -> bool:
        return (self.gid is not None and self.gid != self.old_gid) or self.mode != stat.S_IMODE(
            self.old_mode
        )


class HardLinks:
    """Every sighting of a hard-linked regular file, in the order seen."""

    __slots__ = (
        "_dev",
        "_dir",
        "_dirs",
        "_ino",
        "_last_parent",
        "_name",
        "_names",
        "_shape",
        "_shape_index",
        "_shapes",
    )

    def __init__(self) -> None:
        self._dev = array("Q")
        self._ino = array("Q")
        self._shape = array("I")  # index into _shapes
        self._dir = array("I")  # index into _dirs
        self._name = array("Q")  # offset into _names of the NUL-terminated name
        self._shapes: list[Shape] = []
        self._dirs: list[tuple[str, ...]] = []
        self._names = bytearray()
        # Not sent to the build's process: lookups while adding.
        self._shape_index: dict[tuple[int, int, int, int, int, int], int] = {}
        self._last_parent: Dir | None = None

    @property
    def sightings(self) -> int:
        return len(self._dev)

    def add(self, entry: Entry, mode: int, gid: int | None, decision: Decision) -> None:
        """Record that the walk saw ``entry``, a regular file with several links,
        and that, decided alone, it would get ``mode`` and ``gid``."""
        st = entry.stat
        parent = entry.parent
        if parent is not self._last_parent:  # a directory's entries come together
            self._dirs.append(tuple(parent.names()))
            self._last_parent = parent
        self._dev.append(st.st_dev)
        self._ino.append(st.st_ino)
        self._shape.append(
            self._intern_shape(st.st_nlink, st.st_mode, st.st_gid, mode, gid, decision)
        )
        self._dir.append(len(self._dirs) - 1)
        self._name.append(len(self._names))
        self._names += os.fsencode(entry.name)
        self._names.append(0)

    def _intern_shape(
        self,
        links: int,
        old_mode: int,
        old_gid: int,
        mode: int,
        gid: int | None,
        decision: Decision,
    ) -> int:
        wanted = -1 if gid is None else gid
        key = (links, old_mode, old_gid, mode, wanted, id(decision))
        index = self._shape_index.get(key)
        if index is None:
            index = self._shape_index[key] = len(self._shapes)
            self._shapes.append((links, old_mode, old_gid, mode, wanted, decision))
        return index

    def merge(self, other: HardLinks) -> None:
        """Add ``other``'s sightings (a worker's). The larger set's arrays are kept
        and the smaller one's appended, so a worker's many links are not copied:
        the order of files from several processes is the order they finished in
        anyway, never one to rely on."""
        if other.sightings > self.sightings:
            mine = HardLinks()
            for name in _SENT:
                setattr(mine, name, getattr(self, name))
            for name in _SENT:
                setattr(self, name, getattr(other, name))
            self._shape_index = {
                (*shape[:5], id(shape[5])): i for i, shape in enumerate(self._shapes)
            }
            other = mine
        shapes = [
            self._intern_shape(links, old_mode, old_gid, mode, None if gid < 0 else gid, decision)
            for links, old_mode, old_gid, mode, gid, decision in other._shapes
        ]
        dirs, names = len(self._dirs), len(self._names)
        self._dev.extend(other._dev)
        self._ino.extend(other._ino)
        self._shape.extend(shapes[i] for i in other._shape)
        self._dir.extend(i + dirs for i in other._dir)
        self._name.extend(i + names for i in other._name)
        self._dirs.extend(other._dirs)
        self._names += other._names
        self._last_parent = None

    def __reduce_ex__(self, protocol: object) -> tuple[object, ...]:
        # With protocol 5 the arrays can travel out of band (see parallel).
        import pickle

        arrays = tuple(getattr(self, name) for name in _ARRAYS)
        if isinstance(protocol, int) and protocol >= 5:
            arrays = tuple((a.typecode, pickle.PickleBuffer(a)) for a in arrays)
        else:
            arrays = tuple((a.typecode, a.tobytes()) for a in arrays)
        return (_rebuilt, (arrays, self._shapes, self._dirs, self._names))

    def _place(self, i: int) -> tuple[str, ...]:
        start = self._name[i]
        name = os.fsdecode(bytes(self._names[start : self._names.index(0, start)]))
        return (*self._dirs[self._dir[i]], name)

    def settle(
        self, root_fd: int, change: Callable[[tuple[str, ...], Key, Linked], None]
    ) -> Iterator[tuple[Linked, int]]:
        """Call ``change`` for every file whose links are all in the app; yield
        the others that needed a change, with how many of their links are inside.
        Files come in the order of their first sighting."""
        count = len(self._dev)
        verdict = array("b", bytes(count))  # at each file's first sighting
        winner = array("I", bytes(4 * count))  # the sighting whose decision won
        target = array("I", bytes(4 * count))  # the sighting of the first link by name
        inside = array("I", bytes(4 * count))  # links still found where seen
        ctime = array("q", bytes(8 * count))  # the file's st_ctime_ns as they were counted
        with _Directories(root_fd) as directories:
            for group in self._groups():
                first = group[0]
                best = first
                for i in group[1:]:
                    if link_wins(self._selected(best), self._selected(i)):
                        best = i
                by_place: dict[tuple[str, ...], int] = {}
                for i in group:
                    by_place.setdefault(self._place(i), i)
                places = sorted(by_place)
                key = (self._dev[first], self._ino[first])
                seen, ctime[first] = directories.count(places, key)
                links = self._shapes[self._shape[first]][0]
                winner[first], target[first], inside[first] = best, by_place[places[0]], seen
                outside = linked_outside(links, seen) or seen < len(places) or not ctime[first]
                verdict[first] = _FINDING if outside else _CHANGE
        for first in range(count):
            if not verdict[first]:
                continue
            linked = Linked(
                self._place(target[first]),
                self._shapes[self._shape[first]],
                self._shapes[self._shape[winner[first]]],
                ctime[first],
            )
            if verdict[first] == _CHANGE:
                change(linked.names, (self._dev[first], self._ino[first]), linked)
            elif linked.needs_change():
                yield linked, inside[first]

    def _selected(self, i: int) -> bool:
        return bool(self._shapes[self._shape[i]][5].selected)

    def _groups(self) -> Iterator[list[int]]:
        """The sightings of each file, in the order seen, a bucket of inodes at a
        time: a counting sort into one array of indices, by inode number ranges
        (a file system numbers the files of one directory close together, so a
        bucket's links lie in few directories)."""
        count = len(self._dev)
        if not count:
            return
        buckets = max(1, count // _PER_BUCKET)
        ino = self._ino
        low = min(ino)
        span = max(ino) - low + 1
        bucket_of = array("I", ((n - low) * buckets // span for n in ino))
        starts = array("Q", bytes(8 * (buckets + 1)))
        for b in bucket_of:
            starts[b + 1] += 1
        for b in range(buckets):
            starts[b + 1] += starts[b]
        fill = array("Q", starts)
        order = array("I", bytes(4 * count))
        for i, b in enumerate(bucket_of):
            order[fill[b]] = i
            fill[b] += 1
        del bucket_of, fill
        dev = self._dev
        for b in range(buckets):
            files: dict[tuple[int, int], list[int]] = {}
            for i in order[starts[b] : starts[b + 1]]:
                files.setdefault((dev[i], ino[i]), []).append(i)
            yield from files.values()


def _rebuilt(
    arrays: tuple[tuple[str, object], ...],
    shapes: list[Shape],
    dirs: list[tuple[str, ...]],
    names: bytearray,
) -> HardLinks:
    links = HardLinks()
    for name, (typecode, data) in zip(_ARRAYS, arrays):
        values = array(typecode)
        values.frombytes(data)  # type: ignore[arg-type]
        setattr(links, name, values)
    links._shapes, links._dirs, links._names = shapes, dirs, names
    return links


class _Directories:
    """The few directories that settling looked in last, kept open: the links
    of neighbouring inodes mostly share them."""

    _KEEP = 4

    def __init__(self, root_fd: int) -> None:
        self._root_fd = root_fd
        self._open: dict[tuple[str, ...], int] = {}

    def __enter__(self) -> _Directories:
        return self

    def __exit__(self, *_: object) -> None:
        for fd in self._open.values():
            os.close(fd)
        self._open.clear()

    def count(self, places: list[tuple[str, ...]], key: Key) -> tuple[int, int]:
        """How many different links of the file ``key`` the ``places`` still
        are, and the file's ``st_ctime_ns`` while they were looked up: 0 when it
        changed meanwhile (then the count proves nothing). A file changed
        within the clock's current tick is counted again once the tick is over:
        a change in the same tick could leave its st_ctime as it was."""
        for _ in range(_RECOUNTS):
            start = time.clock_gettime_ns(_CTIME_CLOCK)
            links = set()
            ctimes = set()
            for place in places:
                found = self._still(place, key)
                if found is not None:
                    links.add((found[0], place[-1]))
                    ctimes.add(found[1])
            ctime = ctimes.pop() if len(ctimes) == 1 else 0
            if ctime <= 0 or ctime < start:
                return len(links), ctime
            for _ in range(20):  # a tick is at most 10 ms; a clock set back ends it too
                if time.clock_gettime_ns(_CTIME_CLOCK) > ctime:
                    break
                time.sleep(0.001)
        return len(links), 0

    def _still(self, place: tuple[str, ...], key: Key) -> tuple[Key, int] | None:
        """If ``place`` still names the file ``key``: its directory's
        ``(st_dev, st_ino)`` and the file's ``st_ctime_ns``."""
        parent = place[:-1]
        fd = self._open.pop(parent, -1)
        if fd < 0:
            try:
                fd = open_beneath(self._root_fd, parent)
            except OSError:
                return None
            if len(self._open) >= self._KEEP:
                oldest = next(iter(self._open))
                os.close(self._open.pop(oldest))
        self._open[parent] = fd  # the newest last
        try:
            st = os.stat(place[-1], dir_fd=fd, follow_symlinks=False)
            directory = os.fstat(fd)
        except OSError:
            return None
        if (st.st_dev, st.st_ino) != key or not stat.S_ISREG(st.st_mode):
            return None
        return (directory.st_dev, directory.st_ino), st.st_ctime_ns
