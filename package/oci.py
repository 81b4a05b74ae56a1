"""Make the OCI buildpackage: ``make package-oci``.

    python package/oci.py [--out DIR] [--cache DIR] [--source DIR]
    python package/oci.py --archive ONE-TARGET.tgz ... --cnb-archive ALL-TARGETS.tgz [--out DIR]

writes, from the ``.tgz`` archives of ``package/build.py`` (built first, one per
``[[targets]]`` entry and one with every target, unless given with ``--archive``):

- ``<out>/<name>-<version>-oci/``: an OCI image layout. Its tag ``<version>`` is an image
  index with one image per target (platform ``os``/``architecture`` in the index and in
  each image config); each image is also tagged ``<version>-<os>-<arch>``.
- ``<out>/<name>-<version>.cnb``: laid out as ``pack buildpack package --format file``
  writes a buildpack without targets: an uncompressed tar of an OCI layout with one image, whose
  layer is the archive with every target (pack reads the first image of a ``.cnb``
  whatever the machine, so it must run on every arch), os ``linux``, no architecture.

Each image is one buildpack layer, as the distribution spec and pack lay it out: the
directories ``/cnb/buildpacks/<id, / as _>`` and ``.../<version>`` (0755, root), then the
archive's entries below it, each with the archive's own mode, owner, time and bytes.
Its config carries the labels ``io.buildpacks.buildpackage.metadata`` and
``io.buildpacks.buildpack.layers``, computed from the ``buildpack.toml`` inside that
archive. The images are made by umoci (``umoci new``, ``raw add-layer``, ``config``,
``gc``); only the image index and the tar of the ``.cnb``, which umoci 0.4.7 does not
write, are written here. Every time is the archive's (the ``created`` of configs and
history), so the same archives give the same bytes and digests.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath
from typing import Any

import tomllib

sys.path.insert(0, str(Path(__file__).resolve().parent))  # run as a script, from package/
import oci_descriptor

REPO = Path(__file__).resolve().parent.parent
UMOCI = REPO / "build" / "cache" / "bin" / "umoci"  # package/runtimes.py, from make install
BUILDPACKS_DIR = "/cnb/buildpacks"
METADATA_LABEL = "io.buildpacks.buildpackage.metadata"
LAYERS_LABEL = "io.buildpacks.buildpack.layers"
INDEX_TYPE = "application/vnd.oci.image.index.v1+json"
MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"
REF_NAME = "org.opencontainers.image.ref.name"


class OCIError(Exception):
    """A failure with a message for the person running ``make package-oci``."""

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.status = status


def _json(value: object) -> bytes:
    """Compact JSON with keys in the order given (as Go's encoding/json writes a struct)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def escaped_id(buildpack_id: str) -> str:
    """The buildpack's directory name under /cnb/buildpacks (pack's ``EscapedID``)."""
    return buildpack_id.replace("/", "_")


@dataclass(frozen=True)
class Archive:
    """One ``.tgz`` of package/build.py, and the ``buildpack.toml`` inside it."""

    path: Path
    descriptor: Mapping[str, Any]
    mtime: int

    @property
    def id(self) -> str:
        return str(self.descriptor["buildpack"]["id"])

    @property
    def version(self) -> str:
        return str(self.descriptor["buildpack"]["version"])

    @property
    def targets(self) -> list[tuple[str, str]]:
        return [(t.get("os", "linux"), t["arch"]) for t in self.descriptor["targets"]]

    @property
    def created(self) -> str:
        return datetime.fromtimestamp(self.mtime, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def read_archive(path: Path) -> Archive:
    """The archive's descriptor and its one entry time; anything but plain files and
    directories with safe relative names (no ``..``, no whiteout ``.wh.``) is an error."""
    try:
        with tarfile.open(path, "r:gz") as tar:
            descriptor: dict[str, Any] | None = None
            times = set()
            for member in tar:
                name = PurePosixPath(member.name)
                if (
                    name.is_absolute()
                    or ".." in name.parts
                    or not (member.isfile() or member.isdir())
                ):
                    raise OCIError(f"{path}: entry '{member.name}' is not a plain relative file")
                if any(part.startswith(".wh.") for part in name.parts):
                    raise OCIError(
                        f"{path}: entry '{member.name}' would be a whiteout in the image's layer "
                        "(a name starting '.wh.' deletes files of the layers below): rename it"
                    )
                times.add(member.mtime)
                if member.name == "buildpack.toml":
                    data = tar.extractfile(member)
                    assert data is not None
                    descriptor = tomllib.loads(data.read().decode())
    except (OSError, tarfile.TarError, EOFError, zlib.error) as error:
        raise OCIError(f"cannot read {path}: {error}; run 'make package' to rebuild it") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise OCIError(f"{path}: its buildpack.toml is not valid TOML: {error}") from None
    if descriptor is None:
        raise OCIError(f"{path} has no buildpack.toml at its root: not a buildpack archive")
    if len(times) != 1:
        raise OCIError(f"{path}: its entries have {len(times)} different times, not one")
    check_descriptor(path, descriptor)
    return Archive(path, descriptor, int(times.pop()))


def check_descriptor(path: Path, descriptor: Mapping[str, Any]) -> None:
    """The fields the image and its labels are made of must be there, of the spec's form."""
    missing = oci_descriptor.missing_fields(descriptor)
    if missing:
        raise OCIError(
            f"{path}: its buildpack.toml lacks {', '.join(missing)}; rebuild the archive with "
            "package/build.py from a valid buildpack.toml"
        )
    invalid = oci_descriptor.invalid_fields(descriptor)
    if invalid:
        raise OCIError(
            f"{path}: its buildpack.toml has an invalid {'; an invalid '.join(invalid)}; fix "
            "buildpack.toml and rebuild the archive with package/build.py"
        )


# -- the layer and its labels ---------------------------------------------------------


def write_layer(archive: Archive, dest: Path) -> str:
    """The uncompressed layer tar of ``archive`` at ``dest``; returns its digest (the
    diff ID)."""
    base = f"{BUILDPACKS_DIR}/{escaped_id(archive.id)}/{archive.version}"
    with (
        tarfile.open(archive.path, "r:gz") as source,
        tarfile.open(dest, "w", format=tarfile.PAX_FORMAT) as layer,
    ):
        for directory in (base.rsplit("/", 1)[0], base):
            info = tarfile.TarInfo(directory)
            info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, archive.mtime
            layer.addfile(info)
        for member in source:
            member.name = f"{base}/{member.name}"
            member.pax_headers = {}
            layer.addfile(member, source.extractfile(member) if member.isfile() else None)
    digest = hashlib.sha256()
    with dest.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return f"sha256:{digest.hexdigest()}"


def _info(descriptor: Mapping[str, Any]) -> dict[str, Any]:
    """pack's ``ModuleInfo``: the [buildpack] table's fields that are set, in pack's order."""
    table = descriptor["buildpack"]
    info: dict[str, Any] = {}
    for key in ("id", "name", "version", "description", "homepage", "keywords"):
        if table.get(key):
            info[key] = table[key]
    licenses = [
        {k: v for k, v in (("type", lic.get("type")), ("uri", lic.get("uri"))) if v}
        for lic in table.get("licenses", [])
    ]
    if licenses:
        info["licenses"] = licenses
    return info


def _stacks(descriptor: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The descriptor's stacks; a buildpack with targets only is for any stack (pack)."""
    stacks = [
        {"id": s["id"], **({"mixins": s["mixins"]} if s.get("mixins") else {})}
        for s in descriptor.get("stacks", [])
    ]
    return stacks or [{"id": "*"}]


def metadata_label(archive: Archive) -> str:
    """``io.buildpacks.buildpackage.metadata``: the entrypoint buildpack and its stacks."""
    return _json({**_info(archive.descriptor), "stacks": _stacks(archive.descriptor)}).decode()


def layers_label(archive: Archive, diff_id: str) -> str:
    """``io.buildpacks.buildpack.layers``: id -> version -> what pack's ``ModuleLayerInfo``
    holds, with the layer's diff ID."""
    table = archive.descriptor["buildpack"]
    entry: dict[str, Any] = {"api": archive.descriptor["api"]}
    if archive.descriptor.get("stacks"):
        entry["stacks"] = _stacks(archive.descriptor)
    entry["targets"] = [
        {"os": t.get("os", "linux"), "arch": t["arch"]}
        | {k: t[k] for k in ("variant", "distros") if t.get(k)}
        for t in archive.descriptor["targets"]
    ]
    entry["layerDiffID"] = diff_id
    for key in ("homepage", "name"):
        if table.get(key):
            entry[key] = table[key]
    return _json({archive.id: {archive.version: entry}}).decode()


# -- umoci ---------------------------------------------------------------------------


class Umoci:
    def __init__(self, binary: Path) -> None:
        if not os.access(binary, os.X_OK):
            raise OCIError(f"{binary} is missing: run 'make install' (package/runtimes.py)")
        self.binary = binary

    def __call__(self, *args: str | Path) -> str:
        argv = [str(self.binary), "--log=error", *map(str, args)]
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=600, check=False)
        except (OSError, subprocess.SubprocessError) as error:
            raise OCIError(f"umoci {args[0]} could not run: {error}") from None
        if done.returncode != 0:
            raise OCIError(f"umoci {args[0]} failed:\n{done.stderr.strip()}")
        return done.stdout


def _blob(layout: Path, digest: str) -> Path:
    algorithm, encoded = digest.split(":", 1)
    return layout / "blobs" / algorithm / encoded


def _tagged(layout: Path) -> dict[str, dict[str, Any]]:
    index = json.loads((layout / "index.json").read_text())
    return {m["annotations"][REF_NAME]: m for m in index["manifests"]}


def add_image(
    umoci: Umoci, layout: Path, tag: str, archive: Archive, platform: tuple[str, str], tmp: Path
) -> dict[str, Any]:
    """One buildpack image of ``archive`` in ``layout`` under ``tag``; returns its
    manifest descriptor, after checking that umoci's diff ID is the layer's."""
    layer = tmp / f"{tag}.tar"
    diff_id = write_layer(archive, layer)
    image = f"{layout}:{tag}"
    umoci("new", "--image", image)
    umoci(
        "raw", "add-layer", "--image", image,
        "--history.created", archive.created,
        "--history.created_by", f"{archive.id}@{archive.version} (package/oci.py)",
        layer,
    )  # fmt: skip
    umoci(
        "config", "--image", image, "--no-history", "--created", archive.created,
        "--os", platform[0], "--architecture", platform[1],
        "--config.label", f"{METADATA_LABEL}={metadata_label(archive)}",
        "--config.label", f"{LAYERS_LABEL}={layers_label(archive, diff_id)}",
    )  # fmt: skip
    layer.unlink()
    manifest = _tagged(layout)[tag]
    config = json.loads(
        _blob(
            layout, json.loads(_blob(layout, manifest["digest"]).read_text())["config"]["digest"]
        ).read_text()
    )
    if config["rootfs"]["diff_ids"] != [diff_id]:
        raise OCIError(f"umoci gave {tag} the layers {config['rootfs']['diff_ids']}, not {diff_id}")
    return manifest


def _finish(layout: Path, entries: Sequence[Mapping[str, Any]]) -> None:
    """index.json with exactly ``entries``; every file 0644, every directory 0755."""
    index = {"schemaVersion": 2, "manifests": list(entries)}
    (layout / "index.json").write_bytes(_json(index))
    for dirpath, _dirs, files in os.walk(layout):
        os.chmod(dirpath, 0o755)
        for name in files:
            os.chmod(os.path.join(dirpath, name), 0o644)


def _platform_entry(manifest: Mapping[str, Any], target: tuple[str, str]) -> dict[str, Any]:
    return {
        "mediaType": MANIFEST_TYPE,
        "digest": manifest["digest"],
        "size": manifest["size"],
        "platform": {"architecture": target[1], "os": target[0]},
    }


def multi_arch_layout(umoci: Umoci, archives: Sequence[Archive], layout: Path, tmp: Path) -> None:
    """The OCI layout: one image per archive, and the index of them tagged <version>."""
    version = archives[0].version
    umoci("init", "--layout", layout)
    per_target: list[tuple[str, tuple[str, str]]] = []
    for archive in archives:
        (target,) = archive.targets
        tag = f"{version}-{target[0]}-{target[1]}"
        add_image(umoci, layout, tag, archive, target, tmp)
        per_target.append((tag, target))
    umoci("gc", "--layout", layout)
    tagged = _tagged(layout)
    index = _json(
        {
            "schemaVersion": 2,
            "mediaType": INDEX_TYPE,
            "manifests": [_platform_entry(tagged[tag], target) for tag, target in per_target],
        }
    )
    digest = f"sha256:{hashlib.sha256(index).hexdigest()}"
    _blob(layout, digest).write_bytes(index)
    entries = [
        {"mediaType": INDEX_TYPE, "digest": digest, "size": len(index),
         "annotations": {REF_NAME: version}},
        *({**tagged[tag], "annotations": {REF_NAME: tag}} for tag, _ in per_target),
    ]  # fmt: skip
    _finish(layout, entries)
    for tag, _ in per_target:
        umoci("stat", "--image", f"{layout}:{tag}")  # the tool reads each image back


def write_cnb(umoci: Umoci, archive: Archive, out: Path, tmp: Path) -> None:
    """The ``.cnb``: a tar of a one-image OCI layout, as pack writes and reads it."""
    layout = tmp / "cnb-layout"
    umoci("init", "--layout", layout)
    add_image(umoci, layout, archive.version, archive, (archive.targets[0][0], ""), tmp)
    umoci("gc", "--layout", layout)
    _finish(layout, list(_tagged(layout).values()))
    umoci("stat", "--image", f"{layout}:{archive.version}")
    names = ["oci-layout", "index.json", "blobs", "blobs/sha256"]
    names += sorted(f"blobs/sha256/{p.name}" for p in (layout / "blobs" / "sha256").iterdir())
    partial = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        with tarfile.open(partial, "w", format=tarfile.PAX_FORMAT) as tar:
            for name in names:
                info = tar.gettarinfo(layout / name, name)
                info.uid = info.gid = 0
                info.uname = info.gname = ""
                info.mtime = archive.mtime
                if info.isdir():
                    tar.addfile(info)
                else:
                    with (layout / name).open("rb") as data:
                        tar.addfile(info, data)
        os.chmod(partial, 0o644)
        os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)


# -- main ----------------------------------------------------------------------------


def check_archives(per_target: Sequence[Archive], universal: Archive) -> None:
    """One buildpack, one version; each per-target archive declares one target, and
    together they are the targets of the all-targets archive."""
    for archive in (*per_target, universal):
        if (archive.id, archive.version) != (universal.id, universal.version):
            raise OCIError(
                f"{archive.path} is {archive.id} {archive.version}, but {universal.path} is "
                f"{universal.id} {universal.version}: package one buildpack version"
            )
    for archive in per_target:
        if len(archive.targets) != 1:
            raise OCIError(
                f"{archive.path} declares {len(archive.targets)} targets; an image needs the "
                "archive of one target (package/build.py --target OS/ARCH)"
            )
    found = [a.targets[0] for a in per_target]
    if sorted(found) != sorted(universal.targets) or len(set(found)) != len(found):
        raise OCIError(
            f"the one-target archives are for {found}, but {universal.path} declares "
            f"{universal.targets}: give one archive per declared target"
        )


def package(
    per_target: Sequence[Path], universal: Path, out_dir: Path, umoci: Umoci
) -> tuple[Path, Path]:
    """The layout directory and the .cnb in ``out_dir``, from the archives."""
    archives = [read_archive(p) for p in per_target]
    everything = read_archive(universal)
    check_archives(archives, everything)
    name = everything.id.rsplit("/", 1)[-1]
    layout = out_dir / f"{name}-{everything.version}-oci"
    cnb = out_dir / f"{name}-{everything.version}.cnb"
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".oci-", dir=out_dir) as tmp:
        work = Path(tmp)
        multi_arch_layout(umoci, archives, work / "layout", work)
        write_cnb(umoci, everything, cnb, work)
        old = work / "old"
        if layout.exists():
            layout.rename(old)
        (work / "layout").rename(layout)
    return layout, cnb


