"""Hostile and broken pattern files: each either works as git would or stops the
build with an error naming the file and line, before anything in the app changes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

import pytest
import tomllib
from safety_sandbox import BUILD_GID, Result, Sandbox, needs_root, remove_tree, subtree

pytestmark = needs_root


def label_roots(sb: Sandbox) -> set[str]:
    launch = tomllib.loads((sb.bp_layers / "launch.toml").read_text())
    (label,) = launch["labels"]
    assert label["key"] == "writable-paths"
    return set(json.loads(label["value"]))


def assert_refused(result: Result, *texts: str) -> None:
    """Exit 1 with every text in stderr, and the app exactly as it was (pack's 0777 root too)."""
    assert result.returncode == 1, result
    for text in texts:
        assert text in result.stderr, result
    assert subtree(result.before, b"app") == subtree(result.after, b"app"), result
    own = b"layers/community-buildpacks_writable-paths/"
    assert not any(k.startswith(own) for k in result.after)


def build_and_detect_refuse(sb: Sandbox, *texts: str) -> None:
    result = sb.build()
    assert_refused(result, "ERROR: ", *texts)
    detected = result.detected
    assert detected is not None
    assert detected.returncode == 1, detected
    for text in texts:
        assert text in detected.stderr, detected


# -- '..' and absolute-looking patterns ----------------------------------------------


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("../x\n", 1),
        ("log/\na/../../b\n", 2),
        ("# c\n\n..\n", 3),
        ("x/..\n", 1),
        ("/../etc/\n", 1),
        ("!../x\n", 1),
        ("**/../**\n", 1),
        ("\\.\\./x/\n", 1),  # escaped dots are still '..'
        ("[.][.]/x/\n", 1),
    ],
)
def test_a_dot_dot_segment_is_an_error_naming_the_line(sb: Sandbox, text: str, line: int) -> None:
    sb.write("a/f", "", 0o666)
    sb.patterns(text)
    build_and_detect_refuse(sb, f"Invalid pattern at .writable-paths:{line}", "'..' segment")


def test_an_absolute_looking_pattern_anchors_at_the_app_root(sb: Sandbox) -> None:
    sb.patterns("/etc/\n/outside/\n")
    result = sb.build()
    assert result.returncode == 0, result
    assert sb.mode("etc") == 0o2775
    assert sb.mode("outside") == 0o2775
    # <root>/outside itself is unchanged: the invariant checks it.
    assert "Created etc/" in result.stdout
    assert label_roots(sb) == {f"{sb.app}/etc", f"{sb.app}/outside"}


def test_a_file_in_the_way_of_a_directory_to_create_is_a_warning(sb: Sandbox) -> None:
    sb.write("a.txt", "", 0o666)
    sb.patterns("a.txt/sub/\n")
    result = sb.build()
    assert result.returncode == 0, result
    assert "cannot create directory 'a.txt/sub': 'a.txt' is a file" in result.stdout
    assert sb.mode("a.txt") == 0o644


def test_patterns_naming_the_app_root_select_nothing(sb: Sandbox) -> None:
    sb.write("a.txt", "", 0o666)
    sb.patterns("/\n.\n./\n//\n/.\n")
    result = sb.build()
    assert result.returncode == 0, result
    assert sb.mode("a.txt") == 0o644
    assert sb.mode("") == 0o755
    assert "Created" not in result.stdout.replace("Created: 0 directories", "")


# -- odd wildcards: git's meaning, checked against git itself ------------------------

# (No name starts with ':', which git check-ignore reads as pathspec magic.)
NAMES = ("z", "a", "m", "-", "]", "!", "\\", "[abc", "abc", "ax", "[", "b", "^", "x")


def git_selects(pattern: str, names: Sequence[str]) -> set[str]:
    """The names that ``git check-ignore`` says ``pattern`` selects (files at the root)."""
    repo = Path(tempfile.mkdtemp(prefix="wp-git-"))
    try:
        subprocess.run(["git", "init", "-q", str(repo)], check=True)
        (repo / ".gitignore").write_bytes(pattern.encode() + b"\n")
        done = subprocess.run(
            [
                "git",
                "-c",
                "core.excludesFile=/dev/null",
                "check-ignore",
                "--no-index",
                "-v",
                "-n",
                "-z",
                "--stdin",
            ],
            cwd=repo,
            input=b"\0".join(n.encode() for n in names) + b"\0",
            capture_output=True,
            check=False,
        )
        fields = done.stdout.split(b"\0")
        selected = set()
        for i in range(0, len(fields) - 3, 4):
            source_pattern, path = fields[i + 2], fields[i + 3]
            if source_pattern and not source_pattern.startswith(b"!"):
                selected.add(path.decode())
        return selected
    finally:
        remove_tree(repo)


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git as the oracle")
@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("[z-a]", {"z"}),  # a reversed range: git matches its first character
        ("\\", set()),  # a lone backslash never matches
        ("[abc", set()),  # an unclosed bracket never matches
        ("a\\", set()),
        ("[]]", {"]"}),
        ("[!]", set()),
        ("[a-]", {"a", "-"}),
        ("[[:bogus:]]", set()),
        ("[[:alpha:]]x", {"ax"}),
        ("[^a-y]", None),
        ("\\[abc", {"[abc"}),
        ("[\\]", set()),
        ("?", None),
    ],
)
def test_odd_wildcards_select_what_git_selects(
    sb: Sandbox, pattern: str, expected: set[str] | None
) -> None:
    oracle = git_selects(pattern, NAMES)
    if expected is not None:
        assert oracle == expected  # the case means what we think it means
    for name in NAMES:
        sb.write(name, name, 0o644)
    sb.patterns(pattern + "\n")
    result = sb.build()
    assert result.returncode == 0, result
    selected = {n for n in NAMES if sb.mode(n) == 0o664 and sb.gid(n) == BUILD_GID}
    assert selected == oracle, result
    if not oracle:
        assert f".writable-paths:1:{pattern}: selects nothing" in result.stdout, result


