"""The ``writable-paths`` command on real fixture apps: output, exit codes, no changes."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from writable_paths.cli import main as cli
from writable_paths.cli import manifest, starter
from writable_paths.cnb.settings import Settings
from writable_paths.cnb.sources import load_patterns
from writable_paths.core.patterns import parse_file
from writable_paths.errors import UserError
from writable_paths.fs.apply import Applier
from writable_paths.fs.engine import Pass

SCRIPT = Path(sys.executable).parent / "writable-paths"
BP_VARS = (
    "BP_WRITABLE_PATHS",
    "BP_WRITABLE_PATHS_FILE",
    "BP_WRITABLE_PATHS_STRICT",
    "BP_LOG_LEVEL",
)


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in BP_VARS:
        monkeypatch.delenv(name, raising=False)


# -- fixture apps --------------------------------------------------------------


def make(root: Path, files: dict[str, str], modes: dict[str, int] | None = None) -> Path:
    """Files (path -> text; a path ending in '/' is an empty directory), then modes."""
    root.mkdir(parents=True, exist_ok=True)
    for path, text in files.items():
        target = root / path
        if path.endswith("/"):
            target.mkdir(parents=True, exist_ok=True)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    for path, mode in (modes or {}).items():
        os.chmod(root / path, mode)
    return root


def rails(root: Path, patterns: str | None = "tmp/pids/\ntmp/cache/\nlog/\n") -> Path:
    files = {
        "Gemfile": "source 'https://rubygems.org'\ngem 'rails'\n",
        "config/application.rb": "module App; class Application; end; end\n",
        "config/database.yml": "production: {}\n",
        "app/controllers/application_controller.rb": "class ApplicationController; end\n",
        "log/.keep": "",
        "tmp/cache/.keep": "",
        "public/robots.txt": "User-agent: *\n",
    }
    if patterns is not None:
        files[".writable-paths"] = patterns
    return make(root, files)


def laravel(root: Path, patterns: str | None = "storage/\nbootstrap/cache/\n") -> Path:
    files = {
        "artisan": "#!/usr/bin/env php\n<?php\n",
        "composer.json": "{}\n",
        "storage/app/public/.gitignore": "*\n",
        "storage/framework/views/.gitignore": "*\n",
        "storage/logs/.gitignore": "*\n",
        "bootstrap/cache/.gitignore": "*\n",
        "bootstrap/app.php": "<?php\n",
        "vendor/laravel/framework/src/Storage/Disk.php": "<?php\n",
    }
    if patterns is not None:
        files[".writable-paths"] = patterns
    return make(root, files)


def django(root: Path, patterns: str | None = "media/\ndata/\n") -> Path:
    files = {
        "manage.py": "#!/usr/bin/env python\n",
        "mysite/settings.py": "MEDIA_ROOT = 'media'\n",
        "media/uploads/photo.jpg": "jpg",
        "data/": "",
    }
    if patterns is not None:
        files[".writable-paths"] = patterns
    return make(root, files)


def node(root: Path, patterns: str | None = ".next/cache/\n", link_modules: bool = True) -> Path:
    files = {
        "package.json": json.dumps({"dependencies": {"next": "14.2.0", "react": "18"}}),
        "pages/index.js": "export default () => null\n",
        ".next/server/app.js": "",
    }
    if patterns is not None:
        files[".writable-paths"] = patterns
    app = make(root, files)
    if link_modules:
        layer = root.parent / (root.name + "-layer") / "node_modules"
        layer.mkdir(parents=True)
        (app / "node_modules").symlink_to(layer)
    return app


def snapshot(app: Path) -> dict[str, tuple[int, int, int]]:
    """Every path's full mode, group and inode, symlinks included (not followed)."""
    seen: dict[str, tuple[int, int, int]] = {}
    for dirpath, dirnames, filenames in os.walk(app):
        for name in [".", *dirnames, *filenames]:
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            seen[os.path.relpath(path, app)] = (st.st_mode, st.st_gid, st.st_ino)
    return seen


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any]:
    code, out, err = run(capsys, *argv)
    assert err == ""
    return code, json.loads(out)


# -- check ---------------------------------------------------------------------


