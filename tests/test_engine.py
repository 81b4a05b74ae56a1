"""One pass over a real tree: real files, real modes, real groups."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
from pathlib import Path

import pytest
from support import BUILD_GID, needs_root, shown

from writable_paths.core.patterns import parse_file
from writable_paths.fs.apply import Applier
from writable_paths.fs.engine import Change, Pass, Summary

GID = BUILD_GID if os.geteuid() == 0 else os.getgid()


def make_app(root: Path, files: dict[str, int], dirs: dict[str, int] | None = None) -> Path:
    """Create ``files`` (path -> mode) and ``dirs`` (path -> mode) under ``root``."""
    for path, mode in sorted((dirs or {}).items()):
        (root / path).mkdir(parents=True, exist_ok=True)
        os.chmod(root / path, mode)
    for path, mode in files.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(path)
        os.chmod(target, mode)
    return root


def run(
    app: Path,
    patterns: str,
    strict: bool = True,
    dry_run: bool = False,
    changes: list[Change] | None = None,
) -> Summary:
    return Pass(
        parse_file(patterns.encode(), ".writable-paths"),
        strict=strict,
        gid=GID,
        applier=Applier(dry_run=dry_run),
        on_change=changes.append if changes is not None else None,
    ).run(str(app))


def mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def test_selected_directory_gets_group_write_and_setgid(tmp_path: Path) -> None:
    app = make_app(tmp_path, {"log/old.log": 0o644, "bin/run": 0o755}, {"log": 0o755})
    summary = run(app, "log/\n")
    assert mode(app / "log") == 0o2775
    assert os.stat(app / "log").st_gid == GID
    assert mode(app / "log/old.log") == 0o664
    assert os.stat(app / "log/old.log").st_gid == GID
    assert mode(app / "bin/run") == 0o755
    assert summary.roots == ["log"]
    assert (summary.selected_dirs, summary.selected_files) == (1, 1)


def test_selected_file_gets_group_execute_only_where_the_owner_has_it(tmp_path: Path) -> None:
    app = make_app(tmp_path, {"run.sh": 0o744, "data.db": 0o600})
    run(app, "run.sh\ndata.db\n")
    assert mode(app / "run.sh") == 0o774
    assert mode(app / "data.db") == 0o660


def test_selected_paths_lose_other_write(tmp_path: Path) -> None:
    app = make_app(tmp_path, {"media/a.png": 0o666}, {"media": 0o777})
    run(app, "media/\n")
    assert mode(app / "media") == 0o2775
    assert mode(app / "media/a.png") == 0o664


def test_strict_mode_tightens_every_unselected_path(tmp_path: Path) -> None:
    app = make_app(
        tmp_path,
        {"config/app.rb": 0o666, "public/index.html": 0o664, "log/x": 0o666},
        {"config": 0o777, "public": 0o775, "log": 0o777},
    )
    summary = run(app, "log/\n")
    assert mode(app / "config") == 0o755
    assert mode(app / "config/app.rb") == 0o644
    assert mode(app / "public") == 0o755
    assert mode(app / "public/index.html") == 0o644
    assert mode(app / "log/x") == 0o664
    assert summary.tightened == 4  # config, app.rb, public, index.html


def test_non_strict_mode_leaves_unselected_paths_alone(tmp_path: Path) -> None:
    app = make_app(tmp_path, {"config/app.rb": 0o666}, {"config": 0o777})
    os.chmod(app, 0o777)
    run(app, "log/\n", strict=False)
    assert mode(app / "config") == 0o777
    assert mode(app / "config/app.rb") == 0o666
    assert mode(app) == 0o775  # never world-writable, group bits kept


def test_app_root_loses_world_and_group_write_in_strict_mode(tmp_path: Path) -> None:
    app = make_app(tmp_path, {"a": 0o644})
    os.chmod(app, 0o777)
    run(app, "log/\n")
    assert mode(app) == 0o755


def test_literal_directory_is_created_with_parents(tmp_path: Path) -> None:
    app = make_app(tmp_path, {"Gemfile": 0o644})
    summary = run(app, "tmp/pids/\nlog/\n")
    assert summary.created == ["tmp", "tmp/pids", "log"]
    assert mode(app / "tmp/pids") == 0o2775
    assert mode(app / "tmp") == 0o755  # created, but not selected
    assert mode(app / "log") == 0o2775


def test_negated_literal_directory_is_not_created(tmp_path: Path) -> None:
    app = make_app(tmp_path, {"a": 0o644})
    summary = run(app, "tmp/\n!tmp/\n")
    assert summary.created == []
    assert not (app / "tmp").exists()


def test_file_in_the_way_of_a_directory_pattern_warns(tmp_path: Path) -> None:
    app = make_app(tmp_path, {"tmp": 0o644})
    summary = run(app, "tmp/pids/\n")
    assert "blocked" in summary.findings.counts
    assert "'tmp' is a file" in shown(summary)["blocked"][0]
    assert mode(app / "tmp") == 0o644


def test_symlink_is_never_followed_or_changed(tmp_path: Path) -> None:
    layer = make_app(
        tmp_path / "layer",
        {"node_modules/pkg/index.js": 0o644},
        {"node_modules": 0o755, "node_modules/pkg": 0o755},
    )
    app = make_app(tmp_path / "app", {"package.json": 0o644})
    os.symlink(layer / "node_modules", app / "node_modules")
    summary = run(app, "node_modules/.cache/\n")
    assert mode(layer / "node_modules") == 0o755
    assert not (layer / "node_modules/.cache").exists()
    assert summary.findings.counts["symlink"] == 1
    message = shown(summary)["symlink"][0]
    assert "node_modules/.cache/" in message
    assert "symlink" in message
    assert "unused" not in summary.findings.counts


def test_selected_symlink_is_left_alone_with_a_warning(tmp_path: Path) -> None:
    app = make_app(tmp_path / "app", {"real/x": 0o644}, {"real": 0o755})
    os.symlink("real", app / "uploads")
    summary = run(app, "uploads\n")
    assert mode(app / "real") == 0o755
    assert summary.findings.counts.get("symlink") == 1


def test_fifo_and_socket_are_left_alone(tmp_path: Path) -> None:
    app = make_app(tmp_path, {}, {"run": 0o777})
    os.mkfifo(app / "run/fifo", 0o666)
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(app / "run/sock"))
    try:
        os.chmod(app / "run/fifo", 0o666)
        summary = run(app, "run/*\n")
        assert mode(app / "run/fifo") == 0o666
        assert summary.findings.counts.get("special") == 2
    finally:
        sock.close()


def test_hard_link_outside_the_app_is_not_changed(tmp_path: Path) -> None:
    outside = make_app(tmp_path / "layer", {"shared.db": 0o644})
    app = make_app(tmp_path / "app", {}, {"data": 0o755})
    os.link(outside / "shared.db", app / "data/shared.db")
    group_before = os.stat(outside / "shared.db").st_gid
    summary = run(app, "data/\n")
    assert mode(outside / "shared.db") == 0o644
    assert os.stat(outside / "shared.db").st_gid == group_before
    assert summary.findings.counts.get("hardlink") == 1


def test_hard_links_inside_the_app_are_changed(tmp_path: Path) -> None:
    app = make_app(tmp_path, {"data/a.db": 0o644}, {"data": 0o755})
    os.link(app / "data/a.db", app / "b.db")
    summary = run(app, "data/\n")
    assert mode(app / "b.db") == 0o664
    assert "hardlink" not in summary.findings.counts


def test_unreadable_unselected_directory_warns_that_export_will_fail(tmp_path: Path) -> None:
    app = make_app(tmp_path, {"secret/x": 0o644}, {"secret": 0o755})
    os.chmod(app / "secret", 0o000)
    try:
        summary = run(app, "log/\n")
        if os.geteuid() != 0:
            assert "unreadable" in summary.findings.counts
    finally:
        os.chmod(app / "secret", 0o755)


def test_unreadable_selected_directory_is_opened_up(tmp_path: Path) -> None:
    app = make_app(tmp_path, {"cache/x": 0o644}, {"cache": 0o755})
    os.chmod(app / "cache", 0o000)
    run(app, "cache/\n")
    assert mode(app / "cache") == 0o2770
    assert mode(app / "cache/x") == 0o664


def test_patterns_that_select_nothing_are_reported_with_file_and_line(tmp_path: Path) -> None:
    app = make_app(tmp_path, {"log/a": 0o644})
    summary = run(app, "log/\nuploads/*\n./log\n")
    messages = shown(summary)["unused"]
    assert any(".writable-paths:2:uploads/*" in m for m in messages)
    assert any(".writable-paths:3:./log" in m and "without './'" in m for m in messages)


def test_a_second_run_changes_nothing(tmp_path: Path) -> None:
    app = make_app(tmp_path, {"log/a": 0o666, "config/b": 0o666}, {"log": 0o777, "config": 0o777})
    run(app, "log/\ntmp/pids/\n")
    snapshot = {p: os.lstat(p) for p in app.rglob("*")}
    changes: list[Change] = []
    second = run(app, "log/\ntmp/pids/\n", changes=changes)
    assert changes == []
    assert second.created == []
    assert {p: (os.lstat(p).st_mode, os.lstat(p).st_gid) for p in app.rglob("*")} == {
        p: (s.st_mode, s.st_gid) for p, s in snapshot.items()
    }


def test_dry_run_reports_changes_and_changes_nothing(tmp_path: Path) -> None:
    app = make_app(tmp_path, {"log/a": 0o644, "c": 0o666}, {"log": 0o755})
    changes: list[Change] = []
    summary = run(app, "log/\ntmp/pids/\n", dry_run=True, changes=changes)
    assert {c.path for c in changes} >= {"log", "log/a", "c"}
    assert summary.created == ["tmp", "tmp/pids"]
    assert not (app / "tmp").exists()
    again = run(app, "tmp/a/\ntmp/b/\n", dry_run=True)
    assert again.created == ["tmp", "tmp/a", "tmp/b"]
    assert mode(app / "log") == 0o755
    assert mode(app / "c") == 0o666


@needs_root
def test_files_of_another_group_end_in_the_build_gid_only_when_selected(tmp_path: Path) -> None:
    app = make_app(tmp_path, {"log/a": 0o644, "other": 0o644}, {"log": 0o755})
    for path in (app / "log", app / "log/a", app / "other"):
        os.chown(path, -1, 4242)
    run(app, "log/\n")
    assert os.stat(app / "log").st_gid == GID
    assert os.stat(app / "log/a").st_gid == GID
    assert os.stat(app / "other").st_gid == 4242


def test_deep_tree_needs_no_recursion(tmp_path: Path) -> None:
    app = tmp_path / "app"
    app.mkdir()
    fd = os.open(app, os.O_RDONLY)
    try:
        for _ in range(1500):  # deeper than the recursion limit and the open-fd budget
            os.mkdir("d", dir_fd=fd)
            os.chmod("d", 0o777, dir_fd=fd)
            nxt = os.open("d", os.O_RDONLY, dir_fd=fd)
            os.close(fd)
            fd = nxt
        os.mkdir("log", 0o755, dir_fd=fd)
    finally:
        os.close(fd)
    try:
        summary = run(app, "**/log/\n")
        assert summary.selected_dirs == 1
        assert summary.tightened == 1500
        assert len(summary.roots[0].split("/")) == 1501
    finally:
        # shutil.rmtree (and so pytest's cleanup) recurses; GNU rm does not.
        subprocess.run(["rm", "-rf", str(app)], check=True)


@pytest.mark.parametrize("name", ["with space", "-dash", "star*?[", "new\nline"])
def test_odd_names_are_matched_and_changed(tmp_path: Path, name: str) -> None:
    app = make_app(tmp_path, {f"up/{name}": 0o644}, {"up": 0o755})
    run(app, "up/\n")
    assert mode(app / "up" / name) == 0o664


def test_invalid_utf8_names_are_handled(tmp_path: Path) -> None:
    app = make_app(tmp_path, {}, {"up": 0o755})
    raw = os.path.join(os.fsencode(app), b"up", b"caf\xe9")
    with open(raw, "wb") as handle:
        handle.write(b"x")
    os.chmod(raw, 0o644)
    run(app, "up/caf?\n")
    assert stat.S_IMODE(os.lstat(raw).st_mode) == 0o664


def test_printable_escapes_what_would_break_a_line() -> None:
    from writable_paths.errors import printable

    assert printable("log/app.log") == "log/app.log"
    assert printable("new\nline") == "new\\x0aline"
    assert printable("caf\udce9") == "caf\\xe9"
    assert printable("café") == "café"
    assert printable("a\nb", keep_newlines=True) == "a\nb"


def test_printable_escapes_c1_separators_and_bidi_controls() -> None:
    from writable_paths.errors import printable

    forged = "x\u2028    Writable: etc"
    assert "\u2028" not in printable(forged)
    assert printable(forged) == "x\\u2028    Writable: etc"
    for code in (0x85, 0x9B, 0x2028, 0x2029, 0x202A, 0x202E, 0x2066, 0x2069, 0x200B):
        escaped = printable(f"a{chr(code)}b")
        assert escaped == f"a\\u{code:04x}b", hex(code)
    assert printable("a\u00a0b") == "a\u00a0b"  # a no-break space is no control
