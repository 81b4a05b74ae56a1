"""package/release.py: the tag workflow's checks, release notes and registry request,
run as the workflow runs them, on real files."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib
from support import REPO

RELEASE = REPO / "package" / "release.py"
DIGEST = "sha256:" + "0123456789abcdef" * 4
ADDRESS = f"ghcr.io/community-buildpacks/writable-paths@{DIGEST}"

CHANGELOG = """\
# Changelog

## 0.3.0 (unreleased)

### Added
- Something not out yet.

## 0.2.0 (2026-12-02)

### Changed
- What 0.2.0 changed.

### Added
- What 0.2.0 added.

## [0.1.0] - 2026-11-01

- The first version.
"""


def release(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(RELEASE), "--root", str(root), *args],
        capture_output=True,
        text=True,
        check=False,
    )


def project(tmp_path: Path, version: str = "0.2.0", changelog: str = CHANGELOG) -> Path:
    """A repository root with this project's buildpack.toml at ``version``."""
    text = (REPO / "buildpack.toml").read_text()
    current = tomllib.loads(text)["buildpack"]["version"]
    (tmp_path / "buildpack.toml").write_text(
        text.replace(f'version = "{current}"', f'version = "{version}"', 1)
    )
    (tmp_path / "CHANGELOG.md").write_text(changelog)
    return tmp_path


def test_a_tag_that_names_the_version_with_a_released_entry_passes(tmp_path: Path) -> None:
    result = release(project(tmp_path), "check-tag", "v0.2.0")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "tag v0.2.0 releases community-buildpacks/writable-paths 0.2.0\n"


@pytest.mark.parametrize("tag", ["v0.2.1", "0.2.0", "v0.2.0-rc.1", "v0.2"])
def test_a_tag_other_than_v_and_the_version_fails_and_says_how_to_fix_it(
    tmp_path: Path, tag: str
) -> None:
    result = release(project(tmp_path), "check-tag", tag)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == (
        f"release: tag {tag!r} does not match buildpack.toml's version '0.2.0' (the tag for it"
        f" is v0.2.0): delete the tag (git push --delete origin {tag}), or set that version in"
        " buildpack.toml, pyproject.toml and package.toml's uri, add its CHANGELOG.md entry,"
        " commit, and tag that commit\n"
    )


def test_a_version_marked_unreleased_in_the_changelog_fails_naming_the_line(
    tmp_path: Path,
) -> None:
    result = release(project(tmp_path, version="0.3.0"), "check-tag", "v0.3.0")
    assert result.returncode == 1
    assert result.stderr == (
        f"release: {tmp_path / 'CHANGELOG.md'}:3: the entry for 0.3.0 is marked unreleased:"
        " write its date instead (## 0.3.0 (YYYY-MM-DD)) and commit\n"
    )


def test_a_version_without_a_changelog_entry_fails(tmp_path: Path) -> None:
    result = release(project(tmp_path, version="0.4.0"), "check-tag", "v0.4.0")
    assert result.returncode == 1
    assert result.stderr == (
        f"release: {tmp_path / 'CHANGELOG.md'}: no entry '## 0.4.0': add one that says what"
        " changed for users (it becomes the release's description)\n"
    )


def test_an_empty_changelog_entry_fails(tmp_path: Path) -> None:
    root = project(tmp_path, changelog="# Changelog\n\n## 0.2.0 (2026-12-02)\n\n\n## 0.1.0\n- x\n")
    result = release(root, "check-tag", "v0.2.0")
    assert result.returncode == 1
    assert "CHANGELOG.md:3: the entry for 0.2.0 is empty" in result.stderr


