"""The pure engine: last match wins, selected directories select their subtree."""

from __future__ import annotations

from writable_paths.core.decide import NO_MATCH, PARENT_SELECTED, Context, Decider, Decision
from writable_paths.core.patterns import parse_file


def decider(text: str) -> Decider:
    return Decider(parse_file(text.encode(), ".writable-paths"))


def decide_path(d: Decider, path: str, is_dir: bool = False) -> Decision:
    names = path.split("/")
    context: Context | None = d.root
    decision = NO_MATCH
    for index, name in enumerate(names):
        assert context is not None
        last = index == len(names) - 1
        decision, context = d.decide(context, name.encode(), is_dir or not last)
    return decision


def test_directory_pattern_selects_its_subtree() -> None:
    d = decider("log/\n")
    assert decide_path(d, "log", is_dir=True).selected
    inner = decide_path(d, "log/app/production.log")
    assert inner.selected
    assert inner.reason == PARENT_SELECTED
    assert not inner.root


def test_directory_pattern_does_not_select_a_file() -> None:
    assert not decide_path(decider("log/\n"), "log").selected


def test_negation_cannot_reinclude_under_selected_directory() -> None:
    d = decider("storage/\n!storage/app/public/\n")
    assert decide_path(d, "storage/app/public", is_dir=True).selected


def test_negation_reincludes_when_only_the_contents_were_selected() -> None:
    d = decider("storage/*\n!storage/keep\n")
    assert not decide_path(d, "storage/keep").selected
    assert decide_path(d, "storage/other").selected
    assert not decide_path(d, "storage", is_dir=True).selected


def test_last_matching_pattern_wins() -> None:
    d = decider("*.log\n!debug.log\n")
    assert decide_path(d, "a/app.log").selected
    negated = decide_path(d, "a/debug.log")
    assert not negated.selected
    assert negated.reason is not None
    assert "!debug.log" in str(negated.reason)
    d2 = decider("!debug.log\n*.log\n")
    assert decide_path(d2, "debug.log").selected


def test_trailing_doublestar_selects_contents_not_the_directory() -> None:
    d = decider("cache/**\n")
    assert not decide_path(d, "cache", is_dir=True).selected
    assert decide_path(d, "cache/x").selected
    assert decide_path(d, "cache/x/y", is_dir=True).selected


def test_leading_and_middle_doublestar_match_zero_or_more_directories() -> None:
    d = decider("**/tmp/\na/**/b\n")
    assert decide_path(d, "tmp", is_dir=True).selected
    assert decide_path(d, "x/y/tmp", is_dir=True).selected
    assert decide_path(d, "a/b").selected
    assert decide_path(d, "a/x/y/b").selected
    assert not decide_path(d, "a/xb").selected


def test_anchored_pattern_only_matches_from_the_root() -> None:
    d = decider("/log/\ntmp/cache/\n")
    assert decide_path(d, "log", is_dir=True).selected
    assert not decide_path(d, "sub/log", is_dir=True).selected
    assert not decide_path(d, "sub/tmp/cache", is_dir=True).selected


def test_absolute_looking_pattern_is_relative_to_app_root() -> None:
    d = decider("/etc/\n")
    assert decide_path(d, "etc", is_dir=True).selected


def test_selected_root_is_marked_for_the_launch_label() -> None:
    d = decider("tmp/\n")
    assert decide_path(d, "tmp", is_dir=True).root


def test_unreachable_directory_needs_no_matching() -> None:
    d = decider("/log/\n")
    _, context = d.decide(d.root, b"node_modules", True)
    assert context is not None
    assert not context.active  # no pattern can decide anything beneath it
    _, context = d.decide(d.root, b"log", True)
    assert context is not None
    assert context.selected


def test_reaching_through_a_symlink_names_the_pattern() -> None:
    d = decider("node_modules/.cache/\n**/*.js\n")
    found = d.reaching_through(d.root, b"node_modules")
    assert [str(p.source) for p in found] == [".writable-paths:1:node_modules/.cache/"]


def test_dir_pattern_reaches_a_symlink_of_that_name() -> None:
    d = decider("uploads/\n")
    assert len(d.reaching_through(d.root, b"uploads")) == 1


def test_decide_path_for_missing_directories() -> None:
    d = decider("tmp/pids/\n!tmp/pids/\n")
    assert not d.decide_path((b"tmp", b"pids")).selected
    assert decider("tmp/pids/\n").decide_path((b"tmp", b"pids")).selected
