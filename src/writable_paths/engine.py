"""One pass over the app: walk, decide, apply. Shared by the build and the CLI.

The pass creates the missing literal directories first, then walks the tree
once, deciding each entry and changing it on the spot (a selected directory is
opened up before the walk enters it), then settles regular files with hard
links once it knows whether all their links are inside the app, then the app
root itself.
"""

from __future__ import annotations

import os
import stat
from bisect import insort

from . import modes
from .decide import Decider, Decision
from .parallel import START_AFTER, Pool, Worker, open_job
from .walk import Walk

TYPE_CHECKING = False  # no typing or dataclasses at run time: see decide
if TYPE_CHECKING:
    from collections.abc import Callable

    from .apply import Applier
    from .decide import Context
    from .parallel import Job
    from .patterns import PatternSet
    from .walk import Entry, Sharing

WARNINGS_SHOWN = 20

SYMLINK = "symlink"
UNUSED = "unused"
UNREADABLE = "unreadable"
HARDLINK = "hardlink"
SPECIAL = "special"
BLOCKED = "blocked"
TIGHTEN_FAILED = "tighten-failed"


class Warnings:
    """Warnings by kind, counting all and keeping ``WARNINGS_SHOWN`` of each: the
    first by ``key`` (the message itself unless given), so the same tree shows the
    same warnings however many processes walked it."""

    __slots__ = ("_kept", "counts")

    def __init__(self) -> None:
        self._kept: dict[str, list[tuple[str, str]]] = {}
        self.counts: dict[str, int] = {}

    def add(self, kind: str, message: str, key: str | None = None) -> None:
        self.counts[kind] = self.counts.get(kind, 0) + 1
        self._keep(kind, (message if key is None else key, message))

    def _keep(self, kind: str, item: tuple[str, str]) -> None:
        kept = self._kept.setdefault(kind, [])
        if len(kept) >= WARNINGS_SHOWN:
            if item >= kept[-1]:
                return
            kept.pop()
        insort(kept, item)

    @property
    def shown(self) -> dict[str, list[str]]:
        return {kind: [message for _, message in kept] for kind, kept in self._kept.items()}

    def total(self) -> int:
        return sum(self.counts.values())

    def merge(self, other: Warnings) -> None:
        for kind, count in other.counts.items():
            self.counts[kind] = self.counts.get(kind, 0) + count
            for item in other._kept.get(kind, []):
                self._keep(kind, item)


class Change:
    """A path whose mode or group changed (or would, in a dry run)."""

    __slots__ = ("decision", "new_mode", "old_mode", "path")

    def __init__(self, path: str, old_mode: int, new_mode: int, decision: Decision) -> None:
        self.path = path
        self.old_mode = old_mode
        self.new_mode = new_mode
        self.decision = decision


class Summary:
    __slots__ = (
        "changed",
        "created",
        "roots",
        "selected_dirs",
        "selected_files",
        "tightened",
        "unchangeable",
        "warnings",
        "workers",
    )

    def __init__(self) -> None:
        self.selected_dirs = 0
        self.selected_files = 0
        self.changed = 0
        self.tightened = 0
        self.created: list[str] = []
        self.roots: list[str] = []
        # Selected paths the build user could not change: the build cannot be right.
        self.unchangeable: list[tuple[str, str]] = []
        self.warnings = Warnings()
        # Worker processes that walked uniform subtrees (0: this process alone).
        self.workers = 0


class _Linked:
    """A regular file with hard links, until all its links in the app are seen."""

    __slots__ = ("decision", "gid", "mode", "names", "seen", "st")

    def __init__(
        self,
        names: tuple[str, ...],
        st: os.stat_result,
        mode: int,
        gid: int | None,
        decision: Decision,
    ) -> None:
        self.names = names
        self.st = st
        self.mode = mode
        self.gid = gid
        self.decision = decision
        self.seen = 1


