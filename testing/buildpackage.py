"""A buildpackage (``make package-oci``) read back with umoci, as pack reads it.

- ``open_layout``: the OCI layout of a ``.cnb`` (an uncompressed tar of one) or a layout
  directory;
- ``select_image``: the tag pack would use: from a ``.cnb`` the first image manifest of
  ``index.json`` (pack's ``newOCILayoutPackage``), from a layout the tagged image whose
  config is for the given platform;
- ``unpack``: that image's root file system, unpacked by ``umoci raw unpack``;
- ``buildpack_tree``: the buildpack directory of a buildpackage for this machine, unpacked
  once per process (``testing.cnb.copy_buildpack`` copies it).
"""

from __future__ import annotations

import atexit
import functools
import json
import os
import platform
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
UMOCI = REPO / "build" / "cache" / "bin" / "umoci"
MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"
DOCKER_MANIFEST_TYPE = "application/vnd.docker.distribution.manifest.v2+json"
REF_NAME = "org.opencontainers.image.ref.name"
#: ``platform.machine()`` -> OCI architecture.
ARCHES = {"x86_64": "amd64", "aarch64": "arm64"}


def umoci(*args: str | Path) -> str:
    if not os.access(UMOCI, os.X_OK):
        raise RuntimeError(f"{UMOCI} is missing: run 'make install' (package/runtimes.py)")
    argv = [str(UMOCI), "--log=error", *map(str, args)]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=600, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"umoci {' '.join(argv[2:])} failed:\n{done.stderr.strip()}")
    return done.stdout


def host_platform() -> tuple[str, str]:
    return "linux", ARCHES[platform.machine()]


def open_layout(source: Path, scratch: Path) -> Path:
    """The layout directory: ``source`` itself, or the ``.cnb`` unpacked in ``scratch``."""
    if source.is_dir():
        return source
    layout = scratch / "layout"
    layout.mkdir(parents=True)
    with tarfile.open(source, "r:") as tar:  # a .cnb is uncompressed
        tar.extractall(layout, filter="data")
    return layout


def blob(layout: Path, digest: str) -> bytes:
    algorithm, encoded = digest.split(":", 1)
    return (layout / "blobs" / algorithm / encoded).read_bytes()


def index(layout: Path) -> list[dict[str, Any]]:
    manifests: list[dict[str, Any]] = json.loads((layout / "index.json").read_text())["manifests"]
    return manifests


def image_config(layout: Path, manifest_digest: str) -> dict[str, Any]:
    manifest = json.loads(blob(layout, manifest_digest))
    config: dict[str, Any] = json.loads(blob(layout, manifest["config"]["digest"]))
    return config


def select_image(layout: Path, target: tuple[str, str] | None = None) -> str:
    """The tag of the image pack takes (``target`` None: the first image manifest), or of
    the tagged image whose config is for ``target`` (os, arch)."""
    for entry in index(layout):
        if entry["mediaType"] not in (MANIFEST_TYPE, DOCKER_MANIFEST_TYPE):
            continue
        tag: str = entry.get("annotations", {}).get(REF_NAME, "")
        if target is None:
            return tag
        config = image_config(layout, entry["digest"])
        if (config["os"], config["architecture"]) == target and tag:
            return tag
    wanted = "an image manifest" if target is None else f"a tagged image for {'/'.join(target)}"
    raise RuntimeError(f"{layout}/index.json has no {wanted}")


def unpack(layout: Path, tag: str, rootfs: Path) -> Path:
    """The image's root file system at ``rootfs`` (owners kept when run as root)."""
    rootless = [] if os.geteuid() == 0 else ["--rootless"]
    umoci("raw", "unpack", *rootless, "--image", f"{layout}:{tag}", rootfs)
    return rootfs


@functools.cache
def buildpack_tree(source: str, buildpack_dir: str) -> Path:
    """``/cnb/buildpacks/<id>/<version>`` of the buildpackage ``source`` for this machine,
    unpacked once per process into a directory removed at exit."""
    scratch = Path(tempfile.mkdtemp(prefix="wp-buildpackage-"))
    atexit.register(shutil.rmtree, scratch, True)
    path = Path(source)
    layout = open_layout(path, scratch)
    tag = select_image(layout, None if path.is_file() else host_platform())
    rootfs = unpack(layout, tag, scratch / "rootfs")
    tree = rootfs / "cnb" / "buildpacks" / buildpack_dir
    if not (tree / "buildpack.toml").is_file():
        raise RuntimeError(
            f"{source}:{tag} holds no /cnb/buildpacks/{buildpack_dir}/buildpack.toml"
        )
    return tree
