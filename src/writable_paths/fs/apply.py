"""The only module that changes the file system: chgrp, chmod, mkdir.

An entry is changed only through a descriptor of the entry itself, opened
without following a symlink and checked against the ``lstat`` the decision
was made on (device, inode and type). A name swapped in the meantime, for a
symlink or a hard link to a file elsewhere, is left alone: the change can only
ever reach the inode that was decided. With ``dry_run`` nothing is changed and
every method answers what it would have done.
"""

from __future__ import annotations

import errno
import os
import stat

from ..core.policy import NEW_DIRECTORY_MODE
from .beneath import OPEN_DIR, OPEN_PATH, open_beneath

_STALE = "replaced while the build ran"


class MakeDirsResult:
    __slots__ = ("blocked", "created", "failed")

    def __init__(self) -> None:
        self.created: list[str] = []
        # What stands in the way: (its path, "symlink" or "file").
        self.blocked: tuple[str, str] | None = None
        # A system error: (the path being created or entered, the error).
        self.failed: tuple[str, str] | None = None


def _same(st: os.stat_result, now: os.stat_result) -> bool:
    return (st.st_dev, st.st_ino, stat.S_IFMT(st.st_mode)) == (
        now.st_dev,
        now.st_ino,
        stat.S_IFMT(now.st_mode),
    )


def _proc_works() -> bool:
    """Whether ``/proc/self/fd/N`` reaches the inode of an ``O_PATH`` descriptor
    (it needs ``/proc``; build containers have it)."""
    try:
        fd = os.open("/", OPEN_PATH)
    except OSError:
        return False
    try:
        return _same(os.fstat(fd), os.stat(f"/proc/self/fd/{fd}"))
    except OSError:
        return False
    finally:
        os.close(fd)


class Applier:
    def __init__(self, dry_run: bool = False) -> None:
        self.dry_run = dry_run
        self._proc: bool | None = None

    def change(
        self, dir_fd: int, name: str, st: os.stat_result, mode: int, gid: int | None
    ) -> bool:
        """Give the entry ``name`` that ``st`` describes (not a symlink) ``mode``
        and, if given, group ``gid``.

        Returns whether anything changed. Raises ``OSError`` when it cannot,
        ``ESTALE`` when the name no longer is that entry.
        """
        assert not stat.S_ISLNK(st.st_mode)
        new_gid = gid is not None and st.st_gid != gid
        new_mode = stat.S_IMODE(st.st_mode) != mode
        if self.dry_run or not (new_gid or new_mode):
            return new_gid or new_mode
        if self._proc is None:
            self._proc = _proc_works()
        if self._proc:
            fd = os.open(name, OPEN_PATH, dir_fd=dir_fd)
            target: str | int = f"/proc/self/fd/{fd}"
        else:  # no /proc: a descriptor that fchmod takes (needs read permission)
            flags = OPEN_DIR if stat.S_ISDIR(st.st_mode) else os.O_RDONLY | os.O_NOFOLLOW
            fd = os.open(name, flags | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=dir_fd)
            target = fd
        try:
            if not _same(st, os.fstat(fd)):
                raise OSError(errno.ESTALE, _STALE)
            if gid is not None and new_gid:
                os.chown(target, -1, gid)
            # chown clears setuid/setgid on files: the mode is set again in any case.
            os.chmod(target, mode)
        finally:
            os.close(fd)
        return True

    def change_at(
        self,
        root_fd: int,
        names: tuple[str, ...],
        ident: tuple[int, int],
        mode: int,
        gid: int | None,
        links: int = 0,
        ctime: int = 0,
    ) -> bool:
        """``change`` for a path found earlier, if it is still the same inode
        (and, given ``links``, has no more links than that; given ``ctime``,
        still has that ``st_ctime_ns``: no link added, removed or moved since)."""
        fd = open_beneath(root_fd, names[:-1])
        try:
            st = os.stat(names[-1], dir_fd=fd, follow_symlinks=False)
            if (st.st_dev, st.st_ino) != ident or stat.S_ISLNK(st.st_mode):
                raise OSError(errno.ESTALE, _STALE)
            if links and st.st_nlink > links:
                raise OSError(errno.ESTALE, "linked again while the build ran")
            if ctime and st.st_ctime_ns != ctime:
                raise OSError(errno.ESTALE, "its links changed while the build ran")
            return self.change(fd, names[-1], st, mode, gid)
        finally:
            os.close(fd)

    def change_root(self, root_fd: int, mode: int) -> None:
        """Give the app directory, open as ``root_fd``, ``mode``."""
        if not self.dry_run:
            os.fchmod(root_fd, mode)

    def make_dirs(self, root_fd: int, names: tuple[str, ...]) -> MakeDirsResult:
        """Create the directory ``names`` below ``root_fd``, parents as needed,
        stopping at a symlink, a file, or a directory the build user cannot enter.
        New directories get ``NEW_DIRECTORY_MODE`` whatever the umask.

        Only the parents are entered: the last directory, new or not, is left to
        the walk (it may be unreadable until the walk opens it up).
        """
        result = MakeDirsResult()
        fd = os.dup(root_fd)
        path = ""
        try:
            for depth, name in enumerate(names):
                path = "/".join(names[: depth + 1])
                try:
                    st: os.stat_result | None = os.stat(name, dir_fd=fd, follow_symlinks=False)
                except FileNotFoundError:
                    st = None
                if st is not None and stat.S_ISLNK(st.st_mode):
                    result.blocked = (path, "symlink")
                    return result
                if st is not None and not stat.S_ISDIR(st.st_mode):
                    result.blocked = (path, "file")
                    return result
                if st is None:
                    if self.dry_run:
                        # Everything below is new as well.
                        result.created.extend(
                            "/".join(names[: d + 1]) for d in range(depth, len(names))
                        )
                        return result
                    os.mkdir(name, NEW_DIRECTORY_MODE, dir_fd=fd)
                    result.created.append(path)
                if st is None or depth < len(names) - 1:
                    nxt = os.open(name, OPEN_DIR, dir_fd=fd)
                    os.close(fd)
                    fd = nxt
                    if st is None:
                        os.fchmod(fd, NEW_DIRECTORY_MODE)  # not what the umask left
            return result
        except OSError as err:
            result.failed = (path, err.strerror or str(err))
            return result
        finally:
            os.close(fd)
