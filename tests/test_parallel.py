"""Worker processes give the same result as one process, entry for entry.

Each case builds the same tree twice, runs the engine on one copy in this
process alone and on the other with worker processes started at once, and
compares every entry's type, mode and group, and the summaries.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import stat
import subprocess
import tempfile
from pathlib import Path

import pytest
from support import BUILD_GID, REPO, needs_root, shown

from writable_paths.core.findings import SHOWN, SPECIAL, Finding, Findings
from writable_paths.core.patterns import parse_file
from writable_paths.fs.apply import Applier
from writable_paths.fs.engine import Pass, Summary
from writable_paths.fs.parallel import Job, WorkerLost, worker_count
from writable_paths.fs.walk import Sharing

GID = BUILD_GID if os.geteuid() == 0 else os.getgid()


def make_tree(root: Path, seed: int, outside: Path) -> None:
    """About 3,000 entries: nested directories with odd modes, hard links inside
    and across the app, symlinks, FIFOs, an unreadable directory."""
    rng = random.Random(seed)
    root.mkdir()
    dirs = [root]
    for top in ("log", "tmp", "vendor", "node_modules", "app", "public"):
        (root / top).mkdir()
        dirs.append(root / top)
    for i in range(400):
        parent = rng.choice(dirs)
        child = parent / f"d{i}"
        child.mkdir()
        os.chmod(child, rng.choice([0o755, 0o775, 0o777, 0o700, 0o2755]))
        dirs.append(child)
    files: list[Path] = []
    for i in range(2400):
        path = rng.choice(dirs) / f"f{i}.{rng.choice(['rb', 'log', 'js', 'pid'])}"
        path.write_bytes(b"x")
        os.chmod(path, rng.choice([0o644, 0o664, 0o666, 0o755, 0o600, 0o4755]))
        files.append(path)
    for i in range(40):
        os.link(rng.choice(files), rng.choice(dirs) / f"hard{i}")
    linked_out = rng.choice(files)
    os.link(linked_out, outside / f"{root.name}-out")
    for i in range(20):
        target = rng.choice([str(outside), "../x", "log", str(outside / "sub")])
        os.symlink(target, rng.choice(dirs) / f"link{i}")
    os.mkfifo(rng.choice(dirs) / "fifo")
    closed = rng.choice(dirs[7:]) / "closed"
    closed.mkdir()
    (closed / "inside").write_text("x")
    os.chmod(closed, 0o000)


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath, name)
            st = os.lstat(path)
            out[str(path.relative_to(root))] = (st.st_mode, st.st_gid)
    return out


def outcome(summary: Summary) -> tuple[object, ...]:
    return (
        summary.selected_dirs,
        summary.selected_files,
        summary.changed,
        summary.tightened,
        sorted(summary.roots),
        sorted(summary.created),
        summary.failures,
        summary.findings.counts,
        shown(summary),  # the same ones, in the same order
    )


def engine(patterns: str, strict: bool, workers: int) -> Pass:
    return Pass(
        parse_file(patterns.encode(), ".writable-paths"),
        strict=strict,
        gid=GID,
        applier=Applier(),
        workers=workers,
        start_workers_after=1,
    )


CASES = [
    ("select-all", "*\n", True),
    ("strict, few directories", "/log/\n/tmp/\n", True),
    ("everywhere", "**/d1*/\n*.pid\n", True),
    ("negation", "/vendor/\n!/vendor/d3/\n/app/**/*.log\n", True),
    ("not strict", "/public/\n", False),
    ("nothing matches", "/nope/\n", True),
]


@needs_root
@pytest.mark.parametrize(("name", "patterns", "strict"), CASES, ids=[c[0] for c in CASES])
def test_workers_change_exactly_what_one_process_changes(
    tmp_path: Path, name: str, patterns: str, strict: bool
) -> None:
    outside = tmp_path / "outside"
    (outside / "sub").mkdir(parents=True, mode=0o777)
    os.chmod(outside / "sub", 0o777)
    serial_app, parallel_app = tmp_path / "serial", tmp_path / "parallel"
    make_tree(serial_app, 7, outside)
    make_tree(parallel_app, 7, outside)
    assert snapshot(serial_app) == snapshot(parallel_app)
    before_outside = snapshot(outside)

    serial = engine(patterns, strict, workers=1).run(str(serial_app))
    parallel = engine(patterns, strict, workers=2).run(str(parallel_app))

    assert serial.workers == 0
    assert parallel.workers == 2
    assert snapshot(parallel_app) == snapshot(serial_app)
    assert outcome(parallel) == outcome(serial)
    # Symlinks and hard links lead out of the app: nothing there changed.
    assert snapshot(outside) == before_outside
    assert serial.changed > 0 or name == "nothing matches"


class _Dying(Pass):
    """A pass whose workers are killed by a real SIGKILL, or raise, on their first job."""

    how = "kill"

    def run_job(self, job: Job, sharing: Sharing) -> None:
        if self.how == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        raise OSError(5, "the disk went away")


@pytest.mark.parametrize(
    ("how", "error", "message"),
    [("kill", WorkerLost, "died"), ("raise", RuntimeError, "disk went away")],
)
def test_a_failing_worker_fails_the_pass_instead_of_hanging(
    tmp_path: Path, how: str, error: type[Exception], message: str
) -> None:
    # More directories than the job pipe holds: the build must not wait on it.
    for i in range(600):
        (tmp_path / f"d{i}" / "sub").mkdir(parents=True)
    dying = _Dying(
        parse_file(b"/d0/\n", ".writable-paths"),
        strict=True,
        gid=GID,
        applier=Applier(),
        workers=2,
        start_workers_after=1,
    )
    dying.how = how
    with pytest.raises(error, match=message):
        dying.run(str(tmp_path))


def test_reported_changes_and_dry_runs_stay_in_one_process(tmp_path: Path) -> None:
    for i in range(30):
        (tmp_path / f"d{i}").mkdir(mode=0o777)
        os.chmod(tmp_path / f"d{i}", 0o777)
    changes: list[object] = []
    logged = Pass(
        parse_file(b"/d0/\n", ".writable-paths"),
        strict=True,
        gid=GID,
        applier=Applier(),
        on_change=changes.append,
        workers=2,
        start_workers_after=1,
    ).run(str(tmp_path))
    assert logged.workers == 0
    assert len(changes) == logged.changed >= 30  # every directory (and the app root)


def test_worker_count_is_what_this_process_may_use() -> None:
    assert 1 <= worker_count() <= min(len(os.sched_getaffinity(0)), 8)


def test_a_large_tree_gets_workers_by_default(tmp_path: Path) -> None:
    for i in range(300):
        (tmp_path / f"d{i}").mkdir()
        os.chmod(tmp_path / f"d{i}", stat.S_IRWXU | stat.S_IRWXG | stat.S_IRWXO)
    summary = Pass(
        parse_file(b"/d0/\n", ".writable-paths"),
        strict=True,
        gid=GID,
        applier=Applier(),
        workers=2,
    ).run(str(tmp_path))
    assert summary.workers == 2
    assert all(stat.S_IMODE(os.stat(tmp_path / f"d{i}").st_mode) == 0o755 for i in range(1, 300))


NO_SHM = 'mount -t tmpfs -o ro tmpfs /dev/shm && exec "$@"'
# RLIMIT_NPROC counts every process of the real uid on the machine: the build user of
# another test run would make `--nproc=1` refuse even the first exec. A uid no other
# test uses stands for the build user here.
LONE_UID = 61001


@needs_root
@pytest.mark.parametrize(
    "limit",
    [
        ["prlimit", "--nproc=1"],  # a container's pids limit: no fork
        ["unshare", "--mount", "sh", "-c", NO_SHM, "sh"],  # no /dev/shm: no lock
    ],
    ids=["no-fork", "no-shm"],
)
def test_the_build_walks_alone_when_it_may_not_start_workers(
    tmp_path: Path, limit: list[str]
) -> None:
    """When the system refuses new processes or shared locks, the pass goes on
    in its own process instead of failing."""
    root = Path(tempfile.mkdtemp(prefix="wp-nproc-"))
    try:
        os.chmod(root, 0o755)
        shutil.copytree(REPO / "src" / "writable_paths", root / "src" / "writable_paths")
        app = root / "app"
        for i in range(30):
            (app / f"d{i}").mkdir(parents=True)
            os.chmod(app / f"d{i}", 0o777)
        subprocess.run(["chown", "-R", f"{LONE_UID}:{BUILD_GID}", str(app)], check=True)
        code = (
            f"import sys; sys.path.insert(0, {str(root / 'src')!r})\n"
            "from writable_paths.fs.apply import Applier\n"
            "from writable_paths.fs.engine import Pass\n"
            "from writable_paths.core.patterns import parse_file\n"
            "summary = Pass(parse_file(b'/d0/', 'x'), strict=True, gid=%d, applier=Applier(),\n"
            "               workers=2, start_workers_after=1).run(%r)\n"
            "print(summary.workers, summary.changed)\n" % (BUILD_GID, str(app))
        )
        user = ["setpriv", f"--reuid={LONE_UID}", f"--regid={BUILD_GID}", "--clear-groups"]
        result = subprocess.run(
            [*limit, *user, "/usr/bin/python3", "-I", "-S", "-c", code],
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout.split() == ["0", "30"]
        assert stat.S_IMODE(os.stat(app / "d1").st_mode) == 0o755
        assert stat.S_IMODE(os.stat(app / "d0").st_mode) == 0o2775
    finally:
        shutil.rmtree(root)


def test_warnings_show_the_same_first_ones_however_they_were_split() -> None:
    found = [Finding(SPECIAL, f"path/{i:03d}", cause="FIFO") for i in range(3 * SHOWN)]
    random.Random(3).shuffle(found)
    whole = Findings()
    for item in found:
        whole.add(item)
    halves = [Findings(), Findings()]
    for i, item in enumerate(found):
        halves[i % 2].add(item)
    merged = Findings()
    for half in halves:
        merged.merge(half)
    expected = sorted(found, key=lambda f: f.path)[:SHOWN]
    assert whole.shown() == merged.shown() == [(SPECIAL, expected)]
    assert whole.counts == merged.counts == {SPECIAL: 3 * SHOWN}
