"""Fetch one real CPython per supported version, for packaging: ``<dest>/bin/python3.X``.

``package/build.py`` compiles checked-hash bytecode with every CPython in ``PYTHON_VERSIONS``
(3.9 to 3.14) and the tests import the vendored pydantic-core under each of them, so each
must be a real build of that version with its own stdlib. The only places this machine, a
developer's and CI's can fetch interpreters from are the Debian and Ubuntu archives, so this
script takes each version's .debs from one release of either (``SUITES``) with a private apt
configuration (the system's apt is left alone; signatures are checked with the Debian keyring
and with Ubuntu's, itself fetched as a Debian package). The .debs are unpacked into
``<dest>/3.X/root`` with that release's own libc; newer releases need a newer glibc than the
host's, so the interpreter's ELF interpreter and RPATH are pointed at the unpacked ones with
patchelf. It then runs as a plain executable, finds its prefix from its real path (also under
``-I``), and ``bin/python3.X`` is a symlink to it. A /usr/bin/python3.X of the right version
is linked instead of fetched.

The .debs stay in ``<dest>/debs/3.X``, so rebuilding a root needs no network, and a version
whose ``bin/python3.X`` already works is skipped. Linux x86_64 only.

    python3 package/pythons.py [--dest DIR] [3.9 3.10 ...]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path

DEFAULT_DEST = Path(__file__).resolve().parent.parent / "build" / "cache" / "pythons"
VERSIONS = ("3.9", "3.10", "3.11", "3.12", "3.13", "3.14")

#: The release each version comes from: a stable one that ships it as its main python.
SUITES = {
    "3.9": "bullseye",
    "3.10": "jammy",
    "3.11": "bookworm",
    "3.12": "noble",
    "3.13": "trixie",
    "3.14": "resolute",
}
UBUNTU = {"jammy", "noble", "resolute"}
DEBIAN_KEYRING = Path("/usr/share/keyrings/debian-archive-keyring.gpg")
#: Beside the interpreter: its release's loader and the libraries it and C extensions link.
LIBS = ("libc6", "zlib1g", "libexpat1", "libgcc-s1")

_PROBE = "import py_compile, sys; print(sys.implementation.cache_tag); print(sys.version)"


def run(*cmd: str | Path, cwd: Path | None = None) -> str:
    argv = [str(c) for c in cmd]
    proc = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=900)
    if proc.returncode != 0:
        shown = " ".join(a for a in argv if not a.startswith("-o"))  # not apt's options
        raise RuntimeError(f"{shown} failed:\n{proc.stderr}".rstrip())
    return proc.stdout


def probe(python: Path, version: str) -> str | None:
    """``sys.version`` of ``python`` if it runs isolated as CPython ``version``."""
    try:
        out = run(python, "-I", "-S", "-c", _PROBE)
    except (OSError, RuntimeError, subprocess.SubprocessError):
        return None
    tag, _, full = out.partition("\n")
    return " ".join(full.split()) if tag == f"cpython-{version.replace('.', '')}" else None


def apt_download(
    dest: Path, suite: str, packages: list[str], into: Path, arch: str = "amd64"
) -> None:
    """``apt-get download`` from ``suite`` for Debian architecture ``arch``, with its own
    sources, lists and cache (then removed); apt checks the archive's signatures."""
    if suite in UBUNTU:
        keyring = ubuntu_keyring(dest)
        uri = security = "http://archive.ubuntu.com/ubuntu"
    else:
        keyring = DEBIAN_KEYRING
        uri, security = "http://deb.debian.org/debian", "http://deb.debian.org/debian-security"
    into.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f"apt-{suite}-", dir=dest) as tmp:
        apt = Path(tmp)
        (apt / "sources.list").write_text(
            "".join(
                f"deb [signed-by={keyring}] {base} {suite}{pocket} main\n"
                for base, pocket in ((uri, ""), (uri, "-updates"), (security, "-security"))
            )
        )
        for sub in ("state/lists/partial", "cache/archives/partial"):
            (apt / sub).mkdir(parents=True)
        options = [
            f"-oDir::Etc::SourceList={apt / 'sources.list'}",
            "-oDir::Etc::SourceParts=/dev/null",
            "-oDir::Etc::Preferences=/dev/null",
            "-oDir::Etc::PreferencesParts=/dev/null",
            f"-oDir::State={apt / 'state'}",
            "-oDir::State::status=/dev/null",
            f"-oDir::Cache={apt / 'cache'}",
            "-oAcquire::Languages=none",
            f"-oAPT::Architecture={arch}",
            f"-oAPT::Architectures={arch}",
        ]
        if os.geteuid() == 0:  # the sandbox user _apt could not write here
            options.append("-oAPT::Sandbox::User=root")
        run("apt-get", "-q", *options, "update", "--error-on=any")
        run("apt-get", "-q", *options, "download", *packages, cwd=into)


