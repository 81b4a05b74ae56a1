"""The pattern index and the outcome memo against the plain loop: every pattern
matched on its own against the whole path, the last match winning, a selected
directory selecting its subtree (git's rules, without any index)."""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

import pytest

from writable_paths.core.decide import At, Context, Decider, Decision
from writable_paths.core.patterns import Pattern, PatternSet, parse_file
from writable_paths.core.wildmatch import DOUBLESTAR, UNBOUNDED, Segment, compile_path
from writable_paths.errors import PatternError

if TYPE_CHECKING:
    from writable_paths.core.wildmatch import Element

# Tokens with no literal byte (the index can only try them one by one), a few
# literal bytes, classes and separators; names from a small alphabet, so that
# many names repeat and many patterns match.
TOKENS = ("*", "?", "[ab]", "[!a]", "[a-c]", "a", "b", ".", "**", "/", "?*", "*?")
ALPHABET = "ab.c"


def elements_match(elements: tuple[Element, ...], names: tuple[bytes, ...]) -> bool:
    """Whether ``elements`` match exactly ``names``: a ``**`` any number of names,
    a trailing one at least one."""
    if not elements:
        return not names
    first, rest = elements[0], elements[1:]
    if first is DOUBLESTAR:
        if not rest:
            return bool(names)
        return any(elements_match(rest, names[k:]) for k in range(len(names) + 1))
    assert isinstance(first, Segment)
    return bool(names) and first.match(names[0]) and elements_match(rest, names[1:])


def plain_decision(patterns: tuple[Pattern, ...], names: tuple[bytes, ...], is_dir: bool) -> int:
    """The index of the deciding pattern, -1 for none, -2 for "a parent directory
    is selected", by the plain loop over every pattern at every depth."""
    for depth in range(1, len(names) + 1):
        here_dir = is_dir or depth < len(names)
        best = -1
        for index, pattern in enumerate(patterns):
            if pattern.dir_only and not here_dir:
                continue
            sequences = (pattern.elements, *pattern.alternatives)
            if any(elements_match(s, names[:depth]) for s in sequences):
                best = index
        if depth == len(names):
            return best
        if best >= 0 and not patterns[best].negated:
            return -2
    raise AssertionError("no names")


def indexed_decision(decider: Decider, names: tuple[bytes, ...], is_dir: bool) -> Decision:
    context: Context | None = decider.root
    decision: Decision | None = None
    for depth, name in enumerate(names):
        assert context is not None
        last = depth == len(names) - 1
        at = At("/".join(n.decode() for n in names[: depth + 1]))
        decision, context = decider.decide(context, name, is_dir or not last, at)
    assert decision is not None
    return decision


def random_line(rng: random.Random) -> str:
    line = "".join(rng.choice(TOKENS) for _ in range(rng.randint(1, 6)))
    if rng.random() < 0.3:
        line = "!" + line
    if rng.random() < 0.2:
        line += "/"
    return line


def random_patterns(rng: random.Random, count: int) -> PatternSet:
    lines: list[str] = []
    while len(lines) < count:
        line = random_line(rng)
        try:
            parse_file(line.encode(), ".writable-paths")
        except PatternError:
            continue  # a ".." segment, say
        lines.append(line)
    return parse_file("\n".join(lines).encode() + b"\n", ".writable-paths")


def random_paths(rng: random.Random, count: int) -> list[tuple[tuple[bytes, ...], bool]]:
    names = ["".join(rng.choice(ALPHABET) for _ in range(rng.randint(1, 5))) for _ in range(12)]
    paths = []
    for _ in range(count):
        depth = rng.randint(1, 4)
        paths.append((tuple(rng.choice(names).encode() for _ in range(depth)), rng.random() < 0.4))
    return paths


