"""The line that names one path selects exactly that path, as git reads it."""

from __future__ import annotations

import random

import pytest

from writable_paths.core.decide import Context, Decider
from writable_paths.core.literal import pattern_for
from writable_paths.core.patterns import PatternSet, parse_line

ALPHABET = "ab*?[]\\!# .-é"


def selects(line: str, names: tuple[bytes, ...], directory: bool) -> bool:
    pattern = parse_line(line.encode(), "test", 1)
    assert pattern is not None, line
    decider = Decider(PatternSet((pattern,)))
    context: Context | None = decider.root
    decision = None
    for index, name in enumerate(names):
        is_dir = directory or index < len(names) - 1
        assert context is not None
        decision, context = decider.decide(context, name, is_dir)
    return decision is not None and decision.selected


@pytest.mark.parametrize(
    ("names", "directory", "line"),
    [
        ((b"tmp", b"pids"), True, "tmp/pids/"),
        ((b"log",), True, "/log/"),
        ((b"db.sqlite3",), False, "/db.sqlite3"),
        ((b"!important",), False, "/\\!important"),
        ((b"#notes", b"x"), False, "\\#notes/x"),
        ((b"a*b",), True, "/a\\*b/"),
        ((b"trailing ",), False, "/trailing\\ "),
    ],
)
def test_known_lines(names: tuple[bytes, ...], directory: bool, line: str) -> None:
    assert pattern_for(names, directory) == line
    assert selects(line, names, directory)


def test_unanchored_one_name_matches_at_any_depth() -> None:
    line = pattern_for((b"log",), directory=True, anchored=False)
    assert line == "log/"
    assert selects(line, (b"a", b"log"), directory=True)


def test_names_no_line_can_hold() -> None:
    assert pattern_for((b"\xff",), directory=False) is None
    assert pattern_for((b"a\nb",), directory=False) is None
    assert pattern_for((), directory=True) is None
    assert pattern_for((b"a", b".."), directory=True) is None


@pytest.mark.parametrize("seed", range(20))
def test_random_names_select_themselves_and_not_their_neighbours(seed: int) -> None:
    rng = random.Random(seed)
    texts = ["".join(rng.choice(ALPHABET) for _ in range(rng.randint(1, 6))) for _ in range(3)]
    # A directory listing never holds "." or "..".
    names = tuple(t.encode() for t in texts[: rng.randint(1, 3)] if t not in (".", ".."))
    if not names:
        names = (b"x",)
    directory = rng.random() < 0.5
    line = pattern_for(names, directory)
    assert line is not None
    assert selects(line, names, directory)
    neighbour = (*names[:-1], names[-1] + b"x")
    assert not selects(line, neighbour, directory)
