"""A build killed half way (SIGKILL) and run again ends exactly where an
uninterrupted build of an identical app ends."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import stat
import subprocess
import time
from collections.abc import Iterator

import pytest
import tomllib
from safety_sandbox import (
    BUILD_GID,
    BUILD_UID,
    OTHER_GID,
    TIMEOUT,
    Sandbox,
    allowed_changes,
    needs_root,
    sandbox,
)

pytestmark = needs_root

DIRS = 20
FILES = 1000
PATTERNS = "/d1*/\n*7.txt\n!/d2*/f17.txt\ntmp/pids/\nlog/\n"


def _populate(sb: Sandbox) -> None:
    """20,000 files in 20 directories: selected and unselected, two groups, hard links."""
    sb.patterns(PATTERNS)
    for d in range(DIRS):
        path = sb.mkdir(f"d{d}", 0o777, gid=OTHER_GID if d % 2 else BUILD_GID)
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
        try:
            for i in range(FILES):
                name = f"f{i}.txt"
                f = os.open(name, os.O_CREAT | os.O_WRONLY, 0o600, dir_fd=fd)
                os.fchown(f, BUILD_UID, OTHER_GID if i % 3 == 0 else BUILD_GID)
                os.fchmod(f, (0o666, 0o644, 0o755, 0o600)[i % 4])
                os.close(f)
            os.link(f"f{FILES - 1}.txt", "hardlink.txt", src_dir_fd=fd, dst_dir_fd=fd)
        finally:
            os.close(fd)


@pytest.fixture(scope="module")
def reference() -> Iterator[Sandbox]:
    """An identical app, built once without interruption."""
    with sandbox() as box:
        _populate(box)
        result = box.build(groups=[OTHER_GID], detect=False)
        assert result.returncode == 0, result
        yield box


@pytest.fixture
def interrupted() -> Iterator[Sandbox]:
    with sandbox() as box:
        _populate(box)
        yield box


def _modes(sb: Sandbox, rels: list[str]) -> list[int]:
    return [os.lstat(sb.path(rel)).st_mode for rel in rels]


def _label(sb: Sandbox) -> set[str]:
    launch = tomllib.loads((sb.bp_layers / "launch.toml").read_text())
    roots = json.loads(launch["labels"][0]["value"])
    return {os.path.relpath(root, sb.app) for root in roots}


@pytest.mark.parametrize("when", ["early", "mid-walk"])
def test_a_killed_build_run_again_converges(
    interrupted: Sandbox, reference: Sandbox, when: str
) -> None:
    interrupted.env("BP_LOG_LEVEL", "DEBUG")  # see below
    before = interrupted.snapshot()
    watched = [f"d{d}" for d in range(DIRS)] + [f"d{d}/f0.txt" for d in range(DIRS)]
    initial = _modes(interrupted, watched)
    # DEBUG prints a line per changed path into a pipe this test drains slowly, so the
    # build can never run ahead and finish before it is killed (without it, a fast
    # build sometimes did).
    command, env = interrupted.command("build", groups=[OTHER_GID])
    process = subprocess.Popen(
        command,
        cwd=interrupted.app,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    assert process.stdout is not None
    output = process.stdout.fileno()
    os.set_blocking(output, False)
    # Kill at the first change (the walk has begun), or once ten directories'
    # files have begun changing (the walk is well under way).
    needed = 1 if when == "early" else 10
    deadline = time.monotonic() + TIMEOUT
    try:
        while time.monotonic() < deadline and process.poll() is None:
            with contextlib.suppress(BlockingIOError):
                os.read(output, 4096)  # let the build write about 60 more lines
            now = _modes(interrupted, watched)
            changed = sum(a != b for a, b in zip(initial[DIRS:], now[DIRS:]))
            if when == "early" and now != initial:
                break
            if changed >= needed:
                break
        os.killpg(process.pid, signal.SIGKILL)
    finally:
        process.wait(TIMEOUT)
    assert process.returncode == -signal.SIGKILL, "the build finished before it was killed"

    partial = interrupted.snapshot()
    assert allowed_changes(before, partial, interrupted=True) == []
    assert partial != before
    assert not (interrupted.bp_layers / "launch.toml").exists()

    rerun = interrupted.build(groups=[OTHER_GID], detect=False)
    assert rerun.returncode == 0, rerun
    assert interrupted.app_state() == reference.app_state()
    assert _label(interrupted) == _label(reference)
    # And the rules held end to end: a sample of what the reference run did.
    app = reference.app
    assert stat.S_IMODE(os.lstat(app / "d1/f0.txt").st_mode) == 0o664
    assert os.lstat(app / "d1/f0.txt").st_gid == BUILD_GID
    assert stat.S_IMODE(os.lstat(app / "d0/f0.txt").st_mode) == 0o644
    assert stat.S_IMODE(os.lstat(app / "d0/f17.txt").st_mode) == 0o664
    assert stat.S_IMODE(os.lstat(app / "d2/f17.txt").st_mode) == 0o644
    assert stat.S_IMODE(os.lstat(app / "tmp/pids").st_mode) == 0o2775
