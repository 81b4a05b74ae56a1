"""Streaming top-down traversal by directory file descriptor.

Never follows a symlink: every directory is opened with ``O_NOFOLLOW`` relative
to its parent's descriptor and checked against the ``lstat`` that chose it.
Depth needs no recursion and paths need no length limit: only the deepest
``MAX_OPEN_DIRS`` directories keep a descriptor, an ancestor whose descriptor
was closed is reopened through ``..`` (and checked) on the way back up.
Memory holds the current chain of directories and their pending
subdirectories, never the whole tree.

A walk can hand subdirectories to other processes (see ``parallel``): before
entering one, it asks its ``Sharing`` whether to give it away instead.
"""

from __future__ import annotations

import errno
import os
import stat

from .beneath import OPEN_DIR

TYPE_CHECKING = False  # the build imports this module: no typing at run time
if TYPE_CHECKING:
    from collections.abc import Callable

    from ..core.decide import Context

MAX_OPEN_DIRS = 64
SPARE = 3  # descriptors freed at once when the process runs out
# Descriptors left for everything else while the walk holds its directories:
# listing one, changing an entry, settling hard links, a worker's pipes.
RESERVED = 8


def descriptor_budget() -> int:
    """How many directories the walk may keep open under this process's
    open-files limit (``ulimit -n``), counting what is open already."""
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    except (ImportError, OSError, ValueError):
        return MAX_OPEN_DIRS
    if soft == resource.RLIM_INFINITY:
        return MAX_OPEN_DIRS
    try:
        used = len(os.listdir("/proc/self/fd"))
    except OSError:
        used = 2 * RESERVED
    return max(1, min(MAX_OPEN_DIRS, soft - used - RESERVED))


class TreeChanged(Exception):
    """A directory above the walk was moved or replaced: the walk cannot go on."""

    def __init__(self, path: str) -> None:
        super().__init__(f"directory {path!r} moved during the build")
        self.path = path


class OutOfDescriptors(Exception):
    """The process cannot open a directory even with one kept open: too few file
    descriptors (``ulimit -n``) for the walk to go on."""

    def __init__(self, path: str, cause: str) -> None:
        super().__init__(f"cannot open below {path!r}: {cause}")
        self.path = path
        self.cause = cause


class Dir:
    """A directory on the current chain from the walk's root; the root's
    ``base`` holds its own path from the app root (empty for the app root)."""

    __slots__ = ("base", "fd", "ident", "name", "parent")

    def __init__(
        self,
        fd: int | None,
        parent: Dir | None,
        name: str,
        ident: tuple[int, int],
        base: tuple[str, ...] = (),
    ):
        self.fd = fd
        self.parent = parent
        self.name = name
        self.ident = ident
        self.base = base

    def names(self) -> list[str]:
        out: list[str] = []
        node = self
        while node.parent is not None:
            out.append(node.name)
            node = node.parent
        out.extend(reversed(node.base))
        out.reverse()
        return out


class Sharing:
    """How a walk shares its subdirectories; this base class shares nothing."""

    def take(self, entry: Entry, state: Context) -> bool:
        """Whether ``entry``, a directory about to be entered, was given away."""
        return False

    def hungry(self) -> bool:
        """Whether another process waits for work."""
        return False

    def give(self, entry: Entry, state: Context) -> None:
        """Give away ``entry``, a directory not yet entered."""


class Entry:
    """One directory entry with its ``lstat``; ``path`` is relative to the app root."""

    __slots__ = ("name", "parent", "stat")

    def __init__(self, parent: Dir, name: str, st: os.stat_result) -> None:
        self.parent = parent
        self.name = name
        self.stat = st

    @property
    def dir_fd(self) -> int:
        assert self.parent.fd is not None
        return self.parent.fd

    @property
    def names(self) -> tuple[str, ...]:
        return (*self.parent.names(), self.name)

    @property
    def path(self) -> str:
        return "/".join(self.names)


