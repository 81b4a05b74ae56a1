"""The engine selects exactly what git ignores, with ``git check-ignore`` as the oracle.

Every case builds a real tree, asks the engine (walking it top down, never
following symlinks) and git (``check-ignore`` on every entry, plus
``ls-files -o -i``, git's own traversal, for the non-directories), and requires
the same answer for every entry. See ``tests/gitoracle.py`` for what git does
and how it is queried.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from gitoracle import (
    GIT,
    GitOracle,
    all_entries,
    describe_tree,
    engine_decisions,
    make_tree,
    random_patterns,
    random_tree,
    selected_by_engine,
    selected_by_git,
)

pytestmark = pytest.mark.skipif(GIT is None, reason="git is not on PATH; it is the oracle")

SEEDS = 150
PATTERN_FILES_PER_TREE = 3


def compare(root: Path, patterns: bytes, label: str = "") -> set[str]:
    """Assert engine == git on every entry under ``root``; return git's ignored set."""
    entries = all_entries(root)
    decisions = engine_decisions(root, patterns)
    assert set(decisions) == set(entries)
    with GitOracle(root) as oracle:
        oracle.set_patterns(patterns)
        answers = oracle.check_ignore(sorted(entries))
        traversal = oracle.ignored_files_by_traversal()
    ignored = {p for p, pat in answers.items() if pat and not pat.startswith("!")}
    selected = {p for p, d in decisions.items() if d.selected}
    if ignored != selected:
        lines = [f"engine and git differ {label}", f"patterns: {patterns!r}", "tree:"]
        lines += ["    " + t for t in describe_tree(root).splitlines()]
        for path in sorted(ignored ^ selected):
            d = decisions[path]
            lines.append(
                f"path {path!r} ({'dir' if entries[path] else 'not a dir'}): "
                f"git {'IGNORES' if path in ignored else 'keeps'} it "
                f"(pattern {answers[path]!r}); engine selected={d.selected} "
                f"(reason {d.reason})"
            )
        pytest.fail("\n".join(lines))
    # check-ignore answers path by path; ls-files walks the tree like `git status`.
    # They must agree, or check-ignore would not be an oracle for git.
    files_ignored = {p for p in ignored if not entries[p]}
    assert traversal == files_ignored, (
        f"check-ignore and ls-files disagree {label}\npatterns: {patterns!r}\n"
        f"only check-ignore: {sorted(files_ignored - traversal)}\n"
        f"only ls-files: {sorted(traversal - files_ignored)}"
    )
    return ignored


# --- what git itself does (the oracle's ground rules) ------------------------------


def test_helpers_agree_on_a_plain_case(tmp_path: Path) -> None:
    make_tree(tmp_path, ["tmp/", "tmp/a", "log/", "log/x.log", "src/", "src/x.log", "README"])
    patterns = b"tmp/\n*.log\n"
    expected = {"tmp", "tmp/a", "log/x.log", "src/x.log"}
    assert selected_by_engine(tmp_path, patterns) == expected
    assert selected_by_git(tmp_path, patterns) == expected


def test_check_ignore_applies_the_parent_directory_rule_itself(tmp_path: Path) -> None:
    make_tree(tmp_path, ["dir/", "dir/keep", "dir/other"])
    with GitOracle(tmp_path) as oracle:
        oracle.set_patterns(b"dir/\n!dir/keep\n")
        answers = oracle.check_ignore(["dir", "dir/keep", "dir/other"])
    # dir/keep is reported as ignored BY "dir/", not by the later "!dir/keep".
    assert answers == {"dir": "dir/", "dir/keep": "dir/", "dir/other": "dir/"}


def test_a_trailing_slash_query_is_not_what_git_traversal_does(tmp_path: Path) -> None:
    """Why directories are queried without a trailing slash: with one, git matches
    the string "x/" and reports x ignored by x/** and x/*, which it is not."""
    make_tree(tmp_path, ["x/", "x/keep", "x/other"])
    with GitOracle(tmp_path) as oracle:
        for pattern in (b"x/**", b"x/*"):
            oracle.set_patterns(pattern + b"\n!x/keep\n")
            answers = oracle.check_ignore(["x/", "x"])
            assert answers["x/"] == pattern.decode()  # the artefact
            assert answers["x"] == ""  # the truth: x itself is not ignored
            # git's traversal agrees with the slash-free answer: x/keep is re-included,
            # which could not happen if x were ignored.
            assert oracle.ignored_files_by_traversal() == {"x/other"}
            assert compare(tmp_path, pattern + b"\n!x/keep\n") == {"x/other"}


