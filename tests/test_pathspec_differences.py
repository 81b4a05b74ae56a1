"""Where pathspec 1.1.1 (``GitIgnoreSpec``) and git differ, and that the engine follows git.

Why the buildpack does not use pathspec (``docs/platform.md``, "gitignore and pathspec").
git's answers are asked of git itself when it is on PATH; the full proof that the
engine equals git is ``tests/test_git_oracle.py``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pathspec
import pytest
from gitoracle import GIT, make_tree, selected_by_git

from writable_paths.core.decide import Decider
from writable_paths.core.patterns import parse_file
from writable_paths.core.wildmatch import Segment, compile_path


def engine_selects(patterns: list[str], path: str, is_dir: bool) -> bool:
    """The engine's answer for ``path`` (its parents taken as directories)."""
    decider = Decider(parse_file("\n".join(patterns).encode(), ".writable-paths"))
    *parents, leaf = path.strip("/").split("/")
    context = decider.root
    for name in parents:
        _, child = decider.decide(context, os.fsencode(name), is_dir=True)
        assert child is not None
        context = child
    decision, _ = decider.decide(context, os.fsencode(leaf), is_dir)
    return decision.selected


def pathspec_matches(patterns: list[str], path: str) -> bool:
    return bool(pathspec.GitIgnoreSpec.from_lines(patterns).match_file(path))


def test_pathspec_is_the_version_measured() -> None:
    assert pathspec.__version__ == "1.1.1"


# --- (a) a negation under an excluded directory --------------------------------------


def test_a_pathspec_reincludes_a_file_under_an_excluded_directory(tmp_path: Path) -> None:
    patterns = ["dir/", "!dir/keep"]
    assert pathspec_matches(patterns, "dir/keep") is False  # pathspec: re-included
    assert pathspec_matches(patterns, "dir/other") is True
    # git: "It is not possible to re-include a file if a parent directory of that
    # file is excluded." dir/keep stays selected.
    assert engine_selects(patterns, "dir/keep", is_dir=False) is True
    assert engine_selects(patterns, "dir", is_dir=True) is True
    if GIT:
        make_tree(tmp_path, ["dir/keep", "dir/other"])
        assert selected_by_git(tmp_path, b"dir/\n!dir/keep\n") == {"dir", "dir/keep", "dir/other"}


# --- (b) x/** asked about x/ -----------------------------------------------------------


def test_b_pathspec_selects_the_directory_itself_for_a_trailing_doublestar(
    tmp_path: Path,
) -> None:
    patterns = ["x/**"]
    # pathspec matches a directory pattern only when asked with a trailing slash...
    assert pathspec_matches(["logs/"], "logs") is False
    assert pathspec_matches(["logs/"], "logs/") is True
    # ...and asked that way, x/** matches the directory x itself.
    assert pathspec_matches(patterns, "x/") is True
    assert pathspec_matches(patterns, "x/y") is True
    # git: x/** is what is inside x, not x.
    assert engine_selects(patterns, "x", is_dir=True) is False
    assert engine_selects(patterns, "x/y", is_dir=False) is True
    if GIT:
        make_tree(tmp_path, ["x/y"])
        assert selected_by_git(tmp_path, b"x/**\n") == {"x/y"}


# --- (c) star-heavy patterns -------------------------------------------------------------

STAR_HEAVY = "*a*a*a*a*a*a*a*a*a*a*b"  # pathspec: ~20 s against 40 'a's; not run here


def test_c_star_heavy_pattern_small_instance_agrees() -> None:
    # A small instance pathspec answers quickly (and correctly): no match.
    small = "*a*a*a*a*a*b"
    assert small.count("*") == 6
    name = "a" * 24
    assert pathspec_matches([small], name) is False
    assert engine_selects([small], name, is_dir=False) is False
    assert engine_selects([small], name + "b", is_dir=False) is True


def test_c_star_heavy_pattern_big_instance_engine_only() -> None:
    name = "a" * 40
    segment = compile_path(STAR_HEAVY.encode())[0]
    assert isinstance(segment, Segment)
    assert segment.match(name.encode()) is False
    assert segment.match(name.encode() + b"b") is True
    assert engine_selects([STAR_HEAVY], name, is_dir=False) is False
    assert engine_selects([STAR_HEAVY], "d/" + name + "b", is_dir=False) is True


# --- where pathspec is right -----------------------------------------------------------

# (patterns, path, is_dir, git's answer). pathspec is asked about a directory with a
# trailing slash, as it requires.
ORDINARY: list[tuple[list[str], str, bool, bool]] = [
    (["*.log"], "app.log", False, True),
    (["*.log"], "logs/app.log", False, True),
    (["*.log"], "app.log.1", False, False),
    (["*.log"], "app.txt", False, False),
    (["tmp/"], "tmp", True, True),
    (["tmp/"], "tmp/cache/x", False, True),
    (["tmp/"], "src/tmp", True, True),
    (["tmp/"], "tmp", False, False),
    (["/build"], "build", True, True),
    (["/build"], "build/out.o", False, True),
    (["/build"], "src/build", True, False),
    (["a/**/b"], "a/b", False, True),
    (["a/**/b"], "a/x/b", False, True),
    (["a/**/b"], "a/x/y/b", False, True),
    (["a/**/b"], "b", False, False),
    (["a/**/b"], "x/a/b", False, False),
    (["**/node_modules"], "node_modules", True, True),
    (["**/node_modules"], "web/node_modules", True, True),
    (["doc/*.txt"], "doc/notes.txt", False, True),
    (["doc/*.txt"], "doc/sub/notes.txt", False, False),
    (["[Bb]uild"], "Build", True, True),
    (["[Bb]uild"], "xbuild", True, False),
    (["?.txt"], "a.txt", False, True),
    (["?.txt"], "ab.txt", False, False),
    (["*.pyc", "!keep.pyc"], "keep.pyc", False, False),
    (["*.pyc", "!keep.pyc"], "x/y.pyc", False, True),
    (["storage/*", "!storage/.gitkeep"], "storage/.gitkeep", False, False),
    (["storage/*", "!storage/.gitkeep"], "storage/logs/x", False, True),
    (["\\#notes"], "#notes", False, True),
    (["name\\ "], "name ", False, True),
]


@pytest.mark.parametrize(("patterns", "path", "is_dir", "expected"), ORDINARY)
def test_engine_and_pathspec_agree_on_ordinary_patterns(
    patterns: list[str], path: str, is_dir: bool, expected: bool
) -> None:
    query = path + "/" if is_dir else path
    assert pathspec_matches(patterns, query) is expected
    assert engine_selects(patterns, path, is_dir) is expected
