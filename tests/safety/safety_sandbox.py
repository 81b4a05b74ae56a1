"""A sandbox for the safety suite: a real app, real layers, real users, real runs.

Layout of one sandbox (its root is mode 0755 in /dev/shm or the system temp dir,
outside pytest's 0700 directories, so that uid 1001 can reach it)::

    <root>/app/                              the app dir, 1001:1000, mode 0777 (as pack makes it)
    <root>/layers/community-buildpacks_writable-paths/  this buildpack's layers dir (1001:1000)
    <root>/layers/other-bp/                  another buildpack's layer (1001:1000, with
                                             group- and world-writable entries, so that any
                                             change leaking out of the app would show)
    <root>/buildpack/                        a copy of buildpack.toml, bin, src, vendor (root)
    <root>/platform/env/                     settings, one file per variable (as pack passes them)
    <root>/outside/                          a directory outside all of them (1001:1000, writable)
    <root>/plan.toml                         the build plan (read only by the buildpack)

Sandboxes live in /dev/shm when it is there (see ``BASE``): the file system
semantics that matter (modes, owners, links, FIFOs, sockets) are the same on
tmpfs, and the big trees are built ten times faster.

``snapshot`` records every path under the root without following links.
``WP_SAFETY_BUILDPACK`` names another buildpack directory to test instead of
this checkout (an older commit's, to show that a test catches what it guards;
its launcher may use the python3 on ``PATH``, this interpreter).

``Sandbox.run`` runs bin/detect or bin/build as the lifecycle does (see
tests/test_contract.py): as uid 1001 / gid 1000 through setpriv, with the
lifecycle's environment allow-list, the positional arguments and the app as cwd.
Each run checks the invariant (``assert_invariant``): exit 0 or 1, no traceback,
and, from snapshots taken before and after, nothing changed outside the app dir
and this buildpack's layers dir, and inside the app only what the rules allow
(``allowed_changes``); detect changes nothing at all. ``Sandbox.build`` runs
detect first, as the lifecycle does.
"""

from __future__ import annotations

import atexit
import os
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Union

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from lifecycle import bundled_python
from support import BUILD_GID, BUILD_UID, REPO, needs_root

from testing.cnb import Dirs, User, copy_buildpack, phase_command, phase_env
from testing.snapshot import Node, Snapshot, snapshot

__all__ = [
    "BP_LAYERS",
    "BUILD_GID",
    "BUILD_UID",
    "OTHER_GID",
    "REPO",
    "TIMEOUT",
    "Node",
    "Result",
    "Sandbox",
    "allowed_changes",
    "assert_invariant",
    "needs_root",
    "remove_tree",
    "sandbox",
    "snapshot",
    "subtree",
]

OTHER_GID = 4242  # a second group the build user may be a member of
BP_LAYERS = "layers/community-buildpacks_writable-paths"
OTHER_LAYER = "layers/other-bp"
TIMEOUT = 60  # a hang guard, not a timing assertion
# The start of an attacker script (run with ``-c`` as the build user): renameat2
# through ctypes, to move or exchange names (RENAME_EXCHANGE) without a symlink.
RENAMEAT2 = r"""
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
renameat2 = libc.renameat2
renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
RENAME_EXCHANGE = 2
"""
SETPRIV = shutil.which("setpriv") or "setpriv"
PYTHON_DIR = str(Path(sys.executable).resolve().parent)
PATH = f"{PYTHON_DIR}:/usr/bin:/bin"  # as tests/test_contract.py


def _base_dir() -> str | None:
    """Where sandboxes go: ``WP_SAFETY_TMP``, else /dev/shm (tmpfs: creating the
    big trees there is ten times faster than on a disk), else the system default."""
    chosen = os.environ.get("WP_SAFETY_TMP")
    if chosen:
        return chosen
    shm = "/dev/shm"
    if os.path.isdir(shm) and os.access(shm, os.W_OK | os.X_OK):
        return shm
    return None


BASE = _base_dir()

Data = Union[str, bytes]


# -- snapshots: testing/snapshot.py ----------------------------------------------


def under(path: bytes, prefix: bytes) -> bool:
    return path == prefix or path.startswith(prefix + b"/")


def subtree(snap: Snapshot, prefix: bytes) -> Snapshot:
    return {k: v for k, v in snap.items() if under(k, prefix)}


