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
from lifecycle import AS_ROOT, BP_LAYER, GID, UID, Platform, platform
from support import needs_root

REPO = Path(__file__).resolve().parent.parent
BUILD_SCRIPT = REPO / "package" / "build.py"
CACHE = REPO / "build" / "cache"
EXIT_DOWNLOAD = 75  # package/build.py: a wheel could not be downloaded

BUILDPACK = tomllib.loads((REPO / "buildpack.toml").read_text())
VERSION: str = BUILDPACK["buildpack"]["version"]
TARGETS = [(t["os"], t["arch"]) for t in BUILDPACK["targets"]]
PYTHONS = ("3.9", "3.10", "3.11", "3.12", "3.13", "3.14")
#: buildpack.toml arch -> (machine in extension names, ELF e_machine)
MACHINES = {"amd64": ("x86_64", 62), "arm64": ("aarch64", 183)}

DEBIAN_PYTHON = Path("/usr/bin/python3")


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


@pytest.fixture
def cnb(unpacked: Path) -> Iterator[Platform]:
    # Debian's python3 and nothing else: none of our dependencies are installed.
    with platform(unpacked, "/usr/bin:/bin") as sandbox:
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
        for launcher in ("detect", "build", "launcher.sh"):
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
        assert parts[0] in ("buildpack.toml", "bin", "src", "vendor"), name
        assert "tests" not in parts, name
        assert not name.endswith((".pyo", ".dist-info/RECORD", ".dist-info/WHEEL")), name
        if "__pycache__" in parts and parts[-1] != "__pycache__":
            # Only our own bytecode: <module>.<tag>.pyc beside its source.
            module, tag, suffix = parts[-1].rsplit(".", 2)
            assert parts[-2] == "__pycache__", name
            assert suffix == "pyc", name
            assert tag in tags, name
            assert "/".join([*parts[:-2], f"{module}.py"]) in names, name


def _fetched_python(version: str) -> Path:
    """``package/pythons.py``'s CPython ``version`` (``make install`` fetches them)."""
    python = CACHE / "pythons" / "bin" / f"python{version}"
    if not python.exists():
        pytest.skip(f"no {python}: run package/pythons.py (make install does)")
    if AS_ROOT:
        # The fetched interpreters live in the checkout and are patched to load their
        # libc from there: a checkout under a directory only root may enter (mktemp -d
        # makes 0700 ones) hides them from the build user.
        user = ["setpriv", f"--reuid={UID}", f"--regid={GID}", "--clear-groups"]
        reach = subprocess.run(
            [*user, str(python), "-I", "-S", "-c", "pass"],
            capture_output=True,
            check=False,
        )
        if reach.returncode != 0:
            pytest.skip(f"uid {UID} cannot run {python}: clone where other users can enter")
    return python


