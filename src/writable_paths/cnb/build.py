"""bin/build: make the selected paths group-writable, everything else read-only."""

from __future__ import annotations

import os
import sys
import time

from .. import wording
from ..core import findings as F
from ..core.findings import Finding
from ..core.label import enclosing
from ..errors import UserError
from ..fs.apply import Applier
from ..fs.engine import Pass
from ..fs.parallel import WorkerLost, worker_count
from ..fs.walk import OutOfDescriptors, TreeChanged
from ..report import Reporter
from .api import (
    EXIT_ERROR,
    EXIT_PASS,
    build_inputs,
    buildpack_title,
    label_value,
    toml_string,
    write_launch_label,
)
from .settings import read_settings
from .sources import load_patterns, misspelled_files

TYPE_CHECKING = False  # no typing at run time: start-up time is the build's fixed cost
if TYPE_CHECKING:
    from collections.abc import Sequence

    from ..core.patterns import PatternSet
    from ..fs.engine import Summary
    from .settings import Settings


def main(buildpack_dir: str, args: Sequence[str]) -> int:
    started = time.monotonic()
    inputs = build_inputs(buildpack_dir, args, os.environ)
    reporter = Reporter()
    reporter.title(buildpack_title())
    try:
        settings = read_settings(os.environ, inputs.platform_dir)
        reporter.debug_enabled = settings.debug
        patterns = load_patterns(inputs.app_dir, settings)
    except UserError as err:
        reporter.error(err)
        return EXIT_ERROR
    if not patterns:
        misspelled = misspelled_files(inputs.app_dir, settings)
        if not reporter.misspelled(misspelled, settings.pattern_file, level=1):
            reporter.step(_nothing_to_do(inputs.app_dir, settings))
        return EXIT_PASS
    _describe(reporter, patterns)

    gid = os.getgid()
    reporter.step(wording.applying(gid, settings.strict))
    try:
        summary = Pass(
            patterns,
            strict=settings.strict,
            gid=gid,
            applier=Applier(),
            on_change=reporter.change if settings.debug else None,
            workers=worker_count(),
            pattern_file=settings.pattern_file,
        ).run(inputs.app_dir)
    except WorkerLost as err:
        reporter.error(wording.worker_lost(err.exitcode))
        return EXIT_ERROR
    except OutOfDescriptors as err:
        reporter.error(wording.out_of_descriptors(err.path, err.cause))
        return EXIT_ERROR
    except TreeChanged as err:
        reporter.error(wording.tree_changed(err.path))
        return EXIT_ERROR
    for path in summary.created:
        reporter.detail(wording.created(path))
    for root in summary.roots:
        reporter.detail(wording.writable_root(root))
    roots = _label_roots(inputs.app_dir, summary)
    reporter.findings(summary.findings, settings.pattern_file)

    if summary.failures:
        reporter.error(wording.unchangeable(summary.failures, os.getuid(), settings.pattern_file))
        return EXIT_ERROR
    try:
        write_launch_label(inputs.layers_dir, roots)
    except OSError as err:
        where = os.path.join(inputs.layers_dir, "launch.toml")
        reporter.error(wording.label_unwritable(where, err.strerror or str(err)))
        return EXIT_ERROR
    reporter.summary(summary, time.monotonic() - started)
    return EXIT_PASS


def _label_roots(app_dir: str, summary: Summary) -> list[str]:
    """The absolute paths the label names: the selection's roots, or enclosing
    directories when those would make the label too large (with a warning)."""

    def absolute(roots: list[str]) -> list[str]:
        return [os.path.join(app_dir, root) if root else app_dir for root in roots]

    chosen = enclosing(summary.roots, lambda roots: len(toml_string(label_value(absolute(roots)))))
    if chosen != sorted(summary.roots):
        summary.findings.add(Finding(F.LABEL_SHORTENED, chosen[0], count=len(summary.roots)))
    return absolute(chosen)


def _nothing_to_do(app_dir: str, settings: Settings) -> str:
    """Why a build with no patterns changes nothing: nothing configured, or a pattern
    file of only comments and blank lines."""
    named = os.path.lexists(os.path.join(app_dir, settings.pattern_file))
    if not named and not settings.extra_patterns.strip():
        return wording.NOTHING_TO_DO.format(wording.not_configured(settings.pattern_file))
    return wording.no_patterns(settings.pattern_file)


def _describe(reporter: Reporter, patterns: PatternSet) -> None:
    reporter.step(wording.READING)
    for origin, count in patterns.origins().items():
        reporter.detail(wording.pattern_count(origin, count))
    for pattern in patterns.patterns:
        reporter.debug(str(pattern.source))
    reporter.debug(wording.interpreter(sys.version.split()[0], sys.executable))