def tool_file(dest: Path, suite: str, package: str, inside: str) -> Path:
    """``inside`` of ``suite``'s ``package``, unpacked under ``<dest>/tools/<package>``."""
    root = dest / "tools" / package
    path = root / inside
    if not path.is_file():
        debs = dest / "debs" / "tools"
        if not list(debs.glob(f"{package}_*.deb")):
            apt_download(dest, suite, [package], debs)
        extract(debs.glob(f"{package}_*.deb"), root)
    return path


def ubuntu_keyring(dest: Path) -> Path:
    """Ubuntu's archive keyring, from Debian's ubuntu-keyring package (Debian-signed)."""
    return tool_file(
        dest, "trixie", "ubuntu-keyring", "usr/share/keyrings/ubuntu-archive-keyring.gpg"
    )


def patchelf(dest: Path) -> Path:
    """The system's patchelf, or bookworm's unpacked under ``<dest>/tools/patchelf``."""
    found = shutil.which("patchelf")
    if found:
        return Path(found)
    return tool_file(dest, "bookworm", "patchelf", "usr/bin/patchelf")


def extract(debs: Iterable[Path], root: Path) -> None:
    root.mkdir(parents=True, exist_ok=True)
    for deb in sorted(debs):
        run("dpkg-deb", "-x", deb, root)


def fetch(version: str, dest: Path) -> Path:
    """``<dest>/3.X/root/usr/bin/python3.X``, unpacked and patched (downloaded if need be)."""
    debs = dest / "debs" / version
    if not (debs / "complete").is_file():
        shutil.rmtree(debs, ignore_errors=True)
        names = [f"python{version}-minimal", f"libpython{version}-minimal"]
        apt_download(dest, SUITES[version], [*names, f"libpython{version}-stdlib", *LIBS], debs)
        (debs / "complete").write_text("")
    root = dest / version / "root"
    shutil.rmtree(root, ignore_errors=True)
    extract(debs.glob("*.deb"), root)
    python = root / "usr" / "bin" / f"python{version}"
    libdirs = [root / d / "lib/x86_64-linux-gnu" for d in ("", "usr")]
    loaders = [d / "ld-linux-x86-64.so.2" for d in libdirs if (d / "ld-linux-x86-64.so.2").exists()]
    if not python.is_file() or not loaders:
        raise RuntimeError(f"the .debs in {debs} hold no python{version} or no loader")
    rpath = ":".join(map(str, libdirs))
    tool = patchelf(dest)
    run(tool, "--set-interpreter", loaders[0], "--force-rpath", "--set-rpath", rpath, python)
    for needed in run(tool, "--print-needed", python).split():
        if not any((d / needed).exists() for d in libdirs):
            raise RuntimeError(f"python{version} needs {needed}, which its .debs lack")
    return python


def provide(version: str, dest: Path) -> str:
    """Make ``<dest>/bin/python3.X`` work; its ``sys.version``."""
    link = dest / "bin" / f"python{version}"
    found = probe(link, version)
    if found:
        return found
    system = Path(f"/usr/bin/python{version}")
    target = system if probe(system, version) else fetch(version, dest)
    link.parent.mkdir(parents=True, exist_ok=True)
    link.unlink(missing_ok=True)
    link.symlink_to(target)
    found = probe(link, version)
    if not found:
        raise RuntimeError(f"{link} -> {target} does not run as CPython {version}")
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("versions", nargs="*", default=list(VERSIONS), metavar="VERSION")
    parser.add_argument("--dest", type=Path, default=DEFAULT_DEST, help=f"default {DEFAULT_DEST}")
    args = parser.parse_args(argv)
    unknown = [v for v in args.versions if v not in SUITES]
    if unknown:
        parser.error(f"unsupported version(s) {', '.join(unknown)}; known: {' '.join(SUITES)}")
    if platform.system() != "Linux" or platform.machine() != "x86_64":
        print("pythons.py: only Linux x86_64 is supported", file=sys.stderr)
        return 2
    dest: Path = args.dest.resolve()
    dest.mkdir(parents=True, exist_ok=True)
    failed = []
    for version in args.versions:
        try:
            print(f"python{version}: {provide(version, dest)}", flush=True)
        except (OSError, RuntimeError, subprocess.SubprocessError) as exc:
            print(f"python{version}: FAILED: {exc}", file=sys.stderr, flush=True)
            failed.append(version)
    if failed:
        print(f"pythons.py: could not provide python{', python'.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
