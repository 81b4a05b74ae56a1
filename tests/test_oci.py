"""The OCI buildpackage (``make package-oci``: package/oci.py), read back with umoci and
checked against the buildpack distribution spec and what pack writes and reads
(``buildpacks/spec:distribution.md``; ``buildpacks/pack:pkg/buildpack/builder.go``,
``buildpack.go``, ``oci_layout_package.go``; docs/buildpackage.md).

The package is built once per session, from freshly built archives, into a temporary
directory with the shared download cache; the tests skip, like tests/test_package.py,
when that cache lacks wheels and PyPI is unreachable.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import tomllib
from lifecycle import BP_LAYER, GID, Platform, platform

from testing.buildpackage import blob, image_config, index, select_image, umoci, unpack

REPO = Path(__file__).resolve().parent.parent
OCI_SCRIPT = REPO / "package" / "oci.py"
UMOCI = REPO / "build" / "cache" / "bin" / "umoci"
SKOPEO = REPO / "build" / "cache" / "bin" / "skopeo"  # package/runtimes.py
# package/runtime.py --test-tools (make install)
QEMU = (
    REPO / "build" / "cache" / "tools" / "qemu-user-static" / "usr" / "bin" / "qemu-aarch64-static"
)
EXIT_DOWNLOAD = 75  # package/build.py: a wheel could not be downloaded

BUILDPACK = tomllib.loads((REPO / "buildpack.toml").read_text())
BP_ID: str = BUILDPACK["buildpack"]["id"]
VERSION: str = BUILDPACK["buildpack"]["version"]
TARGETS = [(t["os"], t["arch"]) for t in BUILDPACK["targets"]]
BASE = f"/cnb/buildpacks/{BP_LAYER}/{VERSION}"
CREATED = "1980-01-01T00:00:01Z"  # the archives' one entry time (package/build.py MTIME)
INDEX_TYPE = "application/vnd.oci.image.index.v1+json"
MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"
LAYER_TYPE = "application/vnd.oci.image.layer.v1.tar+gzip"
REF_NAME = "org.opencontainers.image.ref.name"

pytestmark = pytest.mark.skipif(
    not os.access(UMOCI, os.X_OK), reason=f"no {UMOCI}: run 'make install'"
)


def _pypi_reachable() -> bool:
    try:
        with urllib.request.urlopen("https://pypi.org/simple/", timeout=10):
            return True
    except OSError:
        return False


def run_oci(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(OCI_SCRIPT), *args],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


@pytest.fixture(scope="session")
def out() -> Iterator[Path]:
    """``package/oci.py`` as ``make package-oci`` runs it: archives built, then packaged."""
    root = Path(tempfile.mkdtemp(prefix="wp-oci-"))
    os.chmod(root, 0o755)
    result = run_oci("--out", str(root / "first"))
    if result.returncode == EXIT_DOWNLOAD and not _pypi_reachable():
        shutil.rmtree(root)
        pytest.skip("cannot build the archives: wheels missing from build/cache, PyPI unreachable")
    assert result.returncode == 0, result.stdout + result.stderr
    yield root / "first"
    shutil.rmtree(root)


@pytest.fixture(scope="session")
def layout(out: Path) -> Path:
    return out / f"writable-paths-{VERSION}-oci"


@pytest.fixture(scope="session")
def cnb(out: Path) -> Path:
    return out / f"writable-paths-{VERSION}.cnb"


def archive_of(out: Path, target: tuple[str, str] | None) -> Path:
    suffix = "" if target is None else f"-{target[0]}-{target[1]}"
    return out / f"writable-paths-{VERSION}{suffix}.tgz"


def digest_of(data: bytes) -> str:
    return f"sha256:{hashlib.sha256(data).hexdigest()}"


def tagged(layout: Path) -> dict[str, dict[str, Any]]:
    return {e["annotations"][REF_NAME]: e for e in index(layout)}


def manifest_of(layout: Path, tag: str) -> dict[str, Any]:
    manifest: dict[str, Any] = json.loads(blob(layout, tagged(layout)[tag]["digest"]))
    return manifest


def layer_tar(layout: Path, tag: str) -> bytes:
    (layer,) = manifest_of(layout, tag)["layers"]
    assert layer["mediaType"] == LAYER_TYPE
    return gzip.decompress(blob(layout, layer["digest"]))


def image_tags() -> list[str]:
    return [f"{VERSION}-{os_}-{arch}" for os_, arch in TARGETS]


# -- the layout and its index ------------------------------------------------------------


def test_layout_tags_an_index_of_one_image_per_declared_target(layout: Path) -> None:
    assert json.loads((layout / "oci-layout").read_text()) == {"imageLayoutVersion": "1.0.0"}
    tags = tagged(layout)
    assert list(tags) == [VERSION, *image_tags()]
    assert tags[VERSION]["mediaType"] == INDEX_TYPE
    image_index = json.loads(blob(layout, tags[VERSION]["digest"]))
    assert image_index["schemaVersion"] == 2
    assert image_index["mediaType"] == INDEX_TYPE
    platforms = [
        (m["platform"]["os"], m["platform"]["architecture"]) for m in image_index["manifests"]
    ]
    assert platforms == TARGETS
    for entry, tag in zip(image_index["manifests"], image_tags(), strict=True):
        assert entry["mediaType"] == MANIFEST_TYPE
        assert (entry["digest"], entry["size"]) == (tags[tag]["digest"], tags[tag]["size"])
    # umoci resolves the version tag to both images: it is the multi-platform index.
    with pytest.raises(RuntimeError, match="ambiguous"):
        umoci("stat", "--image", f"{layout}:{VERSION}")


def test_every_blob_is_named_by_its_digest_and_referenced(layout: Path, cnb: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        with tarfile.open(cnb) as tar:
            tar.extractall(tmp, filter="data")
        for root in (layout, Path(tmp)):
            referenced: dict[str, int] = {}
            pending = list(index(root))
            while pending:
                descriptor = pending.pop()
                data = blob(root, descriptor["digest"])
                assert digest_of(data) == descriptor["digest"]
                assert len(data) == descriptor["size"]
                referenced[descriptor["digest"]] = len(data)
                if descriptor["mediaType"] == INDEX_TYPE:
                    pending += json.loads(data)["manifests"]
                elif descriptor["mediaType"] == MANIFEST_TYPE:
                    manifest = json.loads(data)
                    pending += [manifest["config"], *manifest["layers"]]
            stored = {f"sha256:{p.name}" for p in (root / "blobs" / "sha256").iterdir()}
            assert stored == set(referenced), "unreferenced or missing blobs"


# -- each image: config and labels, field by field ------------------------------------------


def check_labels(config: dict[str, Any], descriptor: dict[str, Any], diff_id: str) -> None:
    labels = config["config"]["Labels"]
    assert set(labels) == {
        "io.buildpacks.buildpackage.metadata",
        "io.buildpacks.buildpack.layers",
    }
    table = descriptor["buildpack"]
    metadata = json.loads(labels["io.buildpacks.buildpackage.metadata"])
    # distribution.md: the entrypoint buildpack's id and version, and at least one stack.
    assert metadata["id"] == table["id"] == BP_ID
    assert metadata["version"] == table["version"] == VERSION
    assert metadata["stacks"] == [{"id": "*"}] == descriptor["stacks"]
    # pack's ModuleInfo fields, as buildpack.toml sets them.
    for key in ("name", "description", "homepage", "keywords"):
        assert metadata[key] == table[key], key
    assert metadata["licenses"] == [{"type": "Apache-2.0"}]

    layers = json.loads(labels["io.buildpacks.buildpack.layers"])
    assert list(layers) == [BP_ID]
    assert list(layers[BP_ID]) == [VERSION]
    entry = layers[BP_ID][VERSION]
    assert entry == {
        "api": descriptor["api"],
        "stacks": [{"id": "*"}],
        "targets": [{"os": t["os"], "arch": t["arch"]} for t in descriptor["targets"]],
        "layerDiffID": diff_id,
        "homepage": table["homepage"],
        "name": table["name"],
    }
    assert entry["api"] == "0.10"


@pytest.mark.parametrize("target", TARGETS, ids=lambda t: "/".join(t))
def test_each_image_config_has_its_target_and_the_distribution_labels(
    layout: Path, out: Path, target: tuple[str, str]
) -> None:
    tag = f"{VERSION}-{target[0]}-{target[1]}"
    stat = json.loads(umoci("stat", "--json", "--image", f"{layout}:{tag}"))
    (history,) = stat["history"]
    assert (history["created"], history["created_by"]) == (
        CREATED,
        f"{BP_ID}@{VERSION} (package/oci.py)",
    )
    config = image_config(layout, tagged(layout)[tag]["digest"])
    assert (config["os"], config["architecture"]) == target
    assert config["created"] == CREATED
    diff_id = digest_of(layer_tar(layout, tag))
    assert config["rootfs"] == {"type": "layers", "diff_ids": [diff_id]}
    assert history["diff_id"] == diff_id
    with tarfile.open(archive_of(out, target)) as tar:
        member = tar.extractfile("buildpack.toml")
        assert member is not None
        descriptor = tomllib.loads(member.read().decode())
    assert descriptor["targets"] == [{"os": target[0], "arch": target[1]}]
    check_labels(config, descriptor, diff_id)


# -- each layer: exactly the archive of its target -----------------------------------------


def check_layer_is_archive(layer: bytes, archive: Path) -> None:
    """The layer's entries: pack's two parent directories, then the archive's entries
    in its order, each below them with the same type, mode, owner, time and bytes."""
    with tarfile.open(fileobj=io.BytesIO(layer)) as tar, tarfile.open(archive) as source:
        entries = tar.getmembers()
        parents, rest = entries[:2], entries[2:]
        assert [(m.name, m.type, m.mode, m.uid, m.gid, m.mtime) for m in parents] == [
            (BASE.rsplit("/", 1)[0], tarfile.DIRTYPE, 0o755, 0, 0, 315532801),
            (BASE, tarfile.DIRTYPE, 0o755, 0, 0, 315532801),
        ]
        originals = source.getmembers()
        assert len(rest) == len(originals)
        for got, want in zip(rest, originals, strict=True):
            assert got.name == f"{BASE}/{want.name}"
            assert (got.type, got.mode, got.uid, got.gid, got.uname, got.gname, got.mtime) == (
                want.type, want.mode, want.uid, want.gid, want.uname, want.gname, want.mtime,
            ), got.name  # fmt: skip
            if want.isfile():
                a, b = tar.extractfile(got), source.extractfile(want)
                assert a is not None
                assert b is not None
                assert a.read() == b.read(), got.name
            # pack's calcFileMode: directories and executables 0755, the rest 0644.
            assert got.mode == (0o755 if got.isdir() or want.mode & 0o111 else 0o644), got.name


def check_rootfs_is_archive(rootfs: Path, archive: Path) -> None:
    """What umoci unpacks: /cnb/buildpacks/<id>/<version> and the archive in it."""
    found: dict[str, tuple[bool, int, int, int, bytes]] = {}
    for dirpath, dirs, files in os.walk(rootfs):
        for name in dirs + files:
            path = Path(dirpath, name)
            st = path.lstat()
            data = path.read_bytes() if path.is_file() and not path.is_symlink() else b""
            found[path.relative_to(rootfs).as_posix()] = (
                path.is_dir(), st.st_mode & 0o7777, st.st_uid, st.st_gid, data
            )  # fmt: skip
    expected = {
        "cnb": (True, 0o755, 0, 0, b""),
        "cnb/buildpacks": (True, 0o755, 0, 0, b""),
        BASE[1:].rsplit("/", 1)[0]: (True, 0o755, 0, 0, b""),
        BASE[1:]: (True, 0o755, 0, 0, b""),
    }
    with tarfile.open(archive) as source:
        for member in source:
            file = source.extractfile(member) if member.isfile() else None
            expected[f"{BASE[1:]}/{member.name}"] = (
                member.isdir(), member.mode, member.uid, member.gid, file.read() if file else b""
            )  # fmt: skip
    # umoci creates the missing /cnb and /cnb/buildpacks itself (root's, 0755).
    assert found.keys() == expected.keys()
    for name, value in expected.items():
        assert found[name] == value, name


@pytest.mark.parametrize("target", TARGETS, ids=lambda t: "/".join(t))
def test_each_image_unpacks_to_exactly_the_archive_of_its_target(
    layout: Path, out: Path, target: tuple[str, str], tmp_path: Path
) -> None:
    tag = f"{VERSION}-{target[0]}-{target[1]}"
    assert select_image(layout, target) == tag
    archive = archive_of(out, target)
    check_layer_is_archive(layer_tar(layout, tag), archive)
    check_rootfs_is_archive(unpack(layout, tag, tmp_path / "rootfs"), archive)


# -- the .cnb -------------------------------------------------------------------------------


def test_cnb_is_an_uncompressed_tar_of_a_one_image_layout_of_every_target(
    cnb: Path, out: Path, tmp_path: Path
) -> None:
    data = cnb.read_bytes()
    assert data[:2] != b"\x1f\x8b", "distribution.md: a .cnb is an uncompressed tar"
    with tarfile.open(cnb, "r:") as tar:
        members = tar.getmembers()
        tar.extractall(tmp_path / "layout", filter="data")
    names = [m.name for m in members]
    assert names[:4] == ["oci-layout", "index.json", "blobs", "blobs/sha256"]
    for member in members:
        assert (member.uid, member.gid, member.uname, member.gname) == (0, 0, "", ""), member.name
        assert member.mtime == 315532801, member.name
        assert member.mode == (0o755 if member.isdir() else 0o644), member.name
    layout = tmp_path / "layout"
    (entry,) = index(layout)
    # pack reads the first image manifest of index.json, whatever the machine: so the
    # .cnb's one image holds every target, with no architecture, as pack writes it
    # from package.toml without --target.
    assert entry["mediaType"] == MANIFEST_TYPE
    assert entry["annotations"] == {REF_NAME: VERSION}
    assert select_image(layout) == VERSION
    config = image_config(layout, entry["digest"])
    assert (config["os"], config["architecture"]) == ("linux", "")
    diff_id = digest_of(layer_tar(layout, VERSION))
    assert config["rootfs"]["diff_ids"] == [diff_id]
    check_labels(config, BUILDPACK, diff_id)
    check_layer_is_archive(layer_tar(layout, VERSION), archive_of(out, None))


# -- skopeo: what a release pushes -----------------------------------------------------------


def skopeo(*args: str | Path) -> str:
    if not os.access(SKOPEO, os.X_OK):
        pytest.skip(f"no {SKOPEO}: run 'make install' (package/runtimes.py)")
    argv = [str(SKOPEO), "--insecure-policy", *map(str, args)]  # local layouts only
    done = subprocess.run(argv, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_skopeo_copies_the_index_with_every_image_and_the_same_digests(
    layout: Path, tmp_path: Path
) -> None:
    """``skopeo copy --all oci:<layout>:<version> docker://...`` is how a release pushes
    the package; copied into another layout, nothing may change."""
    index_entry = tagged(layout)[VERSION]
    assert skopeo("inspect", "--raw", f"oci:{layout}:{VERSION}").encode() == blob(
        layout, index_entry["digest"]
    )
    for os_, arch in TARGETS:
        seen = json.loads(skopeo("inspect", f"oci:{layout}:{VERSION}-{os_}-{arch}"))
        assert (seen["Os"], seen["Architecture"]) == (os_, arch)
        config = image_config(layout, tagged(layout)[f"{VERSION}-{os_}-{arch}"]["digest"])
        assert seen["Labels"] == config["config"]["Labels"]
    copy = tmp_path / "copy"
    skopeo("copy", "--all", f"oci:{layout}:{VERSION}", f"oci:{copy}:{VERSION}")
    (copied,) = index(copy)
    assert (copied["digest"], copied["size"]) == (index_entry["digest"], index_entry["size"])
    ours = {p.name: p.read_bytes() for p in (layout / "blobs" / "sha256").iterdir()}
    theirs = {p.name: p.read_bytes() for p in (copy / "blobs" / "sha256").iterdir()}
    assert theirs == ours


def test_skopeo_reads_the_cnb_as_an_oci_archive(cnb: Path) -> None:
    seen = json.loads(skopeo("inspect", f"oci-archive:{cnb}"))
    assert (seen["Os"], seen["Architecture"]) == ("linux", "")
    metadata = json.loads(seen["Labels"]["io.buildpacks.buildpackage.metadata"])
    assert (metadata["id"], metadata["version"]) == (BP_ID, VERSION)


# -- the unpacked buildpack passes the contract -------------------------------------------


@pytest.fixture(scope="session")
def unpacked_images(layout: Path) -> Iterator[dict[str, Path]]:
    """Each target's image of the layout, unpacked by umoci: arch -> buildpack dir."""
    scratch = Path(tempfile.mkdtemp(prefix="wp-oci-image-"))
    os.chmod(scratch, 0o755)
    trees = {}
    for target in TARGETS:
        rootfs = unpack(layout, select_image(layout, target), scratch / target[1])
        os.chmod(rootfs, 0o755)
        trees[target[1]] = rootfs / BASE[1:]
    yield trees
    shutil.rmtree(scratch)


