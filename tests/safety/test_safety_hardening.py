"""Attacks on the promises: swapped names, mounts inside the app, setuid files,
a hostile umask, and platform settings that are not plain files.

Each case ran against the previous engine and broke a promise there.
"""

from __future__ import annotations

import errno
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from safety_sandbox import REPO, needs_root

from writable_paths.cnb.settings import from_values, read_values
from writable_paths.core import findings as F
from writable_paths.core.patterns import MAX_FILE_BYTES, parse_file
from writable_paths.errors import UserError
from writable_paths.fs.apply import Applier
from writable_paths.fs.engine import Pass, Summary


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def _pass(app: Path, patterns: str, strict: bool = True) -> Summary:
    return Pass(
        parse_file(patterns.encode(), ".writable-paths"),
        strict=strict,
        gid=os.getgid(),
        applier=Applier(),
    ).run(str(app))


# -- a change reaches only the entry that was decided --------------------------------


def _swap_in_symlink(entry: Path, outside: Path) -> None:
    entry.unlink() if not entry.is_dir() else entry.rmdir()
    entry.symlink_to(outside)


def _swap_in_hard_link(entry: Path, outside: Path) -> None:
    """The name now is a hard link to the outside file: no symlink anywhere."""
    tmp = entry.with_name(entry.name + ".swap")
    os.link(outside, tmp)
    os.rename(tmp, entry)


@pytest.mark.parametrize("swap", [_swap_in_symlink, _swap_in_hard_link])
def test_a_file_swapped_after_the_decision_is_left_alone(tmp_path: Path, swap: object) -> None:
    app = tmp_path / "app"
    app.mkdir()
    outside = tmp_path / "private"
    outside.write_text("secret")
    os.chmod(outside, 0o600)
    entry = app / "log.txt"
    entry.write_text("x")
    os.chmod(entry, 0o644)
    decided = os.lstat(entry)
    assert callable(swap)
    swap(entry, outside)
    fd = os.open(app, os.O_RDONLY | os.O_DIRECTORY)
    try:
        with pytest.raises(OSError, match="replaced") as info:
            Applier().change(fd, "log.txt", decided, 0o664, os.getgid())
    finally:
        os.close(fd)
    assert info.value.errno == errno.ESTALE
    assert _mode(outside) == 0o600


def test_a_directory_swapped_for_a_symlink_is_left_alone(tmp_path: Path) -> None:
    app = tmp_path / "app"
    (app / "cache").mkdir(parents=True)
    layer = tmp_path / "layer"
    layer.mkdir()
    os.chmod(layer, 0o755)
    decided = os.lstat(app / "cache")
    _swap_in_symlink(app / "cache", layer)
    fd = os.open(app, os.O_RDONLY | os.O_DIRECTORY)
    try:
        with pytest.raises(OSError, match="replaced"):
            Applier().change(fd, "cache", decided, 0o2775, os.getgid())
    finally:
        os.close(fd)
    assert _mode(layer) == 0o755


# -- mount points inside the app --------------------------------------------------------


def _mount(*args: str) -> None:
    subprocess.run(["mount", *args], check=True, capture_output=True)


def _umount(target: Path) -> None:
    subprocess.run(["umount", "-l", str(target)], check=False, capture_output=True)


@needs_root
@pytest.mark.parametrize("kind", ["bind", "tmpfs"])
def test_a_mount_inside_the_app_is_never_changed(tmp_path: Path, kind: str) -> None:
    host = tmp_path / "host"
    (host / "pkg").mkdir(parents=True)
    (host / "pkg" / "lib.rb").write_text("x")
    os.chmod(host / "pkg" / "lib.rb", 0o666)
    os.chmod(host / "pkg", 0o777)
    app = tmp_path / "app"
    (app / "vendor").mkdir(parents=True)
    (app / "config.rb").write_text("x")
    if kind == "bind":
        _mount("--bind", str(host), str(app / "vendor"))
    else:
        _mount("-t", "tmpfs", "-o", "mode=0777", "tmpfs", str(app / "vendor"))
        (app / "vendor" / "cache").mkdir()
        os.chmod(app / "vendor" / "cache", 0o777)
    try:
        before = {p: _mode(p) for p in (app / "vendor").rglob("*")}
        summary = _pass(app, "*\n")
        after = {p: _mode(p) for p in (app / "vendor").rglob("*")}
        assert after == before
        if kind == "tmpfs":
            assert _mode(app / "vendor") == 0o777  # the mount point itself stays as well
        assert summary.findings.counts.get(F.MOUNT) == 1
        assert _mode(app / "config.rb") == 0o664  # the rest of the app is still done
    finally:
        _umount(app / "vendor")
    if kind == "bind":
        assert _mode(host / "pkg" / "lib.rb") == 0o666
        assert _mode(host / "pkg") == 0o777


