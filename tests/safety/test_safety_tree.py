"""Odd app trees: strange names, foreign groups and owners, special files,
unreadable directories, very deep and very wide trees."""

from __future__ import annotations

import json
import os

import pytest
import tomllib
from safety_sandbox import (
    BUILD_GID,
    BUILD_UID,
    OTHER_GID,
    Sandbox,
    needs_root,
    subtree,
)

pytestmark = needs_root


def label_roots(sb: Sandbox) -> set[str]:
    launch = tomllib.loads((sb.bp_layers / "launch.toml").read_text())
    return set(json.loads(launch["labels"][0]["value"]))


# -- names -------------------------------------------------------------------------

SELECTED_FILES = [b"new\nline", b"caf\xe9", b"*?[", b"back\\slash", b"trailing ", b"cr\r"]
SELECTED_DIRS = [b"with space", b"-rf", b"\xff\xfe"]
UNSELECTED = [b"--help", b"x?[", b"newline", b"caf", b"trailing", b"-", b"\t", b"cr"]
ODD_PATTERNS = (
    "new?line\ncaf?\n\\*\\?\\[\nback\\\\slash\ntrailing\\ \ncr?\nwith space/\n-rf/\n??/\n"
)


@pytest.mark.parametrize("level", ["INFO", "DEBUG"])
def test_odd_names_are_matched_byte_for_byte_and_reported(sb: Sandbox, level: str) -> None:
    for name in SELECTED_FILES + UNSELECTED:
        sb.write(name, "", 0o666)
    for name in SELECTED_DIRS:
        sb.write(name + b"/inner", "", 0o644)
    sb.patterns(ODD_PATTERNS)
    sb.env("BP_LOG_LEVEL", level)
    result = sb.build()
    assert result.returncode == 0, result
    for name in SELECTED_FILES:
        assert sb.mode(name) == 0o664, name
        assert sb.gid(name) == BUILD_GID
    for name in SELECTED_DIRS:
        assert sb.mode(name) == 0o2775, name
        assert sb.mode(name + b"/inner") == 0o664, name
    for name in UNSELECTED:
        assert sb.mode(name) == 0o644, name
    assert "Writable: -rf" in result.stdout
    assert "Writable: with space" in result.stdout
    if level == "DEBUG":
        assert "--help: -rw-rw-rw- -> -rw-r--r-- (not selected)" in result.stdout
        assert "caf\\xe9: -rw-rw-rw- -> -rw-rw-r-- (.writable-paths:2:caf?)" in result.stdout
        assert "-rf/inner: -rw-r--r-- -> -rw-rw-r-- (parent directory selected)" in result.stdout
    roots = label_roots(sb)
    for name in SELECTED_FILES + SELECTED_DIRS:
        assert os.fsdecode(bytes(sb.app) + b"/" + name) in roots


# -- groups and owners -----------------------------------------------------------------


def test_paths_in_another_group_of_the_build_user(sb: Sandbox) -> None:
    sb.mkdir("sel", 0o755, gid=OTHER_GID)
    sb.write("sel/a.txt", "", 0o644, gid=OTHER_GID)
    sb.write("sel/run.sh", "", 0o755, gid=OTHER_GID)
    sb.mkdir("unsel", 0o2775, gid=OTHER_GID)
    sb.write("unsel/b.txt", "", 0o664, gid=OTHER_GID)
    sb.write("unsel/c.txt", "", 0o640, gid=OTHER_GID)
    sb.patterns("/sel/\n")
    result = sb.build(groups=[OTHER_GID])
    assert result.returncode == 0, result
    assert (sb.mode("sel"), sb.gid("sel")) == (0o2775, BUILD_GID)
    assert (sb.mode("sel/a.txt"), sb.gid("sel/a.txt")) == (0o664, BUILD_GID)
    assert (sb.mode("sel/run.sh"), sb.gid("sel/run.sh")) == (0o775, BUILD_GID)
    assert (sb.mode("unsel"), sb.gid("unsel")) == (0o2755, OTHER_GID)
    assert (sb.mode("unsel/b.txt"), sb.gid("unsel/b.txt")) == (0o644, OTHER_GID)
    assert (sb.mode("unsel/c.txt"), sb.gid("unsel/c.txt")) == (0o640, OTHER_GID)


