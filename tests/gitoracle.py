"""git itself as the oracle for pattern selection, and a random generator of cases.

``selected_by_engine`` walks a real tree with the buildpack's ``Decider``;
``selected_by_git`` asks ``git check-ignore`` about every entry of the same tree.

What git 2.39 does, checked by hand and pinned by ``tests/test_git_oracle.py``:

- ``check-ignore`` applies the "parent directory excluded" rule itself: with
  ``dir/`` + ``!dir/keep`` it reports ``dir/keep`` as ignored by ``dir/`` (its
  ``prep_exclude`` tests every leading directory, as ``DT_DIR``, before the path).
  So its per-path answer already is git's final answer; no ancestor walk is needed.
- Every queried path exists, so it is queried WITHOUT a trailing slash and git takes
  its type from ``lstat`` (a symlink is never a directory). A trailing slash is not
  harmless: git then matches the string ``x/`` against the pattern, so ``x/**`` and
  ``x/*`` report the directory ``x`` itself as ignored, which ``git status`` and
  ``git ls-files -o -i`` (git's real traversal) never do. Slashes are only right
  for directories that do not exist.
- The patterns go into ``$GIT_DIR/info/exclude`` of a bare repository kept outside
  the tree, used with ``--work-tree``; the tree holds nothing but the test entries.
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import tempfile
from pathlib import Path

from writable_paths.core.decide import Context, Decider, Decision
from writable_paths.core.patterns import parse_file
from writable_paths.errors import PatternError

ORIGIN = ".writable-paths"
GIT = shutil.which("git")


# --- the engine --------------------------------------------------------------------


def engine_decisions(app_dir: Path, pattern_bytes: bytes) -> dict[str, Decision]:
    """Every entry under ``app_dir`` (relative path, ``/``-separated) -> its decision.

    Walks top down with ``os.scandir`` and never follows a symlink.
    """
    decider = Decider(parse_file(pattern_bytes, ORIGIN))
    decisions: dict[str, Decision] = {}

    def walk(directory: str, prefix: str, context: Context) -> None:
        with os.scandir(directory) as it:
            entries = sorted(it, key=lambda e: e.name)
        for entry in entries:
            is_dir = entry.is_dir(follow_symlinks=False)
            decision, child = decider.decide(context, os.fsencode(entry.name), is_dir)
            rel = prefix + entry.name
            decisions[rel] = decision
            if is_dir:
                assert child is not None
                walk(entry.path, rel + "/", child)

    walk(os.fspath(app_dir), "", decider.root)
    return decisions


def selected_by_engine(app_dir: Path, pattern_bytes: bytes) -> set[str]:
    """Relative paths of the entries the buildpack's engine selects."""
    return {rel for rel, d in engine_decisions(app_dir, pattern_bytes).items() if d.selected}


# --- git ---------------------------------------------------------------------------


def all_entries(app_dir: Path) -> dict[str, bool]:
    """Every entry under ``app_dir`` -> whether it is a real directory (lstat)."""
    found: dict[str, bool] = {}
    for dirpath, dirnames, filenames in os.walk(app_dir):  # never follows symlinks
        rel_dir = os.path.relpath(dirpath, app_dir)
        prefix = "" if rel_dir == "." else rel_dir + "/"
        for name in dirnames:
            # os.walk lists a symlink to a directory among dirnames but does not enter it.
            found[prefix + name] = not os.path.islink(os.path.join(dirpath, name))
        for name in filenames:
            found[prefix + name] = False
    return found


