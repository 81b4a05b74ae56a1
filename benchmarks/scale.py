"""The scale cases of ``make bench CASES=scale``: many patterns, many entries, many
hard links, each timed and measured as the whole build (every process) uses memory.

Whole-build memory is the largest sum, over the build's processes (the build and its
forked workers), of their proportional set size (``Pss`` in
``/proc/<pid>/smaps_rollup``), sampled every 10 ms: a page that two processes share
counts half in each, so the sum is what the build as a whole holds in RAM. This
host's memory cgroup is v1 (no ``memory.peak`` of a cgroup of our own), and a v1
cgroup's peak would count the page cache of the tree too. The sum of ``VmRSS`` is
printed beside it: an upper bound that counts every shared page once per process.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path
from typing import Any

FILES_PER_PACKAGE = 20  # files per package directory in the pnpm-style tree
PACKAGES_PER_DIR = 100  # package directories per store or node_modules parent

LIMIT_MIB = 64.0  # the goal for every scale case
LIMIT_SECONDS_PER_100K = 10.0


def mixed_patterns(count: int) -> str:
    """``count`` patterns of every kind the index treats differently (literal,
    anchored, prefix, suffix, inner run, bracket class, ``**``, negated), none of
    which matches the bench tree's names, so every directory stays active and every
    name is matched; then one that selects a part of the tree. None is a literal
    directory pattern, which the build would create: every run walks the same tree."""
    kinds = (
        "lit{i}",
        "/top{i}/sub{i}",
        "*.ext{i}",
        "cache{i}*/",
        "*mid{i}*",
        "**/deep{i}/",
        "src/**/gen{i}/",
        "!keep{i}",
        "[abc]{i}x?/",
        "dir1/x{i}.rb",
    )
    lines = [kinds[i % len(kinds)].format(i=i) for i in range(count - 1)]
    lines.append("dir1/dir2/")
    return "\n".join(lines) + "\n"


def literal_free_everywhere() -> str:
    """8,100 patterns whose first segment has no literal byte and matches nearly
    every name, after a ``**`` and before another: the index can only try them one
    by one, at every depth (over 60 s on 100,000 entries before the outcome memo)."""
    return "".join(
        f"**/[!{chr(0x21 + i % 90)}]*[!{chr(0x21 + i // 90)}]*/**/x\n" for i in range(8100)
    )


def classes_everywhere() -> str:
    """10,000 unanchored ``*[!a]*[!b]*/q``: each matches every name, and each held
    its own copies of its 254-byte classes (198 MiB before they were shared)."""
    return "".join(
        f"*[!{chr(0x21 + a)}]*[!{chr(0x21 + b)}]*/q\n" for a in range(100) for b in range(100)
    )


def long_wildcards() -> str:
    """Lines near the 4,096-byte limit: 120 of ``*a*a*a...*[b]`` (the glob
    backtracking case) and 150 of ``*?*?*...`` with 1,500 ``?``, which no name
    is long enough to match (27 s before the length bounds)."""
    stars = ["*a" * 2000 + f"*[{chr(98 + i % 20)}]" for i in range(120)]
    marks = ["*" + "?*" * 1500 + f"[!{chr(0x21 + i % 90)}]" for i in range(150)]
    return "\n".join(stars + marks) + "\n"


def many_created(count: int) -> str:
    """``count`` anchored literal directories that do not exist: the build creates
    each (and checks it against its siblings' names for a near miss)."""
    return "".join(f"/{CREATED_PREFIX}{i}/\n" for i in range(count))


CREATED_PREFIX = "made"  # the names many_created makes, removed after each run


def make_linked_tree(root: Path, files: int) -> None:
    """A pnpm-style app with the store inside it: ``files`` regular files under
    ``.pnpm-store/``, each linked once more under ``node_modules/.pnpm/``, so
    every file has two links, both in the app."""
    store = root / ".pnpm-store" / "v3" / "files"
    modules = root / "node_modules" / ".pnpm"
    (root / "node_modules" / ".cache").mkdir(parents=True)
    made = 0
    package = 0
    while made < files:
        group = f"{package // PACKAGES_PER_DIR:02x}"
        original = store / group / f"pkg{package}"
        linked = modules / group / f"pkg{package}@1.0.0" / "node_modules" / f"pkg{package}"
        original.mkdir(parents=True)
        linked.mkdir(parents=True)
        for i in range(min(FILES_PER_PACKAGE, files - made)):
            name = f"file{i}.js"
            (original / name).write_bytes(b"")
            os.link(original / name, linked / name)
            made += 1
        package += 1


class Sampler:
    """Runs a command in a session of its own and samples its processes' memory."""

    def __init__(self, extra: dict[str, Any]) -> None:
        self.extra = extra

    def run(self, command: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, int, int]:
        """Wall time (s), peak summed Pss and peak summed VmRSS (KiB) of ``command``.

        It runs under GNU time, so a child forked from this (large) Python process
        never counts; GNU time itself (the session leader) is left out."""
        started = time.perf_counter()
        proc = subprocess.Popen(
            ["/usr/bin/time", "-f", "", *command],
            cwd=cwd,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
            **self.extra,
        )
        pss = rss = 0
        while proc.poll() is None:
            now_pss, now_rss = session_memory(proc.pid)
            pss, rss = max(pss, now_pss), max(rss, now_rss)
            time.sleep(0.01)
        elapsed = time.perf_counter() - started
        assert proc.stderr is not None
        err = proc.stderr.read().decode(errors="replace")
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(command)} failed ({proc.returncode}): {err}")
        return elapsed, pss, rss


def session_memory(session: int) -> tuple[int, int]:
    """The summed Pss and VmRSS (KiB) of the processes in ``session`` but its leader."""
    pss = rss = 0
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == session:
            continue
        try:
            with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            if int(fields[3]) != session:  # the session id
                continue
            with open(f"/proc/{pid}/smaps_rollup", encoding="ascii", errors="replace") as handle:
                for line in handle:
                    if line.startswith("Pss:"):
                        pss += int(line.split()[1])
                    elif line.startswith("Rss:"):
                        rss += int(line.split()[1])
        except (OSError, IndexError, ValueError):
            continue  # ended while we looked
    return pss, rss
