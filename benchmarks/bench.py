"""Benchmark the buildpack against the file-system floor (``make bench``).

Runs the packaged buildpack as a builder installs it: ``package/build.py`` for this
machine's arch, unpacked root-owned and run as the build user (uid 1001, gid 1000,
when run as root; else read-only), so the interpreter cannot write ``__pycache__``
and uses the bytecode the package ships, or compiles on every run where there is
none. ``bin/detect`` and ``bin/build`` find the interpreter on PATH
(``--python``'s directory first) as they do in a build image.

Baselines, run as the same user on the same tree reset in place:

- select-all: GNU ``chgrp -R GID DIR && chmod -R g+w DIR``;
- strict walk with few selections: ``find DIR -perm /022 -printf ''``.

Each time is the median of ``--runs`` runs. Per-entry cost separates the fixed
start-up cost: (time on the big tree - time on a tiny app) / entries, for the
buildpack and the baseline alike. Peak memory comes from one more, untimed run:
the largest sum of the resident memory of the build and its worker processes,
sampled every 10 ms (an upper bound: forked workers share pages).
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))
import scale  # noqa: E402  (benchmarks/, the script's own directory)
from lifecycle import bundled_python  # noqa: E402

from testing.cnb import BUILD_USER, Dirs, phase_command, phase_env  # noqa: E402

SIZES = {"10k": 10_000, "100k": 100_000, "1m": 1_000_000}
FILES_PER_DIR = 20
SUBDIRS_PER_DIR = 6
BUILD_UID, BUILD_GID = BUILD_USER.uid, BUILD_USER.gid
ARCHES = {"x86_64": "amd64", "aarch64": "arm64"}

SELECT_ALL = "*\n"
# Anchored, as `writable-paths init` writes them: two directories, 1/36 and
# 1/216 of the tree; everything else is tightened.
FEW_DIRS = "/dir1/dir2/\n/dir3/dir4/dir5/\n"
# Unanchored: the pattern can match in every directory, so nothing is decided
# without matching (and the per-entry figure includes the matching).
ANYWHERE = "dir1/dir2/\n"


def as_build_user() -> dict[str, Any]:
    """subprocess arguments that run a command as the build user, when root.

    As root, Python would write ``__pycache__`` into the read-only buildpack and
    skip permission checks. (The switch happens before exec: it is not timed.)
    """
    if os.geteuid() != 0:
        return {}
    return {"user": BUILD_UID, "group": BUILD_GID, "extra_groups": []}


def run(command: list[str], cwd: Path | None = None, env: dict[str, str] | None = None) -> float:
    """Run ``command`` as the build user; its wall time in seconds."""
    started = time.perf_counter()
    proc = subprocess.run(
        command,
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        check=False,
        **as_build_user(),
    )
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({proc.returncode}): {proc.stderr!r}")
    return elapsed


def peak_memory(command: list[str], cwd: Path, env: dict[str, str]) -> int:
    """Run ``command``; the largest sum of VmRSS (KiB) over its processes.

    It runs under GNU time, which forks it from a small process, for runs shorter
    than one sample: a child forked from this (large) Python process would count
    this process's memory as its own.
    """
    proc = subprocess.Popen(
        ["/usr/bin/time", "-f", "maxrss=%M", *command],
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
        **as_build_user(),
    )
    peak = 0
    while proc.poll() is None:
        peak = max(peak, _group_rss(proc.pid))
        time.sleep(0.01)
    assert proc.stderr is not None
    err = proc.stderr.read().decode(errors="replace")
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({proc.returncode}): {err}")
    largest = int(err.strip().splitlines()[-1].removeprefix("maxrss="))
    return max(peak, largest)


def _group_rss(group: int) -> int:
    """The VmRSS (KiB) of the processes in ``group``, but its leader (GNU time)."""
    total = 0
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == group:
            continue
        try:
            with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            if int(fields[2]) != group:  # pgrp
                continue
            with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as handle:
                for line in handle:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except (OSError, IndexError, ValueError):
            continue
    return total


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
    with GNU chmod under a second."""
    subprocess.run(["chmod", "-R", "a-st,u=rwX,go=rX", str(tree)], check=True)
    (tree / ".writable-paths").unlink(missing_ok=True)
    # Write the changed inodes back now, not during the next timed run.
    os.sync()


