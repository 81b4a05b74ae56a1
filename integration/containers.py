"""A harness build as a real image in a real container, and the mounts the platforms add.

``ContainerImage.of(sandbox, image, base)`` turns the harness's export into an OCI image
(``oci.build_image``); ``probe`` runs the probes in runc as a run user, on a writable root
or on a read-only one with the volumes of one of the ``VOLUMES`` setups:

- ``compose-tmpfs``: what ``writable-paths manifest --format compose`` prints, as Docker
  turns a ``tmpfs`` entry into a mount (``noexec,nosuid,nodev`` and the entry's options;
  the tmpfs starts empty and hides the image's content there);
- ``compose-tmpfs-copyup``: the same with ``tmpcopyup``, runc's option that copies the
  image's content into the tmpfs (podman's default for ``--tmpfs``);
- ``k8s-emptydir`` and ``k8s-emptydir-fsgroup``: what ``manifest --format kubernetes``
  prints, each ``emptyDir`` a host directory prepared as the kubelet prepares one (mode
  0777, root's; with ``fsGroup``: group fsGroup, setgid, and fsGroup added to the
  process's groups), bind-mounted; the process runs with ``runAsGroup``.

Paths in probes and results are the harness's labels: relative to the app dir ("." is
the app dir), absolute for everything else in the image.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from . import oci, runc
from .harness import REPO, Image, Sandbox, User
from .oci import Process

APP = oci.APP_DIR
VOLUMES = ("compose-tmpfs", "compose-tmpfs-copyup", "k8s-emptydir", "k8s-emptydir-fsgroup")
# How Docker mounts a --tmpfs or compose tmpfs entry before the entry's own options.
DOCKER_TMPFS_OPTIONS = ("noexec", "nosuid", "nodev")
_QUOTED = re.compile(r'^\s*(?:- |mountPath: )("(?:[^"\\]|\\.)*")')
_NUMBER = re.compile(r"^\s*(runAsGroup|fsGroup): (\d+)")


def in_container(label: str) -> str:
    """A harness label as an absolute path in the container."""
    if label == ".":
        return APP
    return label if label.startswith("/") else f"{APP}/{label}"


def label_of(path: str) -> str:
    if path == APP:
        return "."
    return path[len(APP) + 1 :] if path.startswith(APP + "/") else path


@dataclass(frozen=True)
class ManifestMounts:
    """What ``writable-paths manifest`` prescribes, read back from its output."""

    paths: tuple[str, ...]  # mount points, absolute in the container
    options: tuple[str, ...]  # compose: each entry's options ("mode=2775,gid=1000")
    run_as_group: int | None = None
    fs_group: int | None = None


def manifest(app_dir: Path, fmt: str, group: int, env: Mapping[str, str]) -> ManifestMounts:
    """Run ``writable-paths manifest`` on the app's sources and read its mounts."""
    command = [sys.executable, "-m", "writable_paths.cli", "manifest", "--format", fmt]
    command += ["--group", str(group), str(app_dir)]
    clean = {k: v for k, v in os.environ.items() if not k.startswith("BP_")}
    # The command as the app developer runs it: this venv's Python and packages (vendor/
    # holds the bundled interpreter's pydantic-core, not this one's).
    pythonpath = str(REPO / "src")
    done = subprocess.run(
        command,
        env={**clean, **env, "PYTHONPATH": pythonpath},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if done.returncode != 0:
        raise AssertionError(f"manifest failed ({done.returncode}):\n{done.stderr}")
    paths: list[str] = []
    options: list[str] = []
    numbers: dict[str, int] = {}
    for line in done.stdout.splitlines():
        number = _NUMBER.match(line)
        if number:
            numbers[number.group(1)] = int(number.group(2))
        quoted = _QUOTED.match(line)
        if not quoted:
            continue
        value = json.loads(quoted.group(1))
        if fmt == "compose":
            path, _, opts = value.partition(":")
            paths.append(path)
            options.append(opts)
        else:
            paths.append(value)
    return ManifestMounts(
        tuple(paths), tuple(options), numbers.get("runAsGroup"), numbers.get("fsGroup")
    )


@dataclass(frozen=True)
class Setup:
    """One read-only-root run: the mounts, and the user the platform runs the app as."""

    mounts: tuple[runc.Mount, ...]
    user: User
    mount_points: tuple[str, ...]  # labels


def volumes(
    kind: str, sandbox: Sandbox, user: User, group: int, workdir: Path, env: Mapping[str, str]
) -> Setup:
    """The mounts for ``kind`` (one of ``VOLUMES``) from the manifest for the app."""
    app = sandbox.untouched_app_dir
    if kind.startswith("compose"):
        found = manifest(app, "compose", group, env)
        extra = ("tmpcopyup",) if kind.endswith("copyup") else ()
        mounts = tuple(
            runc.Mount(path, "tmpfs", "tmpfs", (*DOCKER_TMPFS_OPTIONS, *opts.split(","), *extra))
            for path, opts in zip(found.paths, found.options)
        )
        return Setup(mounts, user, tuple(label_of(p) for p in found.paths))
    found = manifest(app, "kubernetes", group, env)
    fs_group = found.fs_group if kind.endswith("fsgroup") else None
    gid = found.run_as_group if found.run_as_group is not None else user.gid
    groups = user.groups if fs_group is None else (*user.groups, fs_group)
    bind: list[runc.Mount] = []
    pod = Path(tempfile.mkdtemp(prefix=f"{kind}-", dir=workdir))
    for number, path in enumerate(found.paths):
        host = pod / str(number)  # the kubelet's volumes/kubernetes.io~empty-dir/<name>
        host.mkdir()
        if fs_group is None:
            os.chmod(host, 0o777)
        else:
            os.chown(host, 0, fs_group)
            os.chmod(host, 0o2777)
        bind.append(runc.Mount(path, "bind", str(host), ("rbind", "rw")))
    return Setup(tuple(bind), User(user.uid, gid, groups), tuple(label_of(p) for p in found.paths))


@dataclass(frozen=True)
class ContainerImage:
    """The harness's exported image as a real OCI image, and the labels of its paths."""

    oci: oci.OciImage
    entries: Mapping[str, str]  # label -> kind, from the export
    workdir: Path

    @classmethod
    def of(
        cls,
        sandbox: Sandbox,
        image: Image,
        base: str,
        workdir: Path,
        processes: Sequence[Process] = (),
    ) -> ContainerImage:
        labels = {
            key: json.dumps(_in_image(sandbox, value))
            for key, value in sandbox.launch_labels().items()
        }
        declared = [Process(p["type"], tuple(p["command"])) for p in sandbox.processes()]
        built = oci.build_image(workdir, base, image.layer_tars, labels, [*processes, *declared])
        return cls(built, image.entries(), workdir)

    def probe(
        self, user: User, *, readonly: bool = False, mounts: tuple[runc.Mount, ...] = ()
    ) -> set[str]:
        """The labels of the paths ``user`` can write in a container of the image."""
        items = [
            (in_container(label), kind)
            for label, kind in self.entries.items()
            if kind in ("dir", "file")
        ]
        spec = runc.RunSpec(user, readonly, mounts)
        return {label_of(p) for p in runc.probe_writable(self.oci, spec, items, self.workdir)}


def _in_image(sandbox: Sandbox, value: object) -> object:
    """A launch label's value with the build container's paths as the image has them."""
    prefix = str(sandbox.root)
    if isinstance(value, str) and value.startswith(prefix + "/"):
        return value[len(prefix) :]
    if isinstance(value, list):
        return [_in_image(sandbox, item) for item in value]
    return value
