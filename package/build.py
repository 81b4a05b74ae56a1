"""Build the self-contained buildpack archive: ``make package``.

    python package/build.py [--target linux/amd64] [--out DIR] [--cache DIR] [--source DIR]

writes ``<out>/writable-paths-<version>.tgz`` (or ``...-<version>-linux-amd64.tgz`` for
one target): a buildpack directory at the archive root, the layout ``bin/launcher.sh``
expects::

    buildpack.toml  bin/detect  bin/build  bin/launcher.sh
    src/writable_paths/*.py
    vendor/<the pins of requirements/runtime.txt, unpacked from their wheels>

    python/<arch>/  the bundled CPython of each target (package/runtime.py)

Compiled dependencies (pydantic-core) are vendored for that CPython on every
``[[targets]]`` arch of buildpack.toml, side by side: their extension file names carry
the arch, so each interpreter picks its own.

Wheels come from ``pip download`` (the machine's pip configuration applies) and are
kept under ``<cache>``; a rerun with a complete cache needs no network and starts no
pip. The archive is reproducible: sorted entries, fixed modes (0644, 0755 for
directories and ``bin/*``), owner 0:0 without names, one fixed mtime, gzip with mtime
0 and no file name. Same inputs, same bytes.

Runs on Python 3.11 or newer (tomllib); ``make package`` uses the venv's.
"""

from __future__ import annotations

import argparse
import fcntl
import gzip
import hashlib
import io
import json
import os
import re
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import runtime
import tomllib
from bytecode import compile_sources

REPO = Path(__file__).resolve().parent.parent
REQUIREMENTS = Path("requirements") / "runtime.txt"  # in the source tree

#: The CPython the archive carries (package/runtime.py), and so the one ABI vendored.
PYTHON_VERSION = runtime.VERSION
#: buildpack.toml arch -> the machine name in wheel tags and extension suffixes.
ARCHES = {"amd64": "x86_64", "arm64": "aarch64"}
#: glibc 2.17, older than every common build image (Jammy 2.35, Noble 2.39).
MANYLINUX = "manylinux2014"
#: pack's normalized time (1980-01-01T00:00:01Z), for every entry.
MTIME = 315532801
#: Exit status when a wheel cannot be downloaded (EX_TEMPFAIL): tests skip on it
#: when PyPI is unreachable.
EXIT_DOWNLOAD = 75

#: dist-info files that describe the wheel or the installation, not the code; RECORD
#: and WHEEL also differ between the per-ABI wheels of one distribution.
DIST_INFO_DROPPED = frozenset(
    {"RECORD", "RECORD.jws", "RECORD.p7s", "WHEEL", "INSTALLER", "REQUESTED", "direct_url.json"}
)
#: Directory names never vendored.
DROPPED_DIRS = frozenset({"__pycache__", "tests", "test"})


class PackageError(Exception):
    """A failure with a message for the person running ``make package``."""

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Pin:
    name: str
    version: str

    @property
    def spec(self) -> str:
        return f"{self.name}=={self.version}"

    @property
    def wheel_prefix(self) -> str:
        """How a wheel file name of this pin starts (PEP 427 name normalization)."""
        return f"{re.sub(r'[-_.]+', '_', self.name).lower()}-{self.version}-"


@dataclass(frozen=True)
class Target:
    os: str
    arch: str

    def __str__(self) -> str:
        return f"{self.os}/{self.arch}"

    @property
    def machine(self) -> str:
        return ARCHES[self.arch]

    @property
    def platform_tag(self) -> str:
        return f"{MANYLINUX}_{self.machine}"


@dataclass(frozen=True)
class Entry:
    data: bytes
    mode: int


# -- inputs -------------------------------------------------------------------


def read_pins(path: Path) -> list[Pin]:
    """The exact pins of a requirements file; anything else is an error."""
    pins: list[Pin] = []
    for number, raw in enumerate(path.read_text().splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        match = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)\s*==\s*([A-Za-z0-9.+!_-]+)", line)
        if match is None:
            raise PackageError(
                f"{path}:{number}: '{line}' is not an exact pin (name==version); the package "
                "vendors exactly the versions pinned there"
            )
        pins.append(Pin(match.group(1), match.group(2)))
    if not pins:
        raise PackageError(f"{path} pins nothing")
    return pins