@pytest.mark.parametrize("owner", [0, 1002])
def test_selected_paths_of_another_user_fail_the_build_listing_them(
    sb: Sandbox, owner: int
) -> None:
    sb.write("data/mine.db", "", 0o644)
    sb.write("data/theirs.db", "", 0o644, uid=owner, gid=owner)
    sb.mkdir("data/theirs", 0o755, uid=owner, gid=owner)
    sb.write("data/theirs/ok.db", "", 0o644)  # the build user's, inside theirs
    sb.write("data/already-ok.db", "", 0o664, uid=owner, gid=BUILD_GID)
    sb.patterns("data/\n")
    result = sb.build()
    assert result.returncode == 1, result
    assert "Cannot make 2 selected path(s) writable" in result.stderr
    assert "  data/theirs.db: Operation not permitted" in result.stderr
    assert "  data/theirs: Operation not permitted" in result.stderr
    assert f"The build user (uid {BUILD_UID})" in result.stderr
    assert "owned by the build user" in result.stderr
    assert sb.mode("data/theirs.db") == 0o644
    # Everything the build user owns was still done; no label for a failed build.
    assert sb.mode("data/mine.db") == sb.mode("data/theirs/ok.db") == 0o664
    assert not (sb.bp_layers / "launch.toml").exists()


def test_unselected_paths_of_another_user_are_a_warning(sb: Sandbox) -> None:
    sb.write("config/shared.rb", "", 0o666, uid=0, gid=0)
    sb.mkdir("public", 0o777, uid=1002, gid=1002)
    sb.patterns("log/\n")
    result = sb.build()
    assert result.returncode == 0, result
    assert "'config/shared.rb' stays writable for others" in result.stdout
    assert "'public' stays writable for others" in result.stdout
    assert sb.mode("config/shared.rb") == 0o666


# -- special files -----------------------------------------------------------------------


def test_fifos_and_sockets_are_left_alone_and_never_opened(sb: Sandbox) -> None:
    sb.fifo("app.fifo", 0o644)
    sb.socket("app.sock", 0o755)
    sb.fifo("run/x.fifo", 0o600)
    sb.socket("run/x.sock", 0o777)
    sb.fifo("unselected.fifo", 0o666)
    sb.socket("unselected.sock", 0o777)
    sb.patterns("app.fifo\napp.sock\nrun/\n")
    result = sb.build()  # the invariant: their modes and groups did not change
    assert result.returncode == 0, result
    assert "'app.fifo' is a FIFO; left unchanged." in result.stdout
    assert "'app.sock' is a socket; left unchanged." in result.stdout
    assert sb.mode("run") == 0o2775


# -- unreadable directories ------------------------------------------------------------


@pytest.mark.parametrize("mode", [0o000, 0o111, 0o311, 0o333])
def test_an_unreadable_unselected_directory_is_named_in_a_warning(sb: Sandbox, mode: int) -> None:
    sb.write("locked/inner.txt", "", 0o666)
    os.chmod(sb.path("locked"), mode)
    sb.patterns("log/\n")
    result = sb.build()
    assert result.returncode == 0, result
    assert "'locked' cannot be read by the build user (Permission denied)" in result.stdout
    assert sb.mode("locked") == mode & ~0o022
    assert sb.mode("locked/inner.txt") == 0o666  # not reached, not changed


@pytest.mark.parametrize("mode", [0o000, 0o111, 0o644, 0o400])
def test_an_unreadable_selected_directory_is_opened_up(sb: Sandbox, mode: int) -> None:
    sb.write("locked/inner.txt", "", 0o644)
    sb.write("data/locked/inner.txt", "", 0o644)
    os.chmod(sb.path("locked"), mode)
    os.chmod(sb.path("data/locked"), mode)
    sb.patterns("/lock*/\n/data/\n")  # selected by a wildcard, and through its parent
    result = sb.build()
    assert result.returncode == 0, result
    assert "cannot be read" not in result.stdout
    expected = (mode | 0o770 | 0o2000) & ~0o002
    assert sb.mode("locked") == sb.mode("data/locked") == expected
    assert sb.mode("locked/inner.txt") == sb.mode("data/locked/inner.txt") == 0o664


