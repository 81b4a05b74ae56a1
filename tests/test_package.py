"""The packaged buildpack (``make package``): the archive itself, and the archive
unpacked and run as the lifecycle runs it, on Debian's ``/usr/bin/python3`` (which has
none of our dependencies) and on a PATH with no Python at all.

The package is built once per session into a temporary directory, with the shared
download cache (build/cache). The tests skip when that cache lacks wheels and PyPI is
unreachable; any other build failure fails them.
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import stat
import subprocess
import sys
import tarfile
import tempfile
import urllib.request
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
import tomllib
from lifecycle import AS_ROOT, BP_LAYER, GID, UID, Platform, bundled_python, platform

REPO = Path(__file__).resolve().parent.parent
BUILD_SCRIPT = REPO / "package" / "build.py"
CACHE = REPO / "build" / "cache"
EXIT_DOWNLOAD = 75  # package/build.py: a wheel could not be downloaded

BUILDPACK = tomllib.loads((REPO / "buildpack.toml").read_text())
VERSION: str = BUILDPACK["buildpack"]["version"]
TARGETS = [(t["os"], t["arch"]) for t in BUILDPACK["targets"]]
PYTHONS = ("3.13",)  # the bundled CPython (package/runtime.py)
#: buildpack.toml arch -> (machine in extension names, ELF e_machine)
MACHINES = {"amd64": ("x86_64", 62), "arm64": ("aarch64", 183)}

#: A PATH of a shell and coreutils, and no Python: what the launchers may meet.
COREUTILS = ("sh", "cat", "ls", "env", "uname", "id", "mkdir", "chmod", "true", "false")


def _pypi_reachable() -> bool:
    try:
        with urllib.request.urlopen("https://pypi.org/simple/", timeout=10):
            return True
    except OSError:
        return False


_offline: list[str] = []  # why the first build had to skip; later builds skip at once


def build_package(out: Path, *args: str) -> Path:
    if _offline:
        pytest.skip(_offline[0])
    result = subprocess.run(
        [sys.executable, str(BUILD_SCRIPT), "--out", str(out), *args],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    if result.returncode == EXIT_DOWNLOAD and not _pypi_reachable():
        cached = any((CACHE / "wheels").glob("*.whl"))
        _offline.append(
            f"cannot build the package: the download cache {CACHE} "
            f"{'lacks wheels it needs' if cached else 'is empty'} and PyPI is unreachable"
        )
        pytest.skip(_offline[0])
    assert result.returncode == 0, result.stdout + result.stderr
    (archive,) = out.glob("*.tgz")
    return archive


def extension_names(names: list[str]) -> set[str]:
    return {n for n in names if n.startswith("vendor/pydantic_core/") and n.endswith(".so")}


def expected_extensions(targets: list[tuple[str, str]]) -> set[str]:
    return {
        f"vendor/pydantic_core/_pydantic_core.cpython-{v.replace('.', '')}-"
        f"{MACHINES[arch][0]}-linux-gnu.so"
        for _, arch in targets
        for v in PYTHONS
    }


# -- fixtures -----------------------------------------------------------------


@pytest.fixture(scope="session")
def workdir() -> Iterator[Path]:
    root = Path(tempfile.mkdtemp(prefix="wp-package-"))
    os.chmod(root, 0o755)  # the build user must reach the unpacked buildpack
    yield root
    shutil.rmtree(root)


@pytest.fixture(scope="session")
def archive(workdir: Path) -> Path:
    return build_package(workdir / "first")


@pytest.fixture(scope="session")
def members(archive: Path) -> list[tarfile.TarInfo]:
    with tarfile.open(archive) as tar:
        return tar.getmembers()


@pytest.fixture(scope="session")
def names(members: list[tarfile.TarInfo]) -> list[str]:
    return [m.name for m in members]


@pytest.fixture(scope="session")
def unpacked(archive: Path, workdir: Path) -> Path:
    """The archive where the lifecycle puts a buildpack, owned by root."""
    target = workdir / "cnb" / "buildpacks" / BP_LAYER / VERSION
    target.mkdir(parents=True)
    with tarfile.open(archive) as tar:
        tar.extractall(target, filter="data")
    return target


@pytest.fixture(scope="session")
def no_python_path(workdir: Path) -> str:
    """A directory with sh and coreutils in it, and no Python."""
    tools = workdir / "coreutils-only"
    tools.mkdir()
    for name in COREUTILS:
        found = shutil.which(name, path="/usr/bin:/bin")
        assert found, name
        (tools / name).symlink_to(found)
    return str(tools)


@pytest.fixture
def cnb(unpacked: Path, no_python_path: str) -> Iterator[Platform]:
    with platform(unpacked, no_python_path) as sandbox:
        yield sandbox


@pytest.fixture
def no_python(workdir: Path) -> str:
    """A PATH with nothing on it (the launchers need only shell builtins)."""
    empty = workdir / "empty-path"
    empty.mkdir(exist_ok=True)
    return str(empty)


def mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


# -- the archive ----------------------------------------------------------------


def test_archive_and_package_toml_are_named_after_the_buildpack_version(archive: Path) -> None:
    assert archive.name == f"writable-paths-{VERSION}.tgz"
    package = tomllib.loads((REPO / "package.toml").read_text())
    assert package["buildpack"]["uri"] == f"build/writable-paths-{VERSION}.tgz"
    assert package["platform"]["os"] == "linux"


def test_archive_holds_an_extension_for_every_target_and_python(
    archive: Path, names: list[str]
) -> None:
    assert len(TARGETS) >= 1
    assert extension_names(names) == expected_extensions(TARGETS)
    with tarfile.open(archive) as tar:
        for name in sorted(extension_names(names)):
            machine, elf_machine = next(v for v in MACHINES.values() if f"-{v[0]}-" in name)
            member = tar.extractfile(name)
            assert member is not None
            header = member.read(20)
            assert header[:4] == b"\x7fELF", name
            assert header[4] == 2, f"{name}: not 64-bit"
            assert int.from_bytes(header[18:20], "little") == elf_machine, f"{name}: not {machine}"


def test_one_target_package_holds_only_that_arch(workdir: Path) -> None:
    one = build_package(workdir / "amd64", "--target", "linux/amd64")
    assert one.name == f"writable-paths-{VERSION}-linux-amd64.tgz"
    with tarfile.open(one) as tar:
        assert extension_names(tar.getnames()) == expected_extensions([("linux", "amd64")])
        member = tar.extractfile("buildpack.toml")
        assert member is not None
        descriptor = tomllib.loads(member.read().decode())
    assert descriptor == {**BUILDPACK, "targets": [{"os": "linux", "arch": "amd64"}]}


def test_archive_is_the_buildpack_with_its_pinned_dependencies(
    archive: Path, names: list[str]
) -> None:
    with tarfile.open(archive) as tar:

        def read(name: str) -> bytes:
            member = tar.extractfile(name)
            assert member is not None, name
            return member.read()

        assert read("buildpack.toml") == (REPO / "buildpack.toml").read_bytes()
        for launcher in ("detect", "build", "launcher.sh", "entry.py"):
            assert read(f"bin/{launcher}") == (REPO / "bin" / launcher).read_bytes()
        pins = [
            line.split("#")[0].strip().split("==")
            for line in (REPO / "requirements" / "runtime.txt").read_text().splitlines()
            if line.split("#")[0].strip()
        ]
        for name, version in pins:
            dist_info = f"vendor/{name.replace('-', '_')}-{version}.dist-info"
            metadata = read(f"{dist_info}/METADATA").decode()
            assert f"\nVersion: {version}\n" in metadata
            licences = [n for n in names if n.startswith(dist_info + "/") and "LICEN" in n]
            assert licences, f"{dist_info} has no licence"
    sources = {
        p.relative_to(REPO).as_posix() for p in (REPO / "src" / "writable_paths").glob("*.py")
    }
    assert sources <= set(names)
    assert "src/writable_paths/__main__.py" in names
    tags = {f"cpython-{v.replace('.', '')}" for v in PYTHONS}
    for name in names:
        parts = name.split("/")
        assert parts[0] in ("buildpack.toml", "bin", "src", "vendor", "python"), name
        assert "tests" not in parts, name
        assert not name.endswith((".pyo", ".dist-info/RECORD", ".dist-info/WHEEL")), name
        if parts[0] == "python":
            assert len(parts) < 2 or parts[1] in {arch for _, arch in TARGETS}, name
            continue
        if "__pycache__" in parts and parts[-1] != "__pycache__":
            # Only our own bytecode: <module>.<tag>.pyc beside its source.
            module, tag, suffix = parts[-1].rsplit(".", 2)
            assert parts[-2] == "__pycache__", name
            assert suffix == "pyc", name
            assert tag in tags, name
            assert "/".join([*parts[:-2], f"{module}.py"]) in names, name


def test_archive_carries_one_cpython_per_arch_with_its_libraries_and_licences(
    names: list[str],
) -> None:
    for _, arch in TARGETS:
        machine, _ = MACHINES[arch]
        loader = "ld-linux-x86-64.so.2" if arch == "amd64" else "ld-linux-aarch64.so.1"
        prefix = f"python/{arch}"
        for needed in (
            f"{prefix}/bin/python3.13",
            f"{prefix}/lib/{loader}",
            f"{prefix}/lib/libc.so.6",
            f"{prefix}/lib/libgcc_s.so.1",  # pydantic-core's
            f"{prefix}/lib/python3.13/os.pyc",
            f"{prefix}/lib/python3.13/lib-dynload/_decimal.cpython-313-{machine}-linux-gnu.so",
            f"{prefix}/share/doc/libpython3.13-minimal/copyright",
            f"{prefix}/share/doc/libc6/copyright",
        ):
            assert needed in names, needed
        assert not [n for n in names if n.startswith(f"{prefix}/lib/python3.13/test/")]


def test_the_build_user_loads_only_shipped_bytecode(unpacked: Path) -> None:
    """Read-only and run as the build user, the bundled interpreter cannot write
    __pycache__: every module must come from the bytecode in the archive."""
    tag = "cpython-313"
    modules = sorted(p.stem for p in (unpacked / "src" / "writable_paths").glob("*.py"))
    code = (
        f"import sys; sys.path[:0] = [{str(unpacked / 'src')!r}, {str(unpacked / 'vendor')!r}]\n"
        + "".join(f"import writable_paths.{m}\n" for m in modules if m != "__main__")
        + "import pydantic.main, typing_extensions\n"
    )
    user = ["setpriv", f"--reuid={UID}", f"--regid={GID}", "--clear-groups"] if AS_ROOT else []
    result = subprocess.run(
        [*user, *bundled_python(unpacked), "-I", "-S", "-B", "-v", "-c", code],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    loaded = set(re.findall(r"# code object from '([^']+)'", result.stderr))
    package = unpacked / "src" / "writable_paths" / "__pycache__"
    for module in modules:
        if module != "__main__":
            assert str(package / f"{module}.{tag}.pyc") in loaded, module
    vendor = unpacked / "vendor"
    assert str(vendor / "pydantic" / "__pycache__" / f"main.{tag}.pyc") in loaded
    assert str(vendor / "__pycache__" / f"typing_extensions.{tag}.pyc") in loaded
    assert not any(path.endswith(".py") for path in loaded if path.startswith(str(unpacked)))


def test_every_python_file_in_the_archive_parses_as_python_3_9(archive: Path) -> None:
    """The oldest CPython the launcher accepts must at least parse everything (this
    machine has no 3.9 to run the package with)."""
    with tarfile.open(archive) as tar:
        for member in tar.getmembers():
            if not member.name.endswith(".py"):
                continue
            source = tar.extractfile(member)
            assert source is not None
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # invalid escapes in vendored code
                ast.parse(source.read(), member.name, feature_version=(3, 9))


def test_archive_modes_owners_times_and_order_are_fixed(members: list[tarfile.TarInfo]) -> None:
    seen: set[str] = set()
    for member in members:
        assert not member.name.startswith(("/", "./")), member.name
        assert ".." not in member.name.split("/"), member.name
        assert (member.uid, member.gid, member.uname, member.gname) == (0, 0, "", ""), member.name
        assert member.mtime == members[0].mtime, member.name
        parent = member.name.rpartition("/")[0]
        assert not parent or parent in seen, f"{member.name} before its directory"
        seen.add(member.name)
        if member.isdir():
            assert member.mode == 0o755, member.name
        else:
            assert member.isfile(), f"{member.name}: not a regular file"
            parts = member.name.split("/")
            executable = parts[0] == "bin" or (
                parts[0] == "python" and len(parts) == 4 and parts[2] in ("bin", "lib")
            )
            assert member.mode == (0o755 if executable else 0o644), member.name
        assert member.mode & 0o444 == 0o444, f"{member.name}: not readable by all"
    names = [m.name for m in members]
    assert names == sorted(names, key=lambda n: n.split("/"))
    assert {"bin/detect", "bin/build", "bin/launcher.sh"} <= set(names)


def _snapshot(source: Path, target: Path) -> Path:
    """The inputs of a package build, copied (others may edit the checkout meanwhile)."""
    target.mkdir()
    shutil.copy2(source / "buildpack.toml", target / "buildpack.toml")
    for part in ("bin", "src", "requirements"):
        shutil.copytree(
            source / part, target / part, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info")
        )
    return target


def test_archive_is_reproducible(workdir: Path) -> None:
    """Same inputs, same bytes, whatever the inputs' modes and times on disk."""
    first = _snapshot(REPO, workdir / "source-1")
    second = _snapshot(first, workdir / "source-2")
    for path in sorted(second.rglob("*"), reverse=True):
        os.chmod(path, 0o700 if path.is_dir() or path.parent.name == "bin" else 0o600)
        os.utime(path, (1_234_567_890, 1_234_567_890))
    one = build_package(workdir / "reproduce-1", "--source", str(first))
    two = build_package(workdir / "reproduce-2", "--source", str(second))
    data = one.read_bytes()
    if two.read_bytes() != data:
        with tarfile.open(one) as a, tarfile.open(two) as b:
            left = {m.name: (m.mode, m.size, m.mtime) for m in a.getmembers()}
            right = {m.name: (m.mode, m.size, m.mtime) for m in b.getmembers()}
        assert left == right
        pytest.fail("the archives differ in content")
    assert data[:3] == b"\x1f\x8b\x08"  # gzip, deflate
    assert data[3] & 0x08 == 0  # no file name
    assert data[4:8] == b"\0\0\0\0"  # mtime 0


