"""Few file descriptors (``ulimit -n``): the walk keeps fewer directories open and
ends exactly where an unlimited walk ends; below what it needs at all, it stops with
a message instead of leaving part of the tree unchanged behind a warning."""

from __future__ import annotations

import os
import resource
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from safety_sandbox import REPO

# A pass in a child process whose open-files limit is lowered first.
CHILD = """
import resource, sys
soft = int(sys.argv[2])
resource.setrlimit(resource.RLIMIT_NOFILE, (soft, soft))
from writable_paths.cli.preview import Config
from writable_paths.cnb.settings import Settings
from writable_paths.cnb.sources import load_patterns
from writable_paths.fs.apply import Applier
from writable_paths.fs.engine import Pass
from writable_paths.fs.walk import OutOfDescriptors
app = sys.argv[1]
try:
    summary = Pass(load_patterns(app, Settings()), strict=True, gid=0, applier=Applier()).run(app)
except OutOfDescriptors as err:
    print("out-of-descriptors", err.path)
    sys.exit(3)
print("findings", sorted(summary.findings.counts.items()))
"""


def _tree(root: Path, depth: int) -> Path:
    app = root / "app"
    here = app
    for level in range(depth):
        here = here / f"d{level}"
        here.mkdir(parents=True)
        os.chmod(here, 0o777)
        (here / "f.txt").write_text("x")
        os.chmod(here / "f.txt", 0o666)
        os.mkdir(here / "side")
        os.chmod(here / "side", 0o777)
    (app / ".writable-paths").write_text("side/\n")
    return app


def _modes(app: Path) -> dict[str, int]:
    return {
        str(p.relative_to(app)): stat.S_IMODE(os.lstat(p).st_mode) for p in sorted(app.rglob("*"))
    }


def _run(app: Path, limit: int) -> subprocess.CompletedProcess[str]:
    env = {"PYTHONPATH": str(REPO / "src"), "PATH": os.environ["PATH"]}
    return subprocess.run(
        [sys.executable, "-c", CHILD, str(app), str(limit)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )


@pytest.mark.parametrize("limit", [24, 40])
def test_a_deep_walk_with_few_descriptors_ends_like_an_unlimited_one(
    tmp_path: Path, limit: int
) -> None:
    unlimited = _tree(tmp_path / "a", 150)
    limited = _tree(tmp_path / "b", 150)
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    done = _run(unlimited, soft)
    assert done.returncode == 0, done.stderr
    few = _run(limited, limit)
    assert few.returncode == 0, few.stdout + few.stderr
    assert "unreadable" not in few.stdout  # no directory skipped for want of descriptors
    assert _modes(limited) == _modes(unlimited)
    assert few.stdout == done.stdout


def test_too_few_descriptors_stop_the_pass_with_a_message(tmp_path: Path) -> None:
    app = _tree(tmp_path / "c", 20)
    few = _run(app, 6)
    assert few.returncode == 3, few.stdout + few.stderr
    assert "out-of-descriptors" in few.stdout
    assert "Traceback" not in few.stderr
