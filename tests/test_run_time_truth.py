"""What explain and check say the run user can write is what it really can, after a build.

``explain --json`` and ``check --json`` are asked first, on the tree as the app
developer has it; then the build's own pass runs, the tree is given to the build
user as the exporter does, and every path is really tried as the run user
(uid 1002, gid 1000, no other groups). The answers must agree.
"""

from __future__ import annotations

import io
import json
import os
import random
import shutil
import stat
import sys
import tempfile
from collections.abc import Iterator
from contextlib import redirect_stdout
from pathlib import Path

import pytest
from lifecycle import copy_buildpack, platform
from probes import CREATE_IN, WRITE, run_probes
from support import BUILD_GID, BUILD_UID, RUN_UID, needs_root

from writable_paths.cli import main as cli
from writable_paths.cnb.settings import Settings
from writable_paths.cnb.sources import load_patterns
from writable_paths.core import findings as F
from writable_paths.fs.apply import Applier
from writable_paths.fs.engine import Pass

pytestmark = needs_root
PYTHON_DIR = str(Path(sys.executable).resolve().parent)


@pytest.fixture
def app() -> Iterator[Path]:
    """An app dir every user can reach (pytest's tmp_path is 0700)."""
    root = Path(tempfile.mkdtemp(prefix="wp-truth-"))
    os.chmod(root, 0o755)
    (root / "app").mkdir()
    os.chmod(root / "app", 0o777)  # as pack leaves it
    yield root / "app"
    shutil.rmtree(root)


def _json(*argv: str) -> dict[str, object]:
    out = io.StringIO()
    with redirect_stdout(out):
        code = cli.main(list(argv))
    assert code in (0, 2), out.getvalue()
    data = json.loads(out.getvalue())
    assert isinstance(data, dict)
    return data


def _explain(app: Path, paths: list[str]) -> dict[str, dict[str, object]]:
    data = _json("explain", "--json", "--app", str(app), *paths)
    items = data["paths"]
    assert isinstance(items, list)
    return {str(item["path"]): item for item in items}


def _build_as_exported(app: Path) -> None:
    """The build's pass, then every entry owned by the build user (the exporter)."""
    Pass(load_patterns(str(app), Settings()), strict=True, gid=BUILD_GID, applier=Applier()).run(
        str(app)
    )
    for path in [app, *app.rglob("*")]:
        os.lchown(path, BUILD_UID, BUILD_GID)


def _really(app: Path, items: dict[str, dict[str, object]]) -> dict[str, bool]:
    # A directory that exists (or that the build creates) is written in; one that
    # does not is created, like a file.
    probes = [
        (
            CREATE_IN
            if item["type"] == "directory" and (item["exists"] or item["created_by"])
            else WRITE,
            str(app / path),
        )
        for path, item in items.items()
    ]
    results = run_probes(probes, RUN_UID, BUILD_GID)
    return {path: ok for path, (ok, _) in zip(items, results)}


# -- the cases seen on real apps ------------------------------------------------------


def _files(app: Path, *names: str) -> None:
    for name in names:
        (app / name).parent.mkdir(parents=True, exist_ok=True)
        (app / name).write_text("x")


def test_pids_star_from_rails_gitignore_says_why_and_what_to_write(app: Path) -> None:
    _files(app, "Gemfile", "tmp/pids/.keep")
    (app / ".writable-paths").write_text("/tmp/pids/*\n")
    item = _explain(app, ["tmp/pids/server.pid"])["tmp/pids/server.pid"]
    assert item["effect"] == "selected, not writable"
    assert item["writable"] is False
    assert item["fix"] == "tmp/pids/"
    assert any("'tmp/pids' itself is not writable" in n for n in item["notes"])  # type: ignore[attr-defined]
    _build_as_exported(app)
    assert _really(app, {"tmp/pids/server.pid": item}) == {"tmp/pids/server.pid": False}


def test_a_missing_directory_without_a_slash_is_not_created(app: Path) -> None:
    _files(app, "tmp/.keep")
    (app / ".writable-paths").write_text("tmp/pids\n")
    item = _explain(app, ["tmp/pids/server.pid"])["tmp/pids/server.pid"]
    assert item["effect"] == "selected, not writable"
    assert item["fix"] == "tmp/pids/"
    assert any("does not exist and the build does not create it" in n for n in item["notes"])  # type: ignore[attr-defined]


def test_a_database_file_in_the_app_root_cannot_be_created(app: Path) -> None:
    _files(app, "manage.py")
    (app / ".writable-paths").write_text("/db.sqlite3\n")
    item = _explain(app, ["db.sqlite3"])["db.sqlite3"]
    assert item["writable"] is False
    assert any("app directory itself never becomes writable" in n for n in item["notes"])  # type: ignore[attr-defined]


