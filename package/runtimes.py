"""Fetch the tools: ``<dest>/bin/{runc,umoci,busybox,skopeo}`` (and, for the package
tests, ``qemu-aarch64-static``: ``package/runtime.py --test-tools``).

The integration tests turn each exported build into a real OCI image (umoci), with a
busybox root file system as its base, and run the probes in a real container (runc) as
the run user. All three come from Debian's own packages (``TOOLS``), downloaded with
``apt-get download`` through the private apt configuration of ``package/pythons.py``
(signatures checked with the Debian keyring) and unpacked with ``dpkg-deb -x``: nothing
is installed on the machine. The .debs stay in ``<dest>/debs/tools``, so a rebuild
needs no network, and a tool whose ``bin/`` link already runs is skipped.

umoci also makes the OCI buildpackage (``package/oci.py``), and skopeo, which the
tests use to read it back and copy it as a release pushes it, links libraries a
Debian base system may lack (gpgme and its helpers, device-mapper): their .debs are
unpacked beside it and ``bin/skopeo`` is a small script that runs it with them.

``--jammy`` also fetches debootstrap and makes ``<dest>/jammy-minbase``, an Ubuntu
22.04 root file system (what Paketo Jammy images are), for the slower tier
(``make integration-jammy``).

    python3 package/runtimes.py [--dest DIR] [--jammy]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pythons import apt_download, extract, ubuntu_keyring

DEFAULT_DEST = Path(__file__).resolve().parent.parent / "build" / "cache"
SUITE = "bookworm"
#: tool -> (Debian package, the executable inside it, arguments that prove it runs)
TOOLS = {
    "runc": ("runc", "usr/sbin/runc", ("--version",)),
    "umoci": ("umoci", "usr/bin/umoci", ("--version",)),
    "busybox": ("busybox-static", "bin/busybox", ("true",)),
    "skopeo": ("skopeo", "usr/bin/skopeo", ("--version",)),
    # For tests/test_package.py (``package/runtime.py --test-tools``): the arm64 CPython.
    "qemu-aarch64-static": ("qemu-user-static", "usr/bin/qemu-aarch64-static", ("--version",)),
}
#: What ``main`` provides: the container tools (qemu-user is fetched for the package tests).
CONTAINER_TOOLS = ("runc", "umoci", "busybox", "skopeo")
#: tool -> the packages of the shared libraries it links that are unpacked beside it
LIBRARIES = {
    "skopeo": ("libgpgme11", "libassuan0", "libgpg-error0", "libdevmapper1.02.1"),
}
MULTIARCH = "x86_64-linux-gnu"
JAMMY_MIRROR = "http://archive.ubuntu.com/ubuntu"


def runs(tool: Path, args: tuple[str, ...]) -> bool:
    try:
        done = subprocess.run([tool, *args], capture_output=True, timeout=30, check=False)
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0


def provide(name: str, dest: Path) -> Path:
    """``<dest>/bin/<name>``, a link to the unpacked executable; fetched if need be."""
    package, inside, args = TOOLS[name]
    link = dest / "bin" / name
    if runs(link, args):
        return link
    packages = [package, *LIBRARIES.get(name, ())]
    debs = dest / "debs" / "tools"
    missing = [p for p in packages if not list(debs.glob(f"{p}_*.deb"))]
    if missing:
        apt_download(dest, SUITE, missing, debs)
    root = dest / "tools" / package
    shutil.rmtree(root, ignore_errors=True)
    extract([deb for p in packages for deb in debs.glob(f"{p}_*.deb")], root)
    link.parent.mkdir(parents=True, exist_ok=True)
    link.unlink(missing_ok=True)
    if name in LIBRARIES:
        libraries = ":".join(str(root / d / MULTIARCH) for d in ("usr/lib", "lib"))
        link.write_text(
            f"#!/bin/sh\n# {package} from Debian's .debs with its libraries (package/runtimes.py)\n"
            f"LD_LIBRARY_PATH='{libraries}' exec '{root / inside}' \"$@\"\n"
        )
        link.chmod(0o755)
    else:
        link.symlink_to(root / inside)
    if not runs(link, args):
        raise RuntimeError(f"{link} -> {root / inside} does not run")
    return link


def jammy_minbase(dest: Path) -> Path:
    """``<dest>/jammy-minbase``: ``debootstrap --variant=minbase jammy`` (made once)."""
    target = dest / "jammy-minbase"
    if (target / "etc" / "os-release").is_file() and (target / ".complete").is_file():
        return target
    debs = dest / "debs" / "tools"
    if not list(debs.glob("debootstrap_*.deb")):
        apt_download(dest, SUITE, ["debootstrap"], debs)
    root = dest / "tools" / "debootstrap"
    if not (root / "usr" / "sbin" / "debootstrap").is_file():
        extract(debs.glob("debootstrap_*.deb"), root)
    keyring = ubuntu_keyring(dest)
    shutil.rmtree(target, ignore_errors=True)
    env = {**os.environ, "DEBOOTSTRAP_DIR": str(root / "usr" / "share" / "debootstrap")}
    command = [
        str(root / "usr" / "sbin" / "debootstrap"),
        "--variant=minbase",
        f"--keyring={keyring}",
        "jammy",
        str(target),
        JAMMY_MIRROR,
    ]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=1800)
    if done.returncode != 0:
        raise RuntimeError(f"debootstrap failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    (target / ".complete").write_text("")
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dest", type=Path, default=DEFAULT_DEST, help=f"default {DEFAULT_DEST}")
    parser.add_argument("--jammy", action="store_true", help="also make the Ubuntu 22.04 base")
    args = parser.parse_args(argv)
    if platform.system() != "Linux" or platform.machine() != "x86_64":
        print("runtimes.py: only Linux x86_64 is supported", file=sys.stderr)
        return 2
    dest: Path = args.dest.resolve()
    dest.mkdir(parents=True, exist_ok=True)
    failed = []
    for name in CONTAINER_TOOLS:
        try:
            print(f"{name}: {provide(name, dest)}", flush=True)
        except (OSError, RuntimeError, subprocess.SubprocessError) as exc:
            print(f"{name}: FAILED: {exc}", file=sys.stderr, flush=True)
            failed.append(name)
    if args.jammy:
        if os.geteuid() != 0:
            print("jammy-minbase: FAILED: debootstrap needs root", file=sys.stderr)
            failed.append("jammy-minbase")
        else:
            try:
                print(f"jammy-minbase: {jammy_minbase(dest)}", flush=True)
            except (OSError, RuntimeError, subprocess.SubprocessError) as exc:
                print(f"jammy-minbase: FAILED: {exc}", file=sys.stderr, flush=True)
                failed.append("jammy-minbase")
    if failed:
        print(f"runtimes.py: could not provide {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