def read_buildpack(path: Path) -> dict[str, Any]:
    with path.open("rb") as f:
        return tomllib.load(f)


def declared_targets(buildpack: Mapping[str, Any]) -> list[Target]:
    targets = [Target(t.get("os", "linux"), t["arch"]) for t in buildpack.get("targets", [])]
    if not targets:
        raise PackageError("buildpack.toml declares no [[targets]]")
    for target in targets:
        if target.os != "linux" or target.arch not in ARCHES:
            raise PackageError(
                f"buildpack.toml target {target}: only linux/{' and linux/'.join(ARCHES)} "
                "can be packaged"
            )
    return targets


def select_targets(declared: Sequence[Target], wanted: Sequence[str]) -> list[Target]:
    if not wanted:
        return list(declared)
    chosen: list[Target] = []
    for text in wanted:
        match = [t for t in declared if str(t) == text.strip()]
        if not match:
            names = ", ".join(str(t) for t in declared)
            raise PackageError(f"target '{text}' is not declared in buildpack.toml ({names})")
        if match[0] not in chosen:
            chosen.append(match[0])
    return [t for t in declared if t in chosen]


_HEADER = re.compile(r"\s*\[")
_KEY_LINE = re.compile(r"\s*[^\s#\[]")


def restrict_targets(text: str, keep: Sequence[Target]) -> str:
    """buildpack.toml with only the ``[[targets]]`` tables of ``keep``, all else as is."""
    lines = text.splitlines(keepends=True)
    headers = [i for i, line in enumerate(lines) if _HEADER.match(line)]
    drop: set[int] = set()
    for n, start in enumerate(headers):
        if lines[start].strip() != "[[targets]]":
            continue
        # The table runs to its last key line before the next header that is not
        # one of its own sub-tables ([[targets.distros]]).
        following = [
            h for h in headers[n + 1 :] if not lines[h].strip().strip("[]").startswith("targets.")
        ]
        stop = following[0] if following else len(lines)
        end = max(i for i in range(start, stop) if i == start or _KEY_LINE.match(lines[i]))
        table = tomllib.loads("".join(lines[start : end + 1]))["targets"][0]
        if Target(table.get("os", "linux"), table["arch"]) not in keep:
            drop.update(range(start, end + 1))
            if end + 1 < len(lines) and not lines[end + 1].strip():
                drop.add(end + 1)
    result = "".join(line for i, line in enumerate(lines) if i not in drop)
    before, after = tomllib.loads(text), tomllib.loads(result)
    kept = [t for t in before["targets"] if Target(t.get("os", "linux"), t["arch"]) in keep]
    if after != {**before, "targets": kept}:
        raise PackageError("could not restrict buildpack.toml's [[targets]] (unexpected layout)")
    return result


# -- wheels -------------------------------------------------------------------


@dataclass(frozen=True)
class WheelKey:
    """One wheel a package needs: a pin for one CPython on one arch."""

    pin: Pin
    python: str
    target: Target

    @property
    def abi(self) -> str:
        return "cp" + self.python.replace(".", "")

    def __str__(self) -> str:
        return f"{self.pin.spec} {self.abi} {self.target.machine}"


def _wheel_tags(filename: str) -> tuple[set[str], set[str], set[str]]:
    parts = filename[: -len(".whl")].split("-")
    python, abi, platform = parts[-3:]
    return set(python.split(".")), set(abi.split(".")), set(platform.split("."))


def _fits(filename: str, key: WheelKey) -> bool:
    """Whether a wheel that pip chose for ``key`` is the one for ``key``: a pure wheel,
    or one built for exactly its CPython ABI (abi3 wheels are not supported: their
    extension names carry no version) and its arch."""
    _, abis, platforms = _wheel_tags(filename)
    if "any" in platforms:
        return abis == {"none"}
    return key.abi in abis and any(
        p.startswith("manylinux") and p.endswith("_" + key.target.machine) for p in platforms
    )