# -- the rules: what the build may do inside the app ----------------------------


def tightened(mode: int) -> int:
    return mode & ~0o022


def selected_directory(mode: int) -> int:
    return (mode | 0o770 | stat.S_ISGID) & ~0o002


def selected_file(mode: int) -> int:
    new = mode | 0o660
    if mode & 0o100:
        new |= 0o010
    return new & ~0o002


# A directory the build creates: 0755 (umask 022), setgid when its parent is, 02775 selected.
_NEW_DIR_MODES = (0o755, 0o2755, 0o2775)


def allowed_changes(
    before: Snapshot, after: Snapshot, gid: int = BUILD_GID, interrupted: bool = False
) -> list[str]:
    """What changed outside the rules, as readable lines (empty: all is well).

    With ``interrupted`` (a build killed part way) a selected path may also have
    its group changed but not yet its mode: the build sets the group first.

    Outside ``app`` and this buildpack's layers dir nothing may change. Inside
    ``app`` nothing is removed and no content, owner, type or link target
    changes; a mode may only stay, be tightened (strict mode), or become what a
    selected path gets (then the group may become the build's group); symlinks,
    FIFOs and sockets never change; new entries are directories of the build user.
    """
    problems: list[str] = []
    app = b"app"
    own = BP_LAYERS.encode()
    for path in sorted(set(before) | set(after)):
        old, new = before.get(path), after.get(path)
        if under(path, own) and path != own:
            continue
        if not under(path, app):
            if old != new:
                problems.append(f"outside the app: {path!r}: {old} => {new}")
            continue
        if old == new:
            continue
        if old is None:
            assert new is not None
            if new.kind != "d" or new.uid != BUILD_UID or new.mode not in _NEW_DIR_MODES:
                problems.append(f"created outside the rules: {path!r}: {new}")
            continue
        if new is None:
            problems.append(f"removed: {path!r}: {old}")
            continue
        fixed = (old.kind, old.uid, old.target, old.digest)
        if (new.kind, new.uid, new.target, new.digest) != fixed:
            problems.append(f"changed type, owner, target or content: {path!r}: {old} => {new}")
            continue
        if old.kind not in "df":
            problems.append(f"changed a {old.kind} entry: {path!r}: {old} => {new}")
            continue
        selected = selected_directory(old.mode) if old.kind == "d" else selected_file(old.mode)
        if path == app:
            allowed_modes = {old.mode & ~0o002, tightened(old.mode)}
        else:
            allowed_modes = {old.mode, tightened(old.mode), selected}
        if new.mode not in allowed_modes:
            problems.append(f"mode outside the rules: {path!r}: {old} => {new}")
        half_done = interrupted and new.mode == old.mode
        if new.gid != old.gid and (
            new.gid != gid or (new.mode != selected and not half_done) or path == app
        ):
            problems.append(f"group changed outside the rules: {path!r}: {old} => {new}")
    return problems


# -- the buildpack copy --------------------------------------------------------

_pristine: list[Path] = []


def pristine_buildpack() -> Path:
    """One root-owned copy of the buildpack per session, compiled ahead by the
    interpreter the build will use (a root-owned buildpack cannot cache bytecode;
    compiling pydantic on every run would dominate the suite's time)."""
    if _pristine:
        return _pristine[0]
    root = Path(tempfile.mkdtemp(prefix="wp-safety-bp-", dir=BASE))
    os.chmod(root, 0o755)
    target = root / "buildpack"
    other = os.environ.get("WP_SAFETY_BUILDPACK")
    copy_buildpack(target, source=Path(other) if other else REPO)
    # An older buildpack without a CPython of its own runs on this interpreter.
    older = other and not (target / "python").is_dir()
    python = [sys.executable] if older else bundled_python(target)
    subprocess.run(
        [*python, "-I", "-m", "compileall", "-q", "--invalidation-mode",
         "checked-hash", str(target / "src"), str(target / "vendor")],
        capture_output=True,
        check=True,
    )  # fmt: skip
    atexit.register(remove_tree, root)
    _pristine.append(target)
    return target


def remove_tree(path: Path) -> None:
    """``rm -rf``: shutil.rmtree recurses and fails on trees thousands of levels deep."""
    subprocess.run(["rm", "-rf", "--", str(path)], check=False)


