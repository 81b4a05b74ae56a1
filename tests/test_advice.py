"""The mistake detectors, on real app trees.

The trees are real directories; what the engine would collect during its walk
(the names in the directories ``questions`` asks about) is read from them here.
"""

from __future__ import annotations

import os
import unicodedata
from pathlib import Path

import pytest

from writable_paths.cli.starter import active_lines
from writable_paths.core import advice
from writable_paths.core import findings as F
from writable_paths.core.advice import Breadth, Finding
from writable_paths.core.decide import Context, Decider
from writable_paths.core.patterns import PatternSet, Source, parse_env, parse_file

PATTERN_FILE = ".writable-paths"


def tree(root: Path, paths: list[str]) -> Path:
    """Make ``paths`` under ``root``: a trailing '/' makes a directory."""
    root.mkdir(exist_ok=True)
    for path in paths:
        target = root / path
        if path.endswith("/"):
            target.mkdir(parents=True, exist_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text("")
    return root


Names = tuple[bytes, ...]


def listings(app: Path, wanted: frozenset[Names] | None = None) -> dict[Names, frozenset[bytes]]:
    """The names in each asked directory that exists (all of them when None)."""
    if wanted is None:
        wanted = frozenset(
            tuple(os.fsencode(p) for p in Path(top).relative_to(app).parts)
            for top, _, _ in os.walk(app)
        )
    found: dict[Names, frozenset[bytes]] = {}
    for names in wanted:
        path = os.path.join(os.fsencode(app), *names) if names else os.fsencode(app)
        if os.path.isdir(path) and not os.path.islink(path):
            found[names] = frozenset(os.listdir(path))
    return found


def env(value: str) -> PatternSet:
    return parse_env(value)


def file(text: str) -> PatternSet:
    return parse_file(text.encode(), PATTERN_FILE)


def selects(patterns: PatternSet, path: str) -> bool:
    names = tuple(n.encode() for n in path.strip("/").split("/"))
    return Decider(patterns).decide_path(names).selected


# -- BP_WRITABLE_PATHS separators ----------------------------------------------------


@pytest.mark.parametrize(
    "value", ["tmp/pids/,log/", "tmp/pids/, log/", "tmp/pids/;log/", "tmp/pids/ log/"]
)
def test_entries_joined_by_commas_semicolons_or_spaces(tmp_path: Path, value: str) -> None:
    app = tree(tmp_path / "app", ["log/", "tmp/.keep"])
    patterns = env(value)
    found = advice.separators(patterns, listings(app, advice.questions(patterns)))
    assert found == [Finding(F.SEPARATOR, "BP_WRITABLE_PATHS", 1, value, ("tmp/pids/", "log/"))]
    fixed = env(":".join(found[0].corrected))
    assert selects(fixed, "log/")
    assert selects(fixed, "tmp/pids/")


def test_the_second_entry_is_named_by_its_position(tmp_path: Path) -> None:
    app = tree(tmp_path / "app", ["log/", "storage/"])
    found = advice.separators(env("log/:storage/,tmp/cache/"), listings(app))
    assert [(f.line, f.text, f.corrected) for f in found] == [
        (2, "storage/,tmp/cache/", ("storage/", "tmp/cache/"))
    ]


def test_a_path_that_really_has_a_comma_is_not_a_mistake(tmp_path: Path) -> None:
    app = tree(tmp_path / "app", ["a,b/", "a/", "b/"])
    assert advice.separators(env("a,b/"), listings(app)) == []


def test_parts_that_name_nothing_are_not_taken_for_entries(tmp_path: Path) -> None:
    app = tree(tmp_path / "app", ["Gemfile"])
    assert advice.separators(env("foo,bar"), listings(app)) == []


def test_the_pattern_file_is_not_split(tmp_path: Path) -> None:
    app = tree(tmp_path / "app", ["log/"])
    assert advice.separators(file("tmp/pids/,log/\n"), listings(app)) == []


# -- run-time absolute paths ----------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "corrected"),
    [
        ("/workspace/tmp/pids/", "/tmp/pids/"),
        ("/workspace/log/*.log", "/log/*.log"),
        ("/app/storage/", "/storage/"),
        ("!/workspace/storage/app/", "!/storage/app/"),
    ],
)
def test_the_images_path_instead_of_the_apps(tmp_path: Path, line: str, corrected: str) -> None:
    app = tree(tmp_path / "app", ["tmp/.keep", "log/", "storage/app/"])
    patterns = file(f"# a comment\n{line}\n")
    found = advice.runtime_paths(patterns, listings(app, advice.questions(patterns)))
    assert found == [Finding(F.RUNTIME_PATH, PATTERN_FILE, 2, line, (corrected,))]