# -- bytes the file must not hold --------------------------------------------------


def test_a_nul_byte_is_an_error_naming_the_line(sb: Sandbox) -> None:
    sb.patterns(b"log/\nlo\x00g/\ntmp/\n")
    build_and_detect_refuse(sb, "Invalid pattern at .writable-paths:2", "NUL byte")


def test_latin_1_bytes_are_an_error_naming_the_line(sb: Sandbox) -> None:
    sb.patterns(b"log/\n# caf\xe9 in a comment is fine\ncaf\xe9/\n")
    build_and_detect_refuse(sb, "Invalid pattern at .writable-paths:3", "not valid UTF-8")


def test_crlf_line_ends_are_read_as_line_ends(sb: Sandbox) -> None:
    sb.patterns(b"log/\r\ntmp/pids/\r\n\r\n# c\r\n")
    result = sb.build()
    assert result.returncode == 0, result
    assert sb.mode("log") == sb.mode("tmp/pids") == 0o2775
    assert not any(b"\r" in k for k in result.after)


def test_a_byte_order_mark_is_skipped(sb: Sandbox) -> None:
    sb.patterns(b"\xef\xbb\xbflog/\r\n")
    result = sb.build()
    assert result.returncode == 0, result
    assert sorted(os.listdir(sb.app)) == [".writable-paths", "log"]
    assert sb.mode("log") == 0o2775


# -- size limits -----------------------------------------------------------------------


def test_a_pattern_file_of_exactly_1_mib_is_read(sb: Sandbox) -> None:
    head = b"log/\n"
    comment = b"#" + b"x" * 1022 + b"\n"
    body = head + comment * 1023
    body += b"#" * (1024 * 1024 - len(body) - len(b"data/\n") - 1) + b"\n" + b"data/\n"
    assert len(body) == 1024 * 1024
    sb.patterns(body)
    result = sb.build()
    assert result.returncode == 0, result
    assert sb.mode("log") == sb.mode("data") == 0o2775


def test_a_pattern_file_over_1_mib_is_refused(sb: Sandbox) -> None:
    sb.patterns(b"log/\n" + b"#" * (1024 * 1024 - 5) + b"\n")
    build_and_detect_refuse(sb, "Pattern file .writable-paths is too large", "1 MiB")


def test_100_000_pattern_lines_stop_at_the_limit_naming_the_line(sb: Sandbox) -> None:
    sb.patterns("".join(f"p{i}\n" for i in range(100_000)))
    build_and_detect_refuse(
        sb, "Invalid pattern at .writable-paths:10001", "More than 10,000 patterns"
    )


def test_10_000_patterns_are_accepted(sb: Sandbox) -> None:
    sb.write("p9999", "", 0o644)
    sb.write("other", "", 0o666)
    sb.patterns("# comments do not count\n" + "".join(f"p{i}\n" for i in range(10_000)))
    result = sb.build()
    assert result.returncode == 0, result
    assert sb.mode("p9999") == 0o664
    assert sb.mode("other") == 0o644
    assert "... and 9,979 more" in result.stdout  # 9,999 patterns select nothing


def test_the_pattern_limit_counts_the_file_and_the_variable_together(sb: Sandbox) -> None:
    sb.patterns("".join(f"p{i}\n" for i in range(9_999)))
    sb.env("BP_WRITABLE_PATHS", "a:b:c")
    build_and_detect_refuse(sb, "Invalid pattern at BP_WRITABLE_PATHS:2", "More than 10,000")


def test_a_10_000_character_pattern_is_an_error_naming_the_line(sb: Sandbox) -> None:
    sb.patterns("log/\n" + "a" * 10_000 + "\n")
    build_and_detect_refuse(
        sb, "Invalid pattern at .writable-paths:2", "10,000 bytes long", "4,096"
    )


def test_a_pattern_line_of_4_096_bytes_and_a_long_comment_are_accepted(sb: Sandbox) -> None:
    sb.patterns("#" + "c" * 10_000 + "\n" + "a/" * 2047 + "b\n")
    result = sb.build()
    assert result.returncode == 0, result
    assert ".writable-paths:2:a/a/a/" in result.stdout  # selects nothing


