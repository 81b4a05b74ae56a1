"""Symlinks and hard links: the build never reaches through them out of the app.

Every run checks the invariant (``Sandbox.run``): nothing outside the app dir and
this buildpack's layers dir changes, symlinks themselves never change, and the
output holds no traceback.
"""

from __future__ import annotations

import os

import pytest
from safety_sandbox import BUILD_GID, OTHER_GID, Sandbox, needs_root

from writable_paths.fs.parallel import START_AFTER, worker_count

pytestmark = needs_root


def _symlink_tree(sb: Sandbox) -> None:
    sb.write("real.txt", "r", 0o666)
    sb.write("real/inner.txt", "i", 0o666)
    os.chmod(sb.path("real"), 0o777)
    sb.symlink("escape", "/etc")
    sb.symlink("up", "../outside")
    sb.symlink("sub/up", "../../outside")
    sb.symlink("abs", str(sb.outside))
    sb.symlink("loop", "loop")
    sb.symlink("ping", "pong")
    sb.symlink("pong", "ping")
    sb.symlink("other", "../layers/other-bp")
    sb.symlink("node_modules", "../layers/other-bp/node_modules")
    sb.symlink("libfoo.so", "../layers/other-bp/lib/libfoo.so")
    sb.symlink("shared.txt", str(sb.other / "shared.txt"))
    sb.symlink("dangling", "nowhere/at/all")
    sb.symlink("dangling-out", "../outside/new-dir")


SYMLINKS = (
    "escape",
    "up",
    "sub/up",
    "abs",
    "loop",
    "ping",
    "pong",
    "other",
    "node_modules",
    "libfoo.so",
    "shared.txt",
    "dangling",
    "dangling-out",
)


@pytest.mark.parametrize("pattern", ["*", "**", "**/*", "/*", "*/", "**/"])
def test_patterns_selecting_everything_leave_symlinks_and_their_targets_alone(
    sb: Sandbox, pattern: str
) -> None:
    _symlink_tree(sb)
    sb.patterns(pattern + "\n")
    result = sb.build()
    assert result.returncode == 0, result
    if pattern.endswith("/"):  # directories only: real.txt is tightened
        assert sb.mode("real.txt") == 0o644
    else:
        assert sb.mode("real.txt") == 0o664
    assert sb.mode("real") == 0o2775
    assert sb.mode("real/inner.txt") == 0o664
    # The symlinks a pattern selected are named in a warning, with their target.
    assert "'escape' is a symlink (-> /etc)" in result.stdout
    assert "'shared.txt' is a symlink" in result.stdout
    assert "never follows symlinks" in result.stdout
    # Nothing was created through a dangling symlink.
    assert not (sb.outside / "new-dir").exists()


@pytest.mark.parametrize(
    ("pattern", "named"),
    [
        ("escape/", "escape"),
        ("escape/passwd", "escape"),
        ("up/**", "up"),
        ("up/cache/", "up"),
        ("sub/up/x/", "sub/up"),
        ("abs/shared.txt", "abs"),
        ("loop/x/", "loop"),
        ("ping/pong/", "ping"),
        ("other/cache/", "other"),
        ("node_modules/.cache/", "node_modules"),
        ("node_modules/pkg/", "node_modules"),
        ("dangling/", "dangling"),
        ("dangling-out/", "dangling-out"),
        ("dangling-out/x/y/", "dangling-out"),
    ],
)
def test_a_pattern_reaching_through_a_symlink_gets_a_warning_and_changes_nothing_there(
    sb: Sandbox, pattern: str, named: str
) -> None:
    _symlink_tree(sb)
    sb.patterns(pattern + "\n")
    result = sb.build()
    assert result.returncode == 0, result
    assert f"'{named}' is a symlink" in result.stdout, result
    assert not (sb.outside / "new-dir").exists()
    assert not (sb.other / "node_modules" / ".cache").exists()
    # Not selected, so tightened (strict mode).
    assert sb.mode("real.txt") == 0o644
    assert sb.mode("real") == 0o755


