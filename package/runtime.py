"""The CPython the buildpack carries: one relocatable interpreter per arch.

    python3 package/runtime.py [--arch amd64|arm64 ...] [--install DIR]

Debian trixie's CPython 3.13 (``python3.13-minimal``, ``libpython3.13-minimal``,
``libpython3.13-stdlib``) and the libraries it and pydantic-core link (glibc, zlib,
expat, libmpdec, libgcc) are downloaded with ``package/pythons.py``'s private apt
configuration, which checks the archive's signatures against Debian's keyring, and
unpacked under ``build/cache/runtime/<arch>/root``. ``assemble`` then picks from that
root the tree the archive carries under ``python/<arch>/``::

    bin/python3.13            the interpreter, unchanged
    lib/ld-linux-*.so.*       its glibc loader, run explicitly by bin/launcher.sh
    lib/lib*.so.*             every library the interpreter, the kept extension
                              modules and pydantic-core need (closure of DT_NEEDED)
    lib/python3.13/           the standard library as sourceless bytecode, minus
                              the packages the buildpack never imports (DROPPED)
    share/doc/<package>/copyright   the license of every .deb used

The launcher runs ``lib/<loader> --library-path lib bin/python3.13``, so nothing of the
build image is used (its libc, ld.so.cache or Python); the interpreter finds its
stdlib from its own path. ``--install DIR`` writes this tree for each ``--arch`` to
``DIR/python/<arch>`` (``make install`` does it for this machine's arch, so a checkout
is a buildpack directory as well).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

import pythons
import runtimes

REPO = Path(__file__).resolve().parent.parent
DEFAULT_CACHE = REPO / "build" / "cache"
VERSION = "3.13"
SUITE = "trixie"
PACKAGES = (
    f"python{VERSION}-minimal",
    f"libpython{VERSION}-minimal",
    f"libpython{VERSION}-stdlib",
    "libc6",
    "zlib1g",
    "libexpat1",
    "libffi8",  # _ctypes: multiprocessing's shared counters (the worker processes)
    "libgcc-s1",
    "gcc-14-base",  # libgcc-s1's license is in it
)
#: buildpack.toml arch -> (machine name, glibc loader, multiarch triplet)
ARCHES = {
    "amd64": ("x86_64", "ld-linux-x86-64.so.2", "x86_64-linux-gnu"),
    "arm64": ("aarch64", "ld-linux-aarch64.so.1", "aarch64-linux-gnu"),
}
#: Standard-library packages and modules the buildpack and its dependencies never import.
DROPPED = frozenset(
    {
        "test", "idlelib", "tkinter", "turtledemo", "turtle.py", "ensurepip", "lib2to3",
        "pydoc_data", "sqlite3", "venv", "site-packages", "dist-packages", "__phello__",
    }
)  # fmt: skip


#: Extension modules that only CPython's own test suite uses.
TEST_MODULES = ("_test", "_xxtest", "xx", "_ctypes_test")


#: What the tests run the package with, beyond this machine: a static busybox as the
#: only tool of a build image, and qemu-user to run the arm64 interpreter here
#: (fetched by package/runtimes.py, the one fetcher of tools).
TEST_TOOLS = ("busybox", "qemu-aarch64-static")


def test_tool(cache: Path, name: str) -> Path:
    """``<cache>/bin/<name>``, from bookworm's signed .deb (fetched once)."""
    return runtimes.provide(name, cache)


class RuntimeError_(Exception):
    """A failure with a message for the person running ``make``."""


