"""The run-time access model, against POSIX as the kernel really applies it.

Unit tests state the rules on hand-made entries; the real-access tests build
real trees (random modes, owned as the exporter leaves them), let the model
predict, and then really try every operation as the run user.
"""

from __future__ import annotations

import os
import random
import shutil
import stat
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import probes
import pytest
from lifecycle import platform
from probes import entries_on_disk, run_probes
from support import BUILD_GID, BUILD_UID, RUN_UID, needs_root

from writable_paths.core import access, policy
from writable_paths.core.access import (
    ALLOWED,
    CREATE_IN,
    DIRECTORY,
    DIRECTORY_NOT_WRITABLE,
    FILE,
    FILE_NOT_WRITABLE,
    MISSING,
    MISSING_DIRECTORY,
    NOT_A_DIRECTORY,
    NOT_A_FILE,
    NOT_SEARCHABLE,
    NOTHING_TO_REPLACE,
    PAKETO_JAMMY,
    REPLACE,
    STICKY,
    SYMLINK,
    THROUGH_SYMLINK,
    WRITE,
    Entry,
    Identity,
    Verdict,
    fix_directory,
    verdict,
)
from writable_paths.core.literal import pattern_for

ROOT = Entry(b"", DIRECTORY, 0o755)


def d(name: str, mode: int = 0o755) -> Entry:
    return Entry(name.encode(), DIRECTORY, mode)


def f(name: str, mode: int = 0o644) -> Entry:
    return Entry(name.encode(), FILE, mode)


def missing(name: str) -> Entry:
    return Entry(name.encode(), MISSING)


def test_the_probe_script_names_the_models_operations() -> None:
    assert (probes.WRITE, probes.CREATE_IN, probes.REPLACE) == (WRITE, CREATE_IN, REPLACE)


# -- the rules ----------------------------------------------------------------


def test_group_member_writes_a_group_writable_file_below_searchable_directories() -> None:
    path = [ROOT, d("log", 0o2775), f("production.log", 0o664)]
    assert verdict(path, WRITE, PAKETO_JAMMY) == Verdict(WRITE, ALLOWED, 2, access.GROUP)


def test_a_file_the_group_cannot_write_is_refused_at_the_file() -> None:
    path = [ROOT, d("log", 0o2775), f("production.log", 0o644)]
    assert verdict(path, WRITE, PAKETO_JAMMY) == Verdict(WRITE, FILE_NOT_WRITABLE, 2, "group")


def test_rails_pids_star_with_only_keep_cannot_create_server_pid() -> None:
    # /tmp/pids/* selects .keep; tmp/pids itself stays 0755.
    path = [ROOT, d("tmp"), d("pids"), missing("server.pid")]
    found = verdict(path, WRITE, PAKETO_JAMMY)
    assert (found.allowed, found.reason, found.at) == (False, DIRECTORY_NOT_WRITABLE, 2)
    fix = fix_directory(path, found)
    assert fix == (b"tmp", b"pids")
    assert pattern_for(fix, directory=True) == "tmp/pids/"


def test_a_missing_directory_the_build_does_not_create_blocks_everything_under_it() -> None:
    # `tmp/pids` without the slash: not a directory pattern, so nothing is created.
    path = [ROOT, d("tmp"), missing("pids"), missing("server.pid")]
    found = verdict(path, WRITE, PAKETO_JAMMY)
    assert (found.reason, found.at) == (MISSING_DIRECTORY, 2)
    assert pattern_for(fix_directory(path, found) or (), directory=True) == "tmp/pids/"


def test_a_missing_directory_asked_for_creation_inside_is_the_fix_itself() -> None:
    path = [ROOT, missing("uploads")]
    found = verdict(path, CREATE_IN, PAKETO_JAMMY)
    assert (found.reason, found.at) == (MISSING_DIRECTORY, 1)
    assert pattern_for(fix_directory(path, found) or (), directory=True) == "/uploads/"


def test_a_database_file_in_the_read_only_app_root_cannot_be_created() -> None:
    path = [ROOT, missing("db.sqlite3")]
    found = verdict(path, WRITE, PAKETO_JAMMY)
    assert (found.reason, found.at) == (DIRECTORY_NOT_WRITABLE, 0)
    assert fix_directory(path, found) is None  # the app root is never made writable


def test_a_selected_directory_below_a_0700_ancestor_is_unreachable() -> None:
    path = [ROOT, d("private", 0o700), d("cache", 0o2775)]
    found = verdict(path, CREATE_IN, PAKETO_JAMMY)
    assert (found.reason, found.at) == (NOT_SEARCHABLE, 1)
    assert fix_directory(path, found) is None
    fixed = [ROOT, d("private", policy.searchable(0o700)), d("cache", 0o2775)]
    assert fixed[1].mode == 0o710
    assert verdict(fixed, CREATE_IN, PAKETO_JAMMY).allowed


