"""buildpack.toml declares what the Buildpack API and Paketo conventions expect."""

from __future__ import annotations

import re

import tomllib
from support import REPO

from writable_paths.config import SETTING_NAMES

BUILDPACK = tomllib.loads((REPO / "buildpack.toml").read_text())
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())


def test_api_id_and_semver_version() -> None:
    assert BUILDPACK["api"] == "0.10"
    bp = BUILDPACK["buildpack"]
    assert bp["id"] == "community/writable-paths"
    assert bp["name"] == "Writable Paths Buildpack"
    assert re.fullmatch(r"\d+\.\d+\.\d+", bp["version"])
    assert bp["version"] == PYPROJECT["project"]["version"]
    for key in ("homepage", "description", "keywords", "licenses"):
        assert bp[key]


def test_targets_and_stacks() -> None:
    assert BUILDPACK["targets"] == [
        {"os": "linux", "arch": "amd64"},
        {"os": "linux", "arch": "arm64"},
    ]
    assert BUILDPACK["stacks"] == [{"id": "*"}]


def test_every_setting_is_documented_as_a_configuration() -> None:
    configurations = BUILDPACK["metadata"]["configurations"]
    assert sorted(c["name"] for c in configurations) == sorted(SETTING_NAMES)
    for c in configurations:
        assert c["build"] is True
        assert "default" in c
        assert c["description"]


def test_launcher_finds_the_version_the_title_shows() -> None:
    # bin/launcher.sh reads the first 'version = ' line without a TOML parser.
    first = next(
        line for line in (REPO / "buildpack.toml").read_text().splitlines() if "version = " in line
    )
    assert BUILDPACK["buildpack"]["version"] in first