# --- hand-written cases --------------------------------------------------------------

# (id, pattern file, tree, {path: whether git ignores it}) -- the expectations were
# checked against git 2.39, and compare() re-checks every entry against git each run.
CASES: list[tuple[str, bytes, list[str], dict[str, bool]]] = [
    ("comment", b"# tmp\ntmp\n", ["tmp", "# tmp"], {"tmp": True, "# tmp": False}),
    ("hash-inside", b"a#b\n", ["a#b", "a"], {"a#b": True}),
    ("blank-lines", b"\n\n   \n\nab\n\n", ["ab", "a", "b"], {"ab": True, "a": False}),
    ("escaped-hash", b"\\#c\n", ["#c", "c"], {"#c": True, "c": False}),
    ("escaped-bang", b"\\!b\n", ["!b", "b"], {"!b": True, "b": False}),
    ("lone-bang", b"!\n", ["a", "!"], {"a": False, "!": False}),
    ("trailing-spaces", b"ab  \n", ["ab", "ab  "], {"ab": True, "ab  ": False}),
    ("trailing-tab-kept", b"ab\t\n", ["ab", "ab\t"], {"ab": False, "ab\t": True}),
    ("escaped-trailing-space", b"ab\\ \n", ["ab", "ab "], {"ab": False, "ab ": True}),
    ("escaped-space-then-spaces", b"ab\\   \n", ["ab", "ab ", "ab  "], {"ab ": True}),
    ("spaces-only-line", b"   \nb\n", ["b", "   "], {"b": True, "   ": False}),
    (
        "star",
        b"*.log\n",
        ["x.log", ".log", "d/y.log", "x.log.1"],
        {"x.log": True, ".log": True, "d/y.log": True, "x.log.1": False},
    ),
    (
        "star-not-slash",
        b"/d*g\n",
        ["dog", "d/g", "d/x/g"],
        {"dog": True, "d/g": False, "d/x/g": False},
    ),
    (
        "question",
        b"a?c\n",
        ["abc", "ac", "abbc", "a/c"],
        {"abc": True, "ac": False, "abbc": False, "a/c": False},
    ),
    ("class", b"[ab]x\n", ["ax", "bx", "cx"], {"ax": True, "bx": True, "cx": False}),
    ("range", b"[a-c]x\n", ["ax", "bx", "cx", "dx"], {"cx": True, "dx": False}),
    ("negated-bang", b"[!a]x\n", ["ax", "bx"], {"ax": False, "bx": True}),
    ("negated-caret", b"[^a]x\n", ["ax", "bx"], {"ax": False, "bx": True}),
    ("bracket-first", b"[]a]\n", ["]", "a", "b"], {"]": True, "a": True, "b": False}),
    ("posix-alpha", b"[[:alpha:]]1\n", ["a1", "Z1", "11"], {"a1": True, "Z1": True, "11": False}),
    (
        "posix-digit-upper",
        b"[[:digit:][:upper:]]\n",
        ["1", "A", "a"],
        {"1": True, "A": True, "a": False},
    ),
    (
        "bad-class-name",
        b"[[:bogus:]]\n",
        ["a", "[[:bogus:]]", "b"],
        {"a": False, "[[:bogus:]]": False},
    ),
    (
        "no-colon-bracket",
        b"[[:a]\n",
        ["[", ":", "a", "b"],
        {"[": True, ":": True, "a": True, "b": False},
    ),
    ("unclosed-bracket", b"[ab\n", ["a", "[ab"], {"a": False, "[ab": False}),
    ("reversed-range", b"[z-a]\n", ["z", "a", "m"], {"z": True, "a": False, "m": False}),
    ("range-to-bracket", b"[a-]x\n", ["ax", "-x", "bx"], {"ax": True, "-x": True, "bx": False}),
    ("trailing-backslash", b"ab\\\n", ["ab", "ab\\"], {"ab": False, "ab\\": False}),
    ("escaped-star", b"\\*x\n", ["*x", "ax"], {"*x": True, "ax": False}),
    (
        "doublestar-leading",
        b"**/keep\n",
        ["keep", "d/keep", "d/e/keep", "d/keepx"],
        {"keep": True, "d/keep": True, "d/e/keep": True, "d/keepx": False},
    ),
    (
        "doublestar-middle",
        b"a/**/b\n",
        ["a/b", "a/x/b", "a/x/y/b", "b", "x/a/b"],
        {"a/b": True, "a/x/y/b": True, "b": False, "x/a/b": False},
    ),
    (
        "doublestar-trailing",
        b"a/**\n",
        ["a/x", "a/d/y", "b/"],
        {"a": False, "a/x": True, "a/d": True, "a/d/y": True, "b": False},
    ),
    ("doublestar-trailing-empty-dir", b"a/**\n", ["a/"], {"a": False}),
    (
        "doublestar-alone",
        b"**\n",
        ["a", "d/b", ".x"],
        {"a": True, "d": True, "d/b": True, ".x": True},
    ),
    ("triple-star", b"***\n", ["a", "d/b"], {"a": True, "d/b": True}),
    (
        "triple-star-middle",
        b"x/***/b\n",
        ["x/b", "x/y/b", "b"],
        {"x/b": True, "x/y/b": True, "b": False},
    ),
    (
        "a-doublestar-b",
        b"a**b\n",
        ["ab", "axxb", "a/b", "d/axb"],
        {"ab": True, "axxb": True, "a/b": False, "d/axb": True},
    ),
    (
        "doublestar-inside-segment",
        b"x/a**b\n",
        ["x/ab", "x/a/b", "x/a/c/b"],
        {"x/ab": True, "x/a/b": False, "x/a/c/b": False},
    ),
    ("leading-slash-anchors", b"/ab\n", ["ab", "d/ab"], {"ab": True, "d/ab": False}),
    ("middle-slash-anchors", b"d/ab\n", ["d/ab", "x/d/ab"], {"d/ab": True, "x/d/ab": False}),
    (
        "no-slash-floats",
        b"ab\n",
        ["ab", "d/ab", "d/e/ab"],
        {"ab": True, "d/ab": True, "d/e/ab": True},
    ),
    ("trailing-slash-dir-only", b"ab/\n", ["ab/", "d/ab"], {"ab": True, "d/ab": False}),
    (
        "anchored-dir-only",
        b"/d/ab/\n",
        ["d/ab/", "d/ab/f", "x/d/ab/"],
        {"d/ab": True, "d/ab/f": True, "x/d/ab": False},
    ),
    (
        "negation-last-wins",
        b"*.log\n!keep.log\n",
        ["a.log", "keep.log"],
        {"a.log": True, "keep.log": False},
    ),
    ("negation-first-loses", b"!keep.log\n*.log\n", ["a.log", "keep.log"], {"keep.log": True}),
    ("negation-of-a-dir", b"d/\n!d/\n", ["d/", "d/f"], {"d": False, "d/f": False}),
    (
        "dir-then-negated-child-stays",
        b"dir/\n!dir/keep\n",
        ["dir/keep", "dir/other"],
        {"dir": True, "dir/keep": True, "dir/other": True},
    ),
    (
        "dir-no-slash-then-negated-child",
        b"dir\n!dir/keep\n",
        ["dir/keep"],
        {"dir": True, "dir/keep": True},
    ),
    (
        "dir-star-then-negated-child",
        b"dir/*\n!dir/keep\n",
        ["dir/keep", "dir/other", "dir/sub/x"],
        {"dir": False, "dir/keep": False, "dir/other": True, "dir/sub": True, "dir/sub/x": True},
    ),
    (
        "dir-doublestar-then-negated-child",
        b"dir/**\n!dir/keep\n",
        ["dir/keep", "dir/other", "dir/sub/x"],
        {"dir": False, "dir/keep": False, "dir/other": True, "dir/sub/x": True},
    ),
    (
        "negated-grandchild-under-star",
        b"dir/*\n!dir/sub/keep\n",
        ["dir/sub/keep"],
        {"dir/sub": True, "dir/sub/keep": True},
    ),
    ("crlf", b"ab\r\n/x\r\n", ["ab", "x", "ab\r"], {"ab": True, "x": True, "ab\r": False}),
    ("double-cr", b"ab\r\r\n", ["ab", "ab\r"], {"ab": False, "ab\r": True}),
    ("cr-only-line", b"\r\nab\r\n", ["ab"], {"ab": True}),
    ("no-final-newline-crlf", b"x\r\nab\r", ["ab", "x"], {"ab": True, "x": True}),
    ("bom", b"\xef\xbb\xbfab\n", ["ab", "\ufeffab"], {"ab": True, "\ufeffab": False}),
    ("bom-then-negation", b"\xef\xbb\xbf!ab\n*\n", ["ab"], {"ab": True}),
    ("name-with-space", b"a b\n", ["a b", "a", "b"], {"a b": True, "a": False, "b": False}),
    ("question-is-one-byte", b"?\n", ["é", "a"], {"é": False, "a": True}),
    (
        "two-questions-match-two-bytes",
        b"??\n",
        ["é", "ab", "a"],
        {"é": True, "ab": True, "a": False},
    ),
    ("question-after-a", b"a?\n", ["aé", "ab"], {"aé": False, "ab": True}),
    ("utf8-literal", "é/\n".encode(), ["é/", "e/"], {"é": True, "e": False}),
    ("utf8-in-class-is-bytes", "[é]\n".encode(), ["é", "\udcc3"], {"é": False}),
    ("escaped-slash", b"a\\/b\n", ["a/b", "x/a/b"], {"a/b": True, "x/a/b": False}),
    (
        "class-with-slash",
        b"x[a/b]y\n",
        ["xay", "xby", "x/y", "d/xay"],
        {"xay": True, "xby": True, "x/y": False, "d/xay": False},
    ),
    ("double-leading-slash", b"//x\n", ["x", "d/x"], {"x": False, "d/x": False}),
    ("double-trailing-slash", b"x//\n", ["x/", "x/y"], {"x": False, "x/y": False}),
    ("empty-segment", b"a//b\n", ["a/b"], {"a/b": False}),
    ("slash-only", b"/\n", ["a"], {"a": False}),
    ("dot-segment", b"./a\n", ["a"], {"a": False}),
    # Symlinks: git sees a symlink as a non-directory, whatever it points to.
    (
        "dir-pattern-skips-symlink-to-dir",
        b"d/\n",
        ["d/", "d/f", "ld -> d"],
        {"d": True, "ld": False},
    ),
    (
        "plain-pattern-matches-symlink",
        b"ld\n",
        ["d/", "ld -> d", "lf -> d/f", "d/f"],
        {"ld": True, "lf": False, "d": False},
    ),
    (
        "star-slash-skips-symlinks",
        b"*/\n",
        ["d/", "f", "ld -> d", "lf -> f"],
        {"d": True, "ld": False, "lf": False, "f": False},
    ),
    ("symlink-not-entered", b"ld/**\n", ["d/", "d/f", "ld -> d"], {"ld": False, "d/f": False}),
    ("dangling-symlink", b"gone\n!x/\n", ["gone -> nowhere", "x -> d"], {"gone": True, "x": False}),
    # Regressions: "**" followed by an escaped slash needs one name at least
    # (wildmatch's "match nothing" shortcut is only taken before a plain '/').
    (
        "doublestar-escaped-slash",
        b"**\\/b\n",
        ["b", "x/b", "x/y/b"],
        {"b": False, "x/b": True, "x/y/b": True},
    ),
    (
        "middle-doublestar-escaped-slash",
        b"a/**\\/b\n",
        ["a/b", "a/x/b", "a/x/y/b"],
        {"a/b": False, "a/x/b": True, "a/x/y/b": True},
    ),
    (
        "escaped-slash-then-doublestar",
        b"a\\/**\n",
        ["a/b", "a/c/d"],
        {"a": False, "a/b": True, "a/c/d": True},
    ),
    # Regressions: git compares the wildcard-free prefix of a pattern with a slash
    # itself and hands wildmatch the rest, where a leading "**" is a real "**".
    (
        "prefix-doublestar-slash",
        b"a**/b\n",
        ["ab", "a/b", "ax/b", "ax/y/b", "ax/y/c", "ba", "xab"],
        {
            "ab": True,
            "a/b": True,
            "ax/b": True,
            "ax/y/b": True,
            "ax/y/c": False,
            "ax": False,
            "ba": False,
            "xab": False,
        },
    ),
    (
        "prefix-doublestar-glued-dir",
        b"/b**/a\n",
        ["ba/", "ba/x", "bxa", "b/a"],
        {"ba": True, "ba/x": True, "bxa": False, "b/a": True},
    ),
    (
        "prefix-doublestar-glued-star",
        b"/.**/*\n",
        [".x/", ".x/y", "x", "..x"],
        {".x": True, ".x/y": True, "x": False, "..x": True},
    ),
    (
        "prefix-doublestar-trailing",
        b"q/a**\n!q/ab\n",
        ["q/ab/c", "q/ab/d/e", "q/a", "q/b"],
        {"q/ab": False, "q/ab/c": True, "q/ab/d/e": True, "q/a": True, "q/b": False},
    ),
    (
        "prefix-doublestar-escaped-slash",
        b"a**\\/b\n",
        ["ab", "a/b", "ax/b", "ax/y/b"],
        {"ab": False, "a/b": True, "ax/b": True, "ax/y/b": True},
    ),
    ("prefix-doublestar-double-slash", b"a**//\n", ["a/", "ab/", "a/b/"], {"a": True, "ab": False}),
    (
        "prefix-doublestar-chain",
        b"/a**/**/b\n",
        ["ab", "axb", "a/b", "ax/y/z/b"],
        {"ab": True, "axb": False, "a/b": True, "ax/y/z/b": True},
    ),
    (
        "prefix-doublestar-chain-end",
        b"x/a**/**\n!x/ab\n",
        ["x/ab/c", "x/a"],
        {"x/ab": False, "x/ab/c": True, "x/a": True},
    ),
    (
        "prefix-doublestar-then-star",
        b"/a**/**x\n",
        ["abx", "ax", "ab", "a/x", "ac/dx"],
        {"abx": True, "ax": True, "ab": False, "a/x": True, "ac/dx": True},
    ),
    (
        "no-prefix-quirk-after-class",
        b"[a]**/b\n",
        ["ab", "ax/y/b", "a/b"],
        {"ab": False, "ax/y/b": False, "a/b": True},
    ),
]


