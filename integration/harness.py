"""A faithful model of the CNB platform for one build of this buildpack.

The sandbox is a directory laid out like the build container's file system::

    <sandbox>/cnb/buildpacks/<escaped id>/<version>/            a copy of the buildpack, root's
    <sandbox>/cnb/order.toml                                   the order: a group, us appended
    <sandbox>/platform/env/BP_*                                 settings, as `pack build --env`
    <sandbox>/layers/                                          owned by the build user
    <sandbox>/layers/<other buildpack>/<layer>{,.toml}         layers that ran before us
    <sandbox>/layers/<escaped id>/                             our CNB_LAYERS_DIR
    <sandbox>/tmp/{detect,plan}/<escaped id>/plan.toml
    <sandbox>/home/cnb/                                        HOME
    <sandbox>/workspace/                                       the app, build user's, 0777

``bin/detect`` and ``bin/build`` run as the lifecycle runs them (see
``docs/platform.md``, "How the lifecycle runs a buildpack"): in the app dir, with the env
allow-list and positional arguments, umask 022, as the build user via
``setpriv --clear-groups``. ``BP_*`` settings reach them only as platform env files.

The exporter is modelled on ``buildpacks/lifecycle:layers/dir.go``: the app dir and
every ``launch = true`` layer are tarred *as the build user* (an unreadable file fails
the export), with uid/gid forced to the build user's, modes kept (setgid too), mtimes
set to 1980-01-01, symlinks kept, hard links stored as separate files, parent
directories with their real owners. The tars are unpacked as root into a fresh root
(``<root>/workspace``, ``<root>/layers/...``) with numeric owners and modes, and the
probes run there as the run-time user.

Absolute symlink targets are the one translation: the sandbox stands for the build
container's ``/`` and the image root for the run container's ``/``, so a target
``<sandbox>/layers/x`` is stored as ``/layers/x`` and unpacked as ``<root>/layers/x``.
"""

from __future__ import annotations

import io
import json
import os
import pickle
import shutil
import stat
import subprocess
import tarfile
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, TypeVar

import toml

from testing.cnb import (
    AS_ROOT,
    BP_DIR_NAME,
    BP_ID,
    BP_VERSION,
    BUILD_USER,
    DEFAULT_PATH,
    RUN_USER,
    Dirs,
    User,
    phase_command,
    phase_env,
)
from testing.cnb import copy_buildpack as _copy_buildpack
from testing.snapshot import Node, diff, snapshot

REPO = Path(__file__).resolve().parent.parent
TESTDATA = Path(__file__).resolve().parent / "testdata"
# Run the scenarios against a packaged buildpack (`make integration-package`)
# instead of the checkout.
ARCHIVE = os.environ.get("WP_BUILDPACK_ARCHIVE") or None

# tar mtime the lifecycle's NormalizingTarWriter gives every entry: 1980-01-01T00:00:01Z.
NORMALIZED_MTIME = 315532801
EXIT_DETECT_FAIL = 100

NEEDS_ROOT = "needs root to switch users (build as uid 1001, probe as uid 1002)"

T = TypeVar("T")


__all__ = [
    "AS_ROOT",
    "BP_ID",
    "BP_VERSION",
    "BUILD_USER",
    "RUN_USER",
    "Node",
    "User",
    "copy_buildpack",
    "diff_snapshots",
    "snapshot",
]
diff_snapshots = diff


def copy_buildpack(target: Path) -> None:
    """The buildpack as the builder image holds it (the package, under
    ``make integration-package``)."""
    _copy_buildpack(target, ARCHIVE)


class HarnessError(Exception):
    """The model could not do what was asked (not a buildpack failure)."""


class ExportError(HarnessError):
    """The exporter failed, as the lifecycle's does (e.g. a file the build user cannot read)."""