def test_the_app_root_itself_must_be_searchable() -> None:
    path = [Entry(b"", DIRECTORY, 0o700), d("log", 0o2775)]
    assert verdict(path, CREATE_IN, PAKETO_JAMMY).reason == NOT_SEARCHABLE


def test_search_without_read_is_enough_to_reach_a_path() -> None:
    path = [ROOT, d("hidden", 0o711), d("cache", 0o2773)]
    assert verdict(path, CREATE_IN, PAKETO_JAMMY).allowed


def test_write_without_search_on_the_directory_itself_cannot_create() -> None:
    path = [ROOT, d("drop", 0o2766)]
    assert verdict(path, CREATE_IN, PAKETO_JAMMY).reason == NOT_SEARCHABLE


def test_sticky_directory_allows_new_files_but_not_replacing_the_build_users() -> None:
    path = [ROOT, d("spool", 0o1775), f("queue", 0o664)]
    assert verdict(path[:2], CREATE_IN, PAKETO_JAMMY).allowed
    assert verdict(path, WRITE, PAKETO_JAMMY).allowed
    assert verdict(path, REPLACE, PAKETO_JAMMY) == Verdict(REPLACE, STICKY, 1, "group")
    same_user = Identity(1000, 1000, 1000, frozenset({1000}))
    assert verdict(path, REPLACE, same_user).allowed


def test_replace_needs_the_directory_writable_not_the_file() -> None:
    assert verdict([ROOT, d("c", 0o2775), f("x", 0o444)], REPLACE, PAKETO_JAMMY).allowed
    found = verdict([ROOT, d("c"), f("x", 0o666)], REPLACE, PAKETO_JAMMY)
    assert (found.reason, found.at) == (DIRECTORY_NOT_WRITABLE, 1)
    assert verdict([ROOT, d("c", 0o2775), missing("x")], REPLACE, PAKETO_JAMMY).reason == (
        NOTHING_TO_REPLACE
    )


def test_links_and_files_on_the_way_are_not_followed() -> None:
    link = Entry(b"node_modules", SYMLINK, 0o777)
    assert verdict([ROOT, link, missing(".cache")], CREATE_IN, PAKETO_JAMMY).reason == (
        THROUGH_SYMLINK
    )
    assert verdict([ROOT, d("c", 0o2775), link], WRITE, PAKETO_JAMMY).reason == THROUGH_SYMLINK
    blocked = verdict([ROOT, f("Gemfile"), missing("x")], WRITE, PAKETO_JAMMY)
    assert (blocked.reason, blocked.at) == (NOT_A_DIRECTORY, 1)
    assert verdict([ROOT, d("log", 0o2775)], WRITE, PAKETO_JAMMY).reason == NOT_A_FILE


@pytest.mark.parametrize(
    ("identity", "who", "allowed"),
    [
        (PAKETO_JAMMY, access.GROUP, True),
        (Identity(1001, 1000, 1002, frozenset({2000})), access.OTHER, False),
        (Identity(1000, 1000, 1000, frozenset({1000})), access.OWNER, True),
        (access.openshift(1001, 1000680000), access.GROUP, True),
        (Identity(1001, 1000, 0, frozenset({0})), access.SUPERUSER, True),
    ],
)
def test_the_permission_class_follows_the_ids(identity: Identity, who: str, allowed: bool) -> None:
    path = [ROOT, d("log", 0o2775)]
    found = verdict(path, CREATE_IN, identity)
    assert (found.who, found.allowed) == (who, allowed)


def test_openshift_needs_the_build_to_run_with_gid_0() -> None:
    built_with_1000 = Identity(1001, 1000, 1000680000, frozenset({0}))
    assert verdict([ROOT, d("log", 0o2775)], CREATE_IN, built_with_1000).who == access.OTHER


def test_a_path_needs_its_app_root() -> None:
    with pytest.raises(ValueError, match="app root"):
        verdict([], WRITE, PAKETO_JAMMY)
    with pytest.raises(ValueError, match="below the app root"):
        verdict([ROOT], WRITE, PAKETO_JAMMY)


def test_created_directories_get_modes_that_let_the_group_in() -> None:
    assert policy.selected_directory(policy.NEW_DIRECTORY_MODE) == 0o2775
    assert policy.NEW_DIRECTORY_MODE == 0o755


