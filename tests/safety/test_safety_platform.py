"""A platform that misbehaves: the layers dir unusable, launch.toml a symlink,
stdout closed or broken, a label that would be huge. Each ends with exit 0 or 1
and a message, never a traceback, and changes nothing outside the app."""

from __future__ import annotations

import json
import os
import subprocess

import pytest
import tomllib
from safety_sandbox import (
    BUILD_GID,
    BUILD_UID,
    TIMEOUT,
    Sandbox,
    allowed_changes,
    needs_root,
    sandbox,
)

from writable_paths.core.label import LIMIT, enclosing


def test_the_label_names_enclosing_directories_when_too_large() -> None:
    roots = [f"logs/day{d}/file{i}.log" for d in range(50) for i in range(1000)]
    chosen = enclosing(roots, lambda r: sum(len(x) + 4 for x in r))
    assert chosen == sorted(f"logs/day{d}" for d in range(50))
    small = ["tmp/pids", "log"]
    assert enclosing(small, lambda r: sum(len(x) for x in r)) == sorted(small)
    assert enclosing(roots, lambda r: LIMIT + 1) == [""]


@needs_root
def test_launch_toml_as_a_symlink_is_replaced_not_written_through() -> None:
    with sandbox() as box:
        box.patterns("log/\n")
        target = box.other / "shared.txt"
        (box.bp_layers / "launch.toml").symlink_to(target)
        result = box.build()
        assert result.returncode == 0, str(result)
        assert target.read_text() == "shared\n"
        assert not (box.bp_layers / "launch.toml").is_symlink()
        assert "writable-paths" in (box.bp_layers / "launch.toml").read_text()


@needs_root
def test_a_root_owned_or_missing_layers_dir_fails_with_a_message() -> None:
    with sandbox() as box:
        box.patterns("log/\n")
        os.chown(box.bp_layers, 0, 0)
        os.chmod(box.bp_layers, 0o755)
        result = box.build()
        assert result.returncode == 1, str(result)
        assert "Cannot write the image label" in result.output
        assert os.listdir(box.bp_layers) == []
        os.rmdir(box.bp_layers)
        result = box.run("build")
        assert result.returncode == 1, str(result)
        assert "Cannot write the image label" in result.output


@needs_root
def test_a_full_layers_dir_fails_with_a_message() -> None:
    with sandbox() as box:
        box.patterns("log/\n")
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size=4k,uid={BUILD_UID}", "tmpfs", str(box.bp_layers)],
            check=True,
        )
        try:
            try:  # fill it: whatever fits of 8 KiB in a 4 KiB file system
                with open(box.bp_layers / "filler", "wb") as handle:
                    handle.write(b"x" * 8192)
            except OSError:
                pass
            result = box.run("build")
            assert result.returncode == 1, str(result)
            assert "No space left" in result.output
            assert set(os.listdir(box.bp_layers)) <= {"filler"}  # no temporary file left
        finally:
            subprocess.run(["umount", "-l", str(box.bp_layers)], check=False)


# -- through the real bin/build: the label, a closed or broken standard output ---------


def _files(box: Sandbox, directory: str, names: list[str], mode: int = 0o644) -> None:
    """Many files of the build user, fast (no per-file chmod: the umask gives ``mode``)."""
    where = box.mkdir(directory)
    for name in names:
        fd = os.open(where / name, os.O_CREAT | os.O_WRONLY | os.O_CLOEXEC, mode)
        os.fchmod(fd, mode)
        os.fchown(fd, BUILD_UID, BUILD_GID)
        os.close(fd)


def _label(box: Sandbox) -> list[str]:
    """The label's paths as launch.toml gives them to the exporter."""
    document = tomllib.loads((box.bp_layers / "launch.toml").read_text())
    (label,) = document["labels"]
    assert label["key"] == "writable-paths"
    value: list[str] = json.loads(label["value"])
    return value


