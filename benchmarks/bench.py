"""Benchmark the buildpack against the file-system floor (``make bench``).

Runs the real ``bin/build`` and ``bin/detect`` (with the interpreter a build image
would have: ``/usr/bin/python3`` unless ``--python`` says otherwise) and, on an
identical copy of each tree, the baselines:

- select-all: GNU ``chgrp -R GID DIR && chmod -R g+w DIR``;
- strict walk with few selections: ``find DIR -perm /022 -printf ''``.

Each figure is the median of ``--runs`` runs. Per-entry cost separates the fixed
start-up cost: (time on the big tree - time on a tiny app) / entries, for the
buildpack and the baseline alike. Peak memory is the child's max RSS.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SIZES = {"10k": 10_000, "100k": 100_000, "1m": 1_000_000}
FILES_PER_DIR = 20
SUBDIRS_PER_DIR = 6


@dataclass
class Measure:
    seconds: float
    max_rss_kib: int


def run(command: list[str], cwd: Path | None = None, env: dict[str, str] | None = None) -> Measure:
    """Run ``command`` and return its wall time and peak RSS.

    The RSS comes from GNU time, which forks the command from a small process: a
    child forked from this (large) Python process would report our RSS as its own.
    """
    started = time.perf_counter()
    proc = subprocess.run(
        ["/usr/bin/time", "-f", "maxrss=%M", *command],
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({proc.returncode}): {proc.stderr}")
    last = proc.stderr.strip().splitlines()[-1]
    return Measure(elapsed, int(last.removeprefix("maxrss=")))


def make_tree(root: Path, entries: int) -> None:
    """A tree shaped like an app with vendored dependencies: directories of
    FILES_PER_DIR files and SUBDIRS_PER_DIR subdirectories, breadth first."""
    root.mkdir(parents=True)
    queue = [root]
    made = 0
    while queue and made < entries:
        directory = queue.pop(0)
        for i in range(FILES_PER_DIR):
            if made >= entries:
                return
            (directory / f"file{i}.rb").write_bytes(b"")
            made += 1
        for i in range(SUBDIRS_PER_DIR):
            if made >= entries:
                return
            sub = directory / f"dir{i}"
            sub.mkdir()
            queue.append(sub)
            made += 1


def reset_tree(tree: Path) -> None:
    """Put a tree back as make_tree left it (files 0644, directories 0755, no
    setgid), in place: copying 100k entries with cp -a took 40 s here, a reset
    with GNU chmod under a second. The group is the process's own throughout."""
    subprocess.run(["chmod", "-R", "a-st,u=rwX,go=rX", str(tree)], check=True)
    for extra in (tree / ".writable-paths",):
        extra.unlink(missing_ok=True)


def build_env(python: str, platform_dir: Path) -> dict[str, str]:
    return {
        "PATH": "/usr/bin:/bin",
        "HOME": "/tmp",
        "CNB_BUILDPACK_DIR": str(REPO),
        "CNB_PLATFORM_DIR": str(platform_dir),
        "CNB_LAYERS_DIR": str(platform_dir / "layers"),
        "CNB_BP_PLAN_PATH": str(platform_dir / "plan.toml"),
        "CNB_BUILD_PLAN_PATH": str(platform_dir / "plan.toml"),
        "BP_WRITABLE_PATHS_PYTHON": python,
    }


def median(values: list[float]) -> float:
    return statistics.median(values)