def _git_env(home: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(
        GIT_CONFIG_NOSYSTEM="1",
        GIT_CONFIG_GLOBAL=os.devnull,
        HOME=home,
        LC_ALL="C",
    )
    return env


class GitOracle:
    """A bare repository outside ``app_dir`` whose ``info/exclude`` holds the patterns."""

    def __init__(self, app_dir: Path) -> None:
        assert GIT is not None
        self.app_dir = app_dir
        self._tmp = tempfile.TemporaryDirectory(prefix="gitoracle-")
        self.git_dir = Path(self._tmp.name) / "repo.git"
        self.env = _git_env(self._tmp.name)
        subprocess.run(
            [GIT, "init", "-q", "--bare", os.fspath(self.git_dir)], check=True, env=self.env
        )

    def __enter__(self) -> GitOracle:
        return self

    def __exit__(self, *exc: object) -> None:
        self._tmp.cleanup()

    def _git(self, *args: str, stdin: bytes = b"") -> bytes:
        assert GIT is not None
        cmd = [
            GIT,
            f"--git-dir={self.git_dir}",
            "--work-tree=.",
            "-c",
            f"core.excludesFile={os.devnull}",
            "-c",
            "core.ignoreCase=false",
            *args,
        ]
        done = subprocess.run(
            cmd, input=stdin, capture_output=True, cwd=self.app_dir, env=self.env, check=False
        )
        # check-ignore exits 1 when nothing is ignored; that is an answer, not an error.
        if done.returncode not in (0, 1):
            raise RuntimeError(f"{cmd} failed: {done.stderr.decode(errors='replace')}")
        return done.stdout

    def set_patterns(self, pattern_bytes: bytes) -> None:
        (self.git_dir / "info").mkdir(exist_ok=True)
        (self.git_dir / "info" / "exclude").write_bytes(pattern_bytes)

    def check_ignore(self, paths: list[str]) -> dict[str, str]:
        """path -> the pattern git reports for it ('' when none matched).

        A path is ignored when the pattern is non-empty and does not start with '!'.
        Each path goes in as ``./path``: check-ignore reads its arguments as
        pathspecs, where a leading ``:`` is magic (and ``--literal-pathspecs`` is
        refused), so a file named ``:`` would otherwise be misreported.
        """
        if not paths:
            return {}
        stdin = b"".join(b"./" + os.fsencode(p) + b"\0" for p in paths)
        out = self._git("check-ignore", "--no-index", "-v", "-n", "-z", "--stdin", stdin=stdin)
        fields = out.split(b"\0")
        assert fields[-1] == b"", out
        fields = fields[:-1]
        assert len(fields) == 4 * len(paths), (paths, out)
        answers: dict[str, str] = {}
        for path, k in zip(paths, range(0, len(fields), 4)):
            _source, _line, pattern, echoed = fields[k : k + 4]
            assert echoed == b"./" + os.fsencode(path), (path, echoed)
            answers[path] = os.fsdecode(pattern)
        return answers

    def ignored(self, paths: list[str]) -> set[str]:
        return {p for p, pat in self.check_ignore(paths).items() if pat and not pat.startswith("!")}

    def ignored_files_by_traversal(self) -> set[str]:
        """Non-directories git's own traversal reports ignored (``ls-files -o -i``)."""
        out = self._git("ls-files", "-z", "--others", "--ignored", "--exclude-standard")
        return {os.fsdecode(p) for p in out.split(b"\0") if p}


def selected_by_git(app_dir: Path, pattern_bytes: bytes) -> set[str]:
    """Relative paths of the entries git ignores under these patterns."""
    with GitOracle(app_dir) as oracle:
        oracle.set_patterns(pattern_bytes)
        return oracle.ignored(sorted(all_entries(app_dir)))


# --- building trees ----------------------------------------------------------------


def make_tree(root: Path, spec: list[str]) -> None:
    """Create entries from a spec: ``"d/"`` a directory, ``"f"`` a file,
    ``"l -> target"`` a symlink (target relative to the link's directory)."""
    for item in spec:
        if " -> " in item:
            link, target = item.split(" -> ", 1)
            path = root / link
            path.parent.mkdir(parents=True, exist_ok=True)
            os.symlink(target, path)
        elif item.endswith("/"):
            (root / item).mkdir(parents=True, exist_ok=True)
        else:
            path = root / item
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(b"")


# --- the random generator ----------------------------------------------------------

NAMES = [
    "a",
    "ab",
    "abc",
    "b",
    "ba",
    "x.log",
    ".x",
    "-d",
    "[a]",
    "a b",
    "é",
    "aé",
    "a.b",
    "tmp",
    "keep",
    "z",
    "#c",
    "!b",
    ":a",
]

# Pieces of a pattern segment, weighted by repetition.
ATOMS = [
    "a",
    "a",
    "ab",
    "b",
    "abc",
    "x",
    "tmp",
    "keep",
    ".",
    "-",
    ".log",
    "é",
    "*",
    "*",
    "*",
    "?",
    "?",
    "**",
    "**",
    "***",
    "[ab]",
    "[!a]",
    "[^a]",
    "[a-c]",
    "[]a]",
    "[[:alpha:]]",
    "[[:digit:]]",
    "[[:bogus:]]",
    "[z-a]",
    "[a/b]",
    "\\*",
    "\\?",
    "\\[a]",
    "\\ ",
    "\\#",
    "\\!",
    " ",
]


def _segment(rng: random.Random) -> str:
    if rng.random() < 0.2:
        return rng.choice(["**", "*", "a", "ab", "***"])
    return "".join(rng.choice(ATOMS) for _ in range(rng.randint(1, 3)))


def random_line(rng: random.Random) -> str:
    r = rng.random()
    if r < 0.05:
        return rng.choice(["# comment", "#a", "#", "   "])
    if r < 0.08:
        return ""
    parts = [_segment(rng) for _ in range(rng.choices([1, 2, 3, 4], [5, 4, 2, 1])[0])]
    body = parts[0]
    for part in parts[1:]:
        body += rng.choices(["/", "\\/", "//"], [20, 2, 1])[0] + part
    if rng.random() < 0.25:
        body = "/" + body
    if rng.random() < 0.25:
        body += "/"
    if rng.random() < 0.03:
        body += "[abc"  # unclosed
    if rng.random() < 0.02:
        body += "\\"  # trailing backslash
    if rng.random() < 0.2:
        body = "!" + body
    if rng.random() < 0.08:
        body += rng.choice(["  ", " ", "\\ ", "\\  ", "\t"])
    return body


def random_patterns(rng: random.Random) -> bytes:
    """A pattern file of 1-8 lines the engine accepts (git accepts anything)."""
    eol = "\r\n" if rng.random() < 0.15 else "\n"
    lines: list[str] = []
    while len(lines) < rng.randint(1, 8):
        line = random_line(rng)
        try:
            parse_file(line.encode(), ORIGIN)
        except PatternError:
            continue  # e.g. a '..' segment, which the buildpack refuses on purpose
        lines.append(line)
    text = eol.join(lines) + (eol if rng.random() < 0.7 else "")
    data = text.encode()
    if rng.random() < 0.1:
        data = b"\xef\xbb\xbf" + data
    return data


def random_tree(rng: random.Random, root: Path) -> None:
    """A small tree: depth <= 4, some empty directories, a few symlinks."""
    dirs: list[Path] = [root]
    files: list[Path] = []

    def fill(directory: Path, depth: int) -> None:
        count = rng.randint(0, 5 - depth) if depth > 1 else rng.randint(2, 5)
        for name in rng.sample(NAMES, count):
            path = directory / name
            if depth < 4 and rng.random() < 0.45:
                path.mkdir()
                dirs.append(path)
                fill(path, depth + 1)
            else:
                path.write_bytes(b"")
                files.append(path)

    fill(root, 1)
    for _ in range(rng.choice([0, 0, 1, 2, 3])):
        where = rng.choice(dirs)
        name = rng.choice(NAMES)
        link = where / name
        if os.path.lexists(link):
            continue
        target = rng.choice(dirs[1:] + files) if len(dirs) + len(files) > 1 else root
        os.symlink(os.path.relpath(target, where), link)


def describe_tree(root: Path) -> str:
    lines = []
    for rel, is_dir in sorted(all_entries(root).items()):
        path = root / rel
        if os.path.islink(path):
            lines.append(f"{rel} -> {os.readlink(path)}")
        else:
            lines.append(rel + ("/" if is_dir else ""))
    return "\n".join(lines)