class WheelCache:
    """Downloaded wheels under ``root``, and which wheel answers which ``WheelKey``.

    ``manifest.json`` maps each key to the wheel pip chose for it (and its sha256), so
    a rerun finds every wheel without asking pip. Downloads land in a temporary
    directory first; a lock keeps concurrent builds from writing the manifest at once.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.wheels = root / "wheels"
        self.manifest_path = root / "manifest.json"
        self._hashes: dict[Path, str] = {}

    def resolve(self, keys: Sequence[WheelKey]) -> dict[WheelKey, Path]:
        self.wheels.mkdir(parents=True, exist_ok=True)
        with (self.root / ".lock").open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            manifest = self._load()
            found: dict[WheelKey, Path] = {}
            missing: dict[tuple[str, Target], list[WheelKey]] = {}
            for key in keys:
                record = manifest.get(str(key))
                if record is not None:
                    path = self.wheels / record["file"]
                    if path.is_file() and self._sha256(path) == record["sha256"]:
                        found[key] = path
                        continue
                missing.setdefault((key.python, key.target), []).append(key)
            for (python, target), group in missing.items():
                for key, path in self._download(python, target, group).items():
                    found[key] = path
                    manifest[str(key)] = {"file": path.name, "sha256": self._sha256(path)}
                self._save(manifest)
            return found

    def _sha256(self, path: Path) -> str:
        if path not in self._hashes:
            self._hashes[path] = hashlib.sha256(path.read_bytes()).hexdigest()
        return self._hashes[path]

    def _load(self) -> dict[str, dict[str, str]]:
        try:
            loaded = json.loads(self.manifest_path.read_text())
        except (OSError, ValueError):
            return {}
        return loaded if isinstance(loaded, dict) else {}

    def _save(self, manifest: Mapping[str, Mapping[str, str]]) -> None:
        tmp = self.manifest_path.with_name(f".manifest.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
        os.replace(tmp, self.manifest_path)

    def _download(
        self, python: str, target: Target, keys: Sequence[WheelKey]
    ) -> dict[WheelKey, Path]:
        abi = keys[0].abi
        print(f"  downloading for {abi} {target.machine}: {' '.join(k.pin.spec for k in keys)}")
        with tempfile.TemporaryDirectory(dir=self.root, prefix=".download-") as tmp:
            command = [
                sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                "--only-binary=:all:", "--platform", target.platform_tag,
                "--python-version", python, "--implementation", "cp", "--abi", abi,
                "--dest", tmp, *(k.pin.spec for k in keys),
            ]  # fmt: skip
            result = subprocess.run(command, capture_output=True, text=True, check=False)
            if result.returncode != 0:
                raise PackageError(
                    f"pip download failed for CPython {python} on {target} "
                    f"({target.platform_tag}):\n{(result.stderr or result.stdout).strip()}",
                    EXIT_DOWNLOAD,
                )
            files = sorted(Path(tmp).glob("*.whl"))
            chosen: dict[WheelKey, Path] = {}
            for key in keys:
                fits = [
                    f
                    for f in files
                    if f.name.lower().startswith(key.pin.wheel_prefix) and _fits(f.name, key)
                ]
                if len(fits) != 1:
                    names = ", ".join(f.name for f in files) or "nothing"
                    raise PackageError(f"no single wheel for {key}: pip downloaded {names}")
                chosen[key] = self.wheels / fits[0].name
                os.replace(fits[0], chosen[key])
            return chosen


# -- the tree -------------------------------------------------------------------


def _vendored_name(name: str, wheel: str) -> str | None:
    """Where a wheel member goes below vendor/, or None to leave it out."""
    parts = name.split("/")
    if name.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise PackageError(f"{wheel}: unsafe member name '{name}'")
    if parts[0].endswith(".data"):
        if len(parts) < 3 or parts[1] not in ("purelib", "platlib"):
            raise PackageError(f"{wheel}: installs '{name}' outside site-packages; not supported")
        parts = parts[2:]
    if DROPPED_DIRS.intersection(parts[:-1]) or parts[-1].endswith((".pyc", ".pyo")):
        return None
    if parts[0].endswith(".dist-info") and len(parts) == 2 and parts[1] in DIST_INFO_DROPPED:
        return None
    return "/".join(parts)


def extension_suffix(key: WheelKey) -> str:
    """The file name suffix CPython ``key.python`` on ``key.target`` imports."""
    return f".cpython-{key.abi[2:]}-{key.target.machine}-linux-gnu.so"


def vendor_tree(wheels: Mapping[WheelKey, Path]) -> tuple[dict[str, Entry], list[str]]:
    """vendor/ from the wheels, and the extension modules in it.

    A path that several wheels hold (a compiled distribution's Python files and
    metadata) must have the same bytes in each.
    """
    files: dict[str, Entry] = {}
    origin: dict[str, str] = {}
    extensions: list[str] = []
    keys_of: dict[Path, list[WheelKey]] = {}
    for key, path in wheels.items():
        keys_of.setdefault(path, []).append(key)
    for path in sorted(keys_of):
        compiled = "any" not in _wheel_tags(path.name)[2]
        with zipfile.ZipFile(path) as whl:
            for info in sorted(whl.infolist(), key=lambda i: i.filename):
                if info.is_dir():
                    continue
                name = _vendored_name(info.filename, path.name)
                if name is None:
                    continue
                dest = f"vendor/{name}"
                data = whl.read(info)
                if dest in files and files[dest].data != data:
                    raise PackageError(f"{dest} differs between {origin[dest]} and {path.name}")
                if name.endswith(".so"):
                    suffixes = {extension_suffix(k) for k in keys_of[path]}
                    if not compiled or not any(name.endswith(s) for s in suffixes):
                        raise PackageError(
                            f"{path.name}: extension {name} is not for {' or '.join(suffixes)}"
                        )
                    extensions.append(dest)
                files[dest] = Entry(data, 0o644)
                origin.setdefault(dest, path.name)
    return files, sorted(extensions)


def checkout_tree(source: Path, buildpack_toml: str) -> dict[str, Entry]:
    """buildpack.toml, bin/ and the package from the source tree."""
    tree = {"buildpack.toml": Entry(buildpack_toml.encode(), 0o644)}
    for path in sorted((source / "bin").iterdir()):
        if path.is_file() and not path.name.startswith("."):
            tree[f"bin/{path.name}"] = Entry(path.read_bytes(), 0o755)
    package = source / "src" / "writable_paths"
    for path in sorted(package.rglob("*")):
        rel = path.relative_to(source)
        if "__pycache__" in rel.parts or not path.is_file():
            continue
        if path.suffix == ".py" or path.name == "py.typed":
            tree[rel.as_posix()] = Entry(path.read_bytes(), 0o644)
    for required in (
        "bin/detect",
        "bin/build",
        "bin/launcher.sh",
        "src/writable_paths/__main__.py",
    ):
        if required not in tree:
            raise PackageError(f"{source} has no {required}")
    return tree


def _directories(names: Iterable[str]) -> set[str]:
    dirs: set[str] = set()
    for name in names:
        parts = name.split("/")
        dirs.update("/".join(parts[:i]) for i in range(1, len(parts)))
    return dirs


def write_archive(tree: Mapping[str, Entry], out: Path) -> None:
    """A reproducible .tgz of ``tree``: sorted, fixed modes, owners and times."""
    dirs = _directories(tree)
    names = sorted(dirs | set(tree), key=lambda n: n.split("/"))
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        with (
            tmp.open("wb") as raw,
            gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=6, mtime=0) as gz,
            tarfile.open(fileobj=gz, mode="w", format=tarfile.USTAR_FORMAT) as tar,
        ):
            for name in names:
                info = tarfile.TarInfo(name)
                info.mtime = MTIME
                info.uid = info.gid = 0
                info.uname = info.gname = ""
                entry = tree.get(name)
                if entry is None:
                    info.type = tarfile.DIRTYPE
                    info.mode = 0o755
                    tar.addfile(info)
                else:
                    info.mode = entry.mode
                    info.size = len(entry.data)
                    tar.addfile(info, io.BytesIO(entry.data))
        os.chmod(tmp, 0o644)
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)


# -- main -----------------------------------------------------------------------


def build(wanted: Sequence[str], out_dir: Path, cache_dir: Path, source: Path = REPO) -> Path:
    buildpack_path = source / "buildpack.toml"
    buildpack = read_buildpack(buildpack_path)
    declared = declared_targets(buildpack)
    targets = select_targets(declared, wanted)
    version = buildpack["buildpack"]["version"]
    name = buildpack["buildpack"]["id"].rsplit("/", 1)[-1]
    suffix = "" if targets == declared else "-" + "-".join(f"{t.os}-{t.arch}" for t in targets)
    out = out_dir / f"{name}-{version}{suffix}.tgz"

    text = buildpack_path.read_text()
    if targets != declared:
        text = restrict_targets(text, targets)
    pins = read_pins(source / REQUIREMENTS)
    keys = [WheelKey(p, PYTHON_VERSION, t) for t in targets for p in pins]
    print(f"Packaging {name} {version} for {', '.join(map(str, targets))}")
    wheels = WheelCache(cache_dir).resolve(keys)
    vendor, extensions = vendor_tree(wheels)
    for key, path in wheels.items():
        compiled = "any" not in _wheel_tags(path.name)[2]
        if compiled and not any(e.endswith(extension_suffix(key)) for e in extensions):
            raise PackageError(f"{path.name}: no extension module for {key}")
    tree = checkout_tree(source, text)
    tree.update(vendor)
    try:
        compiler = runtime.host_python(cache_dir)
        for target in targets:
            elves = {e: vendor[e].data for e in extensions if target.machine in e}
            for member, (data, mode) in runtime.assemble(
                target.arch, cache_dir, compiler, elves
            ).items():
                tree[member] = Entry(data, mode)
        # bin/entry.py runs as __main__, which is never read from bytecode.
        sources = {
            n: e.data for n, e in tree.items() if n.endswith(".py") and not n.startswith("bin/")
        }
        bytecode = compile_sources(sources, {PYTHON_VERSION: compiler})
    except (runtime.RuntimeError_, RuntimeError, OSError, subprocess.SubprocessError) as error:
        raise PackageError(f"cannot assemble the bundled CPython: {error}") from None
    tree.update((name, Entry(data, 0o644)) for name, data in bytecode.items())

    out_dir.mkdir(parents=True, exist_ok=True)
    write_archive(tree, out)
    shown = os.path.relpath(out) if out.is_relative_to(Path.cwd()) else str(out)
    size = out.stat().st_size
    print(f"  {len(tree)} files, {len(extensions)} extension modules")
    print(f"  CPython {PYTHON_VERSION} (Debian {runtime.SUITE}); {', '.join(p.spec for p in pins)}")
    print(f"Wrote {shown} ({size / 1e6:.1f} MB, {size} bytes)")
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument(
        "--target",
        action="append",
        default=[],
        metavar="OS/ARCH",
        help="a [[targets]] entry of buildpack.toml, e.g. linux/amd64 (repeatable, or "
        "comma-separated); default: every declared target",
    )
    parser.add_argument(
        "--source",
        type=Path,
        default=REPO,
        help="the tree with buildpack.toml, bin/, src/, requirements/; default: this checkout",
    )
    parser.add_argument("--out", type=Path, default=REPO / "build", help="default: build/")
    parser.add_argument(
        "--cache", type=Path, default=REPO / "build" / "cache", help="default: build/cache/"
    )
    args = parser.parse_args(argv)
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    wanted = [t for value in args.target for t in value.split(",") if t.strip()]
    try:
        build(wanted, args.out.resolve(), args.cache.resolve(), args.source.resolve())
    except PackageError as error:
        print(f"package: {error}", file=sys.stderr)
        return error.status
    return 0


if __name__ == "__main__":
    sys.exit(main())