@pytest.fixture(scope="session")
def unpacked_image(unpacked_images: dict[str, Path]) -> Path:
    """The amd64 image (this machine's arch; runtimes.py fetches amd64 tools only)."""
    return unpacked_images["amd64"]


@pytest.fixture
def image_cnb(unpacked_image: Path) -> Iterator[Platform]:
    with platform(unpacked_image, "") as sandbox:
        yield sandbox


def test_unpacked_image_detects_and_builds_with_an_empty_path(image_cnb: Platform) -> None:
    image_cnb.write(".writable-paths", "log/\n")
    image_cnb.write("config/routes.rb", "", 0o666)
    detect = image_cnb.run("detect")
    assert detect.returncode == 0, detect.stdout + detect.stderr
    build = image_cnb.run("build")
    assert build.returncode == 0, build.stdout + build.stderr
    assert build.stdout.startswith(f"Writable Paths Buildpack {VERSION}\n")
    assert os.stat(image_cnb.app / "log").st_mode & 0o7777 == 0o2775
    assert os.stat(image_cnb.app / "log").st_gid == GID
    assert os.stat(image_cnb.app / "config/routes.rb").st_mode & 0o7777 == 0o644


def test_arm64_image_builds_under_qemu(unpacked_images: dict[str, Path]) -> None:
    """The arm64 image's own CPython, under qemu-user, runs a build that validates a
    setting with pydantic-core's aarch64 extension (what its bin/build would exec)."""
    if not os.access(QEMU, os.X_OK):
        pytest.skip(f"no {QEMU}: run 'python package/runtime.py --test-tools' (make install does)")
    tree = unpacked_images["arm64"]
    assert sorted(p.name for p in (tree / "python").iterdir()) == ["arm64"]
    lib = tree / "python" / "arm64" / "lib"
    python = [
        str(QEMU), str(lib / "ld-linux-aarch64.so.1"), "--inhibit-cache", "--library-path",
        str(lib), str(tree / "python" / "arm64" / "bin" / "python3.13"), "-I", "-S", "-B",
    ]  # fmt: skip
    with platform(tree, "") as cnb:
        cnb.write(".writable-paths", "log/\n")
        cnb.write("config.rb", "", 0o666)
        cnb.env("BP_WRITABLE_PATHS_STRICT", "true")  # validated by pydantic-core
        result = subprocess.run(
            [*python, str(tree / "bin" / "entry.py"), str(tree), "build",
             str(cnb.bp_layers), str(cnb.platform), str(cnb.plan)],
            cwd=cnb.app, capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
        assert result.returncode == 0, result.stdout + result.stderr
        assert "strict=true" in result.stdout
        assert os.stat(cnb.app / "log").st_mode & 0o7777 == 0o2775
        assert os.stat(cnb.app / "config.rb").st_mode & 0o7777 == 0o644


def test_integration_scenarios_run_against_the_cnb(cnb: Path) -> None:
    """``WP_BUILDPACK_ARCHIVE=<the .cnb>``: the harness's buildpack is the .cnb's image,
    unpacked by umoci (testing/buildpackage.py); two scenarios of integration/."""
    env = {**os.environ, "WP_BUILDPACK_ARCHIVE": str(cnb)}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "integration/test_scenarios.py", "-k", "rails or laravel"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert " passed" in result.stdout
    assert "skipped" not in result.stdout


# -- reproducible ------------------------------------------------------------------------------


def test_same_archives_give_the_same_bytes_and_digests(out: Path, layout: Path, cnb: Path) -> None:
    again = out.parent / "again"
    archives = [a for t in TARGETS for a in ("--archive", str(archive_of(out, t)))]
    result = run_oci(*archives, "--cnb-archive", str(archive_of(out, None)), "--out", str(again))
    assert result.returncode == 0, result.stdout + result.stderr
    second = again / layout.name
    files = sorted(p.relative_to(layout) for p in layout.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(second) for p in second.rglob("*") if p.is_file())
    for name in files:
        assert (layout / name).read_bytes() == (second / name).read_bytes(), name
    assert (again / cnb.name).read_bytes() == cnb.read_bytes()


# -- bad input -----------------------------------------------------------------------------------


def _crafted(path: Path, entries: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in entries.items():
            info = tarfile.TarInfo(name)
            info.size, info.mtime = len(data), 315532801
            tar.addfile(info, io.BytesIO(data))
    return path


def test_bad_archives_are_refused_with_the_file_and_what_to_do(out: Path, tmp_path: Path) -> None:
    universal, amd64 = archive_of(out, None), archive_of(out, ("linux", "amd64"))
    junk = tmp_path / "junk.tgz"
    junk.write_bytes(b"not a tar")
    other = (REPO / "buildpack.toml").read_text().replace(f'"{VERSION}"', '"9.9.9"', 1)
    crafted = {
        "escape": _crafted(tmp_path / "escape.tgz", {"../etc/passwd": b""}),
        "whiteout": _crafted(tmp_path / "whiteout.tgz", {"bin/.wh..wh..opq": b""}),
        "empty": _crafted(tmp_path / "empty.tgz", {"bin/build": b""}),
        "toml": _crafted(tmp_path / "toml.tgz", {"buildpack.toml": b"api = [\n"}),
        "version": _crafted(tmp_path / "version.tgz", {"buildpack.toml": other.encode()}),
        "fields": _crafted(
            tmp_path / "fields.tgz",
            {"buildpack.toml": b'[buildpack]\nid = "x"\n[[targets]]\nos = "linux"\n'},
        ),
    }
    # Odd TOML: values that would move the layer out of /cnb/buildpacks/<id>/<version>,
    # or whose type the labels cannot take (each was exit 0 or a traceback before).
    odd = {
        "dotdot-id": 'id = ".."\nversion = "0.2.0"\n[[targets]]\narch = "amd64"\n',
        "slash-version": 'id = "a/b"\nversion = "0.2.0/../../x"\n[[targets]]\narch = "amd64"\n',
        "licenses": 'id = "a/b"\nversion = "0.2.0"\nlicenses = "MIT"\n[[targets]]\narch = "x"\n',
        "target": 'id = "a/b"\nversion = "0.2.0"\n[[targets]]\narch = "../x"\n',
    }
    for name, table in odd.items():
        toml = f'api = "0.10"\n[buildpack]\n{table}'.encode()
        crafted[name] = _crafted(tmp_path / f"{name}.tgz", {"buildpack.toml": toml})
    not_a_table = b'api = "0.10"\ntargets = [1]\n[buildpack]\nid = "a/b"\nversion = "1.0.0"\n'
    crafted["not-a-table"] = _crafted(tmp_path / "not-a-table.tgz", {"buildpack.toml": not_a_table})
    cases = [
        ((junk, universal), f"cannot read {junk}"),
        ((crafted["escape"], universal), "entry '../etc/passwd' is not a plain relative file"),
        ((crafted["whiteout"], universal), "entry 'bin/.wh..wh..opq' would be a whiteout"),
        ((crafted["empty"], universal), "has no buildpack.toml at its root"),
        ((crafted["toml"], universal), "its buildpack.toml is not valid TOML"),
        ((universal, universal), "declares 2 targets; an image needs the archive of one target"),
        ((amd64, universal), "give one archive per declared target"),
        ((amd64, crafted["version"]), f"is {BP_ID} {VERSION}, but"),
        ((amd64, crafted["fields"]), "lacks api, buildpack.version, targets[0].arch; rebuild"),
        ((crafted["dotdot-id"], universal), "invalid buildpack.id '..' (letters"),
        ((crafted["slash-version"], universal), "invalid buildpack.version '0.2.0/../../x'"),
        ((crafted["licenses"], universal), "invalid buildpack.licenses (tables of type"),
        ((crafted["target"], universal), "invalid targets[0].arch '../x' (lowercase"),
        ((crafted["not-a-table"], universal), "lacks targets[0] as a table; rebuild"),
    ]
    for (one, every), message in cases:
        result = run_oci(
            "--archive", str(one), "--cnb-archive", str(every), "--out", str(tmp_path / "o")
        )
        assert result.returncode == 1, result.stdout + result.stderr
        assert message in result.stderr, result.stderr
        assert "Traceback" not in result.stderr
    assert not (tmp_path / "o").exists() or not list((tmp_path / "o").iterdir())
