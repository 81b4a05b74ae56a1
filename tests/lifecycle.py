"""Run bin/detect and bin/build as the lifecycle does, for the contract tests of
the checkout (test_contract) and of the packaged archive (test_package).

As root the phases run as the build user (uid 1001, gid 1000) via setpriv, with
only the lifecycle's allowed environment and its positional arguments, in the
app directory. (The integration harness and the safety sandbox model more: the
export and the run user.)
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from support import BUILD_GID, BUILD_UID, REPO

from testing.cnb import BP_DIR_NAME, Dirs, User, copy_buildpack, phase_command, phase_env

AS_ROOT = os.geteuid() == 0
UID = BUILD_UID if AS_ROOT else os.getuid()
GID = BUILD_GID if AS_ROOT else os.getgid()
SETPRIV = shutil.which("setpriv") or "setpriv"
BP_LAYER = BP_DIR_NAME
__all__ = ["AS_ROOT", "BP_LAYER", "GID", "UID", "Platform", "copy_buildpack", "platform"]


def bundled_python(buildpack: Path = REPO) -> list[str]:
    """The command that starts the bundled CPython of ``buildpack`` for this machine,
    as bin/launcher.sh starts it (``make install`` puts it in the checkout)."""
    import platform as host

    arch, loader = {
        "x86_64": ("amd64", "ld-linux-x86-64.so.2"),
        "aarch64": ("arm64", "ld-linux-aarch64.so.1"),
    }[host.machine()]
    lib = buildpack / "python" / arch / "lib"
    python = buildpack / "python" / arch / "bin" / "python3.13"
    return [str(lib / loader), "--inhibit-cache", "--library-path", str(lib), str(python)]


class Platform:
    """One app build: its directories, and the two phases."""

    def __init__(self, root: Path, buildpack: Path, default_path: str) -> None:
        self.root = root
        self.buildpack = buildpack
        self.default_path = default_path
        self.app = root / "workspace"
        self.platform = root / "platform"
        self.layers = root / "layers"
        self.bp_layers = self.layers / BP_LAYER
        self.plan = root / "plan.toml"

    def env(self, name: str, value: str) -> None:
        """A setting as `pack build --env` passes it: a platform env file."""
        (self.platform / "env" / name).write_text(value)

    def write(self, path: str, text: str = "", mode: int = 0o644) -> Path:
        target = self.app / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
        os.chmod(target, mode)
        self.own(target.parent, target)
        return target

    def mkdir(self, path: str, mode: int = 0o755) -> Path:
        target = self.app / path
        target.mkdir(parents=True, exist_ok=True)
        os.chmod(target, mode)
        self.own(target)
        return target

    def own(self, *paths: Path) -> None:
        if AS_ROOT:
            for path in paths:
                os.chown(path, UID, GID, follow_symlinks=False)

    def run(
        self,
        phase: str,
        *,
        path: str | None = None,
        positional_only: bool = False,
        extra_env: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        dirs = Dirs(self.buildpack, self.platform, self.bp_layers, self.plan, self.plan)
        env = phase_env(
            phase, dirs, path=self.default_path if path is None else path, home=self.root
        )
        if positional_only:
            env = {k: v for k, v in env.items() if not k.startswith("CNB_")}
        env.update(extra_env or {})
        command = phase_command(phase, dirs, User(UID, GID) if AS_ROOT else None, SETPRIV)
        return subprocess.run(
            command, cwd=self.app, env=env, capture_output=True, text=True, timeout=60, check=False
        )


@contextmanager
def platform(buildpack: Path, default_path: str) -> Iterator[Platform]:
    """A fresh build sandbox reachable by the build user; the app dir 0777 as pack
    creates it."""
    root = Path(tempfile.mkdtemp(prefix="wp-cnb-"))
    try:
        os.chmod(root, 0o755)
        cnb = Platform(root, buildpack, default_path)
        for directory in (cnb.app, cnb.platform / "env", cnb.bp_layers):
            directory.mkdir(parents=True)
        cnb.plan.write_text("")
        cnb.own(cnb.app, cnb.layers, cnb.bp_layers, cnb.plan)
        os.chmod(cnb.app, 0o777)
        yield cnb
    finally:
        shutil.rmtree(root)