@pytest.mark.parametrize("version", PYTHONS)
def test_the_build_users_python_loads_the_shipped_bytecode(unpacked: Path, version: str) -> None:
    """Read-only and run as the build user, the interpreter cannot write
    __pycache__: every module must come from the bytecode in the archive."""
    python = _fetched_python(version)
    tag = f"cpython-{version.replace('.', '')}"
    modules = sorted(p.stem for p in (unpacked / "src" / "writable_paths").glob("*.py"))
    code = (
        f"import sys; sys.path[:0] = [{str(unpacked / 'src')!r}, {str(unpacked / 'vendor')!r}]\n"
        + "".join(f"import writable_paths.{m}\n" for m in modules if m != "__main__")
        + "import pydantic.main, typing_extensions\n"
    )
    user = ["setpriv", f"--reuid={UID}", f"--regid={GID}", "--clear-groups"] if AS_ROOT else []
    result = subprocess.run(
        [*user, str(python), "-I", "-S", "-v", "-c", code],
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


@needs_root
@pytest.mark.parametrize("version", PYTHONS)
def test_packaged_build_runs_on_every_supported_cpython(
    unpacked: Path, workdir: Path, version: str
) -> None:
    """Found on PATH by its versioned name, each CPython runs detect and a build
    that validates a setting (pydantic and this version's pydantic-core)."""
    python = _fetched_python(version)
    only = workdir / f"path-{version}"
    only.mkdir(exist_ok=True)
    if not (only / python.name).exists():
        (only / python.name).symlink_to(python)
    with platform(unpacked, f"{only}:/usr/bin:/bin") as cnb:
        cnb.write(".writable-paths", "log/\n")
        cnb.write("config/routes.rb", "", 0o666)
        (cnb.platform / "env" / "BP_WRITABLE_PATHS_STRICT").write_text("false")
        detect = cnb.run("detect")
        assert detect.returncode == 0, detect.stdout + detect.stderr
        build = cnb.run("build", extra_env={"BP_LOG_LEVEL": "DEBUG"})
        assert build.returncode == 0, build.stdout + build.stderr
        assert "strict=false" in build.stdout
        assert mode(cnb.app / "log") == 0o2775
        assert mode(cnb.app / "config/routes.rb") == 0o666  # not strict: left as it is
        assert f"Python {version}." in build.stdout  # DEBUG names the interpreter


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
            executable = member.name.startswith("bin/")
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


def _debian_python() -> None:
    if not DEBIAN_PYTHON.exists():
        pytest.skip(f"{DEBIAN_PYTHON} does not exist")
    probe = subprocess.run(
        [str(DEBIAN_PYTHON), "-I", "-S", "-c", "import sys; print(sys.version_info >= (3, 9))"],
        capture_output=True,
        text=True,
        check=False,
    )
    if probe.stdout.strip() != "True":
        pytest.skip(f"{DEBIAN_PYTHON} is not Python 3.9 or newer")


def test_debian_python_has_none_of_our_dependencies() -> None:
    _debian_python()
    for module in ("pydantic", "pydantic_core", "typing_extensions", "annotated_types"):
        probe = subprocess.run(
            [str(DEBIAN_PYTHON), "-I", "-S", "-c", f"import {module}"],
            capture_output=True,
            check=False,
        )
        assert probe.returncode != 0, f"{DEBIAN_PYTHON} can import {module} by itself"


def test_packaged_detect_and_build_run_on_debian_python(cnb: Platform) -> None:
    _debian_python()
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


def test_packaged_detect_reports_an_invalid_pattern_on_debian_python(cnb: Platform) -> None:
    _debian_python()
    cnb.write(".writable-paths", "log/\n../etc/\n")
    result = cnb.run("detect")
    assert result.returncode == 1
    assert ".writable-paths:2" in result.stderr
    assert "Traceback" not in result.stdout + result.stderr


def test_packaged_build_reads_platform_env_files_on_debian_python(cnb: Platform) -> None:
    _debian_python()
    cnb.env("BP_WRITABLE_PATHS", "uploads/")
    cnb.env("BP_WRITABLE_PATHS_STRICT", "false")
    cnb.write("config/app.rb", "", 0o666)
    result = cnb.run("build")
    assert result.returncode == 0, result.stdout + result.stderr
    assert mode(cnb.app / "uploads") == 0o2775
    assert mode(cnb.app / "config/app.rb") == 0o666


def test_packaged_build_accepts_positional_arguments_only(cnb: Platform) -> None:
    _debian_python()
    cnb.write(".writable-paths", "log/\n")
    result = cnb.run("build", positional_only=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert mode(cnb.app / "log") == 0o2775
    assert (cnb.bp_layers / "launch.toml").exists()


def test_packaged_detect_without_python_asks_for_cpython(cnb: Platform, no_python: str) -> None:
    cnb.write(".writable-paths", "log/\n")
    result = cnb.run("detect", path=no_python)
    assert result.returncode == 0, result.stderr
    plan = tomllib.loads(cnb.plan.read_text())
    assert plan["requires"] == [{"name": "cpython", "metadata": {"build": True}}]
    assert plan["or"] == [{}]


def test_packaged_build_without_python_or_patterns_does_nothing(
    cnb: Platform, no_python: str
) -> None:
    cnb.write("config/app.rb", "", 0o666)
    result = cnb.run("build", path=no_python)
    assert result.returncode == 0, result.stderr
    assert "No writable paths configured" in result.stdout
    assert mode(cnb.app / "config/app.rb") == 0o666
    assert mode(cnb.app) == 0o777


def test_packaged_build_without_python_but_with_patterns_says_what_to_do(
    cnb: Platform, no_python: str
) -> None:
    cnb.write(".writable-paths", "log/\n")
    result = cnb.run("build", path=no_python)
    assert result.returncode == 1
    assert "paketo-buildpacks/cpython" in result.stderr
    assert not (cnb.app / "log").exists()
