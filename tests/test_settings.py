"""BP_* settings: read from the env and platform files, validated at the edge."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from writable_paths.cnb.settings import DEFAULT_STRICT, Settings, from_values, read_values
from writable_paths.cnb.sources import load_patterns
from writable_paths.core.patterns import PatternSet
from writable_paths.errors import UserError


def patterns_of(app: Path, values: dict[str, str]) -> PatternSet:
    return load_patterns(str(app), from_values(values))


def test_platform_env_files_override_the_process_env(tmp_path: Path) -> None:
    (tmp_path / "env").mkdir()
    (tmp_path / "env" / "BP_WRITABLE_PATHS_STRICT").write_text("false")
    values = read_values(
        {"BP_WRITABLE_PATHS_STRICT": "true", "BP_LOG_LEVEL": "debug"}, str(tmp_path)
    )
    assert values == {"BP_WRITABLE_PATHS_STRICT": "false", "BP_LOG_LEVEL": "debug"}


def test_unrelated_variables_are_not_read(tmp_path: Path) -> None:
    assert read_values({"HOME": "/x", "BP_OTHER": "1"}, None) == {}


def test_defaults() -> None:
    settings = from_values({})
    assert settings.strict is True
    assert settings.debug is False
    assert settings.pattern_file == ".writable-paths"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("true", True), ("FALSE", False), ("0", False), ("yes", True), (" off\n", False), ("", True)],
)
def test_strict_accepts_the_usual_booleans(raw: str, expected: bool) -> None:
    assert from_values({"BP_WRITABLE_PATHS_STRICT": raw}).strict is expected


def test_an_invalid_boolean_is_a_clear_error() -> None:
    with pytest.raises(UserError) as info:
        from_values({"BP_WRITABLE_PATHS_STRICT": "maybe"})
    text = info.value.render()
    assert "BP_WRITABLE_PATHS_STRICT='maybe'" in text
    assert "true or false" in text


def test_log_level_debug_in_any_case_and_anything_else_is_info() -> None:
    assert from_values({"BP_LOG_LEVEL": "debug"}).debug
    assert not from_values({"BP_LOG_LEVEL": "TRACE"}).debug


def test_pattern_file_and_env_patterns_are_combined_in_order(tmp_path: Path) -> None:
    (tmp_path / ".writable-paths").write_text("log/\n")
    patterns = patterns_of(tmp_path, {"BP_WRITABLE_PATHS": "tmp/:!tmp/x"})
    assert [str(p.source) for p in patterns.patterns] == [
        ".writable-paths:1:log/",
        "BP_WRITABLE_PATHS:1:tmp/",
        "BP_WRITABLE_PATHS:2:!tmp/x",
    ]


def test_named_pattern_file_in_a_subdirectory(tmp_path: Path) -> None:
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "writable").write_text("storage/\n")
    patterns = patterns_of(tmp_path, {"BP_WRITABLE_PATHS_FILE": "config/writable"})
    assert str(patterns.patterns[0].source) == "config/writable:1:storage/"


def test_missing_default_file_and_empty_env_mean_no_patterns(tmp_path: Path) -> None:
    assert not patterns_of(tmp_path, {"BP_WRITABLE_PATHS": "  "})


@pytest.mark.parametrize("name", ["/etc/passwd", "../x", "a/../../x"])
def test_pattern_file_outside_the_app_is_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(UserError, match="inside the app directory"):
        patterns_of(tmp_path, {"BP_WRITABLE_PATHS_FILE": name})


def test_directory_as_pattern_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / ".writable-paths").mkdir()
    with pytest.raises(UserError, match="not a regular file"):
        patterns_of(tmp_path, {})


def test_pattern_file_behind_a_symlinked_directory_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "patterns").write_text("/\n")
    app = tmp_path / "app"
    app.mkdir()
    (app / "config").symlink_to(outside)
    with pytest.raises(UserError, match="symlink"):
        patterns_of(app, {"BP_WRITABLE_PATHS_FILE": "config/patterns"})


@pytest.mark.parametrize(
    "values",
    [
        {},
        {"BP_WRITABLE_PATHS_FILE": "config/writable"},
        {"BP_WRITABLE_PATHS": "tmp/", "BP_WRITABLE_PATHS_STRICT": " ", "BP_LOG_LEVEL": ""},
    ],
)
def test_without_values_to_check_the_settings_are_the_models_defaults(
    values: dict[str, str],
) -> None:
    from writable_paths.cnb.settings_model import validate

    settings = from_values(values)
    assert (settings.strict, settings.debug) == validate(values, DEFAULT_STRICT)
    assert settings == Settings(
        values.get("BP_WRITABLE_PATHS_FILE", ".writable-paths"),
        "BP_WRITABLE_PATHS_FILE" in values,
        values.get("BP_WRITABLE_PATHS", ""),
    )


def _imports_after_from_values(values: dict[str, str]) -> set[str]:
    """The top-level modules a fresh interpreter has loaded after ``from_values``."""
    code = (
        "import sys, json\n"
        "before = set(sys.modules)\n"
        "from writable_paths.cnb.settings import from_values\n"
        f"from_values({values!r})\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in set(sys.modules) - before})))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    return set(json.loads(out))


def test_pydantic_is_imported_only_when_a_setting_needs_checking() -> None:
    assert "pydantic" not in _imports_after_from_values({"BP_WRITABLE_PATHS": "tmp/"})
    assert "pydantic" in _imports_after_from_values({"BP_WRITABLE_PATHS_STRICT": "false"})
    assert "pydantic" in _imports_after_from_values({"BP_LOG_LEVEL": "DEBUG"})