def fetch(arch: str, cache: Path) -> Path:
    """The unpacked .debs of ``arch``: ``<cache>/runtime/<arch>/root`` (downloaded once)."""
    base = cache / "runtime" / arch
    debs, root = base / "debs", base / "root"
    if not (debs / "complete").is_file():
        shutil.rmtree(debs, ignore_errors=True)
        pythons.apt_download(cache, SUITE, list(PACKAGES), debs, arch=arch)
        got = sorted(d.name.split("_")[0] for d in debs.glob("*.deb"))
        if got != sorted(PACKAGES):
            raise RuntimeError_(f"apt downloaded {got} for {arch}, expected {sorted(PACKAGES)}")
        (debs / "complete").write_text("")
    if not (root / "complete").is_file():
        shutil.rmtree(root, ignore_errors=True)
        pythons.extract(debs.glob("*.deb"), root)
        (root / "complete").write_text("")
    return root


def _needed(patchelf: Path, elf: Path) -> list[str]:
    return pythons.run(patchelf, "--print-needed", elf).split()


def _dropped(rel: Path) -> bool:
    return any(part in DROPPED or part.startswith("config-3") for part in rel.parts)


def assemble(
    arch: str, cache: Path, compiler: Path, extra_elves: Mapping[str, bytes] = {}
) -> dict[str, tuple[bytes, int]]:
    """``python/<arch>/...`` -> (contents, mode) for the archive.

    ``compiler`` is a CPython 3.13 that runs here (this machine's bundled one): bytecode
    is the same on every arch. ``extra_elves`` are further extension modules (pydantic-core)
    whose libraries must be carried too.
    """
    _, loader, triplet = ARCHES[arch]
    root = fetch(arch, cache)
    patchelf = pythons.patchelf(cache)
    libdirs = [root / "usr" / "lib" / triplet]  # trixie's .debs are merged-/usr
    stdlib = root / "usr" / "lib" / f"python{VERSION}"
    python = root / "usr" / "bin" / f"python{VERSION}"
    prefix = f"python/{arch}"
    tree: dict[str, tuple[bytes, int]] = {
        f"{prefix}/bin/python{VERSION}": (python.read_bytes(), 0o755)
    }

    dynload = stdlib / "lib-dynload"
    libs = {name for name in _needed(patchelf, python)}
    kept_ext: list[Path] = []
    available = {p.name for d in libdirs if d.is_dir() for p in d.iterdir()}
    for ext in sorted(dynload.glob("*.so")):
        needs = _needed(patchelf, ext)
        module = ext.name.split(".")[0]
        if all(n in available for n in needs) and not module.startswith(TEST_MODULES):
            kept_ext.append(ext)
            libs.update(needs)
    with tempfile.TemporaryDirectory(prefix="wp-elf-") as tmp:
        for name, data in extra_elves.items():
            path = Path(tmp) / Path(name).name
            path.write_bytes(data)
            libs.update(_needed(patchelf, path))
    libs.add(loader)
    # The closure: libraries need libraries (libm -> libc, ...).
    pending, done = sorted(libs), set()
    while pending:
        name = pending.pop()
        if name in done:
            continue
        done.add(name)
        found = [d / name for d in libdirs if (d / name).exists()]
        if not found:
            raise RuntimeError_(f"{arch}: {name} is needed but no .deb in {root} holds it")
        real = found[0].resolve()
        tree[f"{prefix}/lib/{name}"] = (real.read_bytes(), 0o755)
        pending.extend(n for n in _needed(patchelf, real) if n not in done)
    for ext in kept_ext:
        tree[f"{prefix}/lib/python{VERSION}/lib-dynload/{ext.name}"] = (ext.read_bytes(), 0o644)

    sources = {}
    for path in sorted(stdlib.rglob("*.py")):
        rel = path.relative_to(stdlib)
        if not _dropped(rel) and "__pycache__" not in rel.parts and not path.is_symlink():
            sources[rel.as_posix()] = path
    for name, data in compile_sourceless(compiler, stdlib, sorted(sources)).items():
        tree[f"{prefix}/lib/python{VERSION}/{name}"] = (data, 0o644)
    # getpath's landmark: the prefix is where lib/python3.13/os.py (or os.pyc) is.
    if f"{prefix}/lib/python{VERSION}/os.pyc" not in tree:
        raise RuntimeError_(f"{arch}: the stdlib in {stdlib} has no os.py")

    docs = root / "usr" / "share" / "doc"
    for package in PACKAGES:
        copyright_ = docs / package / "copyright"
        if not copyright_.is_file():
            raise RuntimeError_(f"{arch}: {package} has no {copyright_}")
        tree[f"{prefix}/share/doc/{package}/copyright"] = (copyright_.read_bytes(), 0o644)
    return tree


