"""The shell launcher (bin/launcher.sh) under hostile settings and a hostile PATH.

It decides only "configured or not", in time linear in what it reads; it never reads
a setting that is not a regular file (a FIFO would block it, /dev/zero never ends);
and it never runs anything from PATH, so an app's own ``./python3`` is never started.
Each case has the sandbox's hang guard (``TIMEOUT``) as its bound.
"""

from __future__ import annotations

import os

import pytest
from safety_sandbox import PATH, Sandbox, needs_root, subtree

pytestmark = needs_root

FAKE_PYTHON = "#!/bin/sh\necho APP-PYTHON-RAN\nexit 0\n"


@pytest.mark.parametrize("entry", [".", "", "bin"])
def test_the_launcher_never_runs_a_python_from_the_app_dir(sb: Sandbox, entry: str) -> None:
    """``.``, an empty entry (the shell's own search reads it as ``.``) and a relative
    entry (``bin``: the app's ``bin/``, since the app is the working directory)."""
    sb.patterns("log/\n")
    where = "bin/" if entry == "bin" else ""
    for name in ("python3", "python3.14", "python3.13", "python3.9", "uname"):
        sb.write(where + name, FAKE_PYTHON, 0o755)
    env = {"PATH": f"{entry}:{PATH}" if entry else f":{PATH}"}
    result = sb.build(extra_env=env)
    assert result.returncode == 0, result
    assert result.detected is not None
    assert "APP-PYTHON-RAN" not in result.output + result.detected.output
    assert "Writable: log" in result.stdout


def test_settings_of_200000_blank_lines_are_read_in_linear_time(sb: Sandbox) -> None:
    sb.write("a.txt", "", 0o666)
    sb.env("BP_WRITABLE_PATHS", "  \n" * 200_000)
    sb.env("BP_WRITABLE_PATHS_FILE", "\t\n" * 200_000)
    result = sb.build()
    assert result.returncode == 0, result
    assert "nothing to do" in result.stdout
    assert result.before == result.after


def test_a_setting_decided_by_its_first_line_is_not_read_further(sb: Sandbox) -> None:
    sb.write("a.txt", "", 0o666)
    # 100,000 lines: within the 1 MiB limit of a setting, and minutes for a quadratic loop.
    sb.env("BP_WRITABLE_PATHS", "log/\n" + "# comment\n" * 100_000)
    result = sb.build()
    assert result.returncode == 0, result
    assert "Writable: log" in result.stdout


@pytest.mark.parametrize("name", ["BP_WRITABLE_PATHS", "BP_WRITABLE_PATHS_STRICT", "BP_LOG_LEVEL"])
def test_a_setting_that_is_a_fifo_stops_detect_and_build_without_hanging(
    sb: Sandbox, name: str
) -> None:
    sb.patterns("log/\n")
    os.mkfifo(sb.platform / "env" / name, 0o666)
    for result in (sb.detect(), sb.run("build")):
        assert result.returncode == 1, result
        assert f"Invalid setting {name}" in result.stderr
        assert "is not a regular file" in result.stderr
        assert subtree(result.before, b"app") == subtree(result.after, b"app")


@pytest.mark.parametrize("target", ["/dev/zero", "/dev/urandom", "/proc/self/environ"])
def test_a_setting_that_links_to_a_device_is_not_read(sb: Sandbox, target: str) -> None:
    sb.patterns("log/\n")
    (sb.platform / "env" / "BP_WRITABLE_PATHS").symlink_to(target)
    for result in (sb.detect(), sb.run("build")):
        assert result.returncode == 1, result
        assert "Invalid setting BP_WRITABLE_PATHS" in result.stderr
        assert subtree(result.before, b"app") == subtree(result.after, b"app")


def test_without_configuration_a_fifo_setting_is_still_refused(sb: Sandbox) -> None:
    os.mkfifo(sb.platform / "env" / "BP_WRITABLE_PATHS", 0o666)
    result = sb.detect()
    assert result.returncode == 1, result
    assert "is not a regular file" in result.stderr