def test_the_notes_are_the_entry_of_that_version_only(tmp_path: Path) -> None:
    result = release(project(tmp_path), "notes", "0.2.0")
    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        "### Changed\n- What 0.2.0 changed.\n\n### Added\n- What 0.2.0 added.\n"
    )
    last = release(project(tmp_path), "notes", "0.1.0")  # [0.1.0] - date, the last entry
    assert last.stdout == "- The first version.\n"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "buildpack.toml: cannot read it (No such file or directory)"),
        ('[buildpack\nid = "x"\n', "buildpack.toml: not valid TOML"),
        ('[buildpack]\nid = "a/b"\n', "buildpack.toml: [buildpack] has no version string"),
    ],
)
def test_an_unreadable_buildpack_toml_fails_naming_it(
    tmp_path: Path, content: str | None, message: str
) -> None:
    (tmp_path / "CHANGELOG.md").write_text(CHANGELOG)
    if content is not None:
        (tmp_path / "buildpack.toml").write_text(content)
    result = release(tmp_path, "check-tag", "v0.2.0")
    assert result.returncode == 1
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_the_registry_request_is_what_the_registry_index_parses(tmp_path: Path) -> None:
    """The index's workflow strips the code fences and reads the body as TOML
    (buildpacks/github-actions: registry/compute-metadata); pack's title is ADD id@version."""
    body_file = tmp_path / "request.md"
    result = release(
        project(tmp_path), "registry-request", "--address", ADDRESS, "--body-file", str(body_file)
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "ADD community-buildpacks/writable-paths@0.2.0\n"
    body = body_file.read_text()
    assert body.startswith("```\n")
    assert body.endswith("```\n")
    assert tomllib.loads(body.replace("```", "")) == {
        "id": "community-buildpacks/writable-paths",
        "version": "0.2.0",
        "addr": ADDRESS,
    }


@pytest.mark.parametrize(
    "address",
    [
        "ghcr.io/community-buildpacks/writable-paths:0.2.0",  # a tag, not a digest
        "community-buildpacks/writable-paths@" + DIGEST,  # no registry host
        "ghcr.io/Community/writable-paths@" + DIGEST,  # uppercase repository
        "ghcr.io/community-buildpacks/writable-paths@sha256:abc",
        ADDRESS + "\naddr = 'injected'",
    ],
)
def test_the_registry_request_needs_the_image_by_digest(tmp_path: Path, address: str) -> None:
    body_file = tmp_path / "request.md"
    result = release(
        project(tmp_path), "registry-request", "--address", address, "--body-file", str(body_file)
    )
    assert result.returncode == 1
    assert "the registry needs the image by digest" in result.stderr
    assert not body_file.exists()


@pytest.mark.parametrize(
    ("buildpack_id", "message"),
    [
        ("writable-paths", "exactly one '/'"),
        ("a/b/c", "exactly one '/'"),
        ("Community/writable-paths", "the namespace 'Community' must be 1 to 253 of a-z"),
        ("community/writable_paths", "the name 'writable_paths' must be 1 to 253 of a-z"),
        ("buildpacks/writable-paths", "the registry reserves the namespace 'buildpacks'"),
        ("examples/writable-paths", "the registry reserves the namespace 'examples'"),
    ],
)
def test_the_registry_request_refuses_an_id_the_registry_refuses(
    tmp_path: Path, buildpack_id: str, message: str
) -> None:
    root = project(tmp_path)
    toml = root / "buildpack.toml"
    toml.write_text(toml.read_text().replace("community-buildpacks/writable-paths", buildpack_id))
    result = release(root, "registry-request", "--address", ADDRESS, "--body-file", "unused")
    assert result.returncode == 1
    assert message in result.stderr


def test_this_project_can_be_released_to_the_registry_under_its_id(tmp_path: Path) -> None:
    """This repository's own buildpack.toml: an id and version the registry accepts."""
    root = tmp_path / "repo"
    root.mkdir()
    shutil.copy(REPO / "buildpack.toml", root)
    body_file = tmp_path / "request.md"
    result = release(root, "registry-request", "--address", ADDRESS, "--body-file", str(body_file))
    assert result.returncode == 0, result.stderr
    version = tomllib.loads((REPO / "buildpack.toml").read_text())["buildpack"]["version"]
    assert result.stdout == f"ADD community-buildpacks/writable-paths@{version}\n"


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


@pytest.fixture
def clone(tmp_path: Path) -> tuple[Path, str, str]:
    """A full clone (as actions/checkout with fetch-depth: 0 makes it) of a repository
    with one commit on main and one on a branch that was never merged; owned by another
    user where we are root, as the runner's workspace is in a container job."""
    if shutil.which("git") is None:
        pytest.skip("no git")
    origin = tmp_path / "origin"
    origin.mkdir()
    git(origin, "init", "-q", "-b", "main")
    git(origin, "commit", "-q", "--allow-empty", "-m", "on main")
    merged = git(origin, "rev-parse", "HEAD")
    git(origin, "checkout", "-q", "-b", "side")
    git(origin, "commit", "-q", "--allow-empty", "-m", "never merged")
    unmerged = git(origin, "rev-parse", "HEAD")
    checkout = tmp_path / "checkout"
    git(tmp_path, "clone", "-q", str(origin), str(checkout))
    if os.geteuid() == 0:
        for path in (checkout, *checkout.rglob("*")):
            os.lchown(path, 1001, 1000)
    return checkout, merged, unmerged


def test_only_a_commit_of_main_is_released(clone: tuple[Path, str, str]) -> None:
    checkout, merged, unmerged = clone
    git(checkout, "-c", f"safe.directory={checkout}", "checkout", "-q", "--detach", merged)
    result = release(checkout, "check-on-branch", "main")
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"commit {merged} is on main\n"
    git(checkout, "-c", f"safe.directory={checkout}", "checkout", "-q", "--detach", unmerged)
    result = release(checkout, "check-on-branch", "main")
    assert result.returncode == 1
    assert result.stderr.startswith(f"release: commit {unmerged} is not on main: only a merged")
    assert "delete the tag" in result.stderr


def test_a_checkout_without_the_branch_says_to_fetch_every_branch(
    clone: tuple[Path, str, str],
) -> None:
    checkout, _merged, _unmerged = clone
    result = release(checkout, "check-on-branch", "release-1.x")
    assert result.returncode == 1
    assert "has no origin/release-1.x: check out with fetch-depth: 0" in result.stderr
    result = release(checkout.parent, "check-on-branch", "main")
    assert result.returncode == 1
    assert f"release: {checkout.parent}: not a git checkout" in result.stderr
    assert "Traceback" not in result.stderr
