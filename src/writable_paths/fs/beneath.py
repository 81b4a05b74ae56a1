"""Opening paths below a directory descriptor, one component at a time, never
through a symlink; the one place that knows how."""

from __future__ import annotations

import errno
import os

TYPE_CHECKING = False  # the build imports this module: no typing at run time
if TYPE_CHECKING:
    from collections.abc import Iterable

OPEN_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
# A handle on an entry itself, whatever its type and permissions: never follows a
# symlink at the last component, opens no FIFO, needs no read permission.
OPEN_PATH = os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC


def open_beneath(dir_fd: int, names: Iterable[str]) -> int:
    """A new descriptor of the directory ``names`` below ``dir_fd``; every
    component must be a real directory. Raises ``OSError``."""
    fd = os.dup(dir_fd)
    try:
        for name in names:
            nxt = os.open(name, OPEN_DIR, dir_fd=fd)
            os.close(fd)
            fd = nxt
    except BaseException:
        os.close(fd)
        raise
    return fd


def open_checked(dir_fd: int, names: Iterable[str], ident: tuple[int, int]) -> int:
    """``open_beneath``, and the directory must still be the one seen earlier
    (``ident`` is its ``(st_dev, st_ino)``). Raises ``OSError``."""
    fd = open_beneath(dir_fd, names)
    st = os.fstat(fd)
    if (st.st_dev, st.st_ino) != ident:
        os.close(fd)
        raise OSError(errno.ESTALE, "replaced while the build ran")
    return fd
