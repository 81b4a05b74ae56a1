"""The names in a few directories of the app, for the mistake detectors
(``core.advice.questions`` says which): read before the build creates anything."""

from __future__ import annotations

import os

from .beneath import open_beneath

TYPE_CHECKING = False  # the build imports this module: no typing at run time
if TYPE_CHECKING:
    from collections.abc import Iterable

MAX_NAMES = 100_000  # a huge directory is listed only this far


def listings(
    root_fd: int, directories: Iterable[tuple[bytes, ...]]
) -> dict[tuple[bytes, ...], frozenset[bytes]]:
    """``{directory: its names}`` for each of ``directories`` that exists and
    can be read, never through a symlink."""
    found = {}
    for names in directories:
        try:
            fd = open_beneath(root_fd, [os.fsdecode(n) for n in names])
        except OSError:
            continue
        try:
            with os.scandir(fd) as it:
                seen = []
                for item in it:
                    seen.append(os.fsencode(item.name))
                    if len(seen) >= MAX_NAMES:
                        break
            found[names] = frozenset(seen)
        except OSError:
            continue
        finally:
            os.close(fd)
    return found