class Walk:
    """Visits every entry beneath ``root_fd`` once, parents before children.

    ``visit(entry, parent_state)`` returns the state to enter a directory with,
    or None to leave it unvisited. ``on_unreadable(path, error)`` hears of
    directories that cannot be opened or searched. ``base`` is the path of
    ``root_fd`` from the app root, for the entries' paths.
    """

    def __init__(
        self,
        root_fd: int,
        root_state: Context,
        visit: Callable[[Entry, Context], Context | None],
        on_unreadable: Callable[[str, OSError], None],
        *,
        base: tuple[str, ...] = (),
        sharing: Sharing | None = None,
    ) -> None:
        self._root_fd = root_fd
        self._root_state = root_state
        self._visit = visit
        self._on_unreadable = on_unreadable
        self._base = base
        self._sharing = sharing
        # How many directories keep a descriptor; lowered when the process runs out.
        self._open_limit = MAX_OPEN_DIRS
        self._stack: list[tuple[Dir, list[tuple[Entry, Context]]]] = []

    def run(self) -> None:
        self._open_limit = descriptor_budget()
        st = os.fstat(self._root_fd)
        root = Dir(os.dup(self._root_fd), None, "", (st.st_dev, st.st_ino), self._base)
        # Each frame: a directory and the subdirectories still to enter.
        stack: list[tuple[Dir, list[tuple[Entry, Context]]]] = []
        self._stack = stack
        stack.append((root, self._list(root, self._root_state)))
        sharing = self._sharing
        try:
            while stack:
                current, pending = stack[-1]
                if not pending:
                    stack.pop()
                    if stack:
                        self._reopen_parent(current, stack[-1][0])
                    self._close(current)
                    continue
                entry, state = pending.pop()
                if sharing is not None:
                    if sharing.take(entry, state):
                        continue
                    if sharing.hungry():
                        _give_shallowest(stack, sharing)
                child = self._open(current, entry)
                if child is None:
                    continue
                stack.append((child, self._list(child, state)))
                if len(stack) > self._open_limit:
                    self._close(stack[-1 - self._open_limit][0])
        finally:
            for frame, _ in stack:
                self._close(frame)

    def _list(self, directory: Dir, state: Context) -> list[tuple[Entry, Context]]:
        subdirs: list[tuple[Entry, Context]] = []
        assert directory.fd is not None
        while True:
            try:
                listing = os.scandir(directory.fd)  # a descriptor of its own
                break
            except OSError as err:
                if err.errno != errno.EMFILE or not self._shed():
                    raise self._out_of_descriptors(directory, err) from None
        with listing as it:
            for item in it:
                try:
                    st = item.stat(follow_symlinks=False)
                except FileNotFoundError:
                    continue  # removed while we looked
                except PermissionError as err:
                    # Listable but not searchable (r without x): nothing in it can be
                    # looked at, let alone changed.
                    self._on_unreadable("/".join(directory.names()), err)
                    break
                entry = Entry(directory, item.name, st)
                child_state = self._visit(entry, state)
                if child_state is not None and stat.S_ISDIR(st.st_mode):
                    subdirs.append((entry, child_state))
        subdirs.reverse()  # pop() then enters them in listing order
        return subdirs

    def _open(self, parent: Dir, entry: Entry) -> Dir | None:
        while True:
            try:
                fd = os.open(entry.name, OPEN_DIR, dir_fd=entry.dir_fd)
                break
            except OSError as err:
                if err.errno != errno.EMFILE:
                    self._on_unreadable(entry.path, err)
                    return None
                if not self._shed():
                    raise self._out_of_descriptors(parent, err) from None
        st = os.fstat(fd)
        if (st.st_dev, st.st_ino) != (entry.stat.st_dev, entry.stat.st_ino):
            os.close(fd)
            self._on_unreadable(entry.path, OSError(0, "replaced while the build ran"))
            return None
        return Dir(fd, parent, entry.name, (st.st_dev, st.st_ino))

    def _shed(self) -> bool:
        """Out of file descriptors: keep fewer directories open from now on, closing
        the one nearest the walk's root that is open (it is reopened through ``..``
        on the way back up). Whether one could be closed."""
        frames = [frame for frame, _ in self._stack[:-1] if frame.fd is not None]
        if not frames:
            return False
        # Free a few: listing a directory and changing an entry take one each too.
        for frame in frames[:SPARE]:
            self._close(frame)
        self._open_limit = max(1, len(frames) - SPARE + 1)
        return True

    @staticmethod
    def _out_of_descriptors(directory: Dir, err: OSError) -> OutOfDescriptors:
        return OutOfDescriptors("/".join(directory.names()) or ".", err.strerror or str(err))

    @staticmethod
    def _reopen_parent(child: Dir, parent: Dir) -> None:
        if parent.fd is not None:
            return
        assert child.fd is not None
        fd = os.open("..", OPEN_DIR, dir_fd=child.fd)
        st = os.fstat(fd)
        if (st.st_dev, st.st_ino) != parent.ident:
            os.close(fd)
            raise TreeChanged("/".join(parent.names()) or ".")
        parent.fd = fd

    @staticmethod
    def _close(directory: Dir) -> None:
        if directory.fd is not None:
            os.close(directory.fd)
            directory.fd = None


def _give_shallowest(
    stack: list[tuple[Dir, list[tuple[Entry, Context]]]], sharing: Sharing
) -> None:
    """Give away the directory nearest the walk's root that is still to be
    entered: the largest piece of work, on average."""
    for _, pending in stack:
        if pending:
            entry, state = pending.pop(0)  # the last of its frame to be entered
            sharing.give(entry, state)
            return
