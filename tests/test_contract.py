"""The real bin/detect and bin/build, run as the lifecycle runs them.

As root the tests switch to the build user (uid 1001, gid 1000) with setpriv,
pass only the lifecycle's allowed environment, and run in the app directory.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import tomllib
from lifecycle import Platform, copy_buildpack
from support import BUILD_GID, BUILD_UID, needs_root

from testing.cnb import BP_VERSION
from writable_paths.fs.parallel import START_AFTER, worker_count

PYTHON_DIR = str(Path(sys.executable).resolve().parent)


def mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def assert_no_traceback(result: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in result.stdout + result.stderr


# -- detect -----------------------------------------------------------------


def test_detect_without_configuration_passes_without_starting_python(cnb: Platform) -> None:
    spy = cnb.root / "spy"
    spy.mkdir()
    marker = cnb.root / "python-started"
    (spy / "python3").write_text(f"#!/bin/sh\ntouch {marker}\nexit 3\n")
    os.chmod(spy / "python3", 0o755)
    os.chmod(cnb.root, 0o777)
    result = cnb.run("detect", path=f"{spy}:/usr/bin:/bin")
    assert result.returncode == 0, result.stderr
    assert not marker.exists()
    assert cnb.plan.read_text() == ""


def test_detect_with_valid_patterns_passes(cnb: Platform) -> None:
    cnb.write(".writable-paths", "tmp/pids/\nlog/\n")
    result = cnb.run("detect")
    assert result.returncode == 0, result.stderr
    assert "2 pattern(s)" in result.stdout


def test_detect_with_invalid_pattern_errors_naming_file_and_line(cnb: Platform) -> None:
    cnb.write(".writable-paths", "log/\n../etc/\n")
    result = cnb.run("detect")
    assert result.returncode == 1
    assert ".writable-paths:2" in result.stderr
    assert_no_traceback(result)


def test_detect_reads_patterns_from_platform_env(cnb: Platform) -> None:
    cnb.env("BP_WRITABLE_PATHS", "tmp/:../x")
    result = cnb.run("detect")
    assert result.returncode == 1
    assert "BP_WRITABLE_PATHS:2" in result.stderr


def test_detect_without_python_on_path_runs_the_bundled_one(cnb: Platform) -> None:
    cnb.write(".writable-paths", "log/\n")
    result = cnb.run("detect", path="/nonexistent")
    assert result.returncode == 0, result.stderr
    assert "1 pattern(s)" in result.stdout
    assert not cnb.plan.exists() or "cpython" not in cnb.plan.read_text()


def test_detect_accepts_positional_arguments_only(cnb: Platform) -> None:
    cnb.write(".writable-paths", "log/\n")
    cnb.env("BP_WRITABLE_PATHS", "../bad")
    result = cnb.run("detect", positional_only=True)
    assert result.returncode == 1  # found the platform dir through $1
    assert "BP_WRITABLE_PATHS:1" in result.stderr


# -- build ------------------------------------------------------------------


def test_build_without_configuration_changes_nothing(cnb: Platform) -> None:
    cnb.write("config/app.rb", "x", 0o666)
    before = {p: os.lstat(p) for p in [cnb.app, *cnb.app.rglob("*")]}
    result = cnb.run("build", path="/nonexistent")  # no Python needed either
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"Writable Paths Buildpack {BP_VERSION}\n")
    assert "No writable paths configured" in result.stdout
    assert mode(cnb.app) == 0o777
    after = {p: os.lstat(p) for p in [cnb.app, *cnb.app.rglob("*")]}
    assert {p: (s.st_mode, s.st_uid, s.st_gid) for p, s in before.items()} == {
        p: (s.st_mode, s.st_uid, s.st_gid) for p, s in after.items()
    }
    assert not (cnb.bp_layers / "launch.toml").exists()


@needs_root
def test_build_makes_declared_paths_group_writable_as_the_build_user(cnb: Platform) -> None:
    cnb.write(".writable-paths", "# Rails\ntmp/pids/\nlog/\n")
    cnb.write("log/production.log", "", 0o644)
    cnb.write("config/routes.rb", "", 0o666)
    result = cnb.run("build")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith(f"Writable Paths Buildpack {BP_VERSION}\n")
    assert mode(cnb.app / "log") == 0o2775
    assert mode(cnb.app / "log/production.log") == 0o664
    assert mode(cnb.app / "tmp/pids") == 0o2775
    assert os.stat(cnb.app / "tmp/pids").st_uid == BUILD_UID
    assert os.stat(cnb.app / "tmp/pids").st_gid == BUILD_GID
    assert mode(cnb.app / "config/routes.rb") == 0o644
    assert mode(cnb.app) == 0o755
    launch = tomllib.loads((cnb.bp_layers / "launch.toml").read_text())
    label = launch["labels"][0]
    assert label["key"] == "writable-paths"
    assert label["value"] == f'["{cnb.app}/log", "{cnb.app}/tmp/pids"]'


def test_build_reads_settings_from_platform_env_files(cnb: Platform) -> None:
    cnb.env("BP_WRITABLE_PATHS", "uploads/")
    cnb.env("BP_WRITABLE_PATHS_STRICT", "false")
    cnb.write("config/app.rb", "", 0o666)
    result = cnb.run("build")
    assert result.returncode == 0, result.stdout + result.stderr
    assert mode(cnb.app / "uploads") == 0o2775
    assert mode(cnb.app / "config/app.rb") == 0o666
    assert mode(cnb.app) == 0o775


def test_build_rejects_an_invalid_setting(cnb: Platform) -> None:
    cnb.write(".writable-paths", "log/\n")
    cnb.env("BP_WRITABLE_PATHS_STRICT", "maybe")
    result = cnb.run("build")
    assert result.returncode == 1
    assert "BP_WRITABLE_PATHS_STRICT" in result.stderr
    assert "'maybe'" in result.stderr
    assert "true or false" in result.stderr
    assert_no_traceback(result)
    assert not (cnb.app / "log").exists()


def test_build_rejects_a_missing_named_pattern_file(cnb: Platform) -> None:
    cnb.env("BP_WRITABLE_PATHS_FILE", "config/writable")
    result = cnb.run("build")
    assert result.returncode == 1
    assert "config/writable" in result.stderr
    assert "does not exist" in result.stderr
    assert_no_traceback(result)


def test_build_rejects_a_pattern_file_outside_the_app(cnb: Platform) -> None:
    cnb.env("BP_WRITABLE_PATHS_FILE", "../platform/env/x")
    result = cnb.run("build")
    assert result.returncode == 1
    assert "inside the app directory" in result.stderr


def test_build_refuses_a_symlinked_pattern_file(cnb: Platform) -> None:
    outside = cnb.root / "outside-patterns"
    outside.write_text("/\n")
    os.symlink(outside, cnb.app / ".writable-paths")
    result = cnb.run("build")
    assert result.returncode == 1
    assert "symlink" in result.stderr


def test_build_debug_prints_one_line_per_changed_path(cnb: Platform) -> None:
    cnb.write(".writable-paths", "log/\n")
    cnb.write("log/a.log", "", 0o644)
    cnb.env("BP_LOG_LEVEL", "DEBUG")
    result = cnb.run("build")
    assert result.returncode == 0, result.stderr
    assert "log/a.log: -rw-r--r-- -> -rw-rw-r-- (parent directory selected)" in result.stdout
    assert "log: drwxr-xr-x -> drwxrwsr-x (.writable-paths:1:log/)" in result.stdout


@needs_root
def test_build_fails_listing_selected_paths_owned_by_another_user(cnb: Platform) -> None:
    cnb.write(".writable-paths", "data/\n")
    cnb.write("data/mine.db", "", 0o644)
    foreign = cnb.write("data/roots.db", "", 0o644)
    os.chown(foreign, 0, 0)
    result = cnb.run("build")
    assert result.returncode == 1
    assert "data/roots.db" in result.stderr
    assert "owned by the build user" in result.stderr
    assert_no_traceback(result)
    assert mode(foreign) == 0o644


@needs_root
def test_build_warns_about_unselected_paths_it_cannot_tighten(cnb: Platform) -> None:
    cnb.write(".writable-paths", "log/\n")
    foreign = cnb.write("config/shared.rb", "", 0o666)
    os.chown(foreign, 0, 0)
    result = cnb.run("build")
    assert result.returncode == 0, result.stderr
    assert "config/shared.rb" in result.stdout
    assert "stays writable" in result.stdout


def test_build_without_python_on_path_validates_settings_with_the_bundled_one(
    cnb: Platform,
) -> None:
    cnb.write(".writable-paths", "log/\n")
    cnb.env("BP_WRITABLE_PATHS_STRICT", "maybe")
    result = cnb.run("build", path="/nonexistent")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Invalid value for BP_WRITABLE_PATHS_STRICT" in result.stderr
    assert "Traceback" not in result.stderr


def test_build_accepts_positional_arguments_only(cnb: Platform) -> None:
    cnb.write(".writable-paths", "log/\n")
    result = cnb.run("build", positional_only=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (cnb.bp_layers / "launch.toml").exists()


def test_build_twice_gives_the_same_result(cnb: Platform) -> None:
    cnb.write(".writable-paths", "tmp/pids/\nlog/\n")
    cnb.write("config/a.rb", "", 0o666)
    assert cnb.run("build").returncode == 0
    first = {p: os.lstat(p).st_mode for p in [cnb.app, *cnb.app.rglob("*")]}
    second_run = cnb.run("build")
    assert second_run.returncode == 0
    assert "Made read-only for group and others: 0 paths" in second_run.stdout
    assert {p: os.lstat(p).st_mode for p in [cnb.app, *cnb.app.rglob("*")]} == first


def test_build_explains_dependencies_that_do_not_fit_the_python(tmp_path: Path) -> None:
    root = Path(tempfile.mkdtemp(prefix="wp-novendor-"))
    try:
        os.chmod(root, 0o755)
        bp = root / "bp"
        copy_buildpack(bp)
        shutil.rmtree(bp / "vendor" / "pydantic_core")
        app = root / "app"
        app.mkdir()
        (app / ".writable-paths").write_text("log/\n")
        env = {
            "PATH": f"{PYTHON_DIR}:/usr/bin:/bin",
            "CNB_BUILDPACK_DIR": str(bp),
            "CNB_LAYERS_DIR": str(root),
            "CNB_PLATFORM_DIR": str(root / "none"),
            # A setting to validate: only then does the build import pydantic.
            "BP_WRITABLE_PATHS_STRICT": "false",
        }
        result = subprocess.run(
            [str(bp / "bin/build")],
            cwd=app,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 1
        assert "Cannot load the buildpack's dependencies" in result.stderr
        assert "make package" in result.stderr
        assert_no_traceback(result)
        assert not (app / "log").exists()
    finally:
        shutil.rmtree(root)


def test_build_output_escapes_control_characters_and_undecodable_bytes(cnb: Platform) -> None:
    cnb.write(".writable-paths", "up/\n")
    cnb.write("up/new\nline", "", 0o644)
    raw = os.path.join(os.fsencode(cnb.app), b"up", b"caf\xe9")
    with open(raw, "wb"):
        pass
    os.chmod(raw, 0o644)
    cnb.own(Path(os.fsdecode(raw)))
    cnb.env("BP_LOG_LEVEL", "DEBUG")
    result = cnb.run("build", extra_env={"LANG": "C.UTF-8"})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "up/new\\x0aline: -rw-r--r-- -> -rw-rw-r--" in result.stdout
    assert "up/caf\\xe9: -rw-r--r-- -> -rw-rw-r--" in result.stdout
    assert_no_traceback(result)


@needs_root
def test_build_on_a_large_app_walks_with_worker_processes(cnb: Platform) -> None:
    """Past START_AFTER directories the build forks workers: what they find (a
    selected file it cannot change, an unselected one it cannot tighten) ends
    up in the build's own messages and exit code."""
    workers = worker_count()
    if workers < 2:
        pytest.skip("one CPU: the build walks alone")
    cnb.write(".writable-paths", "/storage/\n")
    cnb.mkdir("storage")
    for i in range(3 * START_AFTER):
        cnb.mkdir(f"vendor/gem{i}")
        cnb.write(f"vendor/gem{i}/lib/gem{i}.rb", "", 0o666)
        cnb.write(f"storage/cache{i}/entry", "", 0o600)

    result = cnb.run("build")

    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{workers} worker processes" in result.stdout
    assert mode(cnb.app / "vendor/gem1/lib/gem1.rb") == 0o644
    assert mode(cnb.app / f"vendor/gem{3 * START_AFTER - 1}/lib") == 0o755
    assert mode(cnb.app / f"storage/cache{3 * START_AFTER - 1}/entry") == 0o660
    assert mode(cnb.app / "storage") == 0o2775

    foreign_selected = cnb.write(f"storage/cache{2 * START_AFTER}/root.db", "", 0o644)
    foreign_other = cnb.write(f"vendor/gem{2 * START_AFTER}/lib/shared.rb", "", 0o666)
    for path in (foreign_selected, foreign_other):
        os.chown(path, 0, 0)

    result = cnb.run("build")

    assert result.returncode == 1
    assert f"storage/cache{2 * START_AFTER}/root.db" in result.stderr
    assert f"vendor/gem{2 * START_AFTER}/lib/shared.rb" in result.stdout  # a warning
    assert_no_traceback(result)
