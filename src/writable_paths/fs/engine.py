"""One pass over the app: create, walk, decide, apply, settle. Shared by the
build and the CLI.

The pass creates the missing literal directories first, then walks the tree
once, deciding each entry (``core.decide``), asking the policy what it becomes
(``core.policy``) and changing it on the spot through ``apply`` (a selected
directory is opened up before the walk enters it). Regular files with hard links
are settled once every link was seen (``hardlinks``), the app root last. What a
person must hear of is collected as findings (``core.findings``), never as text.
"""

from __future__ import annotations

import errno
import os
import stat

from ..core import advice, policy
from ..core import findings as F
from ..core.decide import NO_MATCH, Decider, Decision
from ..core.findings import Finding, Findings
from .beneath import open_beneath
from .hardlinks import HardLinks, Linked
from .listing import listings
from .mounts import mount_points
from .parallel import START_AFTER, Pool, Worker, open_job
from .reach import Reach, reach_roots, run_identity
from .walk import OutOfDescriptors, Walk

TYPE_CHECKING = False  # no typing or dataclasses at run time: see decide
if TYPE_CHECKING:
    from collections.abc import Callable

    from ..core.decide import Context
    from ..core.patterns import PatternSet, Source
    from .apply import Applier
    from .parallel import Job
    from .walk import Entry, Sharing