class Bench:
    def __init__(self, work: Path, python: str, runs: int) -> None:
        self.work = work
        self.python = python
        self.runs = runs
        self.platform_dir = work / "platform"
        (self.platform_dir / "layers").mkdir(parents=True)
        (self.platform_dir / "env").mkdir()
        (self.platform_dir / "plan.toml").write_text("")
        self.env = build_env(python, self.platform_dir)
        self.gid = os.getgid()

    def buildpack(self, master: Path, patterns: str | None) -> tuple[float, int]:
        times, rss = [], 0
        for _ in range(self.runs):
            reset_tree(master)
            if patterns is not None:
                (master / ".writable-paths").write_text(patterns)
            m = run([str(REPO / "bin/build")], cwd=master, env=self.env)
            times.append(m.seconds)
            rss = max(rss, m.max_rss_kib)
        return median(times), rss

    def baseline(self, master: Path, command: list[str]) -> float:
        times = []
        for _ in range(self.runs):
            reset_tree(master)
            cmd = [part.replace("DIR", str(master)) for part in command]
            times.append(run(cmd).seconds)
        return median(times)

    def chgrp_chmod(self, master: Path) -> float:
        return self.baseline(master, ["sh", "-c", f"chgrp -R {self.gid} DIR && chmod -R g+w DIR"])

    def find_perm(self, master: Path) -> float:
        return self.baseline(master, ["find", "DIR", "-perm", "/022", "-printf", ""])

    def command_median(self, command: list[str], cwd: Path) -> float:
        return median([run(command, cwd=cwd, env=self.env).seconds for _ in range(self.runs * 5)])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10k,100k", help="comma-separated: 10k,100k,1m")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--python", default="/usr/bin/python3")
    parser.add_argument("--work", default=None, help="scratch directory (default: a temp dir)")
    args = parser.parse_args(argv)
    sizes = [s.strip() for s in args.sizes.split(",") if s.strip()]

    work = Path(args.work or tempfile.mkdtemp(prefix="wp-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    bench = Bench(work, args.python, args.runs)
    try:
        report(bench, sizes)
    finally:
        subprocess.run(["rm", "-rf", str(work)], check=False)
    return 0


def report(bench: Bench, sizes: list[str]) -> None:
    version = subprocess.run([bench.python, "-V"], capture_output=True, text=True).stdout.strip()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, {platform.platform()}, "
        f"python {bench.python} ({version})"
    )
    print(f"runs per figure: {bench.runs} (medians)\n")

    tiny = bench.work / "tiny"
    make_tree(tiny, 30)
    bare = median(
        [run([bench.python, "-I", "-S", "-c", "pass"]).seconds for _ in range(bench.runs * 5)]
    )
    (bench.work / "tiny-config").mkdir()
    (bench.work / "tiny-config" / ".writable-paths").write_text("log/\n")
    detect_none = bench.command_median([str(REPO / "bin/detect")], tiny)
    detect_file = bench.command_median([str(REPO / "bin/detect")], bench.work / "tiny-config")
    tiny_all, _ = bench.buildpack(tiny, "*\n")
    tiny_few, _ = bench.buildpack(tiny, "dir1/\n")
    base_tiny_all = bench.chgrp_chmod(tiny)
    base_tiny_find = bench.find_perm(tiny)

    print("Start-up")
    print(f"  bare python3 -I -S -c pass       {bare * 1000:8.1f} ms")
    print(f"  detect, no configuration         {detect_none * 1000:8.1f} ms   (target < 10 ms)")
    print(
        f"  detect, with a pattern file      {detect_file * 1000:8.1f} ms   "
        f"{detect_file / bare:5.2f}x bare (target <= 1.5x)"
    )
    print(
        f"  build, tiny app, pattern file    {tiny_few * 1000:8.1f} ms   "
        f"{tiny_few / bare:5.2f}x bare (target <= 3x)\n"
    )

    header = (
        f"{'tree':>6} {'variant':<22} {'buildpack':>10} {'baseline':>10} "
        f"{'per-entry bp':>13} {'per-entry base':>15} {'ratio':>6} {'peak RSS':>9}"
    )
    print(header)
    print("-" * len(header))
    for label in sizes:
        entries = SIZES[label]
        master = bench.work / f"master-{label}"
        make_tree(master, entries)
        for variant, patterns, base_fn, tiny_bp, tiny_base in (
            ("select-all (*)", "*\n", bench.chgrp_chmod, tiny_all, base_tiny_all),
            ("strict, few dirs", "dir1/\ndir2/dir3/\n", bench.find_perm, tiny_few, base_tiny_find),
        ):
            bp, rss = bench.buildpack(master, patterns)
            base = base_fn(master)
            per_bp = (bp - tiny_bp) / entries * 1e6
            per_base = (base - tiny_base) / entries * 1e6
            print(
                f"{label:>6} {variant:<22} {bp:9.2f}s {base:9.2f}s {per_bp:10.2f} us "
                f"{per_base:12.2f} us {per_bp / per_base:6.2f} {rss / 1024:7.1f} MiB"
            )
        none, rss = bench.buildpack(master, None)
        print(
            f"{label:>6} {'no configuration':<22} {none:9.2f}s {'':>10} {'':>13} {'':>15} "
            f"{'':>6} {rss / 1024:7.1f} MiB"
        )
        subprocess.run(["rm", "-rf", str(master)], check=True)
    print("\nTargets: select-all ratio <= 0.8; strict ratio <= 1.2; peak RSS < 60 MiB at 1M.")


if __name__ == "__main__":
    sys.exit(main())