def test_a_selected_directory_below_a_0700_ancestor_is_opened_for_search(app: Path) -> None:
    _files(app, "private/cache/.keep", "private/key.pem")
    os.chmod(app / "private", 0o700)
    (app / ".writable-paths").write_text("/private/cache/\n")
    data = _json("check", "--json", str(app))
    [warning] = [w for w in data["warnings"] if w["kind"] == F.SEARCH_ADDED]  # type: ignore[attr-defined]
    assert warning["path"] == "private"
    assert "was rwx------" in warning["message"]
    assert "search for the group (g+x) only" in warning["message"]
    assert F.UNREACHABLE not in {w["kind"] for w in data["warnings"]}  # type: ignore[attr-defined]
    assert cli.main(["check", "--strict-warnings", str(app)]) == 2
    item = _explain(app, ["private/cache/"])["private/cache"]
    assert item["writable"] is True
    _build_as_exported(app)
    assert stat.S_IMODE(os.stat(app / "private").st_mode) == 0o710  # search only
    assert _really(app, {"private/cache": item}) == {"private/cache": True}
    # Nothing else in it became writable, and it cannot be listed.
    listing = run_probes([(CREATE_IN, str(app / "private"))], RUN_UID, BUILD_GID)
    assert listing == [(False, "EACCES")]


def test_a_root_the_run_user_still_cannot_reach_is_a_warning() -> None:
    """An ancestor the build user cannot change (root owns it, 0705: the build user
    passes through as "other", the run user's group could not) stays closed: the
    build says the selected directory will not be writable."""
    root = Path(tempfile.mkdtemp(prefix="wp-truth-bp-"))
    os.chmod(root, 0o755)
    copy_buildpack(root / "bp")
    with platform(root / "bp", f"{PYTHON_DIR}:/usr/bin:/bin") as cnb:
        cnb.write(".writable-paths", "/vendor/cache/\n")
        cnb.mkdir("vendor/cache")
        os.chown(cnb.app / "vendor", 0, 0)
        os.chmod(cnb.app / "vendor", 0o705)
        result = cnb.run("build")
    shutil.rmtree(root)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Selected paths the run user still cannot write" in result.stdout
    assert "cannot enter 'vendor' (mode rwx---r-x)" in result.stdout


def test_directories_the_build_creates_are_reachable_whatever_the_umask(app: Path) -> None:
    (app / ".writable-paths").write_text("/tmp/pids/\n")
    before = _explain(app, ["tmp/pids/", "tmp/pids/server.pid"])
    assert all(item["writable"] for item in before.values())
    old = os.umask(0o077)
    try:
        _build_as_exported(app)
    finally:
        os.umask(old)
    assert _really(app, before) == {"tmp/pids": True, "tmp/pids/server.pid": True}


# -- seeded random trees -----------------------------------------------------------------

MODES = (0o755, 0o755, 0o775, 0o777, 0o700, 0o711, 0o2775, 0o1777)
FILE_MODES = (0o644, 0o664, 0o666, 0o600, 0o755)
NAMES = ("log", "tmp", "cache", "pids", "data", "db", "uploads", "storage", "public")
POOL = (
    "log/",
    "/tmp/pids/",
    "tmp/*",
    "cache",
    "*.db",
    "/data/",
    "!data/keep",
    "storage/**",
    "/uploads/*",
    "**/pids/",
    "/missing/dir/",
    "/db.sqlite3",
    "public/*/",
)


def _random_app(app: Path, rng: random.Random) -> list[str]:
    """A random tree; returns every path in it and a few that do not exist."""
    dirs = [app]
    paths = []
    for _ in range(rng.randint(6, 14)):
        parent = rng.choice(dirs)
        child = parent / rng.choice(NAMES)
        if child.exists():
            continue
        child.mkdir()
        dirs.append(child)
        paths.append(str(child.relative_to(app)) + "/")
    for _ in range(rng.randint(6, 14)):
        parent = rng.choice(dirs)
        name = rng.choice(("a.log", "x.db", "keep", "server.pid", "f"))
        target = parent / name
        if target.exists():
            continue
        target.write_text("x")
        os.chmod(target, rng.choice(FILE_MODES))
        paths.append(str(target.relative_to(app)))
    for d in dirs[1:]:
        os.chmod(d, rng.choice(MODES))
    # Missing paths, as an app would create them at run time.
    for _ in range(4):
        parent = rng.choice(dirs)
        rel = str((parent / "new.txt").relative_to(app))
        paths.append(rel)
    paths += ["missing/dir/", "db.sqlite3", "tmp/pids/server.pid"]
    (app / ".writable-paths").write_text("\n".join(rng.sample(POOL, rng.randint(1, 5))) + "\n")
    return sorted(set(paths))


@pytest.mark.parametrize("seed", range(12))
def test_explain_and_check_predict_real_access_on_random_trees(app: Path, seed: int) -> None:
    rng = random.Random(seed)
    paths = _random_app(app, rng)
    predicted = _explain(app, paths)
    claims = {path: bool(item["writable"]) for path, item in predicted.items()}
    checked = _json("check", "--json", "--all", str(app))["selected"]
    assert isinstance(checked, list)
    selected = {str(s["path"]): s for s in checked}
    _build_as_exported(app)
    really = _really(app, predicted)
    patterns = (app / ".writable-paths").read_text()
    assert really == claims, f"seed {seed}, patterns:\n{patterns}"
    # Every selected entry check lists, written (a file) or written in (a directory).
    really_selected = _really(
        app,
        {p: {"type": s["type"], "exists": True, "created_by": None} for p, s in selected.items()},
    )
    assert really_selected == {p: bool(s["writable"]) for p, s in selected.items()}, (
        f"seed {seed}, patterns:\n{patterns}"
    )