def test_a_directory_symlink_matched_by_double_star_is_not_entered(sb: Sandbox) -> None:
    _symlink_tree(sb)
    sb.patterns("**/pkg/\n**/index.js\nnode_modules/**\n")
    result = sb.build()
    assert result.returncode == 0, result
    assert "'node_modules' is a symlink" in result.stdout
    # node_modules/pkg/index.js lives in the other layer, mode 0664: untouched
    # (checked by the invariant), and nothing in the app was selected.
    assert sb.mode("real/inner.txt") == 0o644


def test_symlinks_are_not_selection_roots_in_the_label(sb: Sandbox) -> None:
    _symlink_tree(sb)
    sb.patterns("*\n")
    assert sb.build().returncode == 0
    label = (sb.bp_layers / "launch.toml").read_text()
    assert f"{sb.app}/real.txt" in label
    assert "escape" not in label
    assert "node_modules" not in label


# -- hard links ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "name"),
    [
        ("data/\n", "data/db"),  # selected: would become group-writable and change group
        ("log/\n", "config.db"),  # not selected: strict mode would tighten it
        ("config.db\n", "config.db"),  # selected by name
    ],
)
def test_a_file_hard_linked_into_another_layer_is_left_unchanged(
    sb: Sandbox, pattern: str, name: str
) -> None:
    # The other layer's file is the build user's, world-writable and in another
    # group the build user belongs to: any change to the app's link would show.
    target = sb.other / "shared.txt"
    os.chown(target, 1001, OTHER_GID)
    os.chmod(target, 0o666)
    sb.hardlink(name, target)
    sb.patterns(pattern)
    result = sb.build(groups=[OTHER_GID])
    assert result.returncode == 0, result
    assert f"'{name}' has hard links outside the app directory" in result.stdout
    assert "(2 links, 1 inside)" in result.stdout
    assert sb.mode(name) == 0o666
    assert sb.gid(name) == OTHER_GID


def test_two_hard_links_inside_the_app_are_changed_together(sb: Sandbox) -> None:
    sb.write("data/db", "x", 0o644, gid=OTHER_GID)
    sb.hardlink("backup/db", sb.path("data/db"))
    sb.write("plain/a", "a", 0o666)
    sb.hardlink("plain/b", sb.path("plain/a"))
    sb.patterns("data/\n")
    result = sb.build(groups=[OTHER_GID])
    assert result.returncode == 0, result
    assert "hard links outside" not in result.stdout
    # One inode, one mode: the selected link decides.
    assert sb.mode("data/db") == sb.mode("backup/db") == 0o664
    assert sb.gid("backup/db") == BUILD_GID
    # Both links unselected: tightened once.
    assert sb.mode("plain/b") == 0o644


def test_hard_links_inside_the_app_are_changed_in_non_strict_mode(sb: Sandbox) -> None:
    sb.write("data/db", "x", 0o644)
    sb.hardlink("backup/db", sb.path("data/db"))
    sb.patterns("/data/\n")
    sb.env("BP_WRITABLE_PATHS_STRICT", "false")
    result = sb.build()
    assert result.returncode == 0, result
    assert "hard links outside" not in result.stdout
    assert sb.mode("data/db") == 0o664


@pytest.mark.parametrize("pattern", ["*", "**/", "/deep/*/up/cache/", "deep/**/escape/"])
def test_worker_processes_never_reach_through_symlinks_either(sb: Sandbox, pattern: str) -> None:
    """A tree large enough for worker processes, with the same links deep down
    where the workers walk: the invariant holds for them too."""
    workers = worker_count()
    if workers < 2:
        pytest.skip("one CPU: the build walks alone")
    for i in range(3 * START_AFTER):
        sb.write(f"deep/d{i}/file.txt", "x", 0o666)
        if i % 50 == 0:
            sb.symlink(f"deep/d{i}/escape", "/etc")
            sb.symlink(f"deep/d{i}/up", "../../../outside")
            sb.symlink(f"deep/d{i}/shared.txt", str(sb.other / "shared.txt"))
            os.link(sb.outside / "x", sb.path(f"deep/d{i}/hard-link-out"))
    _symlink_tree(sb)
    sb.patterns(pattern + "\n")
    result = sb.build()
    assert result.returncode == 0, result
    assert f"{workers} worker processes" in result.stdout
    assert not (sb.outside / "cache" / "x").exists()
