"""Regular files with several hard links: one inode, one mode.

A file whose links all lie inside the app gets one mode, and a selected link
decides it (``policy.link_wins``). A file with a link elsewhere is left as it
is: changing it would change the other place too. The walk only records where
it saw each link; the file is settled once every directory was walked, and
only if every recorded link is still there and still that file (a link moved
during the walk would otherwise be counted twice).
"""

from __future__ import annotations

import os
import stat

from ..core.policy import link_wins, linked_outside
from .beneath import open_beneath

TYPE_CHECKING = False  # the build imports this module: no typing at run time
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from ..core.decide import Decision

    Key = tuple[int, int]


class Linked:
    """One hard-linked file: where its links were seen, and the mode it gets."""

    __slots__ = ("decision", "gid", "links", "mode", "old_gid", "old_mode", "places")

    def __init__(
        self,
        place: tuple[str, ...],
        st: os.stat_result,
        mode: int,
        gid: int | None,
        decision: Decision,
    ) -> None:
        self.places = [place]
        self.links = st.st_nlink
        self.old_mode = st.st_mode
        self.old_gid = st.st_gid
        self.mode = mode
        self.gid = gid
        self.decision = decision

    @property
    def path(self) -> str:
        """The first link by name stands for the file, whichever process saw it."""
        return "/".join(min(self.places))

    def needs_change(self) -> bool:
        return (self.gid is not None and self.gid != self.old_gid) or self.mode != stat.S_IMODE(
            self.old_mode
        )


class HardLinks:
    """The hard-linked files seen so far, by ``(st_dev, st_ino)``."""

    __slots__ = ("_files",)

    def __init__(self) -> None:
        self._files: dict[Key, Linked] = {}

    def __len__(self) -> int:
        return len(self._files)

    def add(self, key: Key, other: Linked) -> None:
        known = self._files.get(key)
        if known is None:
            self._files[key] = other
            return
        known.places.extend(other.places)
        if link_wins(known.decision.selected, other.decision.selected):
            known.mode, known.gid, known.decision = other.mode, other.gid, other.decision

    def merge(self, other: HardLinks) -> None:
        for key, linked in other._files.items():
            self.add(key, linked)

    def settle(
        self, root_fd: int, change: Callable[[tuple[str, ...], Key, Linked], None]
    ) -> Iterator[tuple[Linked, int]]:
        """Call ``change`` for every file whose links are all in the app; yield
        the others that needed a change, with how many of their links are inside."""
        for key, linked in self._files.items():
            places = sorted(set(linked.places))
            inside = sum(1 for place in places if _still(root_fd, place, key))
            if linked_outside(linked.links, inside) or inside < len(places):
                if linked.needs_change():
                    yield linked, inside
                continue
            change(places[0], key, linked)


def _still(root_fd: int, place: tuple[str, ...], key: Key) -> bool:
    """Whether ``place`` still names the file ``key``."""
    try:
        fd = open_beneath(root_fd, place[:-1])
    except OSError:
        return False
    try:
        st = os.stat(place[-1], dir_fd=fd, follow_symlinks=False)
    except OSError:
        return False
    finally:
        os.close(fd)
    return (st.st_dev, st.st_ino) == key and stat.S_ISREG(st.st_mode)
