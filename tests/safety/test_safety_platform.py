"""A platform that misbehaves: the layers dir unusable, launch.toml a symlink,
stdout closed or broken, a label that would be huge. Each ends with exit 0 or 1
and a message, never a traceback, and changes nothing outside the app."""

from __future__ import annotations

import os
import subprocess

from safety_sandbox import BUILD_UID, TIMEOUT, needs_root, sandbox

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


@needs_root
def test_closed_or_broken_stdout_ends_with_a_message() -> None:
    with sandbox() as box:
        box.patterns("log/\n")
        command, env = box.command("build")
        closed = subprocess.run(
            ["sh", "-c", 'exec "$@" >&-', "sh", *command],
            cwd=box.app,
            env=env,
            capture_output=True,
            timeout=TIMEOUT,
            check=False,
        )
        assert closed.returncode == 1, closed
        assert b"output cannot be written" in closed.stderr
        assert b"Traceback" not in closed.stderr
        broken = subprocess.run(
            ["sh", "-c", '"$@" | true; exit 0', "sh", *command],
            cwd=box.app,
            env=env,
            capture_output=True,
            timeout=TIMEOUT,
            check=False,
        )
        assert b"Traceback" not in broken.stderr
