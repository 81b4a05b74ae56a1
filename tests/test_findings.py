"""The pure pieces around decisions: records, the policy, findings and their wording."""

from __future__ import annotations

import stat

import pytest

from writable_paths import wording
from writable_paths.core import findings as F
from writable_paths.core import policy
from writable_paths.core.decide import Selection
from writable_paths.core.findings import Finding, Findings
from writable_paths.core.patterns import Source
from writable_paths.core.records import Record

SRC = Source(".writable-paths", 3, "tmp/pids/")


class _Point(Record):
    __slots__ = ("x", "y")

    def __init__(self, x: int, y: int) -> None:
        self.x = x
        self.y = y


def test_records_compare_hash_and_print_by_their_slots() -> None:
    assert _Point(1, 2) == _Point(1, 2)
    assert _Point(1, 2) != _Point(2, 1)
    assert hash(_Point(1, 2)) == hash(_Point(1, 2))
    assert repr(_Point(1, 2)) == "_Point(x=1, y=2)"
    assert Selection("tmp/pids", SRC) == Selection("tmp/pids", SRC)
    assert _Point(1, 2) != (1, 2)


@pytest.mark.parametrize(
    ("kind", "mode", "selected", "strict", "expected"),
    [
        (policy.DIRECTORY, 0o755, True, True, 0o2775),
        (policy.DIRECTORY, 0o777, False, True, 0o755),
        (policy.DIRECTORY, 0o777, False, False, 0o777),
        (policy.FILE, 0o644, True, True, 0o664),
        (policy.FILE, 0o755, True, True, 0o775),
        (policy.FILE, 0o4755, True, True, 0o775),
        (policy.FILE, 0o2644, True, False, 0o664),
        (policy.FILE, 0o4755, False, True, 0o4755),
        (policy.FILE, 0o666, False, True, 0o644),
        (policy.SYMLINK, 0o777, True, True, None),
        (policy.SPECIAL, 0o666, True, True, None),
    ],
)
def test_target_mode(kind: str, mode: int, selected: bool, strict: bool, expected: int) -> None:
    assert policy.target_mode(kind, mode, selected, strict) == expected


def test_effect_and_kinds_agree_with_the_target_modes() -> None:
    for kind, mode in ((policy.DIRECTORY, stat.S_IFDIR), (policy.FILE, stat.S_IFREG)):
        assert policy.kind_of(mode | 0o755) == kind
        assert policy.effect(kind, True, True) == policy.WRITABLE
        assert policy.effect(kind, False, True) == policy.READ_ONLY
        assert policy.effect(kind, False, False) == policy.UNCHANGED
    assert policy.kind_of(stat.S_IFLNK | 0o777) == policy.SYMLINK
    assert policy.kind_of(stat.S_IFIFO | 0o666) == policy.SPECIAL
    assert policy.effect(policy.SYMLINK, True, True) == policy.UNCHANGED
    assert policy.app_root(stat.S_IFDIR | 0o777, True) == 0o755
    assert policy.app_root(stat.S_IFDIR | 0o777, False) == 0o775
    assert policy.link_wins(False, True)
    assert not policy.link_wins(True, False)
    assert policy.linked_outside(2, 1)
    assert not policy.linked_outside(2, 2)


def test_findings_keep_the_first_by_key_and_count_all() -> None:
    found = Findings()
    for i in reversed(range(F.SHOWN + 5)):
        found.add(Finding(F.UNREADABLE, f"d{i:03d}", cause="Permission denied"))
    found.add(Finding(F.UNUSED, "", Source("f", 2, "b/")), order=1)
    found.add(Finding(F.UNUSED, "", Source("f", 1, "a/")), order=0)
    shown = dict(found.shown())
    assert [f.path for f in shown[F.UNREADABLE]] == [f"d{i:03d}" for i in range(F.SHOWN)]
    assert found.hidden(F.UNREADABLE) == 5
    assert [str(f.source) for f in shown[F.UNUSED]] == ["f:1:a/", "f:2:b/"]
    assert found.total() == F.SHOWN + 7
    assert [kind for kind, _ in found.shown()] == [F.UNUSED, F.UNREADABLE]  # WARNING_KINDS order


EXAMPLES = [
    Finding(F.SYMLINK, "node_modules", SRC, detail="../layers/x"),
    Finding(F.UNUSED, "", Source("f", 1, "./log")),
    Finding(F.UNREADABLE, "secret", cause="Permission denied"),
    Finding(F.HARDLINK, "a.db", links=2, seen=1),
    Finding(F.SPECIAL, "run/sock", SRC, cause="socket"),
    Finding(F.BLOCKED, "tmp/pids", SRC, detail="tmp"),
    Finding(F.TIGHTEN_FAILED, "x", cause="Operation not permitted"),
    Finding(F.TIGHTEN_FAILED, ".", cause="Operation not permitted"),
    Finding(F.SET_ID_DROPPED, "bin/helper", SRC),
    Finding(F.MOUNT, "vendor", None),
    Finding(F.LABEL_SHORTENED, "log", count=50_000),
    Finding(F.UNREACHABLE, "private/cache", detail="private", cause="not-searchable", mode=0o700),
    Finding(F.UNCHANGEABLE, "log/a", cause="Operation not permitted"),
    Finding(F.CANNOT_CREATE, "tmp/pids", SRC, detail="tmp", cause="Permission denied"),
]


@pytest.mark.parametrize("item", EXAMPLES, ids=lambda f: f"{f.kind}-{f.path}")
def test_every_finding_has_its_own_sentence_with_its_facts(item: Finding) -> None:
    text = wording.finding(item, "config/writable")
    assert not text.startswith(f"{item.kind}:")  # not the fallback
    # An unreachable path's cause is the access model's reason code, said in words.
    cause = "" if item.kind == F.UNREACHABLE else item.cause
    for fact in (item.path if item.path != "." else "app directory", item.detail, cause):
        assert fact in text
    if item.source is not None:
        assert str(item.source) in text
    if item.kind in F.WARNING_KINDS:
        assert wording.heading(item.kind) != item.kind


def test_messages_name_the_pattern_file_in_use() -> None:
    text = wording.finding(Finding(F.UNREADABLE, "secret", cause="x"), "config/writable")
    assert "config/writable" in text
    assert ".writable-paths" not in text
    error = wording.unchangeable([EXAMPLES[-1]], 1001, "config/writable").render()
    assert "config/writable" in error
    assert "Cannot make 1 selected path(s) writable" in error
