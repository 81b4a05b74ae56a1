"""A worker process killed during a real build (as the out-of-memory killer would):
the build ends with exit 1 and a message, never a traceback or a hang, changes
nothing outside the rules, and a rerun converges.

The workers are found as the build runs: the children in /proc of the build's
process that run its own command line (forked, not started anew). A tree of
20,000 entries keeps the build walking long enough to find one.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time

import pytest
from safety_sandbox import (
    BUILD_GID,
    BUILD_UID,
    REPO,
    TIMEOUT,
    Sandbox,
    allowed_changes,
    needs_root,
)

PRLIMIT = shutil.which("prlimit") or "prlimit"
ATTEMPTS = 3  # builds that may finish before a worker is seen; one is enough in practice


def _children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (from /proc/<n>/stat)."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(name))
    return found


def _cmdline(pid: int) -> bytes:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return handle.read()
    except OSError:
        return b""


def _workers(pid: int) -> list[int]:
    own = _cmdline(pid)
    return [child for child in _children(pid) if own and _cmdline(child) == own]


def _tree(box: Sandbox) -> None:
    """200 directories of 100 files, all world-writable: strict mode changes each."""
    for d in range(200):
        where = box.mkdir(f"data/d{d:03d}", 0o777)
        for i in range(100):
            fd = os.open(where / f"f{i:03d}.txt", os.O_CREAT | os.O_WRONLY | os.O_CLOEXEC)
            os.fchmod(fd, 0o666)
            os.fchown(fd, BUILD_UID, BUILD_GID)
            os.close(fd)
    box.patterns("cache/\n")


def _build_killing_a_worker(box: Sandbox) -> tuple[subprocess.CompletedProcess[str], bool]:
    """Run bin/build and SIGKILL its first worker as soon as one runs; whether one did."""
    command, env = box.command("build")
    process = subprocess.Popen(
        command,
        cwd=box.app,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    killed = False
    deadline = time.monotonic() + TIMEOUT  # a hang guard, not a timing assertion
    try:
        while process.poll() is None and time.monotonic() < deadline:
            workers = _workers(process.pid)
            if workers:
                os.kill(workers[0], signal.SIGKILL)
                killed = True
                break
        out, err = process.communicate(timeout=TIMEOUT)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    done = subprocess.CompletedProcess(command, process.returncode, out, err)
    return done, killed


@needs_root
def test_a_worker_killed_during_the_build_ends_it_with_a_message(sb: Sandbox) -> None:
    _tree(sb)
    for _ in range(ATTEMPTS):
        before = sb.snapshot()
        done, killed = _build_killing_a_worker(sb)
        if killed:
            break
    assert killed, "no worker process was seen in any build"
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    assert "Traceback" not in output
    assert "ERROR: A worker process of the build stopped" in done.stderr
    assert "was killed by signal 9 (exit code -9)" in done.stderr
    assert not (sb.bp_layers / "launch.toml").exists()  # no label for a partial build
    problems = allowed_changes(before, sb.snapshot())
    assert not problems, "\n".join(problems[:20])
    # A rerun converges: everything tightened, the label written, and one more
    # build changes nothing.
    assert sb.run("build").returncode == 0
    assert sb.mode("data/d199/f099.txt") == 0o644
    assert sb.mode("data/d000") == 0o755
    assert (sb.bp_layers / "launch.toml").exists()
    state = sb.app_state()
    assert sb.run("build").returncode == 0
    assert sb.app_state() == state


# A worker killed while it holds one of the locks the processes share: the lock is
# never released. The build, waiting for it, must notice the dead worker instead
# of waiting forever. (In a child process, so that a hang fails the test.)
HELD_LOCK = """
import os, signal, sys
from writable_paths.fs.parallel import Channel, WorkerLost
channel = Channel(1)
lock = getattr(channel, sys.argv[1])
def die_holding_it():
    lock.acquire()
    os.kill(os.getpid(), signal.SIGKILL)
worker = channel.context.Process(target=die_holding_it)
worker.start()
worker.join()
channel.processes = [worker]
try:
    channel.submit(((), (0, 0), None))
except WorkerLost as err:
    print("lost", err.exitcode)
"""


@pytest.mark.parametrize("lock", ["_lock", "_write_lock"])
def test_a_worker_killed_holding_a_shared_lock_does_not_hang_the_build(lock: str) -> None:
    env = {"PYTHONPATH": str(REPO / "src"), "PATH": os.environ["PATH"]}
    done = subprocess.run(
        [sys.executable, "-c", HELD_LOCK, lock],
        capture_output=True,
        text=True,
        timeout=20,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "lost -9\n"


@needs_root
@pytest.mark.parametrize("limit", [16, 18, 48])
def test_few_descriptors_with_workers_end_like_an_unlimited_build(sb: Sandbox, limit: int) -> None:
    """With an open-files limit of 16 or 18, two workers (each starting with the
    build's descriptors) ran out: directories were reported unreadable and files
    unchangeable ("Too many open files"), and the build ended with exit 0 and most
    of the app unchanged. Now the build walks alone when too few descriptors are
    left to share (48 still starts workers), and running out is never taken for a
    property of a path."""
    _tree(sb)
    before = sb.snapshot()
    command, env = sb.command("build")
    done = subprocess.run(
        [PRLIMIT, f"--nofile={limit}:{limit}", "--", *command],
        cwd=sb.app,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "Too many open files" not in output, output
    assert ("worker processes)" in output) == (limit == 48), output
    problems = allowed_changes(before, sb.snapshot())
    assert not problems, "\n".join(problems[:20])
    assert {sb.mode(f"data/d{d:03d}/f{i:03d}.txt") for d in range(200) for i in range(100)} == {
        0o644
    }