@needs_root
@pytest.mark.parametrize("selected", [True, False])
def test_created_directory_modes_hold_whatever_the_umask(tree_root: Path, selected: bool) -> None:
    app = tree_root / "workspace"
    app.mkdir(0o755)
    old = os.umask(0o077)
    try:
        (app / "tmp").mkdir()
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.lstat(app / "tmp").st_mode) == 0o700  # what the issue saw
    mode = policy.NEW_DIRECTORY_MODE
    os.chmod(app / "tmp", policy.selected_directory(mode) if selected else mode)
    os.chown(app / "tmp", BUILD_UID, BUILD_GID)
    entries = entries_on_disk(str(app), (b"tmp",))
    predicted = verdict(entries, CREATE_IN, PAKETO_JAMMY)
    assert predicted.reason == (ALLOWED if selected else DIRECTORY_NOT_WRITABLE)
    [(really, _)] = run_probes([(CREATE_IN, str(app / "tmp"))], RUN_UID, BUILD_GID)
    assert really == predicted.allowed
    assert run_probes([(WRITE, str(app / "tmp" / "x"))], RUN_UID, BUILD_GID)[0][0] == selected


# -- against real access --------------------------------------------------------


@pytest.fixture
def tree_root() -> Iterator[Path]:
    """A directory every user can reach (pytest's tmp_path is 0700)."""
    root = Path(tempfile.mkdtemp(prefix="wp-access-"))
    os.chmod(root, 0o755)
    yield root
    shutil.rmtree(root)


# -- the cases seen on real apps, after a real build -----------------------------

PYTHON_DIR = str(Path(sys.executable).resolve().parent)


CASES = {
    # Rails' own .gitignore line: selects .keep, not the directory server.pid goes in.
    "pids star": ("/tmp/pids/*\n", ["tmp/pids/.keep"], WRITE, "tmp/pids/server.pid"),
    "pids dir": ("tmp/pids/\n", ["tmp/pids/.keep"], WRITE, "tmp/pids/server.pid"),
    # No slash: not a directory pattern, so the build creates nothing.
    "pids no slash": ("tmp/pids\n", ["tmp/.keep"], WRITE, "tmp/pids/server.pid"),
    "sqlite file": ("/db.sqlite3\n", ["Gemfile"], WRITE, "db.sqlite3"),
    "sqlite journal": ("/db/production.sqlite3\n", ["db/production.sqlite3"], CREATE_IN, "db"),
    # The build gives a 0700 ancestor group search only (docs/access-model.md),
    # so the selected directory below it is reachable.
    "0700 ancestor": ("/private/cache/\n", ["private/cache/.keep"], CREATE_IN, "private/cache"),
}
EXPECTED = {
    "pids star": (DIRECTORY_NOT_WRITABLE, "tmp/pids/"),
    "pids dir": (ALLOWED, None),
    "pids no slash": (MISSING_DIRECTORY, "tmp/pids/"),
    "sqlite file": (DIRECTORY_NOT_WRITABLE, None),
    "sqlite journal": (DIRECTORY_NOT_WRITABLE, "/db/"),
    "0700 ancestor": (ALLOWED, None),  # the build gives the ancestor g+x
}


@needs_root
@pytest.mark.parametrize("case", sorted(CASES))
def test_real_build_then_the_model_says_what_the_run_user_meets(
    buildpack_copy: Path, case: str
) -> None:
    text, files, operation, target = CASES[case]
    with platform(buildpack_copy, f"{PYTHON_DIR}:/usr/bin:/bin") as cnb:
        cnb.write(".writable-paths", text)
        for name in files:
            cnb.write(name)
        cnb.own(*cnb.app.rglob("*"))  # the parents write() made, too
        if case == "0700 ancestor":
            os.chmod(cnb.app / "private", 0o700)
        built = cnb.run("build")
        assert built.returncode == 0, built.stdout + built.stderr
        names = tuple(n.encode() for n in target.split("/"))
        entries = entries_on_disk(str(cnb.app), names)
        predicted = verdict(entries, operation, PAKETO_JAMMY)
        [(really, why)] = run_probes([(operation, str(cnb.app / target))], RUN_UID, BUILD_GID)
    assert really == predicted.allowed, why
    reason, fix = EXPECTED[case]
    assert predicted.reason == reason
    directory = fix_directory(entries, predicted)
    assert (pattern_for(directory, directory=True) if directory else None) == fix


