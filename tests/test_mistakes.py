"""The mistakes people make get a warning with the fix: in the build's output, in
``check`` (so ``--strict-warnings`` and the pre-commit hook fail) and in its JSON.
Warnings never change what is applied."""

from __future__ import annotations

import io
import json
import os
import stat
import sys
from contextlib import redirect_stdout
from pathlib import Path

import pytest
from lifecycle import Platform

from writable_paths.cli import main as cli

PYTHON_DIR = str(Path(sys.executable).resolve().parent)


def _app(root: Path, files: list[str], patterns: str | None) -> Path:
    for name in files:
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if name.endswith("/"):
            target.mkdir(exist_ok=True)
        else:
            target.write_text("x")
    if patterns is not None:
        (root / ".writable-paths").write_text(patterns)
    return root


def _check(app: Path) -> tuple[int, dict[str, list[dict[str, str]]]]:
    out = io.StringIO()
    with redirect_stdout(out):
        code = cli.main(["check", "--json", "--strict-warnings", str(app)])
    data = json.loads(out.getvalue())
    warnings: dict[str, list[dict[str, str]]] = {}
    for warning in data["warnings"]:
        warnings.setdefault(warning["kind"], []).append(warning)
    return code, warnings


RAILS = ["Gemfile", "config/application.rb", "app/models/user.rb", "tmp/pids/", "log/"]


@pytest.mark.parametrize(
    ("files", "patterns", "env", "kind", "fix"),
    [
        (RAILS, None, "tmp/pids/,log/", "separator", "BP_WRITABLE_PATHS=tmp/pids/:log/"),
        (RAILS, "/workspace/log/\n", None, "runtime-path", "'/log/'"),
        (RAILS, "tmp/pdis/\n", None, "typo", "'tmp/pids/'"),
        (["Log/"], "/log/\n", None, "case", "'/Log/'"),
        (["db/production.sqlite3"], "*.sqlite3\n", None, "database-file", "'/db/'"),
        (["manage.py"], "/db.sqlite3\n", None, "database-in-root", "'/data/'"),
        (RAILS, "*\n", None, "broad-pattern", "'/tmp/pids/'"),
        (RAILS, "/bin/\n", None, "bin-directory", "programs it runs"),
        (RAILS, "/.writable-paths\n", None, "selects-pattern-file", "'!/.writable-paths'"),
    ],
)
def test_each_mistake_is_a_warning_with_the_fix(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    files: list[str],
    patterns: str | None,
    env: str | None,
    kind: str,
    fix: str,
) -> None:
    app = _app(tmp_path / "app", files, patterns)
    if env is not None:
        monkeypatch.setenv("BP_WRITABLE_PATHS", env)
    code, warnings = _check(app)
    assert code == 2, warnings
    assert kind in warnings, warnings
    assert any(fix in w["message"] for w in warnings[kind]), warnings[kind]


def test_normalization_near_miss(tmp_path: Path) -> None:
    nfd = "cafe\u0301"
    app = _app(tmp_path / "app", [f"{nfd}/"], "/caf\u00e9/\n")
    _, warnings = _check(app)
    assert "normalization" in warnings


def test_a_correct_configuration_gets_none_of_them(tmp_path: Path) -> None:
    app = _app(tmp_path / "app", [*RAILS, "db/production.sqlite3"], "/tmp/pids/\n/log/\n/db/\n")
    code, warnings = _check(app)
    assert code == 0, warnings
    assert warnings == {}


# -- the real build ------------------------------------------------------------------------


def test_the_build_prints_the_warning_and_applies_the_same(cnb: Platform) -> None:
    cnb.mkdir("tmp/pids")
    cnb.mkdir("log")
    cnb.env("BP_WRITABLE_PATHS", "tmp/pids/,log/")
    cnb.write("db/production.sqlite3")
    cnb.write(".writable-paths", "*.sqlite3\n")
    result = cnb.run("build")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "BP_WRITABLE_PATHS=tmp/pids/:log/" in result.stdout
    assert "Select the directory instead: '/db/'" in result.stdout
    # What was declared is applied exactly as declared.
    assert stat.S_IMODE(os.stat(cnb.app / "db/production.sqlite3").st_mode) == 0o664
    assert stat.S_IMODE(os.stat(cnb.app / "db").st_mode) == 0o755
    assert stat.S_IMODE(os.stat(cnb.app / "tmp/pids").st_mode) == 0o755


@pytest.mark.parametrize(
    "name", [".writeable-paths", ".writable_paths", "writable-paths", ".writable-paths.txt"]
)
def test_a_misspelled_pattern_file_is_named_when_nothing_is_configured(
    tmp_path: Path, name: str
) -> None:
    app = _app(tmp_path / "app", [name], None)
    code, warnings = _check(app)
    assert code == 2
    [warning] = warnings["misspelled-file"]
    assert f"'{name}'" in warning["message"]
    assert "Rename it to '.writable-paths'" in warning["message"]


def test_explain_shows_the_warning_of_the_line_that_decided(tmp_path: Path) -> None:
    app = _app(tmp_path / "app", ["db/production.sqlite3", "log/"], "*.sqlite3\n/workspace/log/\n")
    out = io.StringIO()
    with redirect_stdout(out):
        code = cli.main(["explain", "--json", "--app", str(app), "db/production.sqlite3"])
    assert code == 0
    [item] = json.loads(out.getvalue())["paths"]
    assert any("Select the directory instead: '/db/'" in note for note in item["notes"])


def test_detect_and_build_name_a_misspelled_pattern_file(cnb: Platform) -> None:
    cnb.write(".writeable-paths", "log/\n")
    cnb.mkdir("log")
    for phase in ("detect", "build"):
        result = cnb.run(phase)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "'.writeable-paths' looks like a misspelled pattern file" in result.stdout
    assert stat.S_IMODE(os.stat(cnb.app / "log").st_mode) == 0o755  # nothing changed


def test_a_name_that_only_looks_alike_is_not_configuration(cnb: Platform) -> None:
    cnb.write("write-path-helper.js", "")
    result = cnb.run("build")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No writable paths configured" in result.stdout
    assert "misspelled" not in result.stdout
