"""The safety suite's own checks: the sandbox, the snapshot and the invariant catch
what they must (a check that can never fail proves nothing)."""

from __future__ import annotations

import os

from safety_sandbox import (
    BUILD_UID,
    Sandbox,
    allowed_changes,
    needs_root,
    snapshot,
    subtree,
)

pytestmark = needs_root


def test_the_sandbox_is_reachable_by_the_build_user(sb: Sandbox) -> None:
    assert os.stat(sb.root).st_mode & 0o7777 == 0o755
    assert os.stat(sb.app).st_mode & 0o7777 == 0o777
    for path in (sb.app, sb.bp_layers, sb.other, sb.outside):
        assert os.stat(path).st_uid == BUILD_UID
    snap = sb.snapshot()
    assert {b"app", b"buildpack/bin/build", b"layers/other-bp/shared.txt", b"outside/x"} <= set(
        snap
    )


def test_a_change_outside_the_app_is_caught(sb: Sandbox) -> None:
    before = sb.snapshot()
    os.chmod(sb.other / "shared.txt", 0o644)
    os.chown(sb.outside / "x", BUILD_UID, 4242)
    (sb.outside / "cache" / "new").mkdir()
    (sb.buildpack / "bin" / "extra").write_text("")
    problems = allowed_changes(before, sb.snapshot())
    assert len(problems) == 4, problems
    assert all(p.startswith("outside the app") for p in problems)


def test_a_change_the_rules_do_not_allow_inside_the_app_is_caught(sb: Sandbox) -> None:
    sb.write("a.txt", "a", 0o644)
    sb.write("b.txt", "b", 0o644)
    sb.write("c.txt", "c", 0o644)
    sb.symlink("link", "a.txt")
    before = sb.snapshot()
    os.chmod(sb.path("a.txt"), 0o777)  # not a rule's result
    sb.path("b.txt").write_text("changed")  # content
    os.unlink(sb.path("c.txt"))  # removal
    os.chown(sb.path("link"), BUILD_UID, 4242, follow_symlinks=False)  # a symlink's group
    sb.write("new.txt")  # a new file
    problems = allowed_changes(before, sb.snapshot())
    assert len(problems) == 5, problems


def test_changes_the_rules_allow_pass(sb: Sandbox) -> None:
    sb.write("log/a.log", "", 0o644, gid=4242)
    sb.write("config/x.rb", "", 0o666)
    before = sb.snapshot()
    os.chown(sb.path("log/a.log"), BUILD_UID, 1000)
    os.chmod(sb.path("log/a.log"), 0o664)
    os.chmod(sb.path("log"), 0o2775)
    os.chmod(sb.path("config/x.rb"), 0o644)
    os.chmod(sb.app, 0o755)
    sb.mkdir("tmp")
    (sb.bp_layers / "launch.toml").write_text("")
    assert allowed_changes(before, sb.snapshot()) == []


def test_the_snapshot_walks_trees_deeper_than_path_max(sb: Sandbox) -> None:
    fd = os.open(sb.app, os.O_RDONLY)
    try:
        for _ in range(3000):
            os.mkdir("dd", dir_fd=fd)
            nxt = os.open("dd", os.O_RDONLY, dir_fd=fd)
            os.close(fd)
            fd = nxt
    finally:
        os.close(fd)
    app = subtree(snapshot(sb.root), b"app")
    assert len(app) == 3001
    assert max(len(k) for k in app) > 4096
