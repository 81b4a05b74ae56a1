"""Real OCI images of the harness's builds, made with umoci.

An image is what the lifecycle's exporter writes on top of a run image, in its order
(see docs/platform.md, "What an image holds"): the run image's layers (a base root
file system and the stack's users), one layer per launch layer of the buildpacks in
group order, the app layer, and an image config with the run image's user, working
dir ``/workspace``, the CNB environment and the labels (``writable-paths`` from this
buildpack's launch.toml, ``io.buildpacks.build.metadata`` with the process types).
The layer tars are the harness exporter's own bytes, added verbatim
(``umoci raw add-layer``), so what runc unpacks is exactly what was exported.

Two bases: busybox (``busybox_base``: busybox-static and the stack's users, a few
hundred kilobytes; every scenario) and Ubuntu 22.04 minbase (``jammy_base``: the tree
``package/runtimes.py --jammy`` made with debootstrap, as Paketo Jammy images are).
"""

from __future__ import annotations

import functools
import io
import json
import os
import subprocess
import tarfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from .harness import NORMALIZED_MTIME, REPO, HarnessError, User

CACHE = REPO / "build" / "cache"
TOOLS = CACHE / "bin"
JAMMY_ROOT = CACHE / "jammy-minbase"
FETCH_HINT = "run `make install` (package/runtimes.py fetches runc, umoci and busybox)"
TAG = "app"
APP_DIR = "/workspace"
LAYERS_DIR = "/layers"
# The run image's user: Paketo Jammy's run image runs as cnb, uid 1002 gid 1000.
RUN_IMAGE_USER = User(1002, 1000)
# busybox applets the base links into /bin (what a shell and the probes use).
APPLETS = ("sh", "ls", "cat", "id", "stat", "touch", "rm", "mkdir", "echo", "test", "env", "sleep")


def tool(name: str) -> Path:
    """``build/cache/bin/<name>``, or HarnessError saying how to get it."""
    path = TOOLS / name
    if not os.access(path, os.X_OK):
        raise HarnessError(f"{path} is missing: {FETCH_HINT}")
    return path


def _run_bytes(*argv: str | Path, timeout: float = 600) -> bytes:
    done = subprocess.run([str(a) for a in argv], capture_output=True, timeout=timeout, check=False)
    if done.returncode != 0:
        shown = " ".join(map(str, argv))
        raise HarnessError(f"{shown} failed:\n{done.stderr.decode(errors='replace').strip()}")
    return done.stdout


def _run(*argv: str | Path) -> str:
    return _run_bytes(*argv).decode(errors="replace")


# -- bases ---------------------------------------------------------------------------


def _entry(
    tw: tarfile.TarFile, name: str, kind: bytes, mode: int, data: bytes = b"", link: str = ""
) -> None:
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.mtime = kind, mode, NORMALIZED_MTIME
    info.linkname = link
    info.size = len(data) if kind == tarfile.REGTYPE else 0
    tw.addfile(info, io.BytesIO(data) if kind == tarfile.REGTYPE else None)


def _stack_users(passwd: bytes = b"", group: bytes = b"") -> dict[str, bytes]:
    """/etc/passwd and /etc/group with the cnb user and group that Paketo's stacks add."""
    run = RUN_IMAGE_USER
    passwd += f"cnb:x:{run.uid}:{run.gid}::/home/cnb:/bin/sh\n".encode()
    group += f"cnb:x:{run.gid}:\n".encode()
    return {"etc/passwd": passwd, "etc/group": group}