# Why a directory above a selection root gets group search (a change, not a tightening).
SEARCH_ONLY = Decision(True, policy.SEARCH_FOR_SELECTED)


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
        "databases",
        "executables",
        "failures",
        "files",
        "findings",
        "listings",
        "roots",
        "selected_dirs",
        "selected_files",
        "tightened",
        "unreachable",
        "workers",
    )

    def __init__(self) -> None:
        self.selected_dirs = 0
        self.selected_files = 0
        self.changed = 0
        self.tightened = 0
        self.created: list[str] = []
        self.roots: list[str] = []
        # Selected paths the build user could not change or create: the build
        # cannot be right (kinds UNCHANGEABLE and CANNOT_CREATE).
        self.failures: list[Finding] = []
        self.findings = Findings()
        # Selection roots the run user still cannot write at run time (all of them;
        # the findings keep the first few to show).
        self.unreachable: list[str] = []
        # Worker processes that walked parts of the tree (0: this process alone).
        self.workers = 0
        # For the mistake detectors (core.advice): regular files, and the selected
        # ones with an execute bit; database files a pattern selected itself; the
        # names in the few directories the detectors ask about, before the build.
        self.files = 0
        self.executables = 0
        self.databases: list[tuple[tuple[bytes, ...], Source]] = []
        self.listings: dict[tuple[bytes, ...], frozenset[bytes]] = {}


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
        pattern_file: str = ".writable-paths",
    ) -> None:
        self.patterns = patterns
        self.pattern_file = pattern_file
        self.decider = Decider(patterns)
        self.strict = strict
        self.gid = gid
        self.applier = applier
        self.on_change = on_change
        self.on_decision = on_decision
        self.summary = Summary()
        self._used: set[int] = set()
        self._index = {id(pattern): i for i, pattern in enumerate(patterns.patterns)}
        self._links = HardLinks()
        serial = on_change is not None or on_decision is not None or applier.dry_run
        self._workers = 1 if serial else workers
        self._start_workers_after = start_workers_after
        self._root_fd = -1
        self._root_dev = -1
        self._mounts: frozenset[str] = frozenset()

    def run(self, app_dir: str) -> Summary:
        root_fd = os.open(app_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        self._root_fd = root_fd
        self._root_dev = os.fstat(root_fd).st_dev
        self._mounts = mount_points(app_dir)
        pool = None
        if self._workers > 1:
            pool = Pool(self._workers, self, self._start_workers_after)
        try:
            self.summary.listings = listings(root_fd, advice.questions(self.patterns))
            self._create_directories(root_fd)
            Walk(root_fd, self.decider.root, self._visit, self._unreadable, sharing=pool).run()
            if pool is not None:
                for result in pool.finish():
                    self._merge(result)
                    self.summary.workers += 1
            for linked, inside in self._links.settle(root_fd, self._change_linked):
                self.summary.findings.add(
                    Finding(F.HARDLINK, linked.path, links=linked.links, seen=inside)
                )
            self._settle_root(root_fd)
            self.summary.roots.sort()
            self._reach_roots(app_dir, root_fd)
        finally:
            if pool is not None:
                pool.abort()
            os.close(root_fd)
        self._report_unused()
        # One order whatever walked where: by path.
        self._review(app_dir)
        self.summary.failures.sort(key=lambda f: f.path)
        return self.summary

    # -- in a worker process (see parallel) ------------------------------

    def begin(self) -> None:
        self.summary = Summary()
        self._used = set()
        self._links = HardLinks()

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
        return (self.summary, self._used, self._links)

    def _merge(self, result: object) -> None:
        assert isinstance(result, tuple)
        summary, used, links = result
        assert isinstance(summary, Summary)
        assert isinstance(used, set)
        assert isinstance(links, HardLinks)
        mine = self.summary
        mine.selected_dirs += summary.selected_dirs
        mine.selected_files += summary.selected_files
        mine.changed += summary.changed
        mine.tightened += summary.tightened
        mine.files += summary.files
        mine.executables += summary.executables
        mine.databases.extend(summary.databases)
        mine.created.extend(summary.created)
        mine.roots.extend(summary.roots)
        mine.failures.extend(summary.failures)
        mine.findings.merge(summary.findings)
        self._used.update(used)
        self._links.merge(links)

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
                self.summary.failures.append(
                    Finding(F.CANNOT_CREATE, wanted, pattern.source, detail=path, cause=error)
                )
            if result.blocked is not None:
                self._used.add(index)
                path, what = result.blocked
                # A symlink in the way is reported by the walk, with its target.
                if what == "file":
                    self.summary.findings.add(
                        Finding(F.BLOCKED, wanted, pattern.source, detail=path), order=index
                    )

    def _visit(self, entry: Entry, context: Context) -> Context | None:
        st = entry.stat
        mode = st.st_mode
        kind = policy.kind_of(mode)
        is_dir = kind == policy.DIRECTORY
        # Names are matched as bytes, like git; most entries need no matching at all.
        name = os.fsencode(entry.name) if context.active else b""
        decision, inner = self.decider.decide(context, name, is_dir, entry)
        if decision.pattern_index is not None:
            self._used.add(decision.pattern_index)
        if self.on_decision is not None:
            self.on_decision(entry, decision)
        if (is_dir and st.st_dev != self._root_dev) or (
            self._mounts and entry.path in self._mounts
        ):
            self.summary.findings.add(Finding(F.MOUNT, entry.path, _source(decision)))
            return None
        if kind == policy.SYMLINK:
            self._symlink(entry, context, name, decision)
            return None
        target = policy.target_mode(kind, mode, decision.selected, self.strict)
        if target is None:
            if decision.root:
                cause = policy.special_kind(mode)
                self.summary.findings.add(
                    Finding(F.SPECIAL, entry.path, _source(decision), cause=cause)
                )
            return None
        gid: int | None = None
        if kind == policy.FILE:
            self.summary.files += 1
            if decision.root and advice.is_database_name(name or os.fsencode(entry.name)):
                assert decision.selection is not None
                names = tuple(os.fsencode(n) for n in entry.names)
                self.summary.databases.append((names, decision.selection.source))
        if decision.selected:
            if decision.root:
                self.summary.roots.append(entry.path)
            if is_dir:
                self.summary.selected_dirs += 1
            else:
                self.summary.selected_files += 1
                if mode & 0o111:
                    self.summary.executables += 1
            gid = self.gid
            if policy.drops_set_id(kind, mode, True):
                self.summary.findings.add(Finding(F.SET_ID_DROPPED, entry.path, _source(decision)))
        if kind == policy.FILE and st.st_nlink > 1:
            self._links.add(entry, target, gid, decision)
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
        self._count(entry, st.st_mode, target, changed, decision)

    def _change_linked(self, names: tuple[str, ...], key: tuple[int, int], linked: Linked) -> None:
        path = "/".join(names)
        try:
            changed = self.applier.change_at(
                self._root_fd, names, key, linked.mode, linked.gid, linked.links, linked.ctime
            )
        except OSError as err:
            self._failed(path, linked.decision, err)
            return
        self._count(path, linked.old_mode, linked.mode, changed, linked.decision)

    def _count(
        self, where: Entry | str, old_mode: int, target: int, changed: bool, decision: Decision
    ) -> None:
        if not changed:
            return
        self.summary.changed += 1
        if not decision.selected:
            self.summary.tightened += 1
        if self.on_change is not None:
            new_mode = stat.S_IFMT(old_mode) | target
            path = where if isinstance(where, str) else where.path  # built only when needed
            self.on_change(Change(path, old_mode, new_mode, decision))

    def _failed(self, path: str, decision: Decision, err: OSError) -> None:
        cause = err.strerror or str(err)
        _out_of_descriptors(path, err)
        if decision.selected:
            self.summary.failures.append(Finding(F.UNCHANGEABLE, path, cause=cause))
        else:
            self.summary.findings.add(Finding(F.TIGHTEN_FAILED, path, cause=cause))

    def _symlink(self, entry: Entry, context: Context, name: bytes, decision: Decision) -> None:
        reaching = [] if context.selected else self.decider.reaching_through(context, name)
        sources = [p.source for p in reaching]
        if decision.root and decision.selection is not None:
            sources.insert(0, decision.selection.source)
        self._used.update(self._index[id(pattern)] for pattern in reaching)
        if sources:
            try:
                target = os.readlink(entry.name, dir_fd=entry.dir_fd)
            except OSError:
                target = "?"
            self.summary.findings.add(Finding(F.SYMLINK, entry.path, sources[0], detail=target))

    def _unreadable(self, path: str, err: OSError) -> None:
        _out_of_descriptors(path, err)
        self.summary.findings.add(Finding(F.UNREADABLE, path, cause=err.strerror or str(err)))

    def _settle_root(self, root_fd: int) -> None:
        st = os.fstat(root_fd)
        target = policy.app_root(st.st_mode, self.strict)
        if target == stat.S_IMODE(st.st_mode):
            return
        try:
            self.applier.change_root(root_fd, target)
        except OSError as err:
            self.summary.findings.add(
                Finding(F.TIGHTEN_FAILED, ".", cause=err.strerror or str(err))
            )
            return
        self._count(".", st.st_mode, target, True, NO_MATCH)

    def _reach_roots(self, app_dir: str, root_fd: int) -> None:
        """Give group search to the directories above a selection root that the run
        user could not pass, and report the roots it still cannot write."""

        def open_up(names: tuple[str, ...], mode: int) -> bool:
            path = "/".join(names) or "."
            target = policy.searchable(mode)
            try:
                if not names:
                    self.applier.change_root(root_fd, policy.searchable(os.fstat(root_fd).st_mode))
                elif not self.applier.dry_run:
                    fd = open_beneath(root_fd, names[:-1])
                    try:
                        st = os.stat(names[-1], dir_fd=fd, follow_symlinks=False)
                    finally:
                        os.close(fd)
                    target = policy.searchable(st.st_mode)
                    self.applier.change_at(root_fd, names, (st.st_dev, st.st_ino), target, None)
            except OSError as err:
                self.summary.findings.add(
                    Finding(F.TIGHTEN_FAILED, path, cause=err.strerror or str(err))
                )
                return False
            self._count(path, stat.S_IFDIR | mode, target, True, SEARCH_ONLY)
            self.summary.findings.add(Finding(F.SEARCH_ADDED, path, mode=mode))
            return True

        with Reach(
            app_dir,
            self.decider,
            self.strict,
            applied=not self.applier.dry_run,
            created=frozenset(self.summary.created),
        ) as reach:
            identity = run_identity(self.gid)
            for finding in reach_roots(reach, self.summary.roots, identity, open_up):
                self.summary.findings.add(finding)
                self.summary.unreachable.append(finding.path)

    def _review(self, app_dir: str) -> None:
        """The mistakes people make (``core.advice``), on what the walk collected."""
        summary = self.summary

        def suggestions() -> tuple[str, ...]:
            from ..cli.starter import active_lines  # reads a few marker files

            return active_lines(app_dir)

        breadth = advice.Breadth(summary.files, summary.selected_files, summary.executables)
        for item in advice.review(
            self.patterns,
            self.pattern_file,
            os.path.abspath(app_dir),
            summary.listings,
            summary.databases,
            breadth,
            suggestions,
        ):
            summary.findings.add(advice.as_finding(item))

    def _report_unused(self) -> None:
        for index, pattern in enumerate(self.patterns.patterns):
            if index not in self._used:
                self.summary.findings.add(Finding(F.UNUSED, "", pattern.source), order=index)


def _source(decision: Decision) -> Source | None:
    return decision.selection.source if decision.selection is not None else None


def _out_of_descriptors(path: str, err: OSError) -> None:
    """Out of file descriptors is no property of ``path``: it ends the pass with
    a message (a warning that the path is unreadable or unchangeable would let a
    build end with exit 0 and most of the app unchanged, as workers did)."""
    if err.errno in (errno.EMFILE, errno.ENFILE):
        raise OutOfDescriptors(path or ".", err.strerror or str(err))