# -- setuid and setgid ------------------------------------------------------------------------


@pytest.mark.parametrize("mode", [0o4755, 0o2755, 0o6755])
def test_a_selected_setuid_file_loses_the_bit(tmp_path: Path, mode: int) -> None:
    (tmp_path / "bin").mkdir()
    helper = tmp_path / "bin" / "helper"
    helper.write_text("#!/bin/sh\n")
    os.chmod(helper, mode)
    summary = _pass(tmp_path, "/bin/\n")
    assert _mode(helper) == 0o775
    assert summary.findings.counts.get(F.SET_ID_DROPPED) == 1
    # A rerun (as after a build killed between chown and chmod) converges.
    again = _pass(tmp_path, "/bin/\n")
    assert _mode(helper) == 0o775
    assert again.changed == 0


def test_an_unselected_setuid_file_keeps_its_mode(tmp_path: Path) -> None:
    tool = tmp_path / "tool"
    tool.write_text("#!/bin/sh\n")
    os.chmod(tool, 0o4755)
    _pass(tmp_path, "/log/\n")
    assert _mode(tool) == 0o4755


# -- the umask the platform runs the build with ---------------------------------------------


def test_created_directories_get_their_modes_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o077)
    try:
        _pass(tmp_path, "/tmp/pids/\n")
    finally:
        os.umask(old)
    assert _mode(tmp_path / "tmp") == 0o755  # searchable by the run user's group
    assert _mode(tmp_path / "tmp" / "pids") == 0o2775


# -- platform settings are read like the pattern file ---------------------------------------


def _read_in_child(platform: Path) -> subprocess.CompletedProcess[str]:
    """read_values in a child, so that a hang is a failed test, not a hung suite."""
    code = (
        "import sys\n"
        "from writable_paths.cnb.settings import read_values\n"
        "from writable_paths.errors import UserError\n"
        "try:\n"
        f"    read_values({{}}, {str(platform)!r})\n"
        "except UserError as err:\n"
        "    print(err.render()); sys.exit(1)\n"
    )
    env = {"PYTHONPATH": str(REPO / "src"), "PATH": os.environ["PATH"]}
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=20, env=env
    )


def test_a_fifo_as_a_platform_setting_is_refused_without_blocking(tmp_path: Path) -> None:
    (tmp_path / "env").mkdir()
    os.mkfifo(tmp_path / "env" / "BP_WRITABLE_PATHS")
    result = _read_in_child(tmp_path)
    assert result.returncode == 1, result.stderr
    assert "BP_WRITABLE_PATHS" in result.stdout
    assert "not a regular file" in result.stdout
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("target", ["/dev/zero", "../data"])
def test_a_symlinked_platform_setting_is_refused_as_the_launcher_refuses_it(
    tmp_path: Path, target: str
) -> None:
    (tmp_path / "env").mkdir()
    (tmp_path / "data").write_text("tmp/\n")
    (tmp_path / "env" / "BP_WRITABLE_PATHS").symlink_to(target)
    result = _read_in_child(tmp_path)
    assert result.returncode == 1, result.stderr
    assert "BP_WRITABLE_PATHS" in result.stdout
    assert "is a symbolic link" in result.stdout
    assert "Traceback" not in result.stderr


def test_a_huge_platform_setting_is_refused(tmp_path: Path) -> None:
    (tmp_path / "env").mkdir()
    with open(tmp_path / "env" / "BP_WRITABLE_PATHS", "wb") as handle:
        handle.truncate(20 * 1024 * 1024)
    with pytest.raises(UserError, match="too large"):
        read_values({}, str(tmp_path))


def test_a_huge_environment_value_is_refused() -> None:
    with pytest.raises(UserError) as info:
        from_values({"BP_WRITABLE_PATHS": "tmp/\n" * (MAX_FILE_BYTES // 4)})
    assert "BP_WRITABLE_PATHS" in info.value.render()
    assert f"{MAX_FILE_BYTES:,} bytes" in info.value.render()
