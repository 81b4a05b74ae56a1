"""The near-miss check's sibling index against the plain loop over every sibling."""

from __future__ import annotations

import random
import unicodedata

import pytest

from writable_paths.core.advice import _distance, _near, _Siblings
from writable_paths.core.findings import CASE, NORMALIZATION, TYPO

# Letters that differ in case only, and an "é" in both normal forms.
PIECES = ("a", "A", "b", "B", "c", "é", "e\u0301", ".", "-")


def plain_near(name: bytes, siblings: frozenset[bytes]) -> tuple[str, bytes] | None:
    """Every sibling compared, by the rules ``_near`` documents."""
    text = name.decode("utf-8", "surrogateescape")
    ranked = []
    for sibling in siblings:
        other = sibling.decode("utf-8", "surrogateescape")
        limit = 1 if len(text) <= 4 else 2
        if unicodedata.normalize("NFC", text) == unicodedata.normalize("NFC", other):
            ranked.append((0, other, NORMALIZATION, sibling))
        elif text.casefold() == other.casefold():
            ranked.append((1, other, CASE, sibling))
        elif min(len(text), len(other)) >= 3 and abs(len(text) - len(other)) <= limit:
            distance = _distance(text, other)
            if distance <= limit:
                ranked.append((1 + distance, other, TYPO, sibling))
    if not ranked:
        return None
    _, _, kind, sibling = min(ranked)
    return kind, sibling


def random_name(rng: random.Random) -> bytes:
    return "".join(rng.choice(PIECES) for _ in range(rng.randint(1, 7))).encode()


@pytest.mark.parametrize("seed", range(20))
def test_index_finds_the_same_miss_as_the_plain_loop(seed: int) -> None:
    rng = random.Random(seed)
    siblings = frozenset(random_name(rng) for _ in range(rng.choice([10, 60])))
    index = _Siblings(siblings)
    found = 0
    for _ in range(200):
        # Half of them one or two edits away from a sibling.
        name = random_name(rng)
        if rng.random() < 0.5:
            base = bytearray(rng.choice(sorted(siblings)))
            for _ in range(rng.randint(1, 2)):
                base[rng.randrange(len(base))] = rng.choice(b"abcAB")
            name = bytes(base)
        if name in siblings:
            continue
        expected = plain_near(name, siblings)
        assert _near(name, index) == expected, (name, sorted(siblings))
        found += expected is not None
    assert found > 5


def test_each_kind_of_miss_through_the_index() -> None:
    index = _Siblings([b"pids", b"Log", "cafe\u0301".encode(), b"storage"])
    assert _near(b"pdis", index) == (TYPO, b"pids")
    assert _near(b"log", index) == (CASE, b"Log")
    assert _near("café".encode(), index) == (NORMALIZATION, "cafe\u0301".encode())
    assert _near(b"strage", index) == (TYPO, b"storage")
    assert _near(b"uploads", index) is None
