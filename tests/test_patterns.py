"""gitignore line syntax: what each line means, and which lines are refused."""

from __future__ import annotations

import pytest

from writable_paths.core.patterns import (
    MAX_FILE_BYTES,
    MAX_LINE_BYTES,
    MAX_PATTERNS,
    Pattern,
    parse_env,
    parse_file,
    parse_line,
    split_env_value,
    trim_trailing_spaces,
)
from writable_paths.core.wildmatch import DOUBLESTAR, Segment
from writable_paths.errors import PatternError, UserError


def only(text: bytes) -> Pattern:
    patterns = parse_file(text, ".writable-paths").patterns
    assert len(patterns) == 1
    return patterns[0]


def test_blank_lines_and_comments_are_skipped() -> None:
    patterns = parse_file(b"\n# comment\n   \nlog/\n", ".writable-paths").patterns
    assert [p.source.line for p in patterns] == [4]


def test_escaped_hash_and_bang_are_literal() -> None:
    hashed = only(b"\\#notes\n")
    assert not hashed.negated
    assert isinstance(hashed.elements[-1], Segment)
    assert hashed.elements[-1].match(b"#notes")
    bang = only(b"\\!important\n")
    assert not bang.negated
    assert isinstance(bang.elements[-1], Segment)
    assert bang.elements[-1].match(b"!important")


def test_trailing_spaces_are_trimmed_unless_escaped() -> None:
    assert trim_trailing_spaces(b"log   ") == b"log"
    assert trim_trailing_spaces(b"log\\ ") == b"log\\ "
    assert trim_trailing_spaces(b"log\\  ") == b"log\\ "
    assert trim_trailing_spaces(b"a b") == b"a b"
    assert trim_trailing_spaces(b"x\\") == b"x\\"


def test_negation_dir_only_and_anchoring_flags() -> None:
    p = only(b"!/tmp/cache/\n")
    assert p.negated
    assert p.dir_only
    assert [e.literal for e in p.elements if isinstance(e, Segment)] == [b"tmp", b"cache"]
    assert p.elements[0] is not DOUBLESTAR  # anchored at the root


def test_slash_free_pattern_matches_at_any_depth() -> None:
    p = only(b"*.log\n")
    assert p.elements[0] is DOUBLESTAR
    assert not p.dir_only


def test_crlf_and_bom_are_accepted() -> None:
    patterns = parse_file(b"\xef\xbb\xbflog/\r\ntmp/\r\n", ".writable-paths").patterns
    assert [p.source.text for p in patterns] == ["log/", "tmp/"]


def test_literal_directory_patterns_are_creatable() -> None:
    assert only(b"tmp/pids/\n").creates == (b"tmp", b"pids")
    assert only(b"log/\n").creates == (b"log",)
    assert only(b"my\\ dir/\n").creates == (b"my dir",)
    assert only(b"tmp/*/\n").creates is None
    assert only(b"!tmp/\n").creates is None
    assert only(b"tmp\n").creates is None  # may be meant as a file


@pytest.mark.parametrize("line", [b"../x", b"a/../../b", b"..", b"x/..", b"\\.\\./x"])
def test_dotdot_segment_is_an_error_naming_the_line(line: bytes) -> None:
    with pytest.raises(PatternError) as info:
        parse_file(b"# header\n" + line + b"\n", ".writable-paths")
    assert info.value.line == 2
    assert ".writable-paths:2" in info.value.render()
    assert "'..'" in info.value.render()


def test_nul_byte_is_an_error() -> None:
    with pytest.raises(PatternError, match="custom-file:1") as info:
        parse_file(b"lo\0g/\n", "custom-file")
    assert "NUL" in info.value.render()
    assert "custom-file:1" in info.value.render()


def test_latin1_bytes_are_an_error_naming_the_line() -> None:
    with pytest.raises(PatternError) as info:
        parse_file(b"log/\ncaf\xe9/\n", ".writable-paths")
    assert info.value.line == 2
    assert "UTF-8" in info.value.render()


def test_file_size_limit() -> None:
    parse_file(b"#" * (MAX_FILE_BYTES - 1) + b"\n", "f")
    with pytest.raises(UserError, match="too large"):
        parse_file(b"#" * MAX_FILE_BYTES + b"\n", "f")


def test_pattern_count_limit() -> None:
    parse_file(b"x\n" * MAX_PATTERNS, "f")
    with pytest.raises(PatternError) as info:
        parse_file(b"x\n" * (MAX_PATTERNS + 1), "f")
    assert info.value.line == MAX_PATTERNS + 1


def test_line_length_limit() -> None:
    parse_line(b"a" * MAX_LINE_BYTES, "f", 1)
    with pytest.raises(PatternError, match="f:3"):
        parse_file(b"\n\n" + b"a" * (MAX_LINE_BYTES + 1), "f")


def test_env_value_splits_on_newlines_and_colons() -> None:
    assert split_env_value("tmp/:log/\nstorage/") == ["tmp/", "log/", "storage/"]
    assert split_env_value("a\\:b:c") == ["a:b", "c"]
    assert split_env_value("a\\\\:b") == ["a\\\\", "b"]
    assert split_env_value("a\\*b") == ["a\\*b"]


def test_env_patterns_are_named_by_variable_and_item() -> None:
    patterns = parse_env("tmp/::log/").patterns
    assert [str(p.source) for p in patterns] == [
        "BP_WRITABLE_PATHS:1:tmp/",
        "BP_WRITABLE_PATHS:3:log/",
    ]
    with pytest.raises(PatternError, match="BP_WRITABLE_PATHS:2"):
        parse_env("tmp/:../etc")


def test_combined_sets_respect_the_pattern_limit() -> None:
    left = parse_file(b"x\n" * MAX_PATTERNS, "f")
    with pytest.raises(PatternError, match="BP_WRITABLE_PATHS:1"):
        left + parse_env("y")