def build_archives(out_dir: Path, cache: Path, source: Path) -> tuple[list[Path], Path]:
    """Every archive package/build.py makes for the source's declared targets."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import build

    try:
        declared = build.declared_targets(build.read_buildpack(source / "buildpack.toml"))
        one = [build.build([str(t)], out_dir, cache, source) for t in declared]
        return one, build.build([], out_dir, cache, source)
    except build.PackageError as error:
        raise OCIError(str(error), error.status) from None


def _shown(path: Path) -> str:
    return os.path.relpath(path) if path.is_relative_to(Path.cwd()) else str(path)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument(
        "--archive", action="append", type=Path, default=[], metavar="TGZ",
        help="a one-target archive of package/build.py (repeat for each target); "
        "default: build them",
    )  # fmt: skip
    parser.add_argument(
        "--cnb-archive", type=Path, metavar="TGZ", help="the archive with every target"
    )
    parser.add_argument("--out", type=Path, default=REPO / "build", help="default: build/")
    parser.add_argument("--cache", type=Path, default=REPO / "build" / "cache")
    parser.add_argument("--source", type=Path, default=REPO, help="default: this checkout")
    parser.add_argument("--umoci", type=Path, default=UMOCI, help=f"default: {UMOCI}")
    args = parser.parse_args(argv)
    if bool(args.archive) != bool(args.cnb_archive):
        parser.error("give --archive and --cnb-archive together, or neither")
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    out = args.out.resolve()
    try:
        umoci = Umoci(args.umoci)
        if args.archive:
            per_target, universal = args.archive, args.cnb_archive
        else:
            per_target, universal = build_archives(out, args.cache.resolve(), args.source.resolve())
        layout, cnb = package(per_target, universal, out, umoci)
    except OCIError as error:
        print(f"package-oci: {error}", file=sys.stderr)
        return error.status
    except OSError as error:
        print(f"package-oci: cannot write the package in {out}: {error}", file=sys.stderr)
        return 1
    index = json.loads((layout / "index.json").read_text())["manifests"][0]
    print(f"Wrote {_shown(layout)} (index {index['digest']}, tag {index['annotations'][REF_NAME]})")
    print(f"Wrote {_shown(cnb)} ({cnb.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
