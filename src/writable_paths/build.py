"""bin/build: make the selected paths group-writable, everything else read-only."""

from __future__ import annotations

import os
import sys
import time

from .apply import Applier
from .cnb import EXIT_ERROR, EXIT_PASS, build_inputs, buildpack_title, write_launch_label
from .config import load_patterns, pattern_file_name, read_settings
from .engine import Pass
from .errors import UserError, printable
from .parallel import worker_count
from .report import Reporter
from .settings import Settings

TYPE_CHECKING = False  # no typing at run time: start-up time is the build's fixed cost
if TYPE_CHECKING:
    from collections.abc import Sequence

    from .patterns import PatternSet

UNCHANGEABLE_SHOWN = 20


def main(buildpack_dir: str, args: Sequence[str]) -> int:
    started = time.monotonic()
    inputs = build_inputs(buildpack_dir, args, os.environ)
    reporter = Reporter()
    reporter.title(buildpack_title())
    try:
        values = read_settings(os.environ, inputs.platform_dir)
        settings = Settings.from_values(values)
        reporter.debug_enabled = settings.debug
        patterns = load_patterns(inputs.app_dir, values)
    except UserError as err:
        reporter.error(err)
        return EXIT_ERROR
    if not patterns:
        name = pattern_file_name(values)[0]
        reporter.step(
            f"No patterns in {name} or BP_WRITABLE_PATHS (only blank lines and comments): "
            "nothing to do"
        )
        return EXIT_PASS
    _describe(reporter, patterns, settings)

    gid = os.getgid()
    reporter.step(f"Applying permissions (group {gid}, strict={str(settings.strict).lower()})")
    summary = Pass(
        patterns,
        strict=settings.strict,
        gid=gid,
        applier=Applier(),
        on_change=reporter.change if settings.debug else None,
        workers=worker_count(),
    ).run(inputs.app_dir)
    for path in summary.created:
        reporter.detail(f"Created {path}/")
    for root in summary.roots:
        reporter.detail(f"Writable: {root}")
    reporter.warnings(summary.warnings)

    if summary.unchangeable:
        reporter.error(_unchangeable(summary.unchangeable, os.getuid()))
        return EXIT_ERROR
    roots = [os.path.join(inputs.app_dir, root) for root in sorted(summary.roots)]
    write_launch_label(inputs.layers_dir, roots)
    reporter.summary(summary, time.monotonic() - started)
    return EXIT_PASS


def _describe(reporter: Reporter, patterns: PatternSet, settings: Settings) -> None:
    reporter.step("Reading patterns")
    origins: dict[str, int] = {}
    for pattern in patterns.patterns:
        origins[pattern.source.origin] = origins.get(pattern.source.origin, 0) + 1
    for origin, count in origins.items():
        reporter.detail(f"{origin}: {count} pattern{'s' if count != 1 else ''}")
    for pattern in patterns.patterns:
        reporter.debug(str(pattern.source))
    reporter.debug(f"Python {sys.version.split()[0]} ({sys.executable})")


def _unchangeable(paths: list[tuple[str, str]], uid: int) -> UserError:
    shown = [f"  {printable(path)}: {reason}" for path, reason in paths[:UNCHANGEABLE_SHOWN]]
    if len(paths) > UNCHANGEABLE_SHOWN:
        shown.append(f"  ... and {len(paths) - UNCHANGEABLE_SHOWN:,} more")
    return UserError(
        f"Cannot make {len(paths):,} selected path(s) writable",
        "The build user (uid "
        f"{uid}) cannot change or create these paths, most often because another user owns "
        "them or the directory they are in:\n" + "\n".join(shown),
        "Make sure the files are owned by the build user (a buildpack running as root or "
        "an archive extracted with its owners can cause this), or remove them from "
        ".writable-paths.",
    )
