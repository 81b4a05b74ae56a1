"""Races on hard-link settling through the real bin/build: a process of the build
user renames app directories while builds run, so that one link could be taken
for two, and no file with a link outside the app may ever change.

Each file of another layer (0666) is hard-linked once into ``app/a/``: two
links, one outside. The attacker exchanges ``app/a`` with the empty ``app/z``
(``renameat2(RENAME_EXCHANGE)``, one atomic system call) again and again, never
moving a file nor anything into or out of the app. A walk that enters ``a`` and
later ``z`` meets the same directory twice and sees each link under both names;
settling that looks the names up again, each by its path, finds the file in
``a`` and, a moment later, in ``z``: two places, as many as the file has links,
and it would take the file for one wholly inside the app and change it. Only
the links themselves (a directory and a name, whatever the directory is called
now) can tell one link from two.

Builds alternate between selecting the files and not, so every build would
change them. The number of builds is bounded; the invariant is checked once the
attacker has put both names back.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from safety_sandbox import (
    BUILD_GID,
    BUILD_UID,
    RENAMEAT2,
    SETPRIV,
    TIMEOUT,
    Sandbox,
    allowed_changes,
    needs_root,
)

pytestmark = needs_root

LINKED = 200  # files of another layer, each hard-linked once into app/a/
PAIRS = 4  # directories exchanged, each with LINKED // PAIRS links
BUILDS = 40  # bounded (the code before this check changed files within 40 builds in 3 of 3 runs)

# Exchanges <dir>/<a> and <dir>/<b> until <stop> exists, then leaves them as
# they were. Says "ready" once it has exchanged them, and at the end how many
# times it did.
EXCHANGER = (
    RENAMEAT2
    + r"""
stop, *wheres = sys.argv[1:]
fds = [os.open(where, os.O_RDONLY | os.O_DIRECTORY) for where in wheres]

def exchange():
    for fd in fds:
        if renameat2(fd, b"a", fd, b"z", RENAME_EXCHANGE) != 0:
            sys.exit(f"renameat2: {os.strerror(ctypes.get_errno())}")

exchange(); exchange()
print("ready", flush=True)
rounds = 0
while not os.path.exists(stop):
    exchange()
    exchange()
    rounds += 1
print(rounds)
"""
)


def _modes(paths: list[Path]) -> dict[Path, int]:
    return {path: os.lstat(path).st_mode for path in paths}


def test_a_directory_renamed_during_builds_never_makes_one_link_count_twice(
    sb: Sandbox,
) -> None:
    outside = []
    for pair in range(PAIRS):
        for i in range(LINKED // PAIRS):
            name = f"p{pair:02d}/a/mod{i:03d}.so"
            lib = sb.write_abs(sb.other / "lib" / name, "x\n", 0o666)
            sb.hardlink(name, lib)
            outside.append(lib)
        sb.mkdir(f"p{pair:02d}/z")
    off = "*.none\n"
    sb.env("BP_WRITABLE_PATHS", off)
    before_all = sb.snapshot()
    before = _modes(outside)
    stop = sb.root / "stop"
    pairs = [str(sb.path(f"p{pair:02d}")) for pair in range(PAIRS)]
    attacker = subprocess.Popen(
        [SETPRIV, f"--reuid={BUILD_UID}", f"--regid={BUILD_GID}", "--clear-groups", "--",
         sys.executable, "-I", "-c", EXCHANGER, str(stop), *pairs],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    assert attacker.stdout is not None
    if attacker.stdout.readline() != "ready\n":
        out, err = attacker.communicate(timeout=TIMEOUT)
        pytest.fail(f"the attacker did not start: {out}{err}")
    leaked = ""
    warned = 0
    try:
        for build in range(1, BUILDS + 1):
            sb.env("BP_WRITABLE_PATHS", "*.so\n" if build % 2 else off)
            result = sb.run_bare("build")
            output = result.stdout + result.stderr
            assert "Traceback" not in output, output
            assert result.returncode in (0, 1), output
            warned += "Files hard-linked outside the app (left unchanged)" in output
            changed = [p for p in outside if os.lstat(p).st_mode != before[p]]
            if changed:
                leaked = f"build {build} of {BUILDS} changed {len(changed)} files, {changed[0]}"
                break
    finally:
        stop.touch()
        out, err = attacker.communicate(timeout=TIMEOUT)
    assert attacker.returncode == 0, err
    assert int(out) > 0, "the attacker never exchanged the directories while the builds ran"
    assert not leaked, leaked
    assert warned, "no build saw the links (the race had no targets)"
    stop.unlink()
    problems = allowed_changes(before_all, sb.snapshot())
    assert not problems, "\n".join(problems[:20])
    assert sb.run("build").returncode == 0
    assert sb.mode("p00/a/mod000.so") == 0o666  # linked outside: left as it is
