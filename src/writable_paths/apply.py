"""The only module that changes the file system: chgrp, chmod, mkdir.

Every call works relative to a directory descriptor and never through a
symlink: types come from ``lstat``, ``chown`` is ``lchown``, ``chmod`` is only
called on names that ``lstat`` showed are not symlinks, and directories are
opened with ``O_NOFOLLOW``. With ``dry_run`` nothing is changed and every
method answers what it would have done.
"""

from __future__ import annotations

import errno
import os
import stat

_OPEN_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
NEW_DIRECTORY_MODE = 0o755


class MakeDirsResult:
    __slots__ = ("blocked", "created", "failed")

    def __init__(self) -> None:
        self.created: list[str] = []
        # What stands in the way: (its path, "symlink" or "file").
        self.blocked: tuple[str, str] | None = None
        # A system error: (the path being created or entered, the error).
        self.failed: tuple[str, str] | None = None


class Applier:
    def __init__(self, dry_run: bool = False) -> None:
        self.dry_run = dry_run

    def change(
        self, dir_fd: int, name: str, st: os.stat_result, mode: int, gid: int | None
    ) -> bool:
        """Give ``name`` (not a symlink) ``mode`` and, if given, group ``gid``.

        Returns whether anything changed. Raises ``OSError`` when it cannot.
        """
        assert not stat.S_ISLNK(st.st_mode)
        new_gid = gid is not None and st.st_gid != gid
        new_mode = stat.S_IMODE(st.st_mode) != mode
        if self.dry_run or not (new_gid or new_mode):
            return new_gid or new_mode
        if gid is not None and new_gid:
            os.chown(name, -1, gid, dir_fd=dir_fd, follow_symlinks=False)
            # chown clears setuid/setgid on files: set the mode again.
            new_mode = True
        if new_mode:
            os.chmod(name, mode, dir_fd=dir_fd)
        return True

    def change_at(
        self,
        root_fd: int,
        names: tuple[str, ...],
        ident: tuple[int, int],
        mode: int,
        gid: int | None,
    ) -> bool:
        """``change`` for a path found earlier, if it is still the same inode."""
        fd = os.dup(root_fd)
        try:
            for name in names[:-1]:
                nxt = os.open(name, _OPEN_DIR, dir_fd=fd)
                os.close(fd)
                fd = nxt
            st = os.stat(names[-1], dir_fd=fd, follow_symlinks=False)
            if (st.st_dev, st.st_ino) != ident or stat.S_ISLNK(st.st_mode):
                raise OSError(errno.ESTALE, "replaced while the build ran")
            return self.change(fd, names[-1], st, mode, gid)
        finally:
            os.close(fd)

    def make_dirs(self, root_fd: int, names: tuple[str, ...]) -> MakeDirsResult:
        """Create the directory ``names`` below ``root_fd``, parents as needed,
        stopping at a symlink, a file, or a directory the build user cannot enter.

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
                if depth == len(names) - 1:
                    return result
                nxt = os.open(name, _OPEN_DIR, dir_fd=fd)
                os.close(fd)
                fd = nxt
            return result
        except OSError as err:
            result.failed = (path, err.strerror or str(err))
            return result
        finally:
            os.close(fd)