@pytest.mark.parametrize(
    ("patterns", "tree", "expected"),
    [pytest.param(p, t, e, id=i) for i, p, t, e in CASES],
)
def test_hand_written_case(
    tmp_path: Path, patterns: bytes, tree: list[str], expected: dict[str, bool]
) -> None:
    make_tree(tmp_path, tree)
    ignored = compare(tmp_path, patterns)
    entries = all_entries(tmp_path)
    for path, answer in expected.items():
        assert path in entries, f"{path!r} is not in the tree"
        assert (path in ignored) is answer, (patterns, path, answer)


# --- random cases ------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(SEEDS))
def test_random_trees_and_patterns(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    random_tree(rng, tmp_path)
    for k in range(PATTERN_FILES_PER_TREE):
        patterns = random_patterns(rng)
        compare(tmp_path, patterns, label=f"(seed {seed}, pattern file {k})")


@pytest.mark.parametrize("seed", range(4))
def test_many_patterns_through_the_index_match_git(tmp_path: Path, seed: int) -> None:
    """Hundreds of mixed patterns (literal, wildcard, anchored, negated, dir-only)
    in one file: the index that narrows candidates must change no answer."""
    rng = random.Random(50_000 + seed)
    random_tree(rng, tmp_path)
    lines = b"".join(random_patterns(rng).replace(b"\r\n", b"\n") + b"\n" for _ in range(150))
    compare(tmp_path, lines, f"(many patterns, seed {50_000 + seed})")