def test_the_app_dirs_own_absolute_path(tmp_path: Path) -> None:
    app = tree(tmp_path / "app", ["log/"])
    patterns = file(f"{app}/log/\n")
    found = advice.runtime_paths(patterns, listings(app), (*advice.RUNTIME_APP_PATHS, str(app)))
    assert [f.corrected for f in found] == [("/log/",)]
    assert selects(file(found[0].corrected[0]), "log/")


def test_an_app_with_its_own_workspace_directory_means_it(tmp_path: Path) -> None:
    app = tree(tmp_path / "app", ["workspace/log/", "log/"])
    assert advice.runtime_paths(file("/workspace/log/\n"), listings(app)) == []


def test_a_rest_that_names_nothing_in_the_app_is_left_alone(tmp_path: Path) -> None:
    app = tree(tmp_path / "app", ["log/"])
    assert advice.runtime_paths(file("/workspace/uploads/\n"), listings(app)) == []


# -- near misses of an existing sibling -----------------------------------------------


def test_a_typo_of_an_existing_directory(tmp_path: Path) -> None:
    app = tree(tmp_path / "app", ["tmp/pids/", "tmp/cache/"])
    patterns = file("tmp/pdis/\ntmp/cahce/\n")
    found = advice.near_misses(patterns, listings(app, advice.questions(patterns)))
    assert [(f.kind, f.line, f.corrected) for f in found] == [
        (F.TYPO, 1, ("tmp/pids/",)),
        (F.TYPO, 2, ("tmp/cache/",)),
    ]


def test_another_case(tmp_path: Path) -> None:
    app = tree(tmp_path / "app", ["log/", "Storage/"])
    found = advice.near_misses(file("Log/\n/storage/\n"), listings(app))
    assert [(f.kind, f.corrected) for f in found] == [
        (F.CASE, ("log/",)),
        (F.CASE, ("/Storage/",)),
    ]


def test_another_unicode_normalization(tmp_path: Path) -> None:
    nfd = unicodedata.normalize("NFD", "café")
    app = tmp_path / "app"
    app.mkdir()
    os.mkdir(os.path.join(os.fsencode(app), nfd.encode()))
    found = advice.near_misses(file("/café/\n"), listings(app))
    assert [(f.kind, f.corrected) for f in found] == [(F.NORMALIZATION, (f"/{nfd}/",))]
    assert selects(file(found[0].corrected[0]), nfd)


def test_new_directories_unlike_their_siblings_are_fine(tmp_path: Path) -> None:
    app = tree(tmp_path / "app", ["tmp/pids/", "log/", "db/"])
    patterns = file("tmp/pids/\ntmp/cache/\nuploads/\nnew/deeper/\nlg/\n")
    assert advice.near_misses(patterns, listings(app)) == []


def test_names_that_are_not_utf8_are_compared_without_failing(tmp_path: Path) -> None:
    app = tmp_path / "app"
    app.mkdir()
    os.mkdir(os.path.join(os.fsencode(app), b"cach\xff"))
    os.mkdir(os.path.join(os.fsencode(app), b"logs"))
    found = advice.near_misses(file("/cache/\n/log/\n"), listings(app))
    # No line can name b"cach\xff" (pattern files are UTF-8): the finding has no fix.
    assert [(f.kind, f.line, f.corrected) for f in found] == [
        (F.TYPO, 1, ()),
        (F.TYPO, 2, ("/logs/",)),
    ]