def _tar(write: Callable[[tarfile.TarFile], None]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tw:
        write(tw)
    return buffer.getvalue()


@functools.cache
def busybox_base() -> tuple[bytes, ...]:
    """The run image's layers: a busybox root file system with the stack's users."""
    busybox = tool("busybox").resolve().read_bytes()

    def write(tw: tarfile.TarFile) -> None:
        for name, mode in (("bin", 0o755), ("etc", 0o755), ("home", 0o755), ("proc", 0o555)):
            _entry(tw, name, tarfile.DIRTYPE, mode)
        for name, mode in (("sys", 0o555), ("dev", 0o755), ("root", 0o700), ("tmp", 0o1777)):
            _entry(tw, name, tarfile.DIRTYPE, mode)
        _entry(tw, "bin/busybox", tarfile.REGTYPE, 0o755, busybox)
        for applet in APPLETS:
            _entry(tw, f"bin/{applet}", tarfile.SYMTYPE, 0o777, link="busybox")
        root = b"root:x:0:0:root:/root:/bin/sh\n", b"root:x:0:\n"
        for name, data in _stack_users(*root).items():
            _entry(tw, name, tarfile.REGTYPE, 0o644, data)
        _entry(tw, "home/cnb", tarfile.DIRTYPE, 0o755)

    return (_tar(write),)


def jammy_available() -> str | None:
    """Why the Ubuntu 22.04 base cannot be used, or None."""
    if not (JAMMY_ROOT / ".complete").is_file():
        return f"{JAMMY_ROOT} is missing: run `make integration-jammy` (it makes it once)"
    return None


@functools.cache
def jammy_base() -> tuple[bytes, ...]:
    """The run image's layers: the debootstrapped Ubuntu 22.04 minbase, then the
    stack's users."""
    why = jammy_available()
    if why is not None:
        raise HarnessError(why)
    tree = _run_bytes(
        "tar", "-C", JAMMY_ROOT, "--numeric-owner", "--exclude=./.complete", "-cf", "-", "."
    )
    etc = JAMMY_ROOT / "etc"
    users = _stack_users((etc / "passwd").read_bytes(), (etc / "group").read_bytes())

    def write(tw: tarfile.TarFile) -> None:
        for name, data in users.items():
            _entry(tw, name, tarfile.REGTYPE, 0o644, data)
        _entry(tw, "home/cnb", tarfile.DIRTYPE, 0o755)

    return tree, _tar(write)


BASES = {"busybox": busybox_base, "jammy": jammy_base}


# -- images ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Process:
    """A process type, as a buildpack's launch.toml declares it."""

    type: str
    command: tuple[str, ...]


@dataclass(frozen=True)
class OciImage:
    layout: Path  # the OCI image layout directory
    rootfs: Path  # the image unpacked by umoci (owners and modes as in the layers)
    config: dict[str, object]  # the image config's "config" section

    @property
    def labels(self) -> dict[str, str]:
        labels = self.config.get("Labels") or {}
        assert isinstance(labels, dict)
        return {str(k): str(v) for k, v in labels.items()}


def build_image(
    workdir: Path,
    base: str,
    layer_tars: Mapping[str, bytes],
    labels: Mapping[str, str],
    processes: Sequence[Process] = (),
) -> OciImage:
    """An OCI image at ``workdir/layout`` from ``base`` ("busybox" or "jammy") and the
    exporter's ``layer_tars`` ("app" and "<bp dir>/<layer>"), unpacked at ``workdir/bundle``."""
    umoci = tool("umoci")
    layout = workdir / "layout"
    ref = f"{layout}:{TAG}"
    _run(umoci, "init", "--layout", layout)
    _run(umoci, "new", "--image", ref)
    tars = workdir / "tars"
    tars.mkdir()
    # The run image, then the buildpacks' launch layers (group order), then the app.
    ordered = [(f"{base} {n}", data) for n, data in enumerate(BASES[base]())]
    ordered += [(name, data) for name, data in layer_tars.items() if name != "app"]
    ordered.append(("app", layer_tars["app"]))
    for index, (name, data) in enumerate(ordered):
        path = tars / f"{index:02d}.tar"
        path.write_bytes(data)
        _run(umoci, "raw", "add-layer", "--image", ref, "--history.comment", name, path)
        path.unlink()
    metadata = {
        "processes": [
            {"type": p.type, "command": list(p.command), "args": [], "direct": False}
            for p in processes
        ],
    }
    config = [
        f"--config.user={RUN_IMAGE_USER.uid}:{RUN_IMAGE_USER.gid}",
        f"--config.workingdir={APP_DIR}",
        f"--config.env=CNB_APP_DIR={APP_DIR}",
        f"--config.env=CNB_LAYERS_DIR={LAYERS_DIR}",
        "--config.env=PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        f"--config.label=io.buildpacks.build.metadata={json.dumps(metadata)}",
    ]
    config += [f"--config.label={key}={value}" for key, value in labels.items()]
    _run(umoci, "config", "--image", ref, *config)
    bundle = workdir / "bundle"
    _run(umoci, "unpack", "--image", ref, bundle)
    return OciImage(layout, bundle / "rootfs", _image_config(layout))


def _image_config(layout: Path) -> dict[str, object]:
    """The "config" of the image's config blob, read from the layout itself."""
    index = json.loads((layout / "index.json").read_text())
    (descriptor,) = [
        m
        for m in index["manifests"]
        if m["annotations"]["org.opencontainers.image.ref.name"] == TAG
    ]
    manifest = json.loads(_blob(layout, descriptor["digest"]))
    config = json.loads(_blob(layout, manifest["config"]["digest"]))
    section = config.get("config", {})
    assert isinstance(section, dict)
    return section


def _blob(layout: Path, digest: str) -> bytes:
    algorithm, _, value = digest.partition(":")
    return (layout / "blobs" / algorithm / value).read_bytes()
