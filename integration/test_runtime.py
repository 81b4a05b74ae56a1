"""The promise in a real runtime: every scenario's image, run by runc as the run user.

Each scenario is built by the harness (real bin/detect and bin/build as the build
user), exported, turned into an OCI image with umoci on a busybox base, and probed
inside runc containers as the run user with no supplementary groups:

- on a writable root: the declared paths and everything beneath them can be written,
  nothing else, the app root included (what the harness probes on the host, now in
  the container);
- on a read-only root with the volumes ``writable-paths manifest`` prints (see
  ``containers.VOLUMES``): each declared directory can be written, and what the volume
  shows beneath it (the image's content, when copied up), and nothing else.

The same on the Ubuntu 22.04 base with ``-m jammy`` (``make integration-jammy``).
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from . import oci, runc
from .containers import VOLUMES, ContainerImage, volumes
from .harness import RUN_USER, HarnessError, Sandbox, under
from .scenarios import SCENARIOS, Scenario

UNAVAILABLE = runc.unavailable()
NO_JAMMY = oci.jammy_available()
pytestmark = pytest.mark.skipif(UNAVAILABLE is not None, reason=str(UNAVAILABLE))
BASES = [
    "busybox",
    pytest.param(
        "jammy",
        marks=[
            pytest.mark.jammy,
            pytest.mark.skipif(
                oci.jammy_available() is not None, reason=str(oci.jammy_available())
            ),
        ],
    ),
]


@dataclass(repr=False)
class Running:
    scenario: Scenario
    sandbox: Sandbox
    image: ContainerImage
    workdir: Path


@pytest.fixture(scope="module", params=BASES)
def base(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module", params=SCENARIOS, ids=[s.id for s in SCENARIOS])
def running(request: pytest.FixtureRequest, base: str) -> Iterator[Running]:
    scenario: Scenario = request.param
    workdir = Path(tempfile.mkdtemp(prefix="wp-runc-"))
    try:
        with Sandbox(
            scenario.app,
            env=scenario.env,
            build_user=scenario.build_user,
            app_umask=scenario.app_umask,
            layers=scenario.layers,
            before=scenario.before,
        ) as sandbox:
            run = sandbox.run()
            assert run.build is not None, run.detect.describe()
            assert run.build.returncode == 0, run.build.describe()
            image = ContainerImage.of(sandbox, sandbox.export(), base, workdir)
            yield Running(scenario, sandbox, image, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def test_image_config_is_the_lifecycles(running: Running) -> None:
    config = running.image.oci.config
    assert config["WorkingDir"] == "/workspace"
    assert config["User"] == f"{oci.RUN_IMAGE_USER.uid}:{oci.RUN_IMAGE_USER.gid}"
    labels = running.image.oci.labels
    declared = running.scenario.declared
    if declared:
        assert sorted(json.loads(labels["writable-paths"])) == sorted(
            f"/workspace/{path}" for path in declared
        )
    else:
        assert "writable-paths" not in labels
    assert "processes" in json.loads(labels["io.buildpacks.build.metadata"])


def test_run_user_writes_exactly_the_declared_paths_in_runc(running: Running) -> None:
    scenario = running.scenario
    paths = {label for label in running.image.entries if not label.startswith("/")}
    expected = scenario.expected_writable(paths)
    actual = running.image.probe(scenario.run_user)
    assert actual == expected, (
        f"writable but not declared: {sorted(actual - expected)}; "
        f"declared but not writable: {sorted(expected - actual)}"
    )


def test_read_only_root_without_volumes_allows_no_write(running: Running) -> None:
    assert running.image.probe(running.scenario.run_user, readonly=True) == set()


@pytest.mark.parametrize("kind", VOLUMES)
def test_read_only_root_with_the_manifests_volumes(running: Running, kind: str) -> None:
    scenario = running.scenario
    group = scenario.build_user.gid
    setup = volumes(kind, running.sandbox, scenario.run_user, group, running.workdir, scenario.env)
    directories = {p for p in scenario.declared if running.image.entries.get(p) == "dir"}
    points = set(setup.mount_points)
    assert points == directories
    actual = running.image.probe(setup.user, readonly=True, mounts=setup.mounts)
    if kind.startswith("compose") and group not in (setup.user.gid, *setup.user.groups):
        # The tmpfs belongs to the build's group, which this run user is not in
        # (OpenShift without `pack build --gid 0`): as on a writable root, no write.
        assert actual == set()
        return
    if kind == "compose-tmpfs-copyup":
        expected = under(running.image.entries, setup.mount_points)
        if runc.version_tuple() < (1, 1, 10):
            # runc#3991: the copied directories lose group write (what the manifest's
            # comment warns of); the mount points themselves keep the entry's mode.
            copied = {p for p in expected if running.image.entries[p] == "dir"}
            expected -= copied - points
    else:
        expected = set(setup.mount_points)  # the volume starts empty
    assert actual == expected, (
        f"writable but not declared: {sorted(actual - expected)}; "
        f"declared but not writable: {sorted(expected - actual)}"
    )


def test_a_language_buildpack_earlier_in_the_group_gives_the_image_its_layers() -> None:
    """The fixture buildpack's launch layer, process type and node_modules link reach
    the real image, and nothing of its layer is writable in the container."""
    workdir = Path(tempfile.mkdtemp(prefix="wp-runc-"))
    try:
        with Sandbox("node", before=("node-modules",)) as sandbox:
            run = sandbox.run()
            assert run.build is not None, run.detect.describe()
            assert run.build.returncode == 0, run.build.describe()
            image = ContainerImage.of(sandbox, sandbox.export(), "busybox", workdir)
            metadata = json.loads(image.oci.labels["io.buildpacks.build.metadata"])
            assert metadata["processes"][0]["type"] == "web"
            assert metadata["processes"][0]["command"] == ["node", "server.js"]
            rootfs = image.oci.rootfs
            link = rootfs / "workspace" / "node_modules"
            assert str(link.readlink()) == "/layers/fixture_node-modules/modules/node_modules"
            assert (rootfs / "layers/fixture_node-modules/modules/node_modules/express").is_dir()
            assert (rootfs / "workspace/public/build/app.js").is_file()
            layer = {p for p in image.entries if p.startswith("/layers/fixture_node-modules")}
            assert layer
            assert image.probe(RUN_USER) == {"uploads", "uploads/.gitkeep"}
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def test_a_container_that_times_out_is_deleted() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="wp-runc-"))
    try:
        with Sandbox("rails") as sandbox:
            image = ContainerImage.of(sandbox, sandbox.export_untouched(), "busybox", workdir)
            with pytest.raises(HarnessError, match="did not finish"):
                runc.run(image.oci, runc.RunSpec(RUN_USER), ["/bin/sleep", "30"], workdir, 1)
            assert runc.containers(workdir) == []
            done = runc.run(image.oci, runc.RunSpec(RUN_USER), ["/bin/id"], workdir)
            assert done.stdout.strip() == "uid=1002(cnb) gid=1000(cnb)"
            assert runc.containers(workdir) == []
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