# -- a misspelled pattern file ------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        ".writeable-paths",
        ".writable_paths",
        ".writablepaths",
        "writable-paths",
        ".writable-paths.txt",
        ".Writable-Paths",
        ".writable-path",
        ".writabel-paths",
    ],
)
def test_a_pattern_file_under_another_name(tmp_path: Path, name: str) -> None:
    app = tree(tmp_path / "app", [name, "Gemfile", ".gitignore", "README.md"])
    found = advice.misspelled_pattern_file(listings(app, frozenset({()}))[()], PATTERN_FILE)
    assert found == [Finding(F.MISSPELLED_FILE, name, 0, name, (PATTERN_FILE,))]


def test_no_near_miss_when_the_file_is_there(tmp_path: Path) -> None:
    app = tree(tmp_path / "app", [PATTERN_FILE, ".writable_paths"])
    assert advice.misspelled_pattern_file(listings(app)[()], PATTERN_FILE) == []


def test_unrelated_dot_files_are_not_pattern_files(tmp_path: Path) -> None:
    app = tree(tmp_path / "app", [".gitignore", ".dockerignore", ".env", ".tool-versions"])
    assert advice.misspelled_pattern_file(listings(app)[()], PATTERN_FILE) == []


# -- databases ------------------------------------------------------------------


def test_a_database_in_the_app_root() -> None:
    found = advice.databases(file("/db.sqlite3\n"))
    assert found == [
        Finding(F.DATABASE_IN_ROOT, PATTERN_FILE, 1, "/db.sqlite3", (advice.DATABASE_DIRECTORY,))
    ]


def test_a_database_file_without_its_directory() -> None:
    found = advice.databases(file("log/\ndb/production.sqlite3\nstorage/app.db\n"))
    assert [(f.kind, f.line, f.corrected) for f in found] == [
        (F.DATABASE_FILE, 2, ("/db/",)),
        (F.DATABASE_FILE, 3, ("/storage/",)),
    ]
    # The corrected line is enough on its own.
    assert advice.databases(file("db/\ndb/production.sqlite3\n")) == []


def direct_database_files(
    app: Path, patterns: PatternSet
) -> list[tuple[tuple[bytes, ...], Source]]:
    """What the engine collects: database files selected by a pattern itself."""
    decider = Decider(patterns)
    found: list[tuple[Names, Source]] = []
    todo: list[tuple[Names, Context]] = [((), decider.root)]
    while todo:
        names, context = todo.pop()
        directory = os.path.join(os.fsencode(app), *names) if names else os.fsencode(app)
        for name in sorted(os.listdir(directory)):
            is_dir = os.path.isdir(os.path.join(directory, name))
            decision, inner = decider.decide(context, name, is_dir)
            if is_dir and inner is not None:
                todo.append(((*names, name), inner))
            elif (
                decision.selected
                and isinstance(decision.reason, Source)
                and advice.is_database_name(name)
            ):
                found.append(((*names, name), decision.reason))
    return found


def test_a_database_wildcard_names_the_directories_it_matched(tmp_path: Path) -> None:
    app = tree(
        tmp_path / "app", ["db/development.sqlite3", "db/test.sqlite3", "data/x.sqlite3", "app.rb"]
    )
    patterns = file("data/\n*.sqlite3\n")
    found = advice.databases(patterns, direct_database_files(app, patterns))
    assert [(f.kind, f.line, f.corrected) for f in found] == [(F.DATABASE_FILE, 2, ("/db/",))]


def test_a_database_wildcard_under_selected_directories_is_fine(tmp_path: Path) -> None:
    app = tree(tmp_path / "app", ["data/x.sqlite3", "db/"])
    patterns = file("data/\n*.sqlite3\n")
    assert advice.databases(patterns, direct_database_files(app, patterns)) == []


def test_a_database_wildcard_matching_in_the_root(tmp_path: Path) -> None:
    app = tree(tmp_path / "app", ["db.sqlite3"])
    patterns = file("*.sqlite3\n")
    found = advice.databases(patterns, direct_database_files(app, patterns))
    assert [(f.kind, f.corrected) for f in found] == [(F.DATABASE_IN_ROOT, ("/data/",))]