_COMPILER = """
import json, py_compile, sys
for source, cfile, shown in json.load(sys.stdin):
    py_compile.compile(source, cfile=cfile, dfile=shown, doraise=True,
                       invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
print(sys.implementation.cache_tag)
"""


def compile_sourceless(compiler: Path, stdlib: Path, names: list[str]) -> dict[str, bytes]:
    """``name.py`` -> ``name.pyc`` (importable without its source), compiled by ``compiler``."""
    with tempfile.TemporaryDirectory(prefix="wp-stdlib-") as tmp:
        out = Path(tmp)
        jobs = [[str(stdlib / n), str(out / (n + "c")), f"<stdlib>/{n}"] for n in names]
        proc = subprocess.run(
            [str(compiler), "-I", "-S", "-c", _COMPILER],
            input=json.dumps(jobs),
            capture_output=True,
            text=True,
            check=False,
        )
        tag = f"cpython-{VERSION.replace('.', '')}"
        if proc.returncode != 0 or proc.stdout.strip() != tag:
            raise RuntimeError_(f"{compiler} could not compile the stdlib:\n{proc.stderr}")
        return {n + "c": (out / (n + "c")).read_bytes() for n in names}


def host_arch() -> str:
    machine = platform.machine()
    for arch, (name, _, _) in ARCHES.items():
        if name == machine:
            return arch
    raise RuntimeError_(f"this machine is {machine}; the buildpack supports x86_64 and aarch64")


def host_python(cache: Path) -> Path:
    """A runnable CPython 3.13 for this machine (the unpacked .debs, run via their loader)."""
    arch = host_arch()
    _, loader, triplet = ARCHES[arch]
    root = fetch(arch, cache)
    wrapper = cache / "runtime" / arch / "python"
    lib = f"{root}/usr/lib/{triplet}"
    wrapper.write_text(
        f'#!/bin/sh\nexec "{lib}/{loader}" --library-path "{lib}" '
        f'"{root}/usr/bin/python{VERSION}" "$@"\n'
    )
    wrapper.chmod(0o755)
    return wrapper


def install(arch: str, cache: Path, dest: Path) -> None:
    """Write ``python/<arch>`` under ``dest`` (a checkout), replacing what was there."""
    tree = assemble(arch, cache, host_python(cache))
    target = dest / "python" / arch
    shutil.rmtree(target, ignore_errors=True)
    for name, (data, mode) in tree.items():
        path = dest / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        os.chmod(path, mode)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--arch", action="append", choices=sorted(ARCHES))
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--install", type=Path, metavar="DIR")
    parser.add_argument("--test-tools", action="store_true", help=f"fetch {', '.join(TEST_TOOLS)}")
    args = parser.parse_args(argv)
    try:
        if args.test_tools:
            for name in TEST_TOOLS:
                print(f"runtime: {test_tool(args.cache.resolve(), name)}")
            return 0
        arches = args.arch or [host_arch()]
        for arch in arches:
            if args.install:
                install(arch, args.cache.resolve(), args.install.resolve())
                print(f"runtime: CPython {VERSION} for {arch} in {args.install}/python/{arch}")
            else:
                fetch(arch, args.cache.resolve())
                print(f"runtime: CPython {VERSION} .debs for {arch} fetched")
    except (RuntimeError_, RuntimeError, OSError, subprocess.SubprocessError) as error:
        print(f"runtime: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
