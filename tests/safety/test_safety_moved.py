"""A directory above a deep walk moved during a real build: the build ends with
exit 1 and a message naming the directory, never a traceback, and a rerun
converges once the tree is back.

The walk keeps only the deepest 64 directories open and reopens the others
through ``..`` on its way back up, checking each is the directory it left. The
app here is a chain of 200 directories with 5,000 files at the bottom; while the
build lists those, the test moves the directory at depth 100 to the app root, so
that its ``..`` is no longer the directory above it.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

from safety_sandbox import (
    BUILD_GID,
    BUILD_UID,
    TIMEOUT,
    Sandbox,
    allowed_changes,
    needs_root,
)

pytestmark = needs_root

DEPTH = 200
MOVED = 100  # the depth of the directory moved: far above the 64 kept open
ATTEMPTS = 3  # builds that may end before the move; one is enough in practice
WIDE = 5_000  # files in the bottom directory: the build lists them while the test moves


def _chain(box: Sandbox) -> list[str]:
    """The chain's directories (app-relative), 0777 so that strict mode changes each,
    and WIDE world-writable files in ``wide`` at the bottom."""
    levels = ["deep"]
    for depth in range(DEPTH):
        levels.append(f"{levels[-1]}/d{depth}")
    for rel in levels:
        box.mkdir(rel, 0o777)
    wide = box.mkdir(f"{levels[-1]}/wide", 0o777)
    for i in range(WIDE):
        fd = os.open(wide / f"f{i:05d}", os.O_CREAT | os.O_WRONLY | os.O_CLOEXEC)
        os.fchmod(fd, 0o666)
        os.fchown(fd, BUILD_UID, BUILD_GID)
        os.close(fd)
    box.patterns("cache/\n")
    return levels


def _build_moving(box: Sandbox, wide: Path, moved: Path, to: Path) -> tuple[int, str, bool]:
    """Run bin/build; once it has tightened ``wide`` (it lists it next), move
    ``moved`` to ``to``. Its exit code and output, and whether the move happened
    while it ran; the tree is put back afterwards."""
    command, env = box.command("build")
    process = subprocess.Popen(
        command, cwd=box.app, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    deadline = time.monotonic() + TIMEOUT  # a hang guard, not a timing assertion
    moved_it = False
    try:
        while process.poll() is None and time.monotonic() < deadline:
            if os.lstat(wide).st_mode & 0o777 != 0o777:
                os.rename(moved, to)
                moved_it = process.poll() is None
                break
        out, _ = process.communicate(timeout=TIMEOUT)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        if to.exists():
            os.rename(to, moved)
    return process.returncode, out, moved_it


def test_a_directory_moved_above_a_deep_walk_ends_the_build_with_a_message(
    sb: Sandbox,
) -> None:
    levels = _chain(sb)
    wide = sb.path(f"{levels[-1]}/wide")
    moved, to = sb.path(levels[MOVED + 1]), sb.app / "moved"
    for _ in range(ATTEMPTS):
        os.chmod(wide, 0o777)  # a build that ended before the move tightened it
        before = sb.snapshot()
        code, out, moved_it = _build_moving(sb, wide, moved, to)
        if moved_it:
            break
    assert moved_it, "every build ended before the directory could be moved"
    assert code == 1, out
    assert "Traceback" not in out
    assert "ERROR: The app changed while the build ran" in out
    assert f"The directory '{levels[MOVED]}' was moved or replaced" in out
    assert not (sb.bp_layers / "launch.toml").exists()
    # With the tree back as it was: only the rules' changes, and a rerun converges.
    problems = allowed_changes(before, sb.snapshot())
    assert not problems, "\n".join(problems[:20])
    assert sb.run("build").returncode == 0
    assert sb.mode(f"{levels[-1]}/wide/f04999") == 0o644
    assert sb.mode(levels[MOVED]) == 0o755
    again = sb.run("build")
    assert again.returncode == 0
    assert again.after == again.before
