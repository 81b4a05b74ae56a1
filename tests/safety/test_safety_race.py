"""Races through the real bin/build: a process of the build user swaps app entries
while builds run, and no file outside the app ever changes.

The attacker runs as uid 1001, like the build, and owns the whole app, as another
buildpack's leftover process or a compromised dependency would. It swaps each of
many candidate names in ``app/logs/`` with a name of its own outside the app
(``renameat2(RENAME_EXCHANGE)``: one atomic system call, so the swap loop is
tight), all of them one way, then all of them back, again and again. Each swap
puts in the app's place either a symlink to a file outside the app, or (no
symlink anywhere) a hard link to it. A build that decides on an entry's ``lstat``
and then changes the entry by name reaches the outside file whenever a swap falls
between the two; a build that changes entries only through a descriptor checked
against that ``lstat`` never does.

A third case needs no swap at all: files of another layer, each hard-linked once
into the app, are moved between two app directories while builds run, so that a
build counting the links it sees would see one twice and take the file for one
with no link outside the app.

Builds alternate between selecting the candidates (``*.log``: 0644 becomes 0664)
and not (strict mode: 0664 becomes 0644 again), so every build changes every
candidate, and the outside files (0666 and 0600) would change under either. The
number of builds is bounded; the invariant over all of them is checked once the
attacker has put every name back.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Callable
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

CANDIDATES = 1000  # names in app/logs/ the attacker swaps
PATTERNS = 200
LINKED = 200  # files of another layer hard-linked into the app, moved about
# The moved links need two sightings to line up with the attacker, not one: more
# builds (the code that counted sightings lost a file in 18 of 20 runs of 10 builds).
BUILDS_LINKED = 16
BUILDS = 10  # bounded; the code before the descriptor checks leaked in the first build

# The attacker: moves every name in <from dir> to <to dir> and then all back
# (``exchange``: swaps each with the same name in <to dir>, one renameat2 each),
# until <stop> exists; then every name is back where it was. It says "ready"
# once it has moved them, and at the end how many rounds it made.
ATTACKER = (
    RENAMEAT2
    + r"""
how, from_dir, to_dir, stop = sys.argv[1:]
flags = RENAME_EXCHANGE if how == "exchange" else 0
names = sorted(os.fsencode(n) for n in os.listdir(from_dir))
here = os.open(from_dir, os.O_RDONLY | os.O_DIRECTORY)
there = os.open(to_dir, os.O_RDONLY | os.O_DIRECTORY)

def move_all(source, target):
    for name in names:
        if renameat2(source, name, target, name, flags) != 0:
            err = ctypes.get_errno()
            sys.exit(f"renameat2 {name!r}: {os.strerror(err)}")

move_all(here, there); move_all(there, here)  # it works here, before the builds start
print("ready", flush=True)
rounds = 0
while not os.path.exists(stop):
    move_all(here, there)
    move_all(there, here)
    rounds += 1
print(rounds)
"""
)

# Patterns that match nothing but must each be tried on every name widen the gap
# between an entry's lstat and its change (the decision takes longer), so that a
# bounded number of builds meets the race: the gap exists with any patterns.
WIDENING = "".join(f"*[!a-z]{i}?x\n" for i in range(PATTERNS))


def _outside_targets(box: Sandbox, with_directory: bool) -> list[Path]:
    """Files outside the app that a leaked chmod would change: another layer's
    world-writable file, a private file outside every layer, and (symlinks only:
    directories cannot be hard-linked) another layer's directory."""
    private = box.write_abs(box.outside / "private.key", "secret\n", 0o600)
    targets = [box.other / "shared.txt", private]
    if with_directory:
        targets.append(box.other / "cache")
    return targets


def _state(paths: list[Path]) -> dict[Path, tuple[int, int, int]]:
    out = {}
    for path in paths:
        st = os.lstat(path)
        out[path] = (st.st_mode, st.st_uid, st.st_gid)
    return out


def _candidates_at(box: Sandbox, stage: Path, mode: int) -> int:
    """How many of the app's own candidate files (wherever the attacker has put
    them just now) have ``mode``."""
    count = 0
    for directory in (box.path("logs"), stage):
        for entry in os.scandir(directory):
            st = entry.stat(follow_symlinks=False)
            if stat.S_ISREG(st.st_mode) and st.st_nlink == 1 and stat.S_IMODE(st.st_mode) == mode:
                count += 1
    return count


def _prepare(box: Sandbox, kind: str) -> tuple[Path, list[Path]]:
    """The candidates in app/logs/ and, under the same names in <root>/stage/
    (the build user's, outside the app), what the attacker swaps in."""
    targets = _outside_targets(box, with_directory=kind == "symlink")
    stage = box.root / "stage"
    stage.mkdir()
    os.chown(stage, BUILD_UID, BUILD_GID)
    for i in range(CANDIDATES):
        name = f"f{i:04d}.log"
        box.write(f"logs/{name}", "line\n", 0o644)
        target = targets[i % len(targets)]
        if kind == "symlink":
            (stage / name).symlink_to(target)
            os.chown(stage / name, BUILD_UID, BUILD_GID, follow_symlinks=False)
        else:
            os.link(target, stage / name)
    return stage, targets