@dataclass(frozen=True)
class Layer:
    """A layer another buildpack of the group contributed before this one ran."""

    buildpack: str  # e.g. "paketo-buildpacks/npm-install"
    name: str  # e.g. "launch-modules"
    # path inside the layer -> content; a path ending in "/" is a directory.
    files: Mapping[str, str] = field(default_factory=dict)
    launch: bool = True
    # app path -> path inside this layer: absolute symlinks the buildpack made in the app,
    # as npm-install links /workspace/node_modules to its layer.
    app_links: Mapping[str, str] = field(default_factory=dict)

    @property
    def dir_name(self) -> str:
        return self.buildpack.replace("/", "_")


@dataclass(frozen=True)
class FixtureBuildpack:
    """A buildpack of ``testdata/buildpacks/`` that runs before this one."""

    source: Path
    id: str
    version: str

    @classmethod
    def named(cls, name: str) -> FixtureBuildpack:
        source = TESTDATA / "buildpacks" / name
        meta = toml.load(source / "buildpack.toml")["buildpack"]
        return cls(source, str(meta["id"]), str(meta["version"]))

    @property
    def dir_name(self) -> str:
        return self.id.replace("/", "_")


@dataclass
class PhaseResult:
    phase: str
    command: list[str]
    env: dict[str, str]
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    @property
    def warnings(self) -> list[str]:
        """The warning messages the build printed (the ``- ...`` lines under ``Warnings``)."""
        found: list[str] = []
        inside = False
        for line in self.stdout.splitlines():
            if line.startswith("  ") and not line.startswith("    "):
                inside = line.strip().startswith("Warnings (")
                continue
            if inside and line.lstrip().startswith("- "):
                found.append(line.lstrip()[2:])
        return found

    def describe(self) -> str:
        return (
            f"{self.phase} exited {self.returncode}\n--- stdout\n{self.stdout}"
            f"--- stderr\n{self.stderr}"
        )


@dataclass
class BuildRun:
    detect: PhaseResult
    build: PhaseResult | None  # None when detect did not pass


# -- running as another user --------------------------------------------------------


def run_as(user: User, func: Callable[..., T], *args: Any) -> T:
    """Run ``func(*args)`` in a forked child with exactly ``user``'s uid, gid and groups
    (what ``setpriv --clear-groups`` does) and umask 022; return its result."""
    if not AS_ROOT and (user.uid, user.gid) != (os.getuid(), os.getgid()):
        raise HarnessError(f"cannot run as {user}: {NEEDS_ROOT}")
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        status = 0
        try:
            os.close(read_fd)
            if AS_ROOT:
                os.setgroups(list(user.groups))
                os.setresgid(user.gid, user.gid, user.gid)
                os.setresuid(user.uid, user.uid, user.uid)
            os.umask(0o022)
            payload = pickle.dumps((True, func(*args)))
        except BaseException as err:
            status = 1
            payload = pickle.dumps((False, f"{type(err).__name__}: {err}"))
        try:
            with os.fdopen(write_fd, "wb") as out:
                out.write(payload)
        finally:
            os._exit(status)
    os.close(write_fd)
    with os.fdopen(read_fd, "rb") as inp:
        data = inp.read()
    os.waitpid(pid, 0)
    if not data:
        raise HarnessError(f"the child running as {user} died without an answer")
    ok, value = pickle.loads(data)
    if not ok:
        raise HarnessError(f"as {user}: {value}")
    return value  # type: ignore[no-any-return]


# -- the exporter ---------------------------------------------------------------------