@pytest.mark.parametrize("mode", [0o000, 0o111])
def test_an_unreadable_directory_named_by_a_literal_pattern_is_opened_up(
    sb: Sandbox, mode: int
) -> None:
    sb.write("locked/inner.txt", "", 0o644)
    os.chmod(sb.path("locked"), mode)
    sb.patterns("/locked/\n")
    result = sb.build()
    assert result.returncode == 0, result
    assert sb.mode("locked") == (mode | 0o770 | 0o2000) & ~0o002
    assert sb.mode("locked/inner.txt") == 0o664


@pytest.mark.parametrize("mode", [0o644, 0o600, 0o444])
def test_a_readable_but_unsearchable_unselected_directory_is_named_in_a_warning(
    sb: Sandbox, mode: int
) -> None:
    sb.write("noexec/inner.txt", "", 0o666)
    os.chmod(sb.path("noexec"), mode)
    sb.patterns("log/\n")
    result = sb.build()
    assert result.returncode == 0, result
    assert "'noexec' cannot be read by the build user" in result.stdout


def _blocked_parent(sb: Sandbox, case: str) -> None:
    if case == "root-owned":
        sb.mkdir("tmp", 0o755, uid=0, gid=0)
    elif case == "read-only":
        sb.mkdir("tmp", 0o555)
    else:
        sb.mkdir("tmp", 0o000)
    sb.patterns("log/\ntmp/pids/\n")


@pytest.mark.parametrize("case", ["root-owned", "read-only", "unreadable"])
def test_a_declared_directory_that_cannot_be_created_fails_the_build_naming_it(
    sb: Sandbox, case: str
) -> None:
    # The app would fail at run time writing there: the build cannot be right.
    _blocked_parent(sb, case)
    result = sb.build()
    assert result.returncode == 1, result
    assert "tmp/pids/: cannot create it (.writable-paths:2:tmp/pids/)" in result.stderr
    assert "Permission denied" in result.stderr
    assert not os.path.lexists(sb.path("tmp/pids"))
    assert "Created tmp/pids/" not in result.stdout


# -- big trees -----------------------------------------------------------------------


def _chain(sb: Sandbox, depth: int, mode: int) -> None:
    """app/d/d/.../d (``depth`` directories) with a file ``leaf`` at the bottom."""
    fd = os.open(sb.app, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for _ in range(depth):
            os.mkdir("d", mode, dir_fd=fd)
            nxt = os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = nxt
            os.fchown(fd, BUILD_UID, BUILD_GID)
            os.fchmod(fd, mode)
        leaf = os.open("leaf", os.O_CREAT | os.O_WRONLY, 0o644, dir_fd=fd)
        os.fchown(leaf, BUILD_UID, BUILD_GID)
        os.fchmod(leaf, 0o644)
        os.close(leaf)
    finally:
        os.close(fd)


def test_a_tree_5_000_levels_deep(sb: Sandbox) -> None:
    _chain(sb, 5000, 0o777)
    sb.patterns("**/leaf\n")
    result = sb.build(detect=False)
    assert result.returncode == 0, result
    app = subtree(result.after, b"app")
    bottom = b"app" + b"/d" * 5000
    assert app[bottom + b"/leaf"].mode == 0o664
    dirs = [node for path, node in app.items() if path.endswith(b"/d")]
    assert len(dirs) == 5000
    assert {node.mode for node in dirs} == {0o755}
    assert label_roots(sb) == {os.fsdecode(bytes(sb.app) + bottom[3:] + b"/leaf")}


def test_50_000_entries_in_one_directory(sb: Sandbox) -> None:
    big = sb.mkdir("big", 0o777)
    fd = os.open(big, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for i in range(50_000):
            f = os.open(f"f{i}", os.O_CREAT | os.O_WRONLY, 0o666, dir_fd=fd)
            os.fchown(f, BUILD_UID, BUILD_GID)
            os.fchmod(f, 0o666)
            os.close(f)
    finally:
        os.close(fd)
    sb.patterns("/big/f1*\n")
    result = sb.build(detect=False)
    assert result.returncode == 0, result
    modes: dict[int, int] = {}
    for path, node in subtree(result.after, b"app/big").items():
        if path == b"app/big":
            continue
        modes[node.mode] = modes.get(node.mode, 0) + 1
        assert path.startswith(b"app/big/f1") == (node.mode == 0o664), path
    assert modes == {0o664: 11_111, 0o644: 38_889}
    assert "Writable for the group: 0 directories and 11,111 files" in result.stdout
