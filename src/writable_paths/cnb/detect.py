"""bin/detect: pass whenever the configuration is absent or valid.

The buildpack is often appended as a required member of every group, so it
never answers "fail" (100): an invalid configuration is an error (1) that names
the file and line; anything else passes (0). Imports stay light: no pydantic.
"""

from __future__ import annotations

import os

from .. import wording
from ..errors import UserError
from ..report import Reporter
from .api import EXIT_ERROR, EXIT_PASS, detect_inputs
from .settings import read_settings
from .sources import load_patterns, misspelled_files

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence


def main(buildpack_dir: str, args: Sequence[str]) -> int:
    inputs = detect_inputs(buildpack_dir, args, os.environ)
    reporter = Reporter()
    try:
        settings = read_settings(os.environ, inputs.platform_dir, validate=False)
        patterns = load_patterns(inputs.app_dir, settings)
    except UserError as err:
        reporter.error(err)
        return EXIT_ERROR
    if not patterns:
        misspelled = misspelled_files(inputs.app_dir, settings)
        if reporter.misspelled(misspelled, settings.pattern_file, level=0):
            return EXIT_PASS
    reporter.title(wording.detect_configured(len(patterns)))
    return EXIT_PASS