# -- the unpacked archive, run as the lifecycle runs it ---------------------------


def test_packaged_detect_and_build_run_without_python_on_path(cnb: Platform) -> None:
    cnb.write(".writable-paths", "log/\n")
    cnb.write("log/production.log", "", 0o644)
    cnb.write("config/routes.rb", "", 0o666)

    detect = cnb.run("detect")
    assert detect.returncode == 0, detect.stdout + detect.stderr
    assert "1 pattern(s)" in detect.stdout

    build = cnb.run("build")
    assert build.returncode == 0, build.stdout + build.stderr
    assert build.stdout.startswith(f"Writable Paths Buildpack {VERSION}\n")
    assert "Traceback" not in build.stdout + build.stderr
    assert mode(cnb.app / "log") == 0o2775
    assert mode(cnb.app / "log/production.log") == 0o664
    assert mode(cnb.app / "config/routes.rb") == 0o644
    assert mode(cnb.app) == 0o755
    assert os.stat(cnb.app / "log").st_gid == GID
    launch = tomllib.loads((cnb.bp_layers / "launch.toml").read_text())
    assert launch["labels"] == [{"key": "writable-paths", "value": f'["{cnb.app}/log"]'}]


def test_packaged_detect_reports_an_invalid_pattern_without_python_on_path(cnb: Platform) -> None:
    cnb.write(".writable-paths", "log/\n../etc/\n")
    result = cnb.run("detect")
    assert result.returncode == 1
    assert ".writable-paths:2" in result.stderr
    assert "Traceback" not in result.stdout + result.stderr