# -- over-broad selections --------------------------------------------------------


def rails(root: Path) -> Path:
    return tree(root, ["Gemfile", "config/application.rb", "app/models/user.rb", "bin/rails"])


@pytest.mark.parametrize("line", ["*", "**", "/", "/*", "/**", "*/"])
def test_the_whole_app(tmp_path: Path, line: str) -> None:
    suggestions = active_lines(str(rails(tmp_path / "app")))
    assert "/tmp/pids/" in suggestions
    found = advice.broad(file(f"{line}\n"), PATTERN_FILE, None, suggestions)
    assert Finding(F.BROAD_PATTERN, PATTERN_FILE, 1, line, suggestions) in found


def test_the_pattern_file_itself() -> None:
    found = advice.broad(file("log/\n*\n"), PATTERN_FILE)
    assert Finding(F.SELECTS_PATTERN_FILE, PATTERN_FILE, 2, "*", ("!/.writable-paths",)) in found
    fixed = file("log/\n*\n!/.writable-paths\n")
    assert [f.kind for f in advice.broad(fixed, PATTERN_FILE)] == [F.BROAD_PATTERN]


def test_a_pattern_file_in_a_selected_directory_cannot_be_negated() -> None:
    found = advice.broad(file("config/\n"), "config/writable-paths")
    assert found == [Finding(F.SELECTS_PATTERN_FILE, "config/writable-paths", 0, "", ())]


def test_bin_directories() -> None:
    found = advice.broad(file("bin/\n/node_modules/.bin/\n"), PATTERN_FILE)
    assert [(f.kind, f.line) for f in found] == [(F.BIN_DIRECTORY, 1)]


def test_counts_of_what_became_writable() -> None:
    found = advice.broad(file("storage/\n"), PATTERN_FILE, Breadth(100, 60, 3), ("/storage/",))
    assert found == [
        Finding(F.EXECUTABLES, "", 0, "", ("/storage/",), (3, 100)),
        Finding(F.MOST_FILES, "", 0, "", ("/storage/",), (60, 100)),
    ]
    assert advice.broad(file("storage/\n"), PATTERN_FILE, Breadth(100, 50, 0)) == []
    assert advice.broad(file("storage/\n"), PATTERN_FILE, Breadth(10, 9, 0)) == []


def test_a_usual_rails_configuration_is_not_broad(tmp_path: Path) -> None:
    app = rails(tmp_path / "app")
    patterns = file("tmp/pids/\ntmp/cache/\n/log/\n")
    assert advice.broad(patterns, PATTERN_FILE, Breadth(200, 3, 0), active_lines(str(app))) == []


def test_init_suggests_nothing_for_an_unknown_app(tmp_path: Path) -> None:
    assert active_lines(str(tree(tmp_path / "app", ["main.go"]))) == ()


# -- what the walk must collect ---------------------------------------------------


CONFIGS = [
    ("env", "tmp/pids/,log/:/workspace/storage/:tmp/pdis/"),
    ("file", "Log/\ntmp/cahce/\nnew/a/b/\n/workspace/tmp/\ndb.sqlite3\n"),
    ("env", "a,b/:storage/app/;log/"),
]


@pytest.mark.parametrize(("where", "text"), CONFIGS)
def test_the_asked_directories_are_all_the_detectors_need(
    tmp_path: Path, where: str, text: str
) -> None:
    app = tree(
        tmp_path / "app",
        ["log/", "tmp/pids/", "tmp/cache/", "storage/app/", "a/", "b/", "new/", ".writeable-paths"],
    )
    patterns = env(text) if where == "env" else file(text)
    asked = listings(app, advice.questions(patterns))
    everything = listings(app)
    assert len(asked) < len(everything)
    for detect in (advice.separators, advice.runtime_paths, advice.near_misses):
        assert detect(patterns, asked) == detect(patterns, everything)
    assert advice.separators(patterns, asked) or advice.near_misses(patterns, asked)