class Pass(Worker):
    """Apply ``patterns`` to the app directory ``app_dir``.

    With ``workers`` above 1, a large tree is walked by that many worker
    processes (see ``parallel``); what is reported per entry
    (``on_change``, ``on_decision``) and dry runs always walk in this process.
    """

    def __init__(
        self,
        patterns: PatternSet,
        *,
        strict: bool,
        gid: int,
        applier: Applier,
        on_change: Callable[[Change], None] | None = None,
        on_decision: Callable[[Entry, Decision], None] | None = None,
        workers: int = 1,
        start_workers_after: int = START_AFTER,
    ) -> None:
        self.patterns = patterns
        self.decider = Decider(patterns)
        self.strict = strict
        self.gid = gid
        self.applier = applier
        self.on_change = on_change
        self.on_decision = on_decision
        self.summary = Summary()
        self._used: set[int] = set()
        self._index = {id(pattern): i for i, pattern in enumerate(patterns.patterns)}
        self._linked: dict[tuple[int, int], _Linked] = {}
        serial = on_change is not None or on_decision is not None or applier.dry_run
        self._workers = 1 if serial else workers
        self._start_workers_after = start_workers_after
        self._root_fd = -1

    def run(self, app_dir: str) -> Summary:
        root_fd = os.open(app_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        self._root_fd = root_fd
        pool = None
        if self._workers > 1:
            pool = Pool(self._workers, self, self._start_workers_after)
        try:
            self._create_directories(root_fd)
            Walk(root_fd, self.decider.root, self._visit, self._unreadable, sharing=pool).run()
            if pool is not None:
                for result in pool.finish():
                    self._merge(result)
                    self.summary.workers += 1
            self._settle_hard_links(root_fd)
            self._settle_root(root_fd)
        finally:
            if pool is not None:
                pool.abort()
            os.close(root_fd)
        self._report_unused()
        # One order whatever walked where: by path.
        self.summary.roots.sort()
        self.summary.unchangeable.sort()
        return self.summary

    # -- in a worker process (see parallel) ------------------------------

    def begin(self) -> None:
        self.summary = Summary()
        self._used = set()
        self._linked = {}

    def run_job(self, job: Job, sharing: Sharing) -> None:
        names, _, context = job
        try:
            fd = open_job(self._root_fd, job)
        except OSError as err:
            self._unreadable("/".join(names), err)
            return
        try:
            Walk(fd, context, self._visit, self._unreadable, base=names, sharing=sharing).run()
        finally:
            os.close(fd)

    def results(self) -> object:
        return (self.summary, self._used, self._linked)

    def _merge(self, result: object) -> None:
        assert isinstance(result, tuple)
        summary, used, linked = result
        assert isinstance(summary, Summary)
        assert isinstance(used, set)
        assert isinstance(linked, dict)
        mine = self.summary
        mine.selected_dirs += summary.selected_dirs
        mine.selected_files += summary.selected_files
        mine.changed += summary.changed
        mine.tightened += summary.tightened
        mine.created.extend(summary.created)
        mine.roots.extend(summary.roots)
        mine.unchangeable.extend(summary.unchangeable)
        mine.warnings.merge(summary.warnings)
        self._used.update(used)
        for key, other in linked.items():
            self._link(key, other)

    # -- the steps -------------------------------------------------------

    def _create_directories(self, root_fd: int) -> None:
        done: set[tuple[bytes, ...]] = set()
        created: set[str] = set()
        for index, pattern in enumerate(self.patterns.patterns):
            names = pattern.creates
            if names is None or names in done:
                continue
            done.add(names)
            if not self.decider.decide_path(names).selected:
                continue
            result = self.applier.make_dirs(root_fd, tuple(os.fsdecode(n) for n in names))
            if result.created:
                self._used.add(index)
                # A dry run creates nothing, so parents shared by two patterns recur.
                self.summary.created.extend(p for p in result.created if p not in created)
                created.update(result.created)
            wanted = os.fsdecode(b"/".join(names))
            if result.failed is not None:
                # A declared directory that does not exist fails the app at run time.
                self._used.add(index)
                path, error = result.failed
                self.summary.unchangeable.append(
                    (wanted + "/", f"cannot create it ({pattern.source}): '{path}': {error}")
                )
            if result.blocked is not None:
                self._used.add(index)
                path, what = result.blocked
                # A symlink in the way is reported by the walk, with its target.
                if what == "file":
                    self.summary.warnings.add(
                        BLOCKED,
                        f"{pattern.source}: cannot create directory '{wanted}': '{path}' is a "
                        "file. Remove the file from the app, or drop the trailing '/' from the "
                        "pattern to make the file writable instead.",
                        key=f"{index:09d}",  # in pattern order
                    )

    def _visit(self, entry: Entry, context: Context) -> Context | None:
        st = entry.stat
        mode = st.st_mode
        is_dir = stat.S_ISDIR(mode)
        # Names are matched as bytes, like git; most entries need no matching at all.
        name = os.fsencode(entry.name) if context.active else b""
        decision, inner = self.decider.decide(context, name, is_dir)
        if decision.pattern_index is not None:
            self._used.add(decision.pattern_index)
        if self.on_decision is not None:
            self.on_decision(entry, decision)
        if stat.S_ISLNK(mode):
            self._symlink(entry, context, name, decision)
            return None
        if not (is_dir or stat.S_ISREG(mode)):
            if decision.root:
                self.summary.warnings.add(
                    SPECIAL,
                    f"{decision.reason}: '{entry.path}' is a {_kind(mode)}; left unchanged.",
                )
            return None
        if decision.selected:
            if decision.root:
                self.summary.roots.append(entry.path)
            if is_dir:
                self.summary.selected_dirs += 1
                target = modes.selected_directory(mode)
            else:
                self.summary.selected_files += 1
                target = modes.selected_file(mode)
            gid: int | None = self.gid
        else:
            target = modes.tightened(mode) if self.strict else stat.S_IMODE(mode)
            gid = None
        target = stat.S_IMODE(target)
        if stat.S_ISREG(mode) and st.st_nlink > 1:
            self._defer_hard_link(entry, target, gid, decision)
        elif target != stat.S_IMODE(mode) or (gid is not None and gid != st.st_gid):
            self._change(entry, target, gid, decision)
        # Even where nothing beneath can be selected (and, outside strict mode, nothing
        # needs tightening) the walk goes on: hard-link accounting needs every link.
        return inner

    def _change(self, entry: Entry, target: int, gid: int | None, decision: Decision) -> None:
        st = entry.stat
        try:
            changed = self.applier.change(entry.dir_fd, entry.name, st, target, gid)
        except OSError as err:
            self._failed(entry.path, decision, err)
            return
        self._count(entry, st, target, changed, decision)

    def _count(
        self, where: Entry | str, st: os.stat_result, target: int, changed: bool, decision: Decision
    ) -> None:
        if not changed:
            return
        self.summary.changed += 1
        if not decision.selected:
            self.summary.tightened += 1
        if self.on_change is not None:
            new_mode = stat.S_IFMT(st.st_mode) | target
            path = where if isinstance(where, str) else where.path  # built only when needed
            self.on_change(Change(path, st.st_mode, new_mode, decision))

    def _failed(self, path: str, decision: Decision, err: OSError) -> None:
        reason = err.strerror or str(err)
        if decision.selected:
            self.summary.unchangeable.append((path, reason))
        else:
            self.summary.warnings.add(
                TIGHTEN_FAILED,
                f"'{path}' stays writable for others: the build user cannot change it ({reason}).",
            )

    def _symlink(self, entry: Entry, context: Context, name: bytes, decision: Decision) -> None:
        reaching = [] if context.selected else self.decider.reaching_through(context, name)
        sources = [str(p.source) for p in reaching]
        if decision.root and decision.reason is not None:
            sources.insert(0, str(decision.reason))
        self._used.update(self._index[id(pattern)] for pattern in reaching)
        if sources:
            try:
                target = os.readlink(entry.name, dir_fd=entry.dir_fd)
            except OSError:
                target = "?"
            self.summary.warnings.add(SYMLINK, _symlink_message(entry.path, sources[0], target))

    def _unreadable(self, path: str, err: OSError) -> None:
        self.summary.warnings.add(
            UNREADABLE,
            f"'{path}' cannot be read by the build user ({err.strerror or err}); "
            "its contents were not checked, and exporting the image will fail on it. "
            "Give the owner read and execute permission, or select it in .writable-paths.",
        )

    def _defer_hard_link(
        self, entry: Entry, target: int, gid: int | None, decision: Decision
    ) -> None:
        st = entry.stat
        self._link((st.st_dev, st.st_ino), _Linked(entry.names, st, target, gid, decision))

    def _link(self, key: tuple[int, int], other: _Linked) -> None:
        """Count ``other``'s links of the inode ``key`` with those known."""
        known = self._linked.get(key)
        if known is None:
            self._linked[key] = other
            return
        known.seen += other.seen
        # The first path by name stands for the file, whichever process saw it first.
        known.names = min(known.names, other.names)
        if other.decision.selected and not known.decision.selected:
            # One inode, one mode: a link that is selected makes the file writable.
            known.mode, known.gid, known.decision = other.mode, other.gid, other.decision

    def _settle_hard_links(self, root_fd: int) -> None:
        for key, linked in self._linked.items():
            path = "/".join(linked.names)
            if linked.seen < linked.st.st_nlink:
                needed = linked.gid is not None or linked.mode != stat.S_IMODE(linked.st.st_mode)
                if needed:
                    self.summary.warnings.add(
                        HARDLINK,
                        f"'{path}' has hard links outside the app directory "
                        f"({linked.st.st_nlink} links, {linked.seen} inside); left unchanged, "
                        "because changing it would change the other files too. Copy the file "
                        "instead of linking it if it must be writable.",
                    )
                continue
            try:
                changed = self.applier.change_at(
                    root_fd, linked.names, key, linked.mode, linked.gid
                )
            except OSError as err:
                self._failed(path, linked.decision, err)
                continue
            self._count(path, linked.st, linked.mode, changed, linked.decision)

    def _settle_root(self, root_fd: int) -> None:
        st = os.fstat(root_fd)
        target = modes.app_root(stat.S_IMODE(st.st_mode), self.strict)
        if target == stat.S_IMODE(st.st_mode):
            return
        if not self.applier.dry_run:
            try:
                os.fchmod(root_fd, target)
            except OSError as err:
                self.summary.warnings.add(
                    TIGHTEN_FAILED,
                    f"the app directory stays writable for others ({err.strerror}).",
                )
                return
        self.summary.changed += 1
        self.summary.tightened += 1
        if self.on_change is not None:
            self.on_change(
                Change(".", st.st_mode, stat.S_IFMT(st.st_mode) | target, Decision(False, None))
            )

    def _report_unused(self) -> None:
        for index, pattern in enumerate(self.patterns.patterns):
            if index in self._used:
                continue
            what = "un-selects nothing" if pattern.negated else "selects nothing"
            hint = ""
            if pattern.source.text.lstrip("!").startswith("./"):
                hint = " (git paths have no '.' segment: write the path without './')"
            self.summary.warnings.add(
                UNUSED,
                f"{pattern.source}: {what}: no path matches it outside an already "
                f"selected directory{hint}.",
                key=f"{index:09d}",  # in pattern order
            )


def _symlink_message(path: str, source: str, target: str | None = None) -> str:
    to = f" (-> {target})" if target else ""
    return (
        f"{source}: '{path}' is a symlink{to}. The buildpack never follows symlinks: what it "
        "points to belongs to another layer or place and stays as it is. If the app must "
        "write there, make the target writable where it is created, or mount a volume there."
    )


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "FIFO"
    if stat.S_ISSOCK(mode):
        return "socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device"
    return "special file"