def test_check_lists_roots_with_their_pattern_and_created_directories(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = rails(tmp_path / "app")
    code, out, err = run(capsys, "check", str(app))
    assert (code, err) == (0, "")
    rows = {line.split()[0]: line for line in out.splitlines() if "  .writable-paths:" in line}
    assert ".writable-paths:3:log/" in rows["log/"]
    assert ".writable-paths:2:tmp/cache/" in rows["tmp/cache/"]
    assert ".writable-paths:1:tmp/pids/ (created by the build)" in rows["tmp/pids/"]
    assert "Created by the build: 1 directory" in out
    assert "log/.keep" not in out  # only the roots without --all
    assert "Warnings (" not in out


def test_check_changes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    app = rails(tmp_path / "app")
    make(app, {"public/up.txt": "", "shared/": ""}, {"public/up.txt": 0o666, "shared": 0o777})
    os.chmod(app, 0o777)
    before = snapshot(app)
    for argv in (
        ["check", str(app)],
        ["check", "--all", "--json", str(app)],
        ["explain", "--app", str(app), "log", "tmp/pids/", "public/up.txt", "."],
        ["manifest", str(app), "--format", "kubernetes"],
        ["manifest", str(app), "--format", "compose"],
    ):
        assert cli.main(argv) == 0
    capsys.readouterr()
    assert snapshot(app) == before
    assert not (app / "tmp/pids").exists()


def test_check_all_lists_every_entry_and_what_strict_mode_tightens(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = rails(tmp_path / "app")
    make(app, {"log/old.log": "x", "public/up.txt": ""}, {"public/up.txt": 0o664})
    code, out, _ = run(capsys, "check", str(app))
    assert "Made read-only for group and others: 1 path (--all lists them)" in out
    code, out, _ = run(capsys, "check", "--all", str(app))
    assert code == 0
    assert re.search(r"^    log/old\.log +\.writable-paths:3:log/ \(inside log/\)$", out, re.M)
    assert re.search(r"^    public/up\.txt$", out, re.M)
    assert "Writable for the group: 3 directories and 3 files under 3 selection roots" in out


def test_check_json_schema(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    app = rails(tmp_path / "app", "tmp/pids/\nlog/\nnothing-here/\n")
    make(app, {"public/up.txt": ""}, {"public/up.txt": 0o666})
    code, data = run_json(capsys, "check", "--json", str(app))
    assert code == 0
    assert {"selected", "tightened", "created", "warnings", "errors"} <= data.keys()
    assert data["valid"] is True
    assert data["strict"] is True
    assert data["selected"] == [
        {
            "path": "log",
            "type": "directory",
            "root": True,
            "source": ".writable-paths:2:log/",
            "via": None,
            "created": False,
            "writable": True,
        },
        {
            "path": "nothing-here",
            "type": "directory",
            "root": True,
            "source": ".writable-paths:3:nothing-here/",
            "via": None,
            "created": True,
            "writable": True,
        },
        {
            "path": "tmp/pids",
            "type": "directory",
            "root": True,
            "source": ".writable-paths:1:tmp/pids/",
            "via": None,
            "created": True,
            "writable": True,
        },
    ]
    assert data["tightened"] == {"count": 1, "paths": None}
    assert data["created"] == ["tmp/pids", "nothing-here"]
    assert data["writable"] == {"directories": 3, "files": 1}
    assert data["warnings"] == []
    assert data["errors"] == []

    code, data = run_json(capsys, "check", "--json", "--all", str(app))
    assert data["tightened"] == {"count": 1, "paths": ["public/up.txt"]}
    inside = [s for s in data["selected"] if not s["root"]]
    assert inside == [
        {
            "path": "log/.keep",
            "type": "file",
            "root": False,
            "source": ".writable-paths:2:log/",
            "via": "log",
            "created": False,
            "writable": True,
        }
    ]


def test_check_agrees_with_a_real_build(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    app = laravel(tmp_path / "app", "storage/*\n!storage/app\nbootstrap/cache/\ntmp/pids/\n")
    code, data = run_json(capsys, "check", "--json", "--all", str(app))
    assert code == 0
    planned_roots = sorted(s["path"] for s in data["selected"] if s["root"])
    planned_all = sorted(s["path"] for s in data["selected"])

    selected: list[str] = []
    summary = Pass(
        load_patterns(str(app), Settings()),
        strict=True,
        gid=os.getgid(),
        applier=Applier(),
        on_decision=lambda entry, d: selected.append(entry.path) if d.selected else None,
    ).run(str(app))
    assert planned_roots == sorted(summary.roots)
    assert planned_all == sorted(selected)
    assert data["created"] == summary.created


def test_check_reads_the_environment_like_the_build(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    app = django(tmp_path / "app", None)
    make(app, {"config/writable-paths": "media/\n"})
    monkeypatch.setenv("BP_WRITABLE_PATHS_FILE", "config/writable-paths")
    monkeypatch.setenv("BP_WRITABLE_PATHS", "data/:cache\\:x")
    monkeypatch.setenv("BP_WRITABLE_PATHS_STRICT", "false")
    code, out, _ = run(capsys, "check", str(app))
    assert code == 0
    assert "config/writable-paths: 1 pattern" in out
    assert "BP_WRITABLE_PATHS: 2 patterns" in out
    assert "BP_WRITABLE_PATHS:1:data/" in out
    assert "Writable for the group (strict=false)" in out
    assert "Strict mode is off" in out
    assert "BP_WRITABLE_PATHS:2:cache:x: selects nothing" in out


def test_check_invalid_pattern_prints_the_buildpacks_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = rails(tmp_path / "app", "log/\n../shared/\n")
    with pytest.raises(UserError) as info:
        load_patterns(str(app), Settings())
    code, out, err = run(capsys, "check", str(app))
    assert code == 1
    assert out == ""
    assert err == f"ERROR: {info.value.render()}\n"
    assert err.startswith("ERROR: Invalid pattern at .writable-paths:2\n")


def test_check_invalid_pattern_in_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    app = rails(tmp_path / "app", "log/\n../shared/\n")
    code, data = run_json(capsys, "check", "--json", str(app))
    assert code == 1
    assert data["valid"] is False
    assert data["selected"] == []
    assert [e["title"] for e in data["errors"]] == ["Invalid pattern at .writable-paths:2"]


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        (
            {"BP_WRITABLE_PATHS_STRICT": "maybe"},
            "ERROR: Invalid value for BP_WRITABLE_PATHS_STRICT",
        ),
        ({"BP_WRITABLE_PATHS_FILE": "missing"}, "ERROR: Cannot use missing as the pattern file"),
    ],
)
def test_check_invalid_settings(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    env: dict[str, str],
    expected: str,
) -> None:
    app = rails(tmp_path / "app")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    code, _, err = run(capsys, "check", str(app))
    assert code == 1
    assert err.startswith(expected + "\n\n")
    assert "Traceback" not in err


def test_strict_warnings_exit_two_only_when_there_are_warnings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = node(tmp_path / "app", ".next/cache/\nnode_modules/.cache/\n*.sqlite3\n")
    code, out, _ = run(capsys, "check", str(app))
    assert code == 0
    assert "Warnings (2)" in out
    assert "'node_modules' is a symlink" in out
    assert ".writable-paths:3:*.sqlite3: selects nothing" in out
    code, out, _ = run(capsys, "check", "--strict-warnings", str(app))
    assert code == 2
    code, data = run_json(capsys, "check", "--json", "--strict-warnings", str(app))
    assert code == 2
    assert {w["kind"] for w in data["warnings"]} == {"symlink", "unused"}
    assert data["warning_counts"]["unused"] == 1

    clean = node(tmp_path / "clean", ".next/cache/\n", link_modules=False)
    code, _, _ = run(capsys, "check", "--strict-warnings", str(clean))
    assert code == 0


def test_check_without_configuration(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    app = rails(tmp_path / "app", None)
    code, out, _ = run(capsys, "check", "--strict-warnings", str(app))
    assert code == 0
    assert "No writable paths configured" in out
    assert "writable-paths init" in out
    code, data = run_json(capsys, "check", "--json", str(app))
    assert (code, data["configured"], data["selected"]) == (0, False, [])


def test_check_defaults_to_the_current_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(django(tmp_path / "app"))
    code, out, _ = run(capsys, "check")
    assert code == 0
    assert ".writable-paths:1:media/" in out


def test_check_missing_app_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "check", str(tmp_path / "nope"))
    assert code == 1
    assert err.startswith(f"ERROR: Cannot use {tmp_path / 'nope'} as the app directory")
    assert "No such file or directory" in err


# -- explain -------------------------------------------------------------------


def explain(capsys: pytest.CaptureFixture[str], app: Path, *paths: str) -> dict[str, Any]:
    code, data = run_json(capsys, "explain", "--json", "--app", str(app), *paths)
    assert code == 0
    return {p["path"]: p for p in data["paths"]}


def test_explain_parent_directory_selected_names_the_ancestor(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = rails(tmp_path / "app")
    code, out, _ = run(capsys, "explain", "--app", str(app), "log/production.log")
    assert code == 0
    assert out.splitlines()[:2] == [
        "log/production.log: writable",
        "    parent directory selected: 'log/' is selected by .writable-paths:3:log/",
    ]
    item = explain(capsys, app, "log/production.log")["log/production.log"]
    assert item["writable"] is True
    assert item["exists"] is False
    assert item["decided_by"] == {
        "kind": "parent",
        "source": ".writable-paths:3:log/",
        "ancestor": "log",
        "text": "parent directory selected: 'log/' is selected by .writable-paths:3:log/",
    }


def test_explain_negation_and_unmatched_paths(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = laravel(tmp_path / "app", "storage/*\n!storage/app\n")
    items = explain(capsys, app, "storage/app", "storage/logs", "storage", "storage/app/x.txt")
    assert items["storage/app"]["effect"] == "read-only"
    assert items["storage/app"]["decided_by"]["kind"] == "negation"
    assert items["storage/app"]["decided_by"]["source"] == ".writable-paths:2:!storage/app"
    assert items["storage/logs"]["effect"] == "writable"
    assert items["storage/logs"]["decided_by"]["source"] == ".writable-paths:1:storage/*"
    assert items["storage"]["decided_by"]["kind"] == "none"
    inner = items["storage/app/x.txt"]
    assert inner["effect"] == "read-only"
    assert (
        "its directory 'storage/app' is un-selected by .writable-paths:2:!storage/app"
        in (inner["notes"])
    )
    _, out, _ = run(capsys, "explain", "--app", str(app), "storage/app")
    assert out.splitlines() == [
        "storage/app/: read-only (strict mode: group and others cannot write)",
        "    un-selected by .writable-paths:2:!storage/app (the last matching pattern wins)",
    ]


def test_explain_a_negation_inside_a_selected_directory_has_no_effect(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = laravel(tmp_path / "app", "storage/\n!storage/app/public/\n")
    item = explain(capsys, app, "storage/app/public/")["storage/app/public"]
    assert item["effect"] == "writable"
    assert item["decided_by"]["ancestor"] == "storage"
    assert any(
        note.startswith(".writable-paths:2:!storage/app/public/ cannot un-select")
        for note in item["notes"]
    )


def test_explain_missing_paths_trailing_slash_and_created_directories(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = rails(tmp_path / "app", "tmp/pids/\nconf.d/\n*.d/\n")
    items = explain(capsys, app, "tmp/pids", "x/extra.d", "x/other.d/")
    pids = items["tmp/pids"]
    assert (pids["type"], pids["effect"], pids["exists"]) == ("directory", "writable", False)
    assert pids["created_by"] == ".writable-paths:1:tmp/pids/"
    as_file = items["x/extra.d"]
    assert (as_file["type"], as_file["effect"]) == ("file", "read-only")
    # Selected as a directory, but nothing creates 'x' (a wildcard pattern creates
    # nothing): the run user could not write there, and explain says so.
    assert (
        "as a directory ('x/extra.d/') it would be selected, not writable: "
        "selected by .writable-paths:3:*.d/" in as_file["notes"]
    )
    as_dir = items["x/other.d"]
    assert (as_dir["type"], as_dir["effect"]) == ("directory", "selected, not writable")
    assert not as_dir["writable"]


def test_explain_symlinks_are_never_followed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = node(tmp_path / "app", ".next/cache/\nnode_modules/.cache/\n")
    items = explain(capsys, app, "node_modules/.cache/x", "node_modules")
    beyond = items["node_modules/.cache/x"]
    assert (beyond["effect"], beyond["writable"]) == ("unchanged", False)
    assert beyond["decided_by"]["kind"] == "symlink"
    assert beyond["decided_by"]["ancestor"] == "node_modules"
    assert any("reaches through the symlink 'node_modules'" in n for n in beyond["notes"])
    link = items["node_modules"]
    assert (link["type"], link["effect"]) == ("symlink", "unchanged")


def test_explain_the_app_root_and_absolute_paths(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = django(tmp_path / "app")
    items = explain(capsys, app, ".", str(app / "media/uploads/photo.jpg"))
    assert items["."]["effect"] == "read-only"
    assert items["."]["decided_by"]["kind"] == "app-root"
    photo = items["media/uploads/photo.jpg"]
    assert (photo["exists"], photo["type"], photo["effect"]) == (True, "file", "writable")


def test_explain_bad_paths_are_errors_not_tracebacks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = django(tmp_path / "app")
    code, out, err = run(
        capsys, "explain", "--app", str(app), "../etc/passwd", "/etc/passwd", "manage.py/x", "media"
    )
    assert code == 1
    lines = out.splitlines()
    assert lines[0].startswith("../etc/passwd: error: It has a '..' segment")
    assert lines[1].startswith("/etc/passwd: error: It is outside the app directory")
    assert lines[2] == "manage.py/x: error: 'manage.py' is a file, so 'manage.py/x' cannot exist."
    assert lines[3] == "media/: writable"
    assert err == ""


def test_explain_without_configuration(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    app = django(tmp_path / "app", None)
    item = explain(capsys, app, "media")["media"]
    assert (item["effect"], item["decided_by"]["kind"]) == ("unchanged", "not-configured")


def test_explain_invalid_configuration(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    app = django(tmp_path / "app", "media/\n!\n[\n..\n")
    code, _, err = run(capsys, "explain", "--app", str(app), "media")
    assert code == 1
    assert err.startswith("ERROR: Invalid pattern at .writable-paths:4\n")


# -- init ----------------------------------------------------------------------


def patterns_of(path: Path) -> list[str]:
    return [p.source.text for p in parse_file(path.read_bytes(), ".writable-paths").patterns]


@pytest.mark.parametrize(
    ("build", "framework", "expected"),
    [
        (rails, "Rails", ["/tmp/pids/", "/tmp/cache/", "/tmp/sockets/", "/log/"]),
        (
            laravel,
            "Laravel",
            ["/storage/app/", "/storage/framework/", "/storage/logs/", "/bootstrap/cache/"],
        ),
        (django, "Django", ["/media/"]),
        (node, "Next.js", ["/.next/cache/"]),
    ],
)
def test_init_writes_a_starter_for_the_recognised_framework(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    build: Any,
    framework: str,
    expected: list[str],
) -> None:
    app = build(tmp_path / "app", None)
    code, out, err = run(capsys, "init", str(app))
    assert (code, err) == (0, "")
    assert out.startswith(f"Recognised {framework} (")
    written = app / ".writable-paths"
    assert patterns_of(written) == expected
    text = written.read_text()
    assert text.startswith("# .writable-paths: the paths this app writes to at run time.")
    # gitignore has no end-of-line comments: every line is a comment, blank or a pattern.
    for line in text.splitlines():
        assert line == "" or line.startswith("#") or line in expected
    code, _, _ = run(capsys, "check", "--strict-warnings", str(app))
    assert code == 0


def test_init_recognises_next_by_its_config_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = make(tmp_path / "app", {"package.json": "{not json", "next.config.mjs": ""})
    assert [f.name for f in starter.recognise(str(app))] == ["Next.js"]
    plain = make(tmp_path / "plain", {"package.json": json.dumps({"dependencies": {"x": "1"}})})
    assert starter.recognise(str(plain)) == []


def test_init_with_nothing_recognised_writes_a_commented_template(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = make(tmp_path / "app", {"main.go": "package main\n"})
    code, out, _ = run(capsys, "init", str(app))
    assert code == 0
    assert "Recognised no framework" in out
    assert "commented examples only" in out
    assert patterns_of(app / ".writable-paths") == []
    assert "# /tmp/pids/" in (app / ".writable-paths").read_text()


def test_init_never_overwrites(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    app = rails(tmp_path / "app", "mine/\n")
    code, _, err = run(capsys, "init", str(app))
    assert code == 1
    assert err.startswith("ERROR: .writable-paths already exists")
    assert (app / ".writable-paths").read_text() == "mine/\n"
    (app / ".writable-paths").unlink()
    (app / ".writable-paths").symlink_to(tmp_path / "elsewhere")
    code, _, err = run(capsys, "init", str(app))
    assert code == 1
    assert not (tmp_path / "elsewhere").exists()


def test_init_stdout_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    app = laravel(tmp_path / "app", None)
    code, out, _ = run(capsys, "init", "--stdout", str(app))
    assert code == 0
    assert "\n/storage/logs/\n" in out
    assert not (app / ".writable-paths").exists()


# -- manifest ------------------------------------------------------------------


def parse_yaml(text: str) -> Any:
    """Parse the YAML subset the manifests use (block mappings, block sequences of
    mappings, JSON strings, ints, true, {} and []), checking indentation strictly."""
    rows: list[tuple[int, str]] = []
    for line in text.splitlines():
        body = re.sub(r"\s+#.*$", "", line) if not line.lstrip().startswith("#") else ""
        if body.strip():
            indent = len(body) - len(body.lstrip())
            assert indent % 2 == 0, line
            assert "\t" not in body, line
            rows.append((indent, body.strip()))

    def scalar(text: str) -> Any:
        if text.startswith('"'):
            return json.loads(text)
        if text in ("{}", "[]"):
            return json.loads(text)
        if text == "true":
            return True
        if re.fullmatch(r"\d+", text):
            return int(text)
        assert re.fullmatch(r"[A-Za-z_][\w-]*", text), text
        return text

    def block(i: int, indent: int) -> tuple[Any, int]:
        if rows[i][1].startswith("- "):
            items = []
            while i < len(rows) and rows[i][0] == indent and rows[i][1].startswith("- "):
                rest = rows[i][1][2:]
                if rest.startswith('"'):  # a scalar item
                    items.append(scalar(rest))
                    i += 1
                    continue
                # "- key: value" opens a mapping indented by two more.
                rows[i] = (indent + 2, rest)
                item, i = block(i, indent + 2)
                items.append(item)
            return items, i
        mapping: dict[str, Any] = {}
        while i < len(rows) and rows[i][0] == indent and not rows[i][1].startswith("- "):
            key, _, value = rows[i][1].partition(":")
            assert key not in mapping, key
            if value.strip():
                mapping[key] = scalar(value.strip())
                i += 1
            else:
                assert rows[i + 1][0] >= indent, rows[i + 1]
                child = indent if rows[i + 1][1].startswith("- ") else indent + 2
                mapping[key], i = block(i + 1, max(child, rows[i + 1][0]))
        return mapping, i

    value, end = block(0, 0)
    assert end == len(rows), rows[end:]
    return value


def test_manifest_kubernetes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    app = rails(tmp_path / "app")
    code, out, err = run(capsys, "manifest", str(app), "--format", "kubernetes")
    assert (code, err) == (0, "")
    assert parse_yaml(out) == {
        "securityContext": {"runAsGroup": 1000, "fsGroup": 1000},
        "volumes": [
            {"name": "log", "emptyDir": {}},
            {"name": "tmp-cache", "emptyDir": {}},
            {"name": "tmp-pids", "emptyDir": {}},
        ],
        "containers": [
            {
                "name": "app",
                "securityContext": {"readOnlyRootFilesystem": True},
                "volumeMounts": [
                    {"name": "log", "mountPath": "/workspace/log"},
                    {"name": "tmp-cache", "mountPath": "/workspace/tmp/cache"},
                    {"name": "tmp-pids", "mountPath": "/workspace/tmp/pids"},
                ],
            }
        ],
    }
    # Every line says what it is for.
    for line in out.splitlines():
        assert line.lstrip().startswith("#") or "  # " in line, line
    assert "runAsGroup: 1000  # run the app with the CNB group" in out
    assert "# NOTE" not in out  # .keep files are placeholders, not content


def test_manifest_compose_with_app_path_and_group(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = laravel(tmp_path / "app")
    code, out, _ = run(
        capsys,
        "manifest",
        str(app),
        "--format",
        "compose",
        "--app-path",
        "/srv/app/",
        "--group",
        "0",
    )
    assert code == 0
    assert parse_yaml(out) == {
        "services": {
            "app": {
                "read_only": True,
                "tmpfs": [
                    "/srv/app/bootstrap/cache:mode=2775,gid=0",
                    "/srv/app/storage:mode=2775,gid=0",
                ],
            }
        }
    }
    # storage/ has directories the app needs: the empty tmpfs would hide them.
    assert (
        "# NOTE: the volume starts empty and hides what the image has in storage/ "
        "(app/, framework/, logs/):" in out
    )


def test_manifest_skips_files_and_handles_no_directories(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = django(tmp_path / "app", "mysite/settings.py\n")
    code, out, _ = run(capsys, "manifest", str(app), "--format", "kubernetes")
    assert code == 0
    assert "# Not mounted: mysite/settings.py: a file; a volume mounts on a directory" in out
    parsed = parse_yaml(out)
    assert parsed["volumes"] == []
    assert parsed["containers"][0]["volumeMounts"] == []
    code, out, _ = run(capsys, "manifest", str(app), "--format", "compose")
    assert parse_yaml(out)["services"]["app"]["tmpfs"] == []


def test_manifest_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    app = rails(tmp_path / "app", "../x/\n")
    code, _, err = run(capsys, "manifest", str(app), "--format", "compose")
    assert code == 1
    assert err.startswith("ERROR: Invalid pattern at .writable-paths:1")
    code, _, err = run(capsys, "manifest", str(app), "--format", "compose", "--app-path", "rel")
    assert (code, err.splitlines()[0]) == (1, "ERROR: Invalid --app-path")
    code, _, err = run(capsys, "manifest", str(app), "--format", "helm")
    assert code == 1
    assert "invalid choice: 'helm'" in err
    code, _, err = run(capsys, "manifest", str(app))
    assert code == 1
    assert "the following arguments are required: --format" in err


def test_volume_names_are_unique_dns_labels() -> None:
    names = manifest.volume_names(["tmp/pids", "tmp-pids", ".next/cache", "_", "Ä" * 80])
    assert names == ["tmp-pids", "tmp-pids-2", "next-cache", "writable", "writable-2"]
    assert all(re.fullmatch(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?", n) for n in names)


def test_manifest_comments_cannot_be_broken_by_file_names(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = make(tmp_path / "app", {"up\nloads/": "", "data/": ""})
    make(app, {".writable-paths": "/up*/\ndata/\n"})
    code, out, _ = run(capsys, "manifest", str(app), "--format", "kubernetes")
    assert code == 0
    assert "# Not mounted: up\\nloads: its name has control characters" in out
    assert parse_yaml(out)["volumes"] == [{"name": "data", "emptyDir": {}}]


# -- the command itself --------------------------------------------------------


def test_help_everywhere(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in ([], ["check"], ["explain"], ["init"], ["manifest"]):
        assert cli.main([*argv, "--help"]) == 0
        out, _ = capsys.readouterr()
        assert out.startswith("usage: writable-paths")
    assert cli.main([]) == 1
    assert "COMMAND" in capsys.readouterr().err
    assert cli.main(["explain"]) == 1
    assert "the following arguments are required: PATH" in capsys.readouterr().err


@pytest.mark.skipif(not SCRIPT.exists(), reason="the console script is not installed")
def test_the_installed_console_script(tmp_path: Path) -> None:
    app = rails(tmp_path / "app", "tmp/pids/\nlog/\nmissing-file\n")
    before = snapshot(app)
    env = {k: v for k, v in os.environ.items() if k not in BP_VARS}
    done = subprocess.run(
        [str(SCRIPT), "check", "--json", "--strict-warnings", str(app)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    data = json.loads(done.stdout)
    assert [s["path"] for s in data["selected"]] == ["log", "tmp/pids"]
    assert data["warnings"][0]["message"].startswith(".writable-paths:3:missing-file: selects")
    assert snapshot(app) == before

    done = subprocess.run(
        [str(SCRIPT), "explain", "--app", str(app), "tmp/pids/server.pid"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert done.returncode == 0
    assert done.stdout.startswith("tmp/pids/server.pid: writable\n")

    done = subprocess.run(
        [str(SCRIPT), "check", str(tmp_path / "missing")],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert done.returncode == 1
    assert done.stderr.startswith("ERROR: Cannot use ")
    assert "Traceback" not in done.stderr


def test_manifest_compose_warns_of_copy_up_where_a_volume_has_subdirectories(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = laravel(tmp_path / "app")
    code, out, _ = run(capsys, "manifest", str(app), "--format", "compose")
    assert code == 0
    lines = out.splitlines()
    storage = next(i for i, line in enumerate(lines) if '"/workspace/storage:' in line)
    assert "add notmpcopyup" in lines[storage - 1]
    cache = next(i for i, line in enumerate(lines) if '"/workspace/bootstrap/cache:' in line)
    assert "notmpcopyup" not in lines[cache - 1]  # nothing but a placeholder in it
