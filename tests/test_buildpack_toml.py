"""buildpack.toml declares what the Buildpack API and Paketo conventions expect."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import pytest
import toml
import tomllib
from support import REPO

from writable_paths import __version__
from writable_paths.cnb.api import buildpack_title, toml_string, write_launch_label
from writable_paths.cnb.settings import SETTING_NAMES

BUILDPACK = tomllib.loads((REPO / "buildpack.toml").read_text())
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())


def test_api_id_and_semver_version() -> None:
    assert BUILDPACK["api"] == "0.10"
    bp = BUILDPACK["buildpack"]
    assert bp["id"] == "community-buildpacks/writable-paths"
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


def test_the_title_constants_are_buildpack_tomls() -> None:
    assert buildpack_title() == (
        f"{BUILDPACK['buildpack']['name']} {BUILDPACK['buildpack']['version']}"
    )
    assert __version__ == BUILDPACK["buildpack"]["version"]


def _awkward_paths(seed: int) -> list[str]:
    """Paths as the walk hands them over: any character, and lone surrogates
    for name bytes that are not UTF-8."""
    rng = random.Random(seed)
    alphabet = ['"', "\\", "\n", "\t", "\x00", "\x1f", "\x7f", "é", "\u2028", "\U0001f600"]
    alphabet += ["\udcff", "\udc80", "'", "/", " ", "a", "[", "]", "=", "#"]
    return [
        "/workspace/" + "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
        for _ in range(rng.randint(0, 6))
    ]


@pytest.mark.parametrize("seed", range(40))
def test_the_launch_label_reads_back_as_json_dumps_wrote_it(tmp_path: Path, seed: int) -> None:
    roots = _awkward_paths(seed)
    path = write_launch_label(str(tmp_path), roots)
    text = Path(path).read_text(encoding="ascii")
    expected = [{"key": "writable-paths", "value": json.dumps(roots)}]
    assert tomllib.loads(text)["labels"] == expected
    assert toml.loads(text)["labels"] == expected
    assert json.loads(expected[0]["value"]) == roots


def test_toml_strings_escape_what_toml_forbids() -> None:
    assert toml_string('a"b\\c') == '"a\\"b\\\\c"'
    assert toml_string("\x7f\x00") == '"\\u007F\\u0000"'
    with pytest.raises(ValueError, match="ASCII"):
        toml_string("é")
