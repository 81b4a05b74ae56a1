"""Real builds: ``pack build`` on a Paketo builder, then ``docker run --user`` probes.

The same scenarios as the harness (``scenarios.py``), checked in a real image: the run
user can write exactly the declared paths, and the image carries the label. Skipped
with the reason when ``pack`` or a reachable Docker daemon is missing.

Settings (environment variables):
  WP_PACK_BUILDER          builder image (default paketobuildpacks/builder-jammy-base)
  WP_PACK_BUILDPACK        the buildpack to test: a directory, a .tgz or an image.
                           Default: build/writable-paths-<version>.tgz when `make package`
                           made it, else a clean copy of this checkout (its vendor/ holds
                           pydantic-core for the Python that ran `make install` only, so
                           the build's CPython is pinned to that version).
  WP_PACK_CPYTHON_VERSION  BP_CPYTHON_VERSION for paketo-buildpacks/cpython

Run them with ``.venv/bin/python -m pytest integration -m pack``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from .harness import BP_VERSION, REPO, TESTDATA, User, copy_buildpack, install_app
from .scenarios import SCENARIOS, Scenario

pytestmark = pytest.mark.pack

BUILDER = os.environ.get("WP_PACK_BUILDER", "paketobuildpacks/builder-jammy-base")
# Paketo base builders have no python3: the cpython buildpack (in the builder) provides
# it when our detect asks for it. With BP_CPYTHON_VERSION set, cpython also requires
# itself, so its "provides" never dangles when our detect asks for nothing.
CPYTHON = "urn:cnb:builder:paketo-buildpacks/cpython"
PACK_SCENARIOS = [s for s in SCENARIOS if s.pack]

# Lists every app path ("A path") and those the user can write ("W path"): a file
# is created in each directory, each regular file is opened for append.
PROBE = r"""
cd /workspace || exit 3
find . -print | while IFS= read -r p; do
  echo "A $p"
  if [ -L "$p" ]; then continue; fi
  if [ -d "$p" ]; then
    if ( : > "$p/.wp-probe-$$" ) 2>/dev/null; then rm -f "$p/.wp-probe-$$"; echo "W $p"; fi
  elif [ -f "$p" ]; then
    if ( exec 3>>"$p" ) 2>/dev/null; then echo "W $p"; fi
  fi
done
"""


@dataclass(frozen=True)
class PackSetup:
    pack: str
    docker: str
    buildpack: str
    cpython_version: str
    workdir: Path


def _docker_problem(docker: str | None) -> str | None:
    if docker is None:
        return "docker CLI not found on PATH"
    try:
        result = subprocess.run(
            [docker, "info", "--format", "{{.ServerVersion}}"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return "the Docker daemon did not answer `docker info` within 30 s"
    if result.returncode != 0:
        lines = (result.stderr or result.stdout).strip().splitlines()
        return f"no reachable Docker daemon ({lines[-1] if lines else 'docker info failed'})"
    return None


def _vendored_python() -> str | None:
    """The CPython version the checkout's vendored pydantic-core was built for."""
    for so in (REPO / "vendor" / "pydantic_core").glob("_pydantic_core.cpython-*.so"):
        match = re.search(r"cpython-3(\d+)", so.name)
        if match:
            return f"3.{match.group(1)}.*"
    return None


@pytest.fixture(scope="module")
def setup() -> Iterator[PackSetup]:
    pack = shutil.which("pack")
    if pack is None:
        pytest.skip("pack CLI not found on PATH (https://buildpacks.io/docs/tools/pack/)")
    docker = shutil.which("docker")
    problem = _docker_problem(docker)
    if problem is not None:
        pytest.skip(problem)
    assert docker is not None
    workdir = Path(tempfile.mkdtemp(prefix="wp-pack-"))
    try:
        buildpack = os.environ.get("WP_PACK_BUILDPACK", "")
        cpython = os.environ.get("WP_PACK_CPYTHON_VERSION", "")
        archive = REPO / "build" / f"writable-paths-{BP_VERSION}.tgz"
        if not buildpack and archive.is_file():
            buildpack = str(archive)
        if not buildpack:
            # Only what the buildpack is made of: pack would upload .venv too.
            staged = workdir / "buildpack"
            copy_buildpack(staged)
            buildpack = str(staged)
            cpython = cpython or _vendored_python() or ""
        yield PackSetup(pack, docker, buildpack, cpython or "3.12.*", workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _pack_build(
    setup: PackSetup, scenario: Scenario, image: str
) -> subprocess.CompletedProcess[str]:
    app = setup.workdir / f"app-{scenario.id}"
    # Sources with the scenario's modes (pack keeps the modes of the files it uploads).
    install_app(TESTDATA / scenario.app, app, User.current(), scenario.app_umask)
    command = [
        setup.pack, "build", image,
        "--builder", BUILDER,
        "--path", str(app),
        "--buildpack", CPYTHON,
        "--buildpack", setup.buildpack,
        "--env", f"BP_CPYTHON_VERSION={setup.cpython_version}",
        "--pull-policy", "if-not-present",
        "--trust-builder",
    ]  # fmt: skip
    for name, value in scenario.env.items():
        command += ["--env", f"{name}={value}"]
    if scenario.build_user.gid != 1000:
        command += ["--gid", str(scenario.build_user.gid)]
    return subprocess.run(command, capture_output=True, text=True, timeout=1800, check=False)


def _probe(setup: PackSetup, image: str, user: User) -> tuple[set[str], set[str]]:
    command = [setup.docker, "run", "--rm", "--user", f"{user.uid}:{user.gid}"]
    for group in user.groups:
        command += ["--group-add", str(group)]
    command += ["--entrypoint", "/bin/sh", image, "-c", PROBE]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    paths: set[str] = set()
    writable: set[str] = set()
    for line in result.stdout.splitlines():
        kind, _, path = line.partition(" ")
        path = "." if path == "." else path.removeprefix("./")
        (paths if kind == "A" else writable).add(path)
    return paths, writable


def _label(setup: PackSetup, image: str) -> list[str] | None:
    result = subprocess.run(
        [setup.docker, "image", "inspect", "--format", "{{json .Config.Labels}}", image],
        capture_output=True,
        text=True,
        check=True,
    )
    labels = json.loads(result.stdout) or {}
    value = labels.get("writable-paths")
    return None if value is None else list(json.loads(value))


@pytest.mark.parametrize("scenario", PACK_SCENARIOS, ids=[s.id for s in PACK_SCENARIOS])
def test_pack_build_then_run_user_writes_exactly_the_declared_paths(
    setup: PackSetup, scenario: Scenario
) -> None:
    image = f"wp-it-{scenario.id}:{uuid.uuid4().hex[:12]}"
    try:
        build = _pack_build(setup, scenario, image)
        output = build.stdout + build.stderr
        assert build.returncode == 0, output
        for warning in scenario.warnings:
            assert warning in output
        paths, writable = _probe(setup, image, scenario.run_user)
        expected = scenario.expected_writable(paths)
        assert writable == expected, (
            f"writable but not declared: {sorted(writable - expected)}; "
            f"declared but not writable: {sorted(expected - writable)}"
        )
        label = _label(setup, image)
        if scenario.declared:
            assert label is not None
            assert sorted(label) == sorted(f"/workspace/{root}" for root in scenario.declared)
    finally:
        subprocess.run(
            [setup.docker, "image", "rm", "--force", image], capture_output=True, check=False
        )