@pytest.mark.parametrize("seed", range(40))
def test_index_and_memo_decide_as_the_plain_loop(seed: int) -> None:
    rng = random.Random(seed)
    patterns = random_patterns(rng, rng.choice([3, 10, 40]))
    decider = Decider(patterns)
    paths = random_paths(rng, 150)
    compared = 0
    # Twice over: the second pass decides from the memo what the first computed.
    for names, is_dir in paths + paths:
        expected = plain_decision(patterns.patterns, names, is_dir)
        decision = indexed_decision(decider, names, is_dir)
        if expected == -2:
            assert decision.selected, (names, is_dir)
            assert not decision.root, (names, is_dir)
        else:
            assert decision.pattern_index == (expected if expected >= 0 else None), (
                names,
                is_dir,
                [p.source.text for p in patterns.patterns],
            )
            assert decision.selected == (expected >= 0 and not patterns.patterns[expected].negated)
        compared += 1
    assert compared == 2 * len(paths) == 300


def test_memo_gives_each_selection_root_its_own_path() -> None:
    decider = Decider(parse_file(b"*.rb\n", ".writable-paths"))
    first = indexed_decision(decider, (b"a", b"x.rb"), False)
    second = indexed_decision(decider, (b"b", b"x.rb"), False)
    assert first.selection is not None
    assert second.selection is not None
    assert (first.selection.path, second.selection.path) == ("a/x.rb", "b/x.rb")
    assert first.root
    assert second.root


def test_memo_keeps_a_bounded_number_of_outcomes() -> None:
    decider = Decider(parse_file(b"*[!x]*/q\n", ".writable-paths"))
    for i in range(20_000):
        indexed_decision(decider, (f"n{i}".encode(), b"q"), False)
    assert 0 < len(decider._memo) <= 16384


def segment(text: str) -> Segment:
    (element,) = compile_path(text.encode())
    assert isinstance(element, Segment)
    return element


@pytest.mark.parametrize(
    ("text", "shortest", "longest"),
    [
        ("abc", 3, 3),
        ("*", 0, UNBOUNDED),
        ("?*", 1, UNBOUNDED),
        ("??[0-9]", 3, 3),
        ("*a*?*", 2, UNBOUNDED),
        ("[!a]" * 5, 5, 5),
    ],
)
def test_segment_length_bounds(text: str, shortest: int, longest: int) -> None:
    found = segment(text)
    assert (found.min_length, found.max_length) == (shortest, longest)


def test_length_bounds_never_exclude_a_name_that_matches() -> None:
    rng = random.Random(7)
    checked = 0
    for _ in range(400):
        text = "".join(
            rng.choice(("*", "?", "[ab]", "[!a]", "a")) for _ in range(rng.randint(1, 5))
        )
        if set(text) == {"*"}:
            continue  # "**": no segment
        found = segment(text)
        for _ in range(10):
            name = "".join(rng.choice("ab") for _ in range(rng.randint(0, 7))).encode()
            if found.match(name):
                assert found.min_length <= len(name) <= found.max_length, (text, name)
                checked += 1
    assert checked > 500


def test_literal_free_segments_longer_than_every_name_are_never_matched() -> None:
    # 300 lines of 1,500 '?' between stars (27 s on 100,000 entries before the
    # bounds): no name is that long, so none of them is ever tried.
    lines = "".join("*" + "?*" * 1500 + f"[!{chr(0x21 + i % 90)}]\n" for i in range(300))
    decider = Decider(parse_file(lines.encode(), ".writable-paths"))
    table = decider.root.tables[0]
    assert len(table.scan) > 80  # distinct segments (the classes repeat)
    assert all(group[0].min_length > 255 for group in table.scan)
    matched: list[int] = []
    table.collect(b"x" * 255, matched)
    assert matched == []
    wide = parse_file(b"*" + b"?*" * 1500 + b"\n", ".writable-paths")
    matched = []
    Decider(wide).root.tables[0].collect(b"x" * 1501, matched)
    assert matched != []


def test_scan_is_ordered_by_shortest_name() -> None:
    text = b"???*\n*\n??\n?*?*?*?*?*\n?\n"
    decider = Decider(parse_file(text, ".writable-paths"))
    (table,) = decider.root.tables
    lengths = [group[0].min_length for group in table.scan]
    assert lengths == sorted(lengths) == [0, 1, 2, 3, 5]
    for size in range(8):
        matched: list[int] = []
        table.collect(b"a" * size, matched)
        plain = [s for group in table.scan for s in group[1] if group[0].match(b"a" * size)]
        assert sorted(matched) == sorted(plain)
