"""The CNB platform as the lifecycle presents it to a buildpack (docs/platform.md).

- ``User``: a uid, a gid and exactly the supplementary groups given (none: what the
  lifecycle's phases get), with the ``setpriv`` prefix that runs a command as it;
- ``phase_args`` and ``phase_env``: the positional arguments and the allow-listed
  environment of ``bin/detect`` and ``bin/build`` (lifecycle 0.20, Buildpack API 0.10);
- ``copy_buildpack``: the buildpack directory as a builder image holds it (from the
  checkout, a ``.tgz`` of ``make package``, or a ``.cnb`` / OCI layout of
  ``make package-oci``).
"""

from __future__ import annotations

import os
import shutil
import tarfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import tomllib

from testing.buildpackage import buildpack_tree

REPO = Path(__file__).resolve().parent.parent
BP_ID = "community-buildpacks/writable-paths"
BP_DIR_NAME = BP_ID.replace("/", "_")  # its layers dir and /cnb/buildpacks/ entry
BP_VERSION: str = tomllib.loads((REPO / "buildpack.toml").read_text())["buildpack"]["version"]
BUILDPACK_PARTS = ("buildpack.toml", "bin", "src", "vendor", "python")
AS_ROOT = os.geteuid() == 0
# PATH of an Ubuntu build image (Paketo Jammy full has python3 in /usr/bin).
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# What `CNB_TARGET_*` the lifecycle (0.20, Buildpack API 0.10) sets for a Jammy build.
TARGET_ENV = {
    "CNB_TARGET_OS": "linux",
    "CNB_TARGET_ARCH": "amd64",
    "CNB_TARGET_DISTRO_NAME": "ubuntu",
    "CNB_TARGET_DISTRO_VERSION": "22.04",
}
PHASES = ("detect", "build")


@dataclass(frozen=True)
class User:
    uid: int
    gid: int
    groups: tuple[int, ...] = ()  # supplementary groups; () is --clear-groups

    def __str__(self) -> str:
        extra = f" (groups {','.join(map(str, self.groups))})" if self.groups else ""
        return f"uid {self.uid} gid {self.gid}{extra}"

    @classmethod
    def current(cls) -> User:
        return cls(os.getuid(), os.getgid())

    def setpriv(self, program: str = "setpriv") -> list[str]:
        """The command prefix that runs as this user (``program``: setpriv's path, for a
        PATH that lacks it)."""
        groups = f"--groups={','.join(map(str, self.groups))}" if self.groups else "--clear-groups"
        return [program, f"--reuid={self.uid}", f"--regid={self.gid}", groups, "--"]


# Paketo Jammy (docs/platform.md, "Stacks").
BUILD_USER = User(1001, 1000)
RUN_USER = User(1002, 1000)


@dataclass(frozen=True)
class Dirs:
    """Where one buildpack's phases find the platform's files."""

    buildpack: Path  # CNB_BUILDPACK_DIR
    platform: Path  # CNB_PLATFORM_DIR (settings in env/)
    layers: Path  # this buildpack's CNB_LAYERS_DIR
    detect_plan: Path  # CNB_BUILD_PLAN_PATH
    build_plan: Path  # CNB_BP_PLAN_PATH


def phase_args(phase: str, dirs: Dirs) -> list[str]:
    """The positional arguments (deprecated, still passed)."""
    if phase == "detect":
        return [str(dirs.platform), str(dirs.detect_plan)]
    return [str(dirs.layers), str(dirs.platform), str(dirs.build_plan)]


def phase_env(
    phase: str, dirs: Dirs, *, path: str, home: Path | str, targets: bool = True
) -> dict[str, str]:
    """The environment: the allow-listed PATH and HOME, the CNB variables of the phase,
    and (``targets``) the CNB_TARGET_* of a Jammy build. No BP_*: settings arrive as
    files in ``<platform>/env/``."""
    env = {"PATH": path, "HOME": str(home)}
    if targets:
        env.update(TARGET_ENV)
    env["CNB_BUILDPACK_DIR"] = str(dirs.buildpack)
    env["CNB_PLATFORM_DIR"] = str(dirs.platform)
    if phase == "detect":
        env["CNB_BUILD_PLAN_PATH"] = str(dirs.detect_plan)
    else:
        env["CNB_LAYERS_DIR"] = str(dirs.layers)
        env["CNB_BP_PLAN_PATH"] = str(dirs.build_plan)
    return env


def phase_command(
    phase: str, dirs: Dirs, user: User | None = None, setpriv: str = "setpriv"
) -> list[str]:
    """``bin/<phase>`` with its arguments, as ``user`` when one is given."""
    if phase not in PHASES:
        raise ValueError(f"no such phase: {phase}")
    command = [str(dirs.buildpack / "bin" / phase), *phase_args(phase, dirs)]
    return command if user is None else [*user.setpriv(setpriv), *command]


def write_settings(platform: Path, settings: Mapping[str, str | bytes]) -> None:
    """Settings as `pack build --env` passes them: one file per variable."""
    env = platform / "env"
    env.mkdir(parents=True, exist_ok=True)
    for name, value in settings.items():
        (env / name).write_bytes(value.encode() if isinstance(value, str) else value)


def copy_buildpack(target: Path, archive: str | None = None, source: Path = REPO) -> None:
    """The buildpack (the ``BUILDPACK_PARTS`` of ``source``, this checkout by default,
    or the packaged ``archive`` unpacked: a ``.tgz``, or a buildpackage, whose image for
    this machine umoci unpacks) at ``target`` as a builder holds it: root's when run as
    root, directories 0755, files 0644 or 0755."""
    target.mkdir(parents=True)
    if archive is not None and (archive.endswith(".cnb") or os.path.isdir(archive)):
        tree = buildpack_tree(os.path.abspath(archive), f"{BP_DIR_NAME}/{BP_VERSION}")
        shutil.copytree(tree, target, symlinks=True, dirs_exist_ok=True)
    elif archive is not None:
        with tarfile.open(archive) as tar:
            tar.extractall(target, filter="tar")
    else:
        ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
        for part in BUILDPACK_PARTS:
            src = source / part
            if src.is_dir():
                # python/ holds the stdlib as sourceless bytecode: copied as it is.
                kept = None if part == "python" else ignore
                shutil.copytree(src, target / part, symlinks=True, ignore=kept)
            elif src.exists():
                shutil.copy2(src, target / part)
    for dirpath, _dirnames, filenames in os.walk(target):
        os.chmod(dirpath, 0o755)
        for name in filenames:
            full = os.path.join(dirpath, name)
            if not os.path.islink(full):
                executable = os.stat(full).st_mode & 0o111
                os.chmod(full, 0o755 if executable else 0o644)