# -- a sandbox -------------------------------------------------------------------


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str
    before: Snapshot
    after: Snapshot
    detected: Result | None = None  # bin/detect's result, run before bin/build

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def __str__(self) -> str:
        return f"exit {self.returncode}\n--- stdout\n{self.stdout}\n--- stderr\n{self.stderr}"


class Sandbox:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.app = root / "app"
        self.layers = root / "layers"
        self.bp_layers = root / BP_LAYERS
        self.other = root / OTHER_LAYER
        self.buildpack = root / "buildpack"
        self.platform = root / "platform"
        self.outside = root / "outside"
        self.plan = root / "plan.toml"

    @classmethod
    def create(cls) -> Sandbox:
        root = Path(tempfile.mkdtemp(prefix="wp-safety-", dir=BASE))
        os.chmod(root, 0o755)
        box = cls(root)
        shutil.copytree(pristine_buildpack(), box.buildpack, copy_function=os.link)
        (box.platform / "env").mkdir(parents=True)
        box.plan.write_text("")
        box._own(box.plan)
        for d in (box.app, box.layers, box.bp_layers, box.other, box.outside):
            d.mkdir(exist_ok=True)
            box._own(d)
        os.chmod(box.app, 0o777)  # as pack creates /workspace
        # Another buildpack's layer and a directory outside everything: full of
        # entries a leak would change (writable ones would be tightened, others
        # made group-writable).
        for base in (box.other, box.outside):
            box.write_abs(base / "lib/libfoo.so", b"\x7fELF...", 0o644)
            box.write_abs(base / "bin/tool", "#!/bin/sh\n", 0o755)
            box.write_abs(base / "shared.txt", "shared\n", 0o666)
            box.write_abs(base / "node_modules/pkg/index.js", "x\n", 0o664)
            os.chmod(base / "node_modules", 0o777)
            box.write_abs(base / "x", "x\n", 0o664)
            (base / "cache").mkdir()
            os.chmod(base / "cache", 0o777)
            box._own(base / "cache")
        return box

    def remove(self) -> None:
        remove_tree(self.root)

    # -- making the tree -------------------------------------------------------

    def _own(self, *paths: Path, uid: int = BUILD_UID, gid: int = BUILD_GID) -> None:
        if os.geteuid() == 0:
            for path in paths:
                os.chown(path, uid, gid, follow_symlinks=False)

    def _parents(self, path: Path) -> None:
        missing = []
        parent = path.parent
        while not os.path.lexists(parent):
            missing.append(parent)
            parent = parent.parent
        for d in reversed(missing):
            d.mkdir()
            self._own(d)

    def write_abs(
        self,
        path: Path,
        data: Data = b"",
        mode: int = 0o644,
        uid: int = BUILD_UID,
        gid: int = BUILD_GID,
    ) -> Path:
        self._parents(path)
        path.write_bytes(data.encode() if isinstance(data, str) else data)
        os.chmod(path, mode)
        self._own(path, uid=uid, gid=gid)
        return path

    def path(self, rel: str | bytes) -> Path:
        return self.app / os.fsdecode(rel)

    def write(
        self,
        rel: str | bytes,
        data: Data = b"",
        mode: int = 0o644,
        uid: int = BUILD_UID,
        gid: int = BUILD_GID,
    ) -> Path:
        return self.write_abs(self.path(rel), data, mode, uid, gid)

    def mkdir(
        self, rel: str | bytes, mode: int = 0o755, uid: int = BUILD_UID, gid: int = BUILD_GID
    ) -> Path:
        path = self.path(rel)
        self._parents(path)
        path.mkdir()
        os.chmod(path, mode)
        self._own(path, uid=uid, gid=gid)
        return path

    def symlink(self, rel: str | bytes, target: str | Path) -> Path:
        path = self.path(rel)
        self._parents(path)
        os.symlink(target, path)
        self._own(path)
        return path

    def hardlink(self, rel: str | bytes, existing: Path) -> Path:
        path = self.path(rel)
        self._parents(path)
        os.link(existing, path)
        return path

    def fifo(self, rel: str, mode: int = 0o666) -> Path:
        path = self.path(rel)
        self._parents(path)
        os.mkfifo(path)
        os.chmod(path, mode)
        self._own(path)
        return path

    def socket(self, rel: str, mode: int = 0o777) -> Path:
        path = self.path(rel)
        self._parents(path)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.bind(str(path))
        finally:
            sock.close()
        os.chmod(path, mode)
        self._own(path)
        return path

    def patterns(self, data: Data, name: str = ".writable-paths") -> Path:
        return self.write(name, data, 0o644)

    def env(self, name: str, value: Data) -> None:
        (self.platform / "env" / name).write_bytes(
            value.encode() if isinstance(value, str) else value
        )

    # -- reading it --------------------------------------------------------------

    def mode(self, rel: str | bytes) -> int:
        return stat.S_IMODE(os.lstat(self.path(rel)).st_mode)

    def gid(self, rel: str | bytes) -> int:
        return os.lstat(self.path(rel)).st_gid

    def snapshot(self) -> Snapshot:
        return snapshot(self.root)

    def app_state(self) -> set[tuple[bytes, str, int, int, int]]:
        """(relative path, type, mode, uid, gid) of every app path."""
        return {
            (k, v.kind, v.mode, v.uid, v.gid) for k, v in subtree(self.snapshot(), b"app").items()
        }

    # -- running the buildpack --------------------------------------------------

    def command(self, phase: str, groups: Sequence[int] = ()) -> tuple[list[str], dict[str, str]]:
        """The command line and environment the lifecycle would use."""
        dirs = Dirs(self.buildpack, self.platform, self.bp_layers, self.plan, self.plan)
        env = phase_env(phase, dirs, path=PATH, home=self.root)
        user = User(BUILD_UID, BUILD_GID, tuple(groups)) if os.geteuid() == 0 else None
        return phase_command(phase, dirs, user, SETPRIV), env

    def run_bare(self, phase: str) -> subprocess.CompletedProcess[str]:
        """``bin/<phase>`` as the lifecycle runs it, without ``run``'s snapshots
        (which would race with a test's attacker)."""
        command, env = self.command(phase)
        return subprocess.run(
            command, cwd=self.app, env=env, capture_output=True, text=True, timeout=TIMEOUT
        )

    def run(
        self,
        phase: str,
        *,
        groups: Sequence[int] = (),
        extra_env: Mapping[str, str] | None = None,
        check_invariant: bool = True,
    ) -> Result:
        """Run ``bin/<phase>`` and check the invariant (unless told not to)."""
        before = self.snapshot()
        command, env = self.command(phase, groups)
        env.update(extra_env or {})
        done = subprocess.run(
            command,
            cwd=self.app,
            env=env,
            capture_output=True,
            timeout=TIMEOUT,
            check=False,
        )
        after = self.snapshot()
        result = Result(
            done.returncode,
            done.stdout.decode("utf-8", "backslashreplace"),
            done.stderr.decode("utf-8", "backslashreplace"),
            before,
            after,
        )
        if check_invariant:
            assert_invariant(result, phase)
        return result

    def build(
        self,
        *,
        groups: Sequence[int] = (),
        extra_env: Mapping[str, str] | None = None,
        detect: bool = True,
    ) -> Result:
        """Run bin/detect (unless ``detect`` is false), then bin/build, as the
        lifecycle does; both must keep the invariant. The result is the build's,
        with the detect result in ``detected``."""
        detected = self.detect(groups=groups, extra_env=extra_env) if detect else None
        result = self.run("build", groups=groups, extra_env=extra_env)
        result.detected = detected
        if detected is not None and result.returncode == 0:
            assert detected.returncode == 0, f"detect failed, build passed\n{detected}"
        return result

    def detect(
        self, *, groups: Sequence[int] = (), extra_env: Mapping[str, str] | None = None
    ) -> Result:
        return self.run("detect", groups=groups, extra_env=extra_env)


def assert_invariant(result: Result, phase: str = "build") -> None:
    assert "Traceback" not in result.output, str(result)
    assert result.returncode in (0, 1), str(result)
    if phase == "detect":
        # detect sees the app read-only: nothing anywhere may change.
        changed = [
            k
            for k in set(result.before) | set(result.after)
            if result.before.get(k) != result.after.get(k)
        ]
        assert not changed, f"detect changed {sorted(changed)[:20]}\n{result}"
        return
    problems = allowed_changes(result.before, result.after)
    assert not problems, "\n".join(problems[:40]) + f"\n{result}"


@contextmanager
def sandbox() -> Iterator[Sandbox]:
    box = Sandbox.create()
    try:
        yield box
    finally:
        box.remove()