def test_packaged_build_reads_platform_env_files_without_python_on_path(cnb: Platform) -> None:
    cnb.env("BP_WRITABLE_PATHS", "uploads/")
    cnb.env("BP_WRITABLE_PATHS_STRICT", "false")
    cnb.write("config/app.rb", "", 0o666)
    result = cnb.run("build")
    assert result.returncode == 0, result.stdout + result.stderr
    assert mode(cnb.app / "uploads") == 0o2775
    assert mode(cnb.app / "config/app.rb") == 0o666


def test_packaged_build_accepts_positional_arguments_only(cnb: Platform) -> None:
    cnb.write(".writable-paths", "log/\n")
    result = cnb.run("build", positional_only=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert mode(cnb.app / "log") == 0o2775
    assert (cnb.bp_layers / "launch.toml").exists()


def test_packaged_build_without_patterns_does_nothing(cnb: Platform) -> None:
    cnb.write("config/app.rb", "", 0o666)
    result = cnb.run("build", path="")
    assert result.returncode == 0, result.stderr
    assert "No writable paths configured" in result.stdout
    assert mode(cnb.app / "config/app.rb") == 0o666
    assert mode(cnb.app) == 0o777


def test_packaged_build_with_an_empty_path_runs_the_bundled_python(cnb: Platform) -> None:
    cnb.write(".writable-paths", "log/\n")
    cnb.env("BP_WRITABLE_PATHS_STRICT", "false")  # pydantic validates it
    result = cnb.run("build", path="")
    assert result.returncode == 0, result.stdout + result.stderr
    assert mode(cnb.app / "log") == 0o2775


# -- nothing from the image but a shell; the arm64 interpreter under emulation ------

TOOLS = CACHE / "tools"
BUSYBOX = TOOLS / "busybox-static" / "bin" / "busybox"
QEMU = TOOLS / "qemu-user-static" / "usr" / "bin" / "qemu-aarch64-static"


def _tool(path: Path) -> Path:
    if not path.is_file():
        pytest.skip(f"no {path}: run 'python package/runtime.py --test-tools' (make install does)")
    return path


CHROOT = shutil.which("chroot", path="/usr/sbin:/usr/bin:/sbin:/bin") or "chroot"


@pytest.mark.skipif(not AS_ROOT, reason="chroot needs root")
def test_packaged_build_runs_in_a_root_with_only_a_static_busybox(
    archive: Path, workdir: Path
) -> None:
    """A build image of nothing but a static busybox (no libc, no Python, no ld.so.cache):
    the archive's own loader, libraries and stdlib are all the build needs."""
    root = workdir / "busybox-root"
    (root / "bin").mkdir(parents=True)
    shutil.copy2(_tool(BUSYBOX), root / "bin" / "busybox")
    for applet in ("sh", "uname"):
        (root / "bin" / applet).symlink_to("busybox")
    # What a container runtime gives every image: /dev/null (no /proc here, so the
    # launcher asks busybox's uname for the arch).
    (root / "dev").mkdir()
    os.mknod(root / "dev" / "null", 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    os.chmod(root / "dev" / "null", 0o666)
    bp = root / "cnb" / "buildpacks" / BP_LAYER / VERSION
    bp.mkdir(parents=True)
    with tarfile.open(archive) as tar:
        tar.extractall(bp, filter="data")
    app, layer, env = root / "workspace", root / "layers" / BP_LAYER, root / "platform" / "env"
    for directory in (app, layer, env):
        directory.mkdir(parents=True)
        os.chown(directory, UID, GID)
    os.chmod(root / "layers", 0o755)
    (app / ".writable-paths").write_text("log/\n")
    (app / "config.rb").write_text("")
    os.chmod(app / "config.rb", 0o666)
    for path in (app / ".writable-paths", app / "config.rb"):
        os.chown(path, UID, GID)
    (env / "BP_WRITABLE_PATHS_STRICT").write_text("true")  # validated by pydantic
    bp_dir = f"/cnb/buildpacks/{BP_LAYER}/{VERSION}"
    results = [
        subprocess.run(
            [CHROOT, f"--userspec={UID}:{GID}", str(root), "/bin/sh", "-c",
             f"cd /workspace && {bp_dir}/bin/{phase} {args}"],
            env={"PATH": "/bin", "CNB_BUILDPACK_DIR": bp_dir},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        for phase, args in (
            ("detect", "/platform /plan"),
            ("build", f"/layers/{BP_LAYER} /platform /plan"),
        )
    ]  # fmt: skip
    for result in results:
        assert result.returncode == 0, result.stdout + result.stderr
    assert "strict=true" in results[1].stdout
    assert mode(app / "log") == 0o2775
    assert mode(app / "config.rb") == 0o644


def test_arm64_interpreter_imports_pydantic_core_and_validates_a_setting(
    unpacked: Path, workdir: Path
) -> None:
    """The arm64 CPython of the archive, under qemu-user, runs detect and a build that
    validates a setting with pydantic-core's aarch64 extension (the launcher's shell part
    is the same on both arches; this runs what it would exec)."""
    qemu = _tool(QEMU)
    lib = unpacked / "python" / "arm64" / "lib"
    python = [
        str(qemu), str(lib / "ld-linux-aarch64.so.1"), "--inhibit-cache", "--library-path",
        str(lib), str(unpacked / "python" / "arm64" / "bin" / "python3.13"), "-I", "-S", "-B",
    ]  # fmt: skip
    probe = subprocess.run(
        [*python, "-c", "import platform, sys; sys.path.insert(0, sys.argv[1]); "
         "import pydantic_core; print(platform.machine(), pydantic_core._pydantic_core.__file__)",
         str(unpacked / "vendor")],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.startswith("aarch64 "), probe.stdout
    assert "aarch64-linux-gnu.so" in probe.stdout
    with platform(unpacked, "/usr/bin:/bin") as cnb:
        cnb.write(".writable-paths", "log/\n")
        cnb.write("config.rb", "", 0o666)
        for value, status in (("maybe", 1), ("false", 0)):
            cnb.env("BP_WRITABLE_PATHS_STRICT", value)
            result = subprocess.run(
                [*python, str(unpacked / "bin" / "entry.py"), str(unpacked), "build",
                 str(cnb.bp_layers), str(cnb.platform), str(cnb.plan)],
                cwd=cnb.app, capture_output=True, text=True, timeout=300, check=False,
            )  # fmt: skip
            assert result.returncode == status, result.stdout + result.stderr
            assert "Traceback" not in result.stderr
        assert "strict=false" in result.stdout
        assert mode(cnb.app / "log") == 0o2775
        assert mode(cnb.app / "config.rb") == 0o666