def random_tree(app: Path, rng: random.Random, owner: tuple[int, int]) -> list[tuple[bytes, ...]]:
    """Directories and files with random permission bits (setgid and sticky on
    some directories), owned as the exporter leaves them; returns their paths."""
    app.mkdir()
    paths: list[tuple[bytes, ...]] = []
    todo: list[tuple[bytes, ...]] = [()]
    while todo:
        here = todo.pop()
        for i in range(rng.randint(2, 5) if len(here) < 3 else 0):
            names = (*here, f"{'d' if i % 2 else 'f'}{i}".encode())
            target = app.joinpath(*(n.decode() for n in names))
            if i % 2:
                target.mkdir()
                todo.append(names)
            else:
                target.write_text("x")
            paths.append(names)
    for names in [(), *paths]:
        target = app.joinpath(*(n.decode() for n in names))
        extra = (
            rng.choice([0, stat.S_ISGID, stat.S_ISVTX, stat.S_ISGID | stat.S_ISVTX])
            if target.is_dir()
            else 0
        )
        if not names:
            extra = 0o111  # the build leaves the app root searchable: test what is below it
        os.chown(target, *owner)
        os.chmod(target, rng.getrandbits(9) | extra)
    return paths


def snapshot(app: Path) -> list[tuple[str, int, int, int]]:
    found = []
    for top, dirs, files in os.walk(app):
        for name in [*dirs, *files]:
            st = os.lstat(os.path.join(top, name))
            found.append((os.path.join(top, name), st.st_mode, st.st_uid, st.st_gid))
    return sorted(found)


def probes_for(paths: list[tuple[bytes, ...]], app: Path) -> list[tuple[str, tuple[bytes, ...]]]:
    dirs = [()] + [p for p in paths if (app.joinpath(*(n.decode() for n in p))).is_dir()]
    files = [p for p in paths if p not in dirs]
    asked: list[tuple[str, tuple[bytes, ...]]] = []
    for names in dirs:
        asked += [(CREATE_IN, names), (WRITE, (*names, b"new")), (CREATE_IN, (*names, b"absent"))]
        asked += [(WRITE, (*names, b"absent", b"new"))]
    asked += [(REPLACE, names) for names in paths]
    asked += [(WRITE, names) for names in paths]
    asked += [(WRITE, (*names, b"below")) for names in files]
    return asked


IDENTITIES = {
    "paketo group": ((BUILD_UID, BUILD_GID), PAKETO_JAMMY),
    "other group": (
        (BUILD_UID, BUILD_GID),
        Identity(BUILD_UID, BUILD_GID, RUN_UID, frozenset({2000})),
    ),
    "same user": (
        (BUILD_UID, BUILD_GID),
        Identity(BUILD_UID, BUILD_GID, BUILD_UID, frozenset({BUILD_GID})),
    ),
    "openshift": ((BUILD_UID, 0), access.openshift(BUILD_UID, 1000680000)),
    "root": ((BUILD_UID, BUILD_GID), Identity(BUILD_UID, BUILD_GID, 0, frozenset({0}))),
}


SEEDS = range(10)


@needs_root
@pytest.mark.parametrize("who", sorted(IDENTITIES))
def test_the_model_agrees_with_real_access_on_random_trees(tree_root: Path, who: str) -> None:
    owner, identity = IDENTITIES[who]
    asked: list[tuple[str, Path, tuple[bytes, ...]]] = []
    for seed in SEEDS:
        app = tree_root / str(seed) / "workspace"
        app.parent.mkdir()
        paths = random_tree(app, random.Random(f"{who}:{seed}"), owner)
        asked += [(op, app, names) for op, names in probes_for(paths, app)]
    predicted = [
        verdict(entries_on_disk(str(app), names), op, identity) for op, app, names in asked
    ]
    before = snapshot(tree_root)
    (gid,) = identity.run_gids
    really = run_probes(
        [(op, os.fsdecode(os.path.join(os.fsencode(app), *names))) for op, app, names in asked],
        identity.run_uid,
        gid,
    )
    assert snapshot(tree_root) == before, "a probe left the tree changed"
    disagree = [
        (op, str(app), b"/".join(names), p.reason, r)
        for (op, app, names), p, r in zip(asked, predicted, really)
        if p.allowed != r[0]
    ]
    assert not disagree
    # The trees are not trivial: each rule is exercised, both ways.
    reasons = {p.reason for p in predicted}
    expected = {ALLOWED, MISSING_DIRECTORY, NOT_A_DIRECTORY, NOT_A_FILE}
    if identity.run_uid != 0:
        expected |= {NOT_SEARCHABLE, DIRECTORY_NOT_WRITABLE, FILE_NOT_WRITABLE}
    if identity.run_uid not in (0, identity.owner_uid):
        expected.add(STICKY)
    assert expected <= reasons
