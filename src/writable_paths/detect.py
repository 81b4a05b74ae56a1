"""bin/detect: pass whenever the configuration is absent or valid.

The buildpack is often appended as a required member of every group, so it
never answers "fail" (100): an invalid configuration is an error (1) that names
the file and line; anything else passes (0). Imports stay light: no pydantic.
"""

from __future__ import annotations

import os
import sys

from .cnb import EXIT_ERROR, EXIT_PASS, detect_inputs
from .config import load_patterns, read_settings
from .errors import UserError, printable

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence


def main(buildpack_dir: str, args: Sequence[str]) -> int:
    inputs = detect_inputs(buildpack_dir, args, os.environ)
    try:
        values = read_settings(os.environ, inputs.platform_dir)
        patterns = load_patterns(inputs.app_dir, values)
    except UserError as err:
        sys.stderr.write(f"ERROR: {printable(err.render(), keep_newlines=True)}\n")
        return EXIT_ERROR
    print(f"writable-paths: {len(patterns)} pattern(s) configured")
    return EXIT_PASS