def test_a_directory_name_longer_than_name_max_is_a_clear_message(sb: Sandbox) -> None:
    long = "a" * 300
    sb.patterns(f"log/\n{long}/\n")
    result = sb.build()  # the invariant: exit 0 or 1, no traceback
    # A declared directory that cannot exist fails the build, naming pattern and cause.
    assert result.returncode == 1, result
    assert f"{long}/: cannot create it (.writable-paths:2:{long}/)" in result.output
    assert "File name too long" in result.output


def test_a_pattern_of_2_047_directories_creates_them_all(sb: Sandbox) -> None:
    sb.patterns("d/" * 2047 + "\n")
    result = sb.build()
    assert result.returncode == 0, result
    deepest = b"app" + b"/d" * 2047
    assert result.after[deepest].mode == 0o2775
    assert result.after[deepest[:-2]].mode == 0o755


# -- patterns that could be slow ---------------------------------------------------


def test_many_double_stars_against_a_200_deep_tree_finish(sb: Sandbox) -> None:
    deep = "/".join(["d"] * 199)
    sb.write(f"{deep}/x", "", 0o644)
    sb.write(f"{deep}/y", "", 0o666)
    sb.write("x", "", 0o644)
    sb.patterns("**/**/**/**/**/**/**/**/x\n")
    result = sb.build()
    assert result.returncode == 0, result
    assert sb.mode(f"{deep}/x") == sb.mode("x") == 0o664
    assert sb.mode(f"{deep}/y") == 0o644


def test_star_heavy_patterns_against_long_names_finish(sb: Sandbox) -> None:
    for n in range(150, 201):
        sb.write("a" * n, "", 0o644)
    sb.write("a" * 200 + "b", "", 0o644)
    sb.write("ab" * 100, "", 0o644)
    sb.patterns("*a*a*a*a*a*a*a*a*a*a*b\n" + "*" + "a*" * 100 + "c\n")
    result = sb.build()
    assert result.returncode == 0, result
    assert sb.mode("a" * 200) == 0o644
    assert sb.mode("a" * 200 + "b") == sb.mode("ab" * 100) == 0o664


# -- what the pattern file is -----------------------------------------------------------


def test_a_directory_as_the_pattern_file_is_refused(sb: Sandbox) -> None:
    sb.mkdir(".writable-paths")
    sb.write(".writable-paths/log", "")
    build_and_detect_refuse(sb, "Cannot use .writable-paths as the pattern file", "not a regular")


def test_a_fifo_as_the_pattern_file_is_refused_without_hanging(sb: Sandbox) -> None:
    sb.fifo(".writable-paths")
    build_and_detect_refuse(sb, "Cannot use .writable-paths as the pattern file", "not a regular")


@pytest.mark.parametrize("target", ["outside", "other-layer", "inside"])
def test_a_symlinked_pattern_file_is_refused(sb: Sandbox, target: str) -> None:
    paths = {
        "outside": sb.outside / "patterns",
        "other-layer": sb.other / "patterns",
        "inside": sb.path("config/patterns"),
    }
    sb.write_abs(paths[target], "/\n*\n", 0o644)
    sb.symlink(".writable-paths", str(paths[target]))
    build_and_detect_refuse(sb, "Cannot use .writable-paths as the pattern file", "symlink")


def test_a_pattern_file_behind_a_symlinked_directory_is_refused(sb: Sandbox) -> None:
    sb.write_abs(sb.outside / "patterns", "*\n")
    sb.symlink("config", "../outside")
    sb.env("BP_WRITABLE_PATHS_FILE", "config/patterns")
    build_and_detect_refuse(sb, "Cannot use config/patterns as the pattern file", "symlink")


def test_an_unreadable_pattern_file_is_a_clear_error(sb: Sandbox) -> None:
    sb.write(".writable-paths", "log/\n", 0o000, uid=0, gid=0)
    build_and_detect_refuse(
        sb, "Cannot use .writable-paths as the pattern file", "cannot be read by the build user"
    )


def test_a_pattern_file_in_an_unreadable_directory_is_a_clear_error(sb: Sandbox) -> None:
    sb.write("config/patterns", "log/\n")
    os.chmod(sb.path("config"), 0o000)
    sb.env("BP_WRITABLE_PATHS_FILE", "config/patterns")
    build_and_detect_refuse(sb, "config/patterns", "cannot be read by the build user")


def test_a_pattern_file_hard_linked_from_outside_is_only_read(sb: Sandbox) -> None:
    sb.write_abs(sb.outside / "patterns", "log/\n", 0o666)
    sb.hardlink(".writable-paths", sb.outside / "patterns")
    result = sb.build()
    assert result.returncode == 0, result
    assert sb.mode("log") == 0o2775
    assert sb.mode(".writable-paths") == 0o666  # linked outside: left unchanged