def median(values: list[float]) -> float:
    return statistics.median(values)


def stage_buildpack(work: Path) -> tuple[Path, Path]:
    """The package for this machine, unpacked as a builder holds it: root-owned
    and read-only to the build user. Also a copy without the shipped bytecode."""
    arch = ARCHES.get(platform.machine())
    if arch is None:
        raise SystemExit(f"no package target for {platform.machine()}")
    subprocess.run(
        [
            sys.executable,
            str(REPO / "package/build.py"),
            "--target",
            f"linux/{arch}",
            "--out",
            str(work / "package"),
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    (archive,) = (work / "package").glob("*.tgz")
    print_sizes(archive)
    staged = work / "buildpack"
    with tarfile.open(archive) as tar:
        tar.extractall(staged, filter="tar")
    bare = work / "buildpack-no-bytecode"
    shutil.copytree(staged, bare, ignore=shutil.ignore_patterns("__pycache__"))
    for root in (staged, bare):
        subprocess.run(["chmod", "-R", "a+rX,a-w", str(root)], check=True)
    return staged, bare


def _category(name: str) -> str:
    parts = name.split("/")
    if parts[0] == "python":
        if parts[2] == "bin":
            return "interpreter (python3.13)"
        if parts[2] == "share":
            return "licence files"
        if len(parts) == 4:
            return "loader and shared libraries"
        if "lib-dynload" in parts:
            return "stdlib extension modules"
        return "stdlib (bytecode)"
    if name.endswith(".so"):
        return "pydantic-core extension"
    if "__pycache__" in parts:
        return "bytecode of src/ and vendor/"
    if parts[0] == "vendor":
        return "vendored Python sources"
    return "our code (bin/, src/, buildpack.toml)"


def print_sizes(archive: Path) -> None:
    """The archive's size, and each part's: unpacked and gzip-compressed on its own."""
    import gzip

    groups: dict[str, list[bytes]] = {}
    with tarfile.open(archive) as tar:
        for member in tar.getmembers():
            data = tar.extractfile(member) if member.isfile() else None
            if data is not None:
                groups.setdefault(_category(member.name), []).append(data.read())
    print(f"Archive {archive.name}: {archive.stat().st_size / 1e6:.1f} MB")
    for name, blobs in sorted(groups.items(), key=lambda kv: -sum(map(len, kv[1]))):
        raw = sum(map(len, blobs))
        packed = len(gzip.compress(b"".join(blobs), compresslevel=6, mtime=0))
        print(f"  {name:40} {raw / 1e6:6.1f} MB unpacked {packed / 1e6:6.1f} MB gzip")
    print()


class Bench:
    def __init__(self, work: Path, python: str, runs: int) -> None:
        self.work = work
        self.python = python
        self.runs = runs
        self.as_root = os.geteuid() == 0
        self.gid = BUILD_GID if self.as_root else os.getgid()
        self.platform_dir = work / "platform"
        (self.platform_dir / "layers").mkdir(parents=True)
        (self.platform_dir / "env").mkdir()
        self.buildpack_dir, self.no_bytecode_dir = stage_buildpack(work)
        if python == "bundled":
            self.python_command = bundled_python(self.buildpack_dir)
        else:
            self.python_command = [python]
        self.own(self.platform_dir)

    def own(self, path: Path) -> None:
        if self.as_root:
            subprocess.run(["chown", "-R", f"{BUILD_UID}:{BUILD_GID}", str(path)], check=True)

    def dirs(self, buildpack_dir: Path) -> Dirs:
        layers, plan = self.platform_dir / "layers", self.platform_dir / "plan.toml"
        return Dirs(buildpack_dir, self.platform_dir, layers, plan, plan)

    def env(self, buildpack_dir: Path, phase: str = "build") -> dict[str, str]:
        # No Python on PATH: the buildpack runs its own.
        return phase_env(phase, self.dirs(buildpack_dir), path="/usr/bin:/bin", home="/tmp")

    def bin(self, buildpack_dir: Path, name: str) -> list[str]:
        # The switch to the build user is run()'s (subprocess's user=), not setpriv's.
        return phase_command(name, self.dirs(buildpack_dir))

    def prepare(self, master: Path, patterns: str | None) -> None:
        reset_tree(master)
        if patterns is not None:
            (master / ".writable-paths").write_text(patterns)
            if self.as_root:
                os.chown(master / ".writable-paths", BUILD_UID, BUILD_GID)

    def buildpack(
        self,
        master: Path,
        patterns: str | None,
        memory: bool = False,
        runs: int | None = None,
        buildpack_dir: Path | None = None,
    ) -> tuple[float, int]:
        """The build's median time and, with ``memory``, its peak (KiB)."""
        buildpack_dir = buildpack_dir or self.buildpack_dir
        command = self.bin(buildpack_dir, "build")
        env = self.env(buildpack_dir)
        times = []
        for _ in range(runs or self.runs):
            self.prepare(master, patterns)
            times.append(run(command, cwd=master, env=env))
        peak = 0
        if memory:
            self.prepare(master, patterns)
            peak = peak_memory(command, master, env)
        return median(times), peak

    def baseline(self, master: Path, command: list[str]) -> float:
        times = []
        for _ in range(self.runs):
            reset_tree(master)
            cmd = [part.replace("DIR", str(master)) for part in command]
            times.append(run(cmd))
        return median(times)

    def chgrp_chmod(self, master: Path) -> float:
        return self.baseline(master, ["sh", "-c", f"chgrp -R {self.gid} DIR && chmod -R g+w DIR"])

    def find_perm(self, master: Path) -> float:
        return self.baseline(master, ["find", "DIR", "-perm", "/022", "-printf", ""])

    def interleaved(
        self, commands: dict[str, tuple[list[str], Path, dict[str, str]]]
    ) -> dict[str, float]:
        """Median times of short commands, run in turn so that drift in the
        machine's speed touches them all alike."""
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(self.runs * 10):
            for name, (command, cwd, env) in commands.items():
                times[name].append(run(command, cwd=cwd, env=env))
        return {name: median(values) for name, values in times.items()}

    def tree(self, path: Path, entries: int) -> Path:
        make_tree(path, entries)
        self.own(path)
        os.sync()
        return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10k,100k", help="comma-separated: 10k,100k,1m")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--cases",
        default="standard",
        help="comma-separated: standard (start-up, the trees of --sizes), scale (many "
        "patterns, 1M entries, hard links: several minutes)",
    )
    parser.add_argument(
        "--python", default="bundled", help="the bare baseline (default: the bundled CPython)"
    )
    parser.add_argument("--work", default=None, help="scratch directory (default: a temp dir)")
    args = parser.parse_args(argv)
    sizes = [s.strip() for s in args.sizes.split(",") if s.strip()]
    cases = {c.strip() for c in args.cases.split(",") if c.strip()}
    if not cases or not cases <= {"standard", "scale"}:
        parser.error(f"--cases: standard, scale or both, not {args.cases!r}")

    work = Path(args.work or tempfile.mkdtemp(prefix="wp-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    os.chmod(work, 0o755)
    try:
        bench = Bench(work, args.python, args.runs)
        if "standard" in cases:
            report(bench, sizes)
        if "scale" in cases:
            report_scale(bench)
    finally:
        subprocess.run(["rm", "-rf", str(work)], check=False)
    return 0


def report(bench: Bench, sizes: list[str]) -> None:
    version = subprocess.run(
        [*bench.python_command, "-V"], capture_output=True, text=True
    ).stdout.strip()
    user = f"uid {BUILD_UID} gid {BUILD_GID}" if bench.as_root else f"uid {os.getuid()}"
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, {platform.platform()}, "
        f"python {bench.python} ({version}); run as {user}"
    )
    print(f"runs per figure: {bench.runs} (medians; start-up: {bench.runs * 10})\n")

    tiny = bench.tree(bench.work / "tiny", 30)
    configured = bench.tree(bench.work / "tiny-config", 0)
    bench.prepare(configured, "log/\n")
    shipped = bench.env(bench.buildpack_dir, "detect")
    cold = bench.env(bench.no_bytecode_dir, "detect")
    startup = bench.interleaved(
        {
            "bare": ([*bench.python_command, "-I", "-S", "-c", "pass"], tiny, {}),
            "none": (bench.bin(bench.buildpack_dir, "detect"), tiny, shipped),
            "file": (bench.bin(bench.buildpack_dir, "detect"), configured, shipped),
            "file-cold": (bench.bin(bench.no_bytecode_dir, "detect"), configured, cold),
        }
    )
    bare = startup["bare"]
    tiny_all, _ = bench.buildpack(tiny, SELECT_ALL, runs=bench.runs * 10)
    tiny_few, _ = bench.buildpack(tiny, FEW_DIRS, runs=bench.runs * 10)
    base_tiny_all = bench.chgrp_chmod(tiny)
    base_tiny_find = bench.find_perm(tiny)
    tiny_few_cold, _ = bench.buildpack(tiny, FEW_DIRS, buildpack_dir=bench.no_bytecode_dir)

    detect_none, detect_file, detect_cold = startup["none"], startup["file"], startup["file-cold"]
    print("Start-up (shipped bytecode; in brackets: without it)")
    print(f"  bare python3 -I -S -c pass       {bare * 1000:8.1f} ms")
    print(f"  detect, no configuration         {detect_none * 1000:8.1f} ms   (target < 10 ms)")
    print(
        f"  detect, with a pattern file      {detect_file * 1000:8.1f} ms   "
        f"{detect_file / bare:5.2f}x bare (target <= 1.5x)"
        f"   [{detect_cold * 1000:.1f} ms, {detect_cold / bare:.2f}x]"
    )
    print(
        f"  build, tiny app, pattern file    {tiny_few * 1000:8.1f} ms   "
        f"{tiny_few / bare:5.2f}x bare (target <= 3x)"
        f"   [{tiny_few_cold * 1000:.1f} ms, {tiny_few_cold / bare:.2f}x]\n"
    )

    header = (
        f"{'tree':>6} {'variant':<24} {'buildpack':>10} {'baseline':>10} "
        f"{'per-entry bp':>13} {'per-entry base':>15} {'ratio':>6} {'peak mem':>9}"
    )
    print(header)
    print("-" * len(header))
    for label in sizes:
        entries = SIZES[label]
        master = bench.tree(bench.work / f"master-{label}", entries)
        for variant, patterns, base_fn, tiny_bp, tiny_base in (
            ("select-all (*)", SELECT_ALL, bench.chgrp_chmod, tiny_all, base_tiny_all),
            ("strict, few dirs", FEW_DIRS, bench.find_perm, tiny_few, base_tiny_find),
            ("strict, active anywhere", ANYWHERE, bench.find_perm, tiny_few, base_tiny_find),
        ):
            bp, peak = bench.buildpack(master, patterns, memory=True)
            base = base_fn(master)
            per_bp = (bp - tiny_bp) / entries * 1e6
            per_base = (base - tiny_base) / entries * 1e6
            print(
                f"{label:>6} {variant:<24} {bp:9.2f}s {base:9.2f}s {per_bp:10.2f} us "
                f"{per_base:12.2f} us {per_bp / per_base:6.2f} {peak / 1024:7.1f} MiB"
            )
        none, peak = bench.buildpack(master, None, memory=True)
        print(
            f"{label:>6} {'no configuration':<24} {none:9.2f}s {'':>10} {'':>13} {'':>15} "
            f"{'':>6} {peak / 1024:7.1f} MiB"
        )
        subprocess.run(["rm", "-rf", str(master)], check=True)
    print(
        "\nTargets: select-all ratio <= 0.8; strict, few dirs ratio <= 1.2; "
        "peak memory < 60 MiB at 1M."
    )


def report_scale(bench: Bench) -> None:
    """The scale cases (see ``scale``): time (median of --runs) and whole-build memory."""
    sampler = scale.Sampler(as_build_user())
    print(f"\nScale cases (whole-build memory: summed Pss; limit {scale.LIMIT_MIB:.0f} MiB)")
    header = f"{'case':<44} {'entries':>9} {'time':>8} {'peak Pss':>9} {'peak RSS sum':>13}"
    print(header)
    print("-" * len(header))
    small = bench.tree(bench.work / "scale-100k", 100_000)
    linked = bench.work / "scale-links"
    scale.make_linked_tree(linked, 200_000)
    bench.own(linked)
    os.sync()
    for name, master, patterns, entries in (
        ("1,000 mixed patterns", small, scale.mixed_patterns(1_000), 100_000),
        ("10,000 mixed patterns", small, scale.mixed_patterns(10_000), 100_000),
        ("8,100 '**/[!a]*[!b]*/**/x'", small, scale.literal_free_everywhere(), 100_000),
        ("10,000 '*[!a]*[!b]*/q'", small, scale.classes_everywhere(), 100_000),
        ("270 lines of 3,000-4,000 wildcard bytes", small, scale.long_wildcards(), 100_000),
        ("'*.rb': every file a selection root", small, "*.rb\n", 100_000),
        ("10,000 directories to create", small, scale.many_created(10_000), 100_000),
        ("200,000 files, 2 hard links each (pnpm)", linked, "node_modules/\n", 400_000),
    ):
        _scale_row(bench, sampler, name, master, patterns, entries)
    subprocess.run(["rm", "-rf", str(small), str(linked)], check=True)
    big = bench.tree(bench.work / "scale-1m", 1_000_000)
    _scale_row(bench, sampler, "1,000 mixed patterns", big, scale.mixed_patterns(1_000), 1_000_000)
    subprocess.run(["rm", "-rf", str(big)], check=True)
    print(
        f"\nTargets: peak Pss < {scale.LIMIT_MIB:.0f} MiB in every case; "
        f"under {scale.LIMIT_SECONDS_PER_100K:.0f} s per 100,000 entries."
    )


def _scale_row(
    bench: Bench, sampler: scale.Sampler, name: str, master: Path, patterns: str, entries: int
) -> None:
    command = bench.bin(bench.buildpack_dir, "build")
    env = bench.env(bench.buildpack_dir)
    times, pss, rss = [], 0, 0
    for _ in range(bench.runs):
        bench.prepare(master, patterns)
        elapsed, run_pss, run_rss = sampler.run(command, master, env)
        times.append(elapsed)
        pss, rss = max(pss, run_pss), max(rss, run_rss)
        for made in master.glob(f"{scale.CREATED_PREFIX}*"):
            shutil.rmtree(made)  # what many_created made: the next run creates them again
    entries_label = f"{entries / 1000:.0f}k" if entries < 1_000_000 else f"{entries / 1e6:.0f}M"
    print(
        f"{name:<44} {entries_label:>9} {median(times):7.2f}s {pss / 1024:6.1f} MiB "
        f"{rss / 1024:9.1f} MiB"
    )


if __name__ == "__main__":
    sys.exit(main())