def _tar_info(name: str, st: os.stat_result, uid: int, gid: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.mode = stat.S_IMODE(st.st_mode)  # setuid, setgid and sticky included
    info.uid, info.gid = uid, gid
    info.uname = info.gname = ""
    info.mtime = NORMALIZED_MTIME
    return info


def _write_layer_tar(
    source: str, arcname: str, parents: Sequence[tuple[str, str]], owner: User, sandbox: str
) -> bytes:
    """The tar of one layer, written by the process that calls it (the build user).

    Runs in the forked child of ``run_as``: every read is the build user's.
    """
    buffer = io.BytesIO()
    prefix = sandbox.rstrip("/") + "/"

    def add(tw: tarfile.TarFile, path: str, name: str) -> None:
        st = os.lstat(path)
        info = _tar_info(name, st, owner.uid, owner.gid)
        if stat.S_ISDIR(st.st_mode):
            info.type = tarfile.DIRTYPE
            tw.addfile(info)
            for child in sorted(os.listdir(path)):  # filepath.Walk's lexical order
                add(tw, os.path.join(path, child), f"{name}/{child}")
        elif stat.S_ISREG(st.st_mode):
            # Hard links are not tracked: every link is a separate regular file.
            with open(path, "rb") as handle:
                data = handle.read()
            info.size = len(data)
            tw.addfile(info, io.BytesIO(data))
        elif stat.S_ISLNK(st.st_mode):
            target = os.readlink(path)
            if target.startswith(prefix):
                target = "/" + target[len(prefix) :]
            info.type, info.linkname = tarfile.SYMTYPE, target
            tw.addfile(info)
        elif stat.S_ISFIFO(st.st_mode):
            info.type = tarfile.FIFOTYPE
            tw.addfile(info)
        elif stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
            info.type = tarfile.CHRTYPE if stat.S_ISCHR(st.st_mode) else tarfile.BLKTYPE
            info.devmajor, info.devminor = os.major(st.st_rdev), os.minor(st.st_rdev)
            tw.addfile(info)
        # Sockets are not exported.

    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tw:
        for path, name in parents:
            # DirLayer: parents keep their own owners, only the layer is forced.
            st = os.lstat(path)
            info = _tar_info(name, st, st.st_uid, st.st_gid)
            info.type = tarfile.DIRTYPE
            tw.addfile(info)
        add(tw, source, arcname)
    return buffer.getvalue()


def _extract(data: bytes, root: Path) -> None:
    """Unpack one layer tar into ``root`` as the container runtime does (as root:
    numeric owners, full modes); absolute symlink targets are relative to ``root``."""
    with tarfile.open(fileobj=io.BytesIO(data), mode="r") as tf:
        members = tf.getmembers()
        for member in members:
            if member.issym() and member.linkname.startswith("/"):
                member.linkname = str(root) + member.linkname
        if hasattr(tarfile, "fully_trusted_filter"):
            tf.extractall(root, members=members, numeric_owner=True, filter="fully_trusted")
        else:  # Python < 3.11.4: no filters, same behaviour
            tf.extractall(root, members=members, numeric_owner=True)
    if not AS_ROOT:
        return
    # tarfile restores modes after chown, but be explicit: the exact bits are the point.
    for member in members:
        if not member.issym():
            path = root / member.name
            os.lchown(path, member.uid, member.gid)
            os.chmod(path, member.mode)


# -- probes ---------------------------------------------------------------------------


@dataclass(frozen=True)
class NewEntries:
    """What a file and a directory created at run time inside a directory look like."""

    directory_gid: int
    directory_setgid: bool
    file_gid: int
    subdir_gid: int
    subdir_setgid: bool


def _probe_writes(items: Sequence[tuple[str, str, str]]) -> list[str]:
    """As the run user: ``(label, path, kind)`` -> labels of the paths it can write."""
    writable: list[str] = []
    marker = f".wp-probe-{os.getpid()}"
    for label, path, kind in items:
        try:
            if kind == "dir":
                fd = os.open(
                    os.path.join(path, marker), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644
                )
                os.close(fd)
                os.unlink(os.path.join(path, marker))
            else:
                # Opening for append is the permission check; nothing is written.
                os.close(os.open(path, os.O_WRONLY | os.O_APPEND))
        except OSError:
            continue
        writable.append(label)
    return writable


def _probe_new_entries(directory: str) -> NewEntries:
    marker = os.path.join(directory, f".wp-probe-{os.getpid()}")
    os.close(os.open(marker + ".file", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
    os.mkdir(marker + ".dir")
    try:
        dst = os.stat(directory)
        fst = os.stat(marker + ".file")
        sst = os.stat(marker + ".dir")
    finally:
        os.unlink(marker + ".file")
        os.rmdir(marker + ".dir")
    return NewEntries(
        directory_gid=dst.st_gid,
        directory_setgid=bool(dst.st_mode & stat.S_ISGID),
        file_gid=fst.st_gid,
        subdir_gid=sst.st_gid,
        subdir_setgid=bool(sst.st_mode & stat.S_ISGID),
    )


def _kind(path: str) -> str:
    mode = os.lstat(path).st_mode
    if stat.S_ISLNK(mode):
        return "symlink"
    if stat.S_ISDIR(mode):
        return "dir"
    return "file" if stat.S_ISREG(mode) else "other"


@dataclass
class Image:
    """An exported image, unpacked: ``<root>/workspace`` and ``<root>/layers/...``."""

    root: Path
    # "app" and "<buildpack dir>/<layer>" -> the layer's tar
    layer_tars: dict[str, bytes] = field(repr=False)

    @property
    def app_dir(self) -> Path:
        return self.root / "workspace"

    def _label(self, path: str) -> str:
        """Image paths as the probes report them: app paths relative to the app dir
        ("." is the app dir), everything else absolute in the image ("/layers/...")."""
        rel = os.path.relpath(path, self.root)
        if rel == "workspace":
            return "."
        if rel.startswith("workspace/"):
            return rel[len("workspace/") :]
        return "/" + rel

    def entries(self) -> dict[str, str]:
        """Label -> kind ("dir", "file", "symlink", "other") of every path in the image."""
        found: dict[str, str] = {}
        for top in sorted(self.root.iterdir()):
            found[self._label(str(top))] = _kind(str(top))
            for dirpath, dirnames, filenames in os.walk(top):
                for name in sorted(dirnames + filenames):
                    full = os.path.join(dirpath, name)
                    found[self._label(full)] = _kind(full)
        return found

    def app_paths(self) -> set[str]:
        return {label for label in self.entries() if not label.startswith("/")}

    def probe_writable(self, user: User = RUN_USER) -> set[str]:
        """Every path ``user`` can write in the image: directories in which it can
        create a file (the app root included), regular files it can open for append.
        Symlinks are not probed (a write through one lands on its target, probed itself)."""
        items: list[tuple[str, str, str]] = []
        for label, kind in self.entries().items():
            if kind in ("dir", "file"):
                path = (
                    str(self.app_dir / label)
                    if not label.startswith("/")
                    else str(self.root) + label
                )
                items.append((label, os.path.normpath(path), kind))
        return set(run_as(user, _probe_writes, items))

    def probe_new_entries(self, directory: str, user: User = RUN_USER) -> NewEntries:
        """As ``user``, create a file and a directory in the app directory ``directory``
        and report the groups they got (setgid inheritance)."""
        return run_as(user, _probe_new_entries, str(self.app_dir / directory))

    def mode(self, label: str) -> int:
        path = self.app_dir / label if not label.startswith("/") else Path(str(self.root) + label)
        return os.lstat(path).st_mode


# -- the platform ----------------------------------------------------------------------


def _chown(path: Path | str, user: User) -> None:
    if AS_ROOT:
        os.lchown(path, user.uid, user.gid)


def _write(path: Path, text: str, owner: User | None = None, mode: int = 0o644) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    os.chmod(path, mode)
    if owner is not None:
        _chown(path, owner)


def _mkdir(path: Path, owner: User | None = None, mode: int = 0o755) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, mode)
    if owner is not None:
        _chown(path, owner)
    return path


def install_app(source: Path | None, dest: Path, owner: User, umask: int) -> None:
    """Copy a fixture as pack puts an app into /workspace: every path owned by the
    build user, modes as a checkout with ``umask`` gives them, the root 0777."""
    dest.mkdir(parents=True, exist_ok=True)
    if source is not None:
        for dirpath, dirnames, filenames in os.walk(source):
            rel = os.path.relpath(dirpath, source)
            target_dir = dest / rel if rel != "." else dest
            for name in sorted(dirnames):
                src = os.path.join(dirpath, name)
                dst = target_dir / name
                if os.path.islink(src):
                    os.symlink(os.readlink(src), dst)
                    dirnames.remove(name)
                else:
                    dst.mkdir()
                    os.chmod(dst, 0o777 & ~umask)
                _chown(dst, owner)
            for name in sorted(filenames):
                src = os.path.join(dirpath, name)
                dst = target_dir / name
                if os.path.islink(src):
                    os.symlink(os.readlink(src), dst)
                else:
                    shutil.copyfile(src, dst)
                    executable = os.stat(src).st_mode & stat.S_IXUSR
                    os.chmod(dst, (0o777 if executable else 0o666) & ~umask)
                _chown(dst, owner)
    os.chmod(dest, 0o777)
    _chown(dest, owner)


def build_path() -> str:
    """The build image's PATH. The buildpack never searches it: it runs its own CPython
    (``make install`` puts this arch's in the checkout; the package carries both)."""
    return DEFAULT_PATH


class Sandbox:
    """One build of one app on the modelled platform. Use as a context manager."""

    def __init__(
        self,
        app: Path | str | None,
        *,
        env: Mapping[str, str] | None = None,
        build_user: User | None = None,
        app_umask: int = 0o022,
        layers: Sequence[Layer] = (),
        path: str | None = None,
        before: Sequence[str] = (),
    ) -> None:
        """``before``: fixture buildpacks (``testdata/buildpacks/<name>``) that run
        earlier in the group, detect and build, as the lifecycle runs them."""
        if build_user is None:
            build_user = BUILD_USER if AS_ROOT else User.current()
        if not AS_ROOT and build_user != User.current():
            raise HarnessError(f"cannot build as {build_user}: {NEEDS_ROOT}")
        source = None if app is None else Path(app)
        if source is not None and not source.is_absolute():
            source = TESTDATA / source
        if source is not None and not source.is_dir():
            raise HarnessError(f"no fixture app at {source}")
        self.fixture = source
        self.build_user = build_user
        self.settings = dict(env or {})
        self.layers = tuple(layers)
        self.before = tuple(FixtureBuildpack.named(name) for name in before)
        self.path = path if path is not None else build_path()
        self._images = 0
        self._before_done = False

        self.base = Path(tempfile.mkdtemp(prefix="wp-cnb-"))
        os.chmod(self.base, 0o755)
        try:
            self._lay_out(app_umask)
        except BaseException:
            self.close()
            raise

    # -- layout --

    @property
    def root(self) -> Path:
        """The build container's "/"."""
        return self.base / "sandbox"

    @property
    def buildpack_dir(self) -> Path:
        return self.root / "cnb" / "buildpacks" / BP_DIR_NAME / BP_VERSION

    @property
    def platform_dir(self) -> Path:
        return self.root / "platform"

    @property
    def layers_dir(self) -> Path:
        return self.root / "layers"

    @property
    def bp_layers_dir(self) -> Path:
        return self.layers_dir / BP_DIR_NAME

    @property
    def app_dir(self) -> Path:
        return self.root / "workspace"

    @property
    def home(self) -> Path:
        return self.root / "home" / "cnb"

    @property
    def detect_plan(self) -> Path:
        return self.root / "tmp" / "detect" / BP_DIR_NAME / "plan.toml"

    @property
    def build_plan(self) -> Path:
        return self.root / "tmp" / "plan" / BP_DIR_NAME / "plan.toml"

    @property
    def untouched_app_dir(self) -> Path:
        """A copy of the app as pack left it, made before any phase ran."""
        return self.base / "untouched" / "workspace"

    def _lay_out(self, app_umask: int) -> None:
        user = self.build_user
        _mkdir(self.root)
        copy_buildpack(self.buildpack_dir)
        for directory in (self.root / "cnb", self.buildpack_dir.parent.parent):
            os.chmod(directory, 0o755)
        os.chmod(self.buildpack_dir.parent, 0o755)
        group = [{"id": layer.buildpack, "version": "0.0.0"} for layer in self.layers]
        for fixture in self.before:
            shutil.copytree(fixture.source, self._fixture_dir(fixture), symlinks=True)
            group.append({"id": fixture.id, "version": fixture.version})
        group.append({"id": BP_ID, "version": BP_VERSION})
        _write(self.root / "cnb" / "order.toml", toml.dumps({"order": [{"group": group}]}))

        _mkdir(self.platform_dir / "env")
        for name, value in self.settings.items():
            if not name.startswith("BP_"):
                raise HarnessError(f"only BP_* settings reach buildpacks as files: {name}")
            _write(self.platform_dir / "env" / name, value)

        _mkdir(self.root / "tmp", mode=0o1777)
        for plan in (self.detect_plan, self.build_plan):
            _mkdir(plan.parent.parent, user)
            _mkdir(plan.parent, user)
            _write(plan, "", user)
        _mkdir(self.root / "home", mode=0o755)
        _mkdir(self.home, user)

        _mkdir(self.layers_dir, user)
        _write(self.layers_dir / "group.toml", toml.dumps({"group": group}), user)
        for layer in self.layers:
            self._contribute(layer)
        for fixture in self.before:
            _mkdir(self.layers_dir / fixture.dir_name, user)
        _mkdir(self.bp_layers_dir, user)

        for app_dir in (self.app_dir, self.untouched_app_dir):
            _mkdir(app_dir.parent, mode=0o755)
            install_app(self.fixture, app_dir, user, app_umask)
            for app_path, layer_path in self._links():
                link = app_dir / app_path
                os.symlink(layer_path, link)
                _chown(link, user)

    def _contribute(self, layer: Layer) -> None:
        user = self.build_user
        bp_dir = _mkdir(self.layers_dir / layer.dir_name, user)
        layer_dir = _mkdir(bp_dir / layer.name, user)
        for rel, content in layer.files.items():
            target = layer_dir / rel
            for parent in reversed(target.relative_to(layer_dir).parents):
                if str(parent) != ".":
                    _mkdir(layer_dir / parent, user)
            if rel.endswith("/"):
                _mkdir(target, user)
            else:
                _write(target, content, user)
        types = {"types": {"launch": layer.launch, "build": False, "cache": False}}
        _write(bp_dir / f"{layer.name}.toml", toml.dumps(types), user)

    def _links(self) -> Iterator[tuple[str, str]]:
        for layer in self.layers:
            for app_path, layer_path in layer.app_links.items():
                yield app_path, str(self.layers_dir / layer.dir_name / layer.name / layer_path)

    # -- the phases --

    def _dirs(self) -> Dirs:
        return Dirs(
            self.buildpack_dir,
            self.platform_dir,
            self.bp_layers_dir,
            self.detect_plan,
            self.build_plan,
        )

    def _fixture_dir(self, fixture: FixtureBuildpack) -> Path:
        return self.root / "cnb" / "buildpacks" / fixture.dir_name / fixture.version

    def _run(self, phase: str, fixture: FixtureBuildpack | None = None) -> PhaseResult:
        dirs = self._dirs()
        if fixture is not None:
            dirs = Dirs(
                self._fixture_dir(fixture),
                self.platform_dir,
                self.layers_dir / fixture.dir_name,
                self.detect_plan,
                self.build_plan,
            )
        command = phase_command(phase, dirs, self.build_user if AS_ROOT else None)
        env = phase_env(phase, dirs, path=self.path, home=self.home)
        result = subprocess.run(
            command,
            cwd=self.app_dir,
            env=env,
            umask=0o022,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        name = phase if fixture is None else f"{fixture.id} {phase}"
        return PhaseResult(name, command, env, result.returncode, result.stdout, result.stderr)

    def run_before(self) -> list[PhaseResult]:
        """Detect, then build, the fixture buildpacks earlier in the group; afterwards
        the untouched copy is the app as they left it."""
        if self._before_done:
            return []
        self._before_done = True
        results = [self._run("detect", f) for f in self.before]
        if any(r.returncode != 0 for r in results):
            return results
        results += [self._run("build", f) for f in self.before]
        if self.before and all(r.returncode == 0 for r in results):
            shutil.rmtree(self.untouched_app_dir)
            subprocess.run(["cp", "-a", str(self.app_dir), str(self.untouched_app_dir)], check=True)
        return results

    def detect(self) -> PhaseResult:
        return self._run("detect")

    def build(self) -> PhaseResult:
        return self._run("build")

    def run(self) -> BuildRun:
        """The fixture buildpacks earlier in the group, then detect, then build if
        detect passed."""
        for result in self.run_before():
            if result.returncode != 0:
                raise HarnessError(result.describe())
        detect = self.detect()
        if detect.returncode != 0:
            return BuildRun(detect, None)
        return BuildRun(detect, self.build())

    def processes(self) -> list[dict[str, Any]]:
        """The process types every buildpack of the group declared in its launch.toml."""
        found: list[dict[str, Any]] = []
        for launch in sorted(self.layers_dir.glob("*/launch.toml")):
            found += toml.load(launch).get("processes", [])
        return found

    def launch_labels(self) -> dict[str, Any]:
        """The labels of our launch.toml, values JSON-decoded."""
        path = self.bp_layers_dir / "launch.toml"
        if not path.exists():
            return {}
        data = toml.load(path)
        return {label["key"]: json.loads(label["value"]) for label in data.get("labels", [])}

    # -- the exporter --

    def _launch_layers(self) -> list[Path]:
        found: list[Path] = []
        for bp_dir in sorted(self.layers_dir.iterdir()):
            if not bp_dir.is_dir() or bp_dir.is_symlink():
                continue
            for meta in sorted(bp_dir.glob("*.toml")):
                if meta.name in ("launch.toml", "build.toml", "store.toml"):
                    continue
                types = toml.load(meta).get("types", {})
                layer = meta.with_suffix("")
                if types.get("launch") and layer.is_dir():
                    found.append(layer)
        return found

    def export(self, app_dir: Path | None = None) -> Image:
        """Export the app dir (by default the built one) and every launch layer as the
        lifecycle does, and unpack the image into a fresh root."""
        source = app_dir or self.app_dir
        tars: dict[str, bytes] = {}
        user = self.build_user
        sandbox = str(self.root)
        try:
            tars["app"] = run_as(
                user, _write_layer_tar, str(source), "workspace", (), user, sandbox
            )
            for layer in self._launch_layers():
                bp = layer.parent
                parents = ((str(self.layers_dir), "layers"), (str(bp), f"layers/{bp.name}"))
                name = f"layers/{bp.name}/{layer.name}"
                tars[f"{bp.name}/{layer.name}"] = run_as(
                    user, _write_layer_tar, str(layer), name, parents, user, sandbox
                )
        except HarnessError as err:
            raise ExportError(f"export failed: {err}") from None
        self._images += 1
        root = _mkdir(self.base / "images" / str(self._images))
        os.chmod(root.parent, 0o755)
        for data in tars.values():
            _extract(data, root)
        return Image(root, tars)

    def export_untouched(self) -> Image:
        """The image a build without this buildpack would give (the untouched copy)."""
        return self.export(self.untouched_app_dir)

    # -- invariants --

    def snapshot_outside(self) -> dict[bytes, Node]:
        """Everything of the build container but the app dir and our own layers dir."""
        return snapshot(self.root, exclude=(self.app_dir, self.bp_layers_dir))

    # -- clean-up --

    def close(self) -> None:
        def unblock(func: Callable[..., Any], path: str, _exc: Any) -> None:
            os.chmod(os.path.dirname(path), 0o700)
            func(path)

        if self.base.exists():
            for dirpath, dirnames, _ in os.walk(self.base):
                for name in dirnames:
                    full = os.path.join(dirpath, name)
                    if not os.path.islink(full):
                        os.chmod(full, 0o700)
            shutil.rmtree(self.base, onerror=unblock)

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def under(paths: Iterable[str], roots: Iterable[str]) -> set[str]:
    """The ``paths`` that are one of ``roots`` or beneath one ("." is the whole app)."""
    roots = tuple(roots)
    result: set[str] = set()
    for path in paths:
        for root in roots:
            whole_app = root == "." and not path.startswith("/")
            if whole_app or path == root or path.startswith(root.rstrip("/") + "/"):
                result.add(path)
    return result
