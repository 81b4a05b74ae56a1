"""``make demo``: build the bundled Rails sample with the buildpack, then show who can
write what.

    python -m integration.demo [APP]     APP: a directory, or a fixture name (default:
                                         samples/rails, else integration/testdata/rails)

As root this is the full harness run: detect and build as the build user (uid 1001,
gid 1000), export like the lifecycle, probe as the run user (uid 1002, gid 1000)
before and after; then the same image as a real OCI image in runc, on a writable and
on a read-only root (skipped, with the reason, where runc cannot run). As any other
user the build runs in a temporary copy as that user and the run-user columns say why
they were skipped.
"""

from __future__ import annotations

import os
import shutil
import stat
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from . import runc
from .containers import ContainerImage, volumes
from .harness import AS_ROOT, REPO, RUN_USER, TESTDATA, Image, Sandbox, under

SKIPPED = "skipped: needs root to switch users"


def _engine_reasons(sandbox: Sandbox, image: Image) -> dict[str, str]:
    """path -> the pattern (file:line:pattern) that selects it, from the engine itself
    (a dry run over the built image, changing nothing)."""
    if str(REPO / "src") not in sys.path:
        sys.path.insert(0, str(REPO / "src"))
    from writable_paths.cnb.settings import read_settings
    from writable_paths.cnb.sources import load_patterns
    from writable_paths.core.decide import Decision
    from writable_paths.fs.apply import Applier
    from writable_paths.fs.engine import Pass
    from writable_paths.fs.walk import Entry

    settings = read_settings({}, str(sandbox.platform_dir))
    patterns = load_patterns(str(sandbox.app_dir), settings)
    reasons: dict[str, str] = {}

    def record(entry: Entry, decision: Decision) -> None:
        if not decision.selected:
            return
        selection = decision.selection
        assert selection is not None
        reasons[entry.path] = (
            str(selection.source) if decision.root else f"beneath {selection.path}/"
        )

    Pass(
        patterns,
        strict=True,
        gid=os.getgid(),
        applier=Applier(dry_run=True),
        on_decision=record,
    ).run(str(image.app_dir))
    return reasons


def _default_app() -> Path:
    sample = REPO / "samples" / "rails"
    return sample if sample.is_dir() else TESTDATA / "rails"


def _cell(image: Image, path: str, writable: set[str] | None) -> str:
    target = image.app_dir / path
    if not os.path.lexists(target):
        return "(absent)"
    mode = stat.filemode(os.lstat(target).st_mode)
    if writable is None:
        return mode
    return f"{'yes' if path in writable else 'no '} {mode}"


def _table(rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for index, row in enumerate(rows):
        lines.append("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
        if index == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def main(argv: Sequence[str] = ()) -> int:
    started = time.monotonic()
    app = Path(argv[0]) if argv else _default_app()
    if app.exists():
        app = app.resolve()
        shown = os.path.relpath(app, REPO) if app.is_relative_to(REPO) else str(app)
    else:
        shown = f"the fixture {app}"  # a name under integration/testdata/
    with Sandbox(app) as sandbox:
        who = f"uid {sandbox.build_user.uid} gid {sandbox.build_user.gid}"
        print(f"Building {shown} with the writable-paths buildpack, as {who}\n")
        run = sandbox.run()
        for phase in (run.detect, run.build):
            if phase is not None and phase.returncode != 0:
                print(phase.describe())
                return 1
        assert run.build is not None
        print("\n".join("  | " + line for line in run.build.stdout.rstrip().splitlines()))

        before_image = sandbox.export_untouched()
        after_image = sandbox.export()
        reasons = _engine_reasons(sandbox, after_image)
        if AS_ROOT:
            before: set[str] | None = before_image.probe_writable(RUN_USER)
            after: set[str] | None = after_image.probe_writable(RUN_USER)
            print(f"\nCan the run user ({RUN_USER}, no other groups) write it? 'before' is the")
            print("image a build without this buildpack gives, 'after' the one it gives.")
        else:
            before = after = None
            print(
                f"\nRun-user probe {SKIPPED.replace(': ', ' (', 1)}): the columns show the modes,"
            )
            print("'before' for a build without this buildpack, 'after' for one with it.")

        paths = sorted(before_image.app_paths() | after_image.app_paths(), key=_sort_key)
        rows = [["path", "declared by", "before", "after"]]
        for path in paths:
            is_dir = os.path.isdir(after_image.app_dir / path) and not os.path.islink(
                after_image.app_dir / path
            )
            label = "./" if path == "." else path + ("/" if is_dir else "")
            rows.append(
                [
                    label,
                    reasons.get(path, "-"),
                    _cell(before_image, path, before),
                    _cell(after_image, path, after),
                ]
            )
        print(_table(rows))
        print()
        status = _verdict(set(reasons), before, after, after_image)
        if status == 0:
            status = _in_runc(sandbox, after_image, after)
        print(f"(finished in {time.monotonic() - started:.1f}s)")
        return status


def _in_runc(sandbox: Sandbox, image: Image, host: set[str] | None) -> int:
    """The same image as a real OCI image in runc: what the run user can write, on a
    writable root and on a read-only one with the manifest's tmpfs volumes."""
    print()
    why = runc.unavailable()
    if why is not None:
        print(f"Real runtime skipped: {why}.")
        return 0
    workdir = Path(tempfile.mkdtemp(prefix="wp-demo-runc-"))
    try:
        real = ContainerImage.of(sandbox, image, "busybox", workdir)
        print(f"In a real container ({runc.version()}, image made with umoci, busybox base),")
        print(f"as the run user ({RUN_USER}, no other groups):")
        writable = real.probe(RUN_USER)
        print(f"  writable root: can write {', '.join(sorted(writable)) or 'nothing'}")
        setup = volumes("compose-tmpfs", sandbox, RUN_USER, sandbox.build_user.gid, workdir, {})
        readonly = real.probe(setup.user, readonly=True, mounts=setup.mounts)
        print("  read-only root with `writable-paths manifest --format compose`'s tmpfs: can write")
        print(f"    {', '.join(sorted(readonly)) or 'nothing'}")
        if host is not None and writable != host:
            print(f"MISMATCH with the probe of the unpacked image: {sorted(writable ^ host)}")
            return 1
        print("OK: the container agrees with the probe of the unpacked image.")
        return 0
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _sort_key(path: str) -> tuple[int, str]:
    return (0, "") if path == "." else (1, path)


def _verdict(
    declared: set[str], before: set[str] | None, after: set[str] | None, image: Image
) -> int:
    if after is None or before is None:
        print("Run as root (sudo make demo) to probe the exported image as the run user.")
        return 0
    expected = under(image.app_paths(), declared)
    if after == expected:
        print(
            f"OK: after the build the run user can write exactly the {len(expected)} declared "
            f"paths; before it, {len(before)}: {', '.join(sorted(before))} "
            "(pack creates the app dir 0777)."
        )
        return 0
    print(
        f"MISMATCH: writable but not declared: {sorted(after - expected)}; "
        f"declared but not writable: {sorted(expected - after)}"
    )
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
