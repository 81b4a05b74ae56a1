"""Settings (``<platform>/env/BP_*`` files, as pack passes them): an invalid value
stops the build before anything changes; an empty one means "not set"."""

from __future__ import annotations

import pytest
from safety_sandbox import Result, Sandbox, needs_root, subtree

pytestmark = needs_root


def assert_app_unchanged(result: Result) -> None:
    assert subtree(result.before, b"app") == subtree(result.after, b"app"), result
    assert result.after[b"app"].mode == 0o777


@pytest.mark.parametrize("value", ["maybe", "ture", "2", "true false", "-1"])
def test_an_unknown_strict_value_stops_the_build_before_any_change(sb: Sandbox, value: str) -> None:
    sb.patterns("log/\n")
    sb.write("a.txt", "", 0o666)
    sb.env("BP_WRITABLE_PATHS_STRICT", value)
    result = sb.build()
    assert result.returncode == 1, result
    assert "Invalid value for BP_WRITABLE_PATHS_STRICT" in result.stderr
    assert f"BP_WRITABLE_PATHS_STRICT={value!r}" in result.stderr
    assert "true or false" in result.stderr
    assert_app_unchanged(result)


@pytest.mark.parametrize(
    ("value", "strict"),
    [("FALSE", False), (" no\n", False), ("0", False), ("On", True), ("", True)],
)
def test_known_strict_values_are_accepted(sb: Sandbox, value: str, strict: bool) -> None:
    sb.patterns("log/\n")
    sb.write("a.txt", "", 0o666)
    sb.env("BP_WRITABLE_PATHS_STRICT", value)
    result = sb.build()
    assert result.returncode == 0, result
    assert f"strict={str(strict).lower()}" in result.stdout
    assert sb.mode("a.txt") == (0o644 if strict else 0o666)
    assert sb.mode("") == (0o755 if strict else 0o775)


@pytest.mark.parametrize("value", ["", "\n", " ", ":::", " : \n:"])
def test_an_empty_pattern_variable_without_a_file_does_nothing(sb: Sandbox, value: str) -> None:
    sb.write("a.txt", "", 0o666)
    sb.env("BP_WRITABLE_PATHS", value)
    result = sb.build()
    assert result.returncode == 0, result
    assert "nothing to do" in result.stdout
    assert result.before == result.after


def test_a_pattern_variable_of_comments_only_does_nothing(sb: Sandbox) -> None:
    sb.write("a.txt", "", 0o666)
    sb.env("BP_WRITABLE_PATHS", "# nothing\n#:")
    result = sb.build()
    assert result.returncode == 0, result
    assert "nothing to do" in result.stdout
    assert result.before == result.after


def test_an_empty_pattern_variable_leaves_the_file_in_charge(sb: Sandbox) -> None:
    sb.patterns("log/\n")
    sb.env("BP_WRITABLE_PATHS", "")
    result = sb.build()
    assert result.returncode == 0, result
    assert sb.mode("log") == 0o2775


@pytest.mark.parametrize(
    ("value", "texts"),
    [
        ("../outside/patterns", ["inside the app directory"]),
        ("config/../../outside/patterns", ["inside the app directory"]),
        ("{outside}/patterns", ["inside the app directory"]),
        ("/etc/passwd", ["inside the app directory"]),
        ("config/writable", ["config/writable", "does not exist"]),
        ("missing-dir/writable", ["missing-dir/writable", "does not exist"]),
        ("a.txt/writable", ["a.txt/writable"]),
        (".", ["names no file"]),
        ("con\0fig", ["NUL byte"]),
    ],
)
def test_a_pattern_file_setting_outside_the_app_or_missing_is_refused(
    sb: Sandbox, value: str, texts: list[str]
) -> None:
    sb.write_abs(sb.outside / "patterns", "*\n")
    sb.write("a.txt", "", 0o666)
    sb.env("BP_WRITABLE_PATHS_FILE", value.format(outside=sb.outside))
    result = sb.build()
    assert result.returncode == 1, result
    assert "ERROR: Cannot use" in result.stderr
    for text in texts:
        assert text in result.stderr, result
    assert_app_unchanged(result)
    detected = result.detected
    assert detected is not None
    assert detected.returncode == 1, detected
    assert texts[0] in detected.stderr


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (b"tmp/:../x", "Invalid pattern at BP_WRITABLE_PATHS:2"),
        (b"log/\ncaf\xe9/", "Invalid pattern at BP_WRITABLE_PATHS:2"),
        (b"lo\x00g/", "Invalid pattern at BP_WRITABLE_PATHS:1"),
        (b"x" * 5000, "Invalid pattern at BP_WRITABLE_PATHS:1"),
    ],
)
def test_an_invalid_pattern_variable_names_the_item(sb: Sandbox, value: bytes, text: str) -> None:
    sb.env("BP_WRITABLE_PATHS", value)
    result = sb.build()
    assert result.returncode == 1, result
    assert text in result.stderr
    assert_app_unchanged(result)
    detected = result.detected
    assert detected is not None
    assert detected.returncode == 1, detected
    assert text in detected.stderr


def test_an_escaped_colon_in_the_pattern_variable_is_a_literal_colon(sb: Sandbox) -> None:
    sb.write("a:b", "", 0o644)
    sb.env("BP_WRITABLE_PATHS", "a\\:b:c")
    result = sb.build()
    assert result.returncode == 0, result
    assert sb.mode("a:b") == 0o664


def test_settings_from_the_process_environment_are_validated_too(sb: Sandbox) -> None:
    sb.patterns("log/\n")
    result = sb.build(extra_env={"BP_WRITABLE_PATHS_STRICT": "maybe"})
    assert result.returncode == 1, result
    assert "BP_WRITABLE_PATHS_STRICT" in result.stderr
    assert_app_unchanged(result)


def test_a_pattern_file_without_patterns_changes_nothing_and_says_so(sb: Sandbox) -> None:
    # Issue 2: with no patterns configured the build changes nothing at all, not even
    # the app root; an empty or comments-only file configures no patterns.
    sb.patterns("# Nothing of this app is writable at run time.\n")
    sb.write("a.txt", "", 0o666)
    result = sb.build()
    assert result.returncode == 0, result
    assert "No patterns in .writable-paths or BP_WRITABLE_PATHS" in result.stdout
    assert sb.mode("") == 0o777
    assert sb.mode("a.txt") == 0o666
