"""What the run user will really be able to do to app paths after the build.

Builds the entries along a path as the image will hold them, from the tree as it
is and what the build does to each entry (``core.policy``), and asks the access
model (``core.access``). The build asks it after applying (the tree then is as
the image will be); ``check`` and ``explain`` ask it before, with the modes the
build would give. It never changes anything.
"""

from __future__ import annotations

import os
import stat

from ..core import access, policy
from ..core import findings as F
from ..core.findings import Finding
from .beneath import OPEN_DIR, open_beneath

TYPE_CHECKING = False  # the build imports this module: no typing at run time
if TYPE_CHECKING:
    from collections.abc import Callable

    from ..core.decide import Context, Decider


def run_identity(gid: int, uid: int | None = None) -> access.Identity:
    """The run user as secure builders make it: another uid in the build's group."""
    owner = os.getuid() if uid is None else uid
    return access.Identity(owner, gid, -1, frozenset({gid}))


class Reach:
    """Entries along paths below the app root, with the modes they end with."""

    def __init__(
        self,
        app_dir: str,
        decider: Decider,
        strict: bool,
        *,
        applied: bool,
        created: frozenset[str] = frozenset(),
    ) -> None:
        self.app_dir = app_dir
        self.decider = decider
        self.strict = strict
        self.applied = applied  # the build already changed the tree
        self.created = created  # directories the build creates (paths from the app root)
        self._root_fd = os.open(app_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        # Directories the build gives group search (g+x) so that a selection below
        # them can be reached (names from the app root; () is the app root).
        self.searchable: set[tuple[str, ...]] = set()
        self._root_entry = self._root()
        # The directories the last path went through: (name, entry, context inside).
        self._cursor: list[tuple[str, access.Entry, Context | None]] = []

    def entries(self, names: tuple[str, ...]) -> list[access.Entry]:
        """The app root and each of ``names`` below it, as the image will hold them
        (entries after a missing one are missing too).

        Looked up by descriptor, one component at a time (no path-length limit);
        consecutive calls for paths in the same directory reuse what they share.
        """
        cursor = self._cursor
        shared = 0
        while (
            shared < len(cursor) and shared < len(names) - 1 and cursor[shared][0] == names[shared]
        ):
            shared += 1
        del cursor[shared:]
        out = [self._root_entry, *(entry for _, entry, _ in cursor)]
        context: Context | None = cursor[-1][2] if cursor else self.decider.root
        fd = self._open(tuple(names[:shared])) if out[-1].kind == access.DIRECTORY else -1
        try:
            for depth in range(shared, len(names)):
                name = names[depth]
                encoded = os.fsencode(name)
                if context is None or out[-1].kind != access.DIRECTORY:
                    entry = access.Entry(encoded, access.MISSING)
                    context = None
                else:
                    entry, context = self._entry(fd, names, depth, context)
                out.append(entry)
                if depth < len(names) - 1:
                    cursor.append((name, entry, context))
                    fd = self._step(fd, name, entry)
        finally:
            if fd >= 0:
                os.close(fd)
        return out

    def _entry(
        self, fd: int, names: tuple[str, ...], depth: int, context: Context
    ) -> tuple[access.Entry, Context | None]:
        name = names[depth]
        st: os.stat_result | None = None
        if fd >= 0:  # else its directory does not exist yet (the build creates it)
            try:
                st = os.stat(name, dir_fd=fd, follow_symlinks=False)
            except OSError:
                st = None
        kind = policy.kind_of(st.st_mode) if st is not None else policy.DIRECTORY
        at = _Path(names, depth)
        decision, inner = self.decider.decide(
            context, os.fsencode(name), kind == policy.DIRECTORY, at
        )
        if st is None:
            return self._missing(at.path, name, decision.selected), inner
        mode = self._final(kind, st, decision.selected)
        if kind == policy.DIRECTORY and names[: depth + 1] in self.searchable:
            mode = policy.searchable(mode)
        return access.Entry(os.fsencode(name), kind, mode), inner

    def _open(self, names: tuple[str, ...]) -> int:
        try:
            return open_beneath(self._root_fd, names)
        except OSError:
            return -1

    @staticmethod
    def _step(fd: int, name: str, entry: access.Entry) -> int:
        """The descriptor of ``name`` below ``fd`` (closing ``fd``), or -1."""
        nxt = -1
        if fd < 0:
            return nxt
        if entry.kind == access.DIRECTORY:
            try:
                nxt = os.open(name, OPEN_DIR, dir_fd=fd)
            except OSError:
                nxt = -1
        os.close(fd)
        return nxt

    def make_searchable(self, names: tuple[str, ...]) -> None:
        """From now on, answer as if the directory ``names`` had group search."""
        self.searchable.add(names)
        self._cursor.clear()
        self._root_entry = self._root()

    def close(self) -> None:
        os.close(self._root_fd)

    def __enter__(self) -> Reach:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _root(self) -> access.Entry:
        st = os.fstat(self._root_fd)
        mode = stat.S_IMODE(st.st_mode)
        if not self.applied:
            mode = policy.app_root(st.st_mode, self.strict)
        if () in self.searchable:
            mode = policy.searchable(mode)
        return access.Entry(b"", access.DIRECTORY, mode)

    def _final(self, kind: str, st: os.stat_result, selected: bool) -> int:
        mode = stat.S_IMODE(st.st_mode)
        if self.applied:
            return mode
        target = policy.target_mode(kind, st.st_mode, selected, self.strict)
        return mode if target is None else target

    def _missing(self, path: str, name: str, selected: bool) -> access.Entry:
        if path not in self.created:
            return access.Entry(os.fsencode(name), access.MISSING)
        new = policy.NEW_DIRECTORY_MODE
        mode = policy.selected_directory(new) if selected else new
        return access.Entry(os.fsencode(name), access.DIRECTORY, stat.S_IMODE(mode))


class _Path:
    """``names[: depth + 1]`` as a path, joined only when asked for (a selection root)."""

    __slots__ = ("_depth", "_names")

    def __init__(self, names: tuple[str, ...], depth: int) -> None:
        self._names = names
        self._depth = depth

    @property
    def path(self) -> str:
        return "/".join(self._names[: self._depth + 1])


def reach_roots(
    reach: Reach,
    roots: list[str],
    identity: access.Identity,
    open_up: Callable[[tuple[str, ...], int], bool],
) -> list[Finding]:
    """Make every selection root reachable, and say which still is not.

    A root below a directory the run user's group cannot search gets group search
    on that directory, through ``open_up(names, mode)`` (which answers whether it
    could); a root that stays out of reach, or that the run user cannot write for
    another reason, is a finding."""
    found = []
    for root in roots:
        names = tuple(root.split("/"))
        while True:
            entries = reach.entries(names)
            directory = entries[-1].kind == access.DIRECTORY
            operation = access.CREATE_IN if directory else access.WRITE
            verdict = access.verdict(entries, operation, identity)
            blocked = names[: verdict.at]
            if verdict.reason != access.NOT_SEARCHABLE or verdict.who != access.GROUP:
                break
            if blocked in reach.searchable or not open_up(blocked, entries[verdict.at].mode):
                break
            reach.make_searchable(blocked)
        if not verdict.allowed:
            found.append(
                Finding(
                    F.UNREACHABLE,
                    root,
                    detail="/".join(blocked) or ".",
                    cause=verdict.reason,
                    mode=entries[verdict.at].mode,
                )
            )
    return found