@needs_root
def test_a_label_over_64_kib_names_the_enclosing_directories(sb: Sandbox) -> None:
    days = [f"logs/day{d:02d}" for d in range(50)]
    for day in days:
        _files(sb, day, [f"request-{i:04d}.log" for i in range(1000)])
    sb.write("logs/README", "not a log\n")
    sb.patterns("*.log\n")
    result = sb.run("build")  # detect is the same as for any pattern file: not run again
    assert result.returncode == 0, str(result)
    size = (sb.bp_layers / "launch.toml").stat().st_size
    assert size < 64 * 1024, size
    # 50,000 roots of about 60 bytes would be 3 MB: the 50 enclosing directories instead.
    assert _label(sb) == sorted(str(sb.app / day) for day in days)
    assert "The image label names enclosing directories" in result.output
    assert "naming all 50,000 writable roots" in result.output
    assert sb.mode("logs/day07/request-0999.log") == 0o664  # every root was still made writable
    assert sb.mode("logs/README") == 0o644


def _run_build(
    box: Sandbox, stdout: int, extra_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[bytes]:
    command, env = box.command("build")
    env.update(extra_env or {})
    return subprocess.run(
        command, cwd=box.app, env=env, stdout=stdout, stderr=subprocess.PIPE, timeout=TIMEOUT
    )


def _broken_pipe() -> int:
    """The write end of a pipe whose reader has gone: every write fails with EPIPE."""
    reader, writer = os.pipe()
    os.close(reader)
    return writer


def _tree(box: Sandbox) -> None:
    for d in range(20):
        _files(box, f"storage/d{d:02d}", [f"f{i:03d}.txt" for i in range(100)], 0o666)
        _files(box, f"config/d{d:02d}", [f"c{i:03d}.yml" for i in range(100)], 0o666)
    box.patterns("storage/\n")


def _clean_build(box: Sandbox) -> tuple[set[tuple[bytes, str, int, int, int]], list[str]]:
    """A rerun with the output open: what the app and the label end as, checked
    to be a fixed point (one more build changes nothing)."""
    assert box.run("build").returncode == 0
    state, label = box.app_state(), _label(box)
    again = box.run("build")
    assert again.returncode == 0, str(again)
    assert box.app_state() == state
    return state, label


@needs_root
def test_a_closed_stdout_stops_the_build_before_any_change(sb: Sandbox) -> None:
    _tree(sb)
    before = sb.snapshot()
    command, env = sb.command("build")
    closed = subprocess.run(
        ["sh", "-c", 'exec "$@" >&-', "sh", *command],
        cwd=sb.app,
        env=env,
        capture_output=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert closed.returncode == 1, closed
    assert b"ERROR: The build's output cannot be written (standard output is closed)" in (
        closed.stderr
    )
    assert b"Traceback" not in closed.stderr
    assert sb.snapshot() == before  # nothing changed, no launch.toml
    _clean_build(sb)


@needs_root
@pytest.mark.parametrize("level", ["INFO", "DEBUG"])
def test_a_broken_stdout_ends_with_a_message_and_a_build_that_converges(
    sb: Sandbox, level: str
) -> None:
    """INFO: the log fits the pipe buffer, so the reader's absence shows at the final
    flush, after every change and the label. DEBUG: a line per change fills the
    buffer part way through the walk, which stops there, before the label."""
    _tree(sb)
    before = sb.snapshot()
    writer = _broken_pipe()
    try:
        broken = _run_build(sb, writer, {"BP_LOG_LEVEL": level})
    finally:
        os.close(writer)
    assert broken.returncode == 1, broken
    assert b"ERROR: The build's output cannot be written (the reader of standard output" in (
        broken.stderr
    )
    assert b"Traceback" not in broken.stderr
    after = sb.snapshot()
    problems = allowed_changes(before, after)
    assert not problems, "\n".join(problems[:20])
    changed = {path for path in set(before) | set(after) if before.get(path) != after.get(path)}
    label_written = (sb.bp_layers / "launch.toml").exists()
    partial_state, partial_label = sb.app_state(), _label(sb) if label_written else None
    state, label = _clean_build(sb)
    if level == "INFO":
        # Everything was done; the rerun only confirms it.
        assert label_written
        assert (partial_state, partial_label) == (state, label)
    else:
        # Stopped in the walk: some changes made, the label not yet written, and the
        # rerun finishes the rest.
        assert changed
        assert not label_written
        assert partial_state != state
    assert label == [str(sb.app / "storage")]
