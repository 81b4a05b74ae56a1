"""Segment matching follows git's wildmatch.c, byte by byte."""

from __future__ import annotations

import pytest

from writable_paths.core.wildmatch import DOUBLESTAR, Segment, compile_path, has_wildcard


def seg(pattern: bytes) -> Segment:
    elements = compile_path(pattern)
    assert len(elements) == 1
    element = elements[0]
    assert isinstance(element, Segment)
    return element


@pytest.mark.parametrize(
    ("pattern", "name", "expected"),
    [
        (b"*.log", b"app.log", True),
        (b"*.log", b".log", True),
        (b"*.log", b"app.log.1", False),
        (b"a?c", b"abc", True),
        (b"a?c", b"ac", False),
        (b"[abc]x", b"bx", True),
        (b"[!abc]x", b"bx", False),
        (b"[^abc]x", b"dx", True),
        (b"[a-c]", b"b", True),
        (b"[]a]", b"]", True),
        (b"[]a]", b"a", True),
        (b"[z-a]", b"z", True),  # git reads the 'z' first, then an empty range
        (b"[z-a]", b"m", False),
        (b"[[:digit:]]x", b"7x", True),
        (b"[[:digit:]]x", b"ax", False),
        (b"[[:bogus:]]", b"a", False),  # a bad class name never matches
        (b"[abc", b"a", False),  # unclosed: never matches
        (b"[abc", b"[abc", False),
        (b"abc\\", b"abc", False),  # trailing backslash: never matches
        (b"\\*x", b"*x", True),
        (b"\\*x", b"ax", False),
        (b"a**b", b"axxb", True),  # '**' inside a segment is '*'
        (b"?", "é".encode(), False),  # '?' is one byte; 'é' is two
        (b"??", "é".encode(), True),
    ],
)
def test_segment_matches_like_git(pattern: bytes, name: bytes, expected: bool) -> None:
    assert seg(pattern).match(name) is expected


def test_star_heavy_pattern_answers_without_backtracking_blowup() -> None:
    pattern = seg(b"*a*a*a*a*a*a*a*a*a*a*b")
    assert pattern.match(b"a" * 40) is False
    assert pattern.match(b"a" * 40 + b"b") is True
    assert pattern.match(b"a" * 255) is False


def test_doublestar_is_special_only_as_a_whole_segment() -> None:
    assert compile_path(b"a/**/b")[1] is DOUBLESTAR
    assert compile_path(b"**/b")[0] is DOUBLESTAR
    assert compile_path(b"a/**")[1] is DOUBLESTAR
    assert compile_path(b"a/***")[1] is DOUBLESTAR
    assert compile_path(b"a/**b")[1] is not DOUBLESTAR


def test_slash_inside_brackets_does_not_split_but_never_matches() -> None:
    elements = compile_path(b"x[a/b]y")
    assert len(elements) == 1
    assert isinstance(elements[0], Segment)
    assert elements[0].match(b"xay")


def test_escaped_slash_separates_like_a_slash() -> None:
    assert len(compile_path(b"a\\/b")) == 2


def test_has_wildcard_ignores_escaped_specials() -> None:
    assert has_wildcard(b"a*")
    assert has_wildcard(b"[ab]")
    assert not has_wildcard(b"a\\*")
    assert not has_wildcard(b"tmp/pids")


def test_equal_bracket_classes_are_one_object() -> None:
    # 10,000 lines of "*[!a]*[!b]*" held 158 MiB of copies of their classes.
    first = compile_path(b"*[!a]*[!b]*")
    second = compile_path(b"x[!b]?[!a]")
    (one,), (other,) = first, second
    assert isinstance(one, Segment)
    assert isinstance(other, Segment)
    classes = [t for t in one._tokens if isinstance(t, frozenset)]
    others = [t for t in other._tokens if isinstance(t, frozenset) and len(t) > 1]
    assert len(classes) == 2
    assert len(others) == 3  # "[!b]", "?", "[!a]"
    assert classes[0] is others[2]
    assert classes[1] is others[0]
    assert len(classes[0]) == 254