def _start_attacker(
    box: Sandbox, how: str, source: Path, target: Path
) -> tuple[subprocess.Popen[str], Path]:
    stop = box.root / "stop"
    attacker = subprocess.Popen(
        [SETPRIV, f"--reuid={BUILD_UID}", f"--regid={BUILD_GID}", "--clear-groups", "--",
         sys.executable, "-I", "-c", ATTACKER, how, str(source), str(target), str(stop)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    assert attacker.stdout is not None
    if attacker.stdout.readline() != "ready\n":
        out, err = attacker.communicate(timeout=TIMEOUT)
        pytest.fail(f"the attacker did not start: {out}{err}")
    return attacker, stop


def _builds_under_attack(
    box: Sandbox,
    how: str,
    source: Path,
    target: Path,
    outside: list[Path],
    patterns: str,
    met: Callable[[int, str], bool],
    builds: int = BUILDS,
) -> None:
    """``builds`` builds while the attacker moves the names of ``source``, the
    first, third, ... selecting ``patterns`` and the others not: none may change
    ``outside``, print a traceback or exit other than 0 or 1, and each must have
    met the race's targets (``met(build, output)``) in most builds (a build that
    ends while the attacker holds every candidate away meets none, and under load
    that happens). Then, with every name
    back, the invariant holds over all of them, and a build without the attacker
    makes every candidate in ``source`` as the rules say."""
    off = WIDENING + "*.none\n"
    box.env("BP_WRITABLE_PATHS", off)  # what the last build reads
    before_all = box.snapshot()
    outside_before = _state(outside)
    attacker, stop = _start_attacker(box, how, source, target)
    leaked: list[str] = []
    missed: list[str] = []
    try:
        for build in range(1, builds + 1):
            box.env("BP_WRITABLE_PATHS", WIDENING + patterns if build % 2 else off)
            result = box.run_bare("build")
            output = result.stdout + result.stderr
            assert "Traceback" not in output, output
            assert result.returncode in (0, 1), output
            if not met(build, output):
                missed.append(f"build {build} met none of the targets\n{output}")
            now = _state(outside)
            if now != outside_before:
                changed = [
                    f"{p}: {oct(outside_before[p][0])} => {oct(now[p][0])}"
                    for p in outside
                    if now[p] != outside_before[p]
                ]
                leaked.append(f"build {build} of {builds} changed {', '.join(changed)}")
                break
    finally:
        stop.touch()
        out, err = attacker.communicate(timeout=TIMEOUT)
    assert attacker.returncode == 0, err
    assert int(out) > 0, "the attacker never moved a name while the builds ran"
    assert not leaked, leaked[0]
    assert len(missed) <= builds // 2, missed[0]
    stop.unlink()
    # Every name is back: over all builds, only the rules' changes inside the app.
    problems = allowed_changes(before_all, box.snapshot())
    assert not problems, "\n".join(problems[:20])
    assert box.run("build").returncode == 0


@pytest.mark.parametrize("kind", ["symlink", "hardlink"])
def test_names_swapped_during_builds_never_let_a_change_out_of_the_app(
    sb: Sandbox, kind: str
) -> None:
    stage, targets = _prepare(sb, kind)

    def changed_candidates(build: int, output: str) -> bool:
        return _candidates_at(sb, stage, 0o664 if build % 2 else 0o644) > 0

    _builds_under_attack(
        sb, "exchange", sb.path("logs"), stage, targets, "*.log\n", changed_candidates
    )
    # Without the attacker, the build changed every candidate (the race had targets).
    assert _candidates_at(sb, stage, 0o644) == CANDIDATES


def test_a_hard_link_moved_during_builds_is_never_counted_twice(sb: Sandbox) -> None:
    """Files of another layer, each hard-linked once into ``app/a/``, moved to
    ``app/z/`` and back: a build that counts the links it sees, not the places
    that still hold them, sees one link twice (in ``a`` and then in ``z``),
    believes the file has no link outside the app, and changes it."""
    outside = []
    for i in range(LINKED):
        lib = sb.write_abs(sb.other / "lib" / f"mod{i:03d}.so", "x\n", 0o666)
        sb.hardlink(f"a/mod{i:03d}.so", lib)
        outside.append(lib)
    sb.mkdir("z")

    def saw_links(build: int, output: str) -> bool:
        return "Files hard-linked outside the app (left unchanged)" in output

    _builds_under_attack(
        sb, "move", sb.path("a"), sb.path("z"), outside, "*.so\n", saw_links, BUILDS_LINKED
    )
    assert sb.mode("a/mod000.so") == 0o666  # linked outside: left as it is
