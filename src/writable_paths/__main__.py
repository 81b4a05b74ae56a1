"""Entry for the bin/ launchers: ``python -m writable_paths <bp dir> detect|build ARGS``."""

from __future__ import annotations

import sys

from . import wording
from .cnb.api import EXIT_BUG, EXIT_ERROR

TYPE_CHECKING = False  # keep typing off the detect path
if TYPE_CHECKING:
    from collections.abc import Sequence


# The top-level packages in vendor/ (requirements/runtime.txt and what they bring).
VENDORED = (
    "pydantic",
    "pydantic_core",
    "typing_extensions",
    "typing_inspection",
    "annotated_types",
)


def main(argv: Sequence[str]) -> int:
    if len(argv) < 2 or argv[1] not in ("detect", "build"):
        sys.stderr.write(wording.USAGE + "\n")
        return 2
    buildpack_dir, phase, args = argv[0], argv[1], argv[2:]
    if sys.stdout is None:  # descriptor 1 was closed: nowhere to write the log
        return _output_lost("standard output is closed")
    try:
        if phase == "detect":
            from .cnb.detect import main as run
        else:
            from .cnb.build import main as run
        # The build imports pydantic only when a setting needs checking.
        code = run(buildpack_dir, args)
        sys.stdout.flush()  # a pipe's reader that has gone shows here at the latest
        return code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return _output_lost("the reader of standard output has gone")
    except Exception as err:
        if isinstance(err, ImportError) and (err.name or "").split(".")[0] in VENDORED:
            return _missing_dependency(buildpack_dir, err)
        import traceback

        sys.stderr.write(f"ERROR: {wording.BUG}\n")
        traceback.print_exc()
        return EXIT_BUG


def _output_lost(cause: str) -> int:
    """Say on stderr that the log cannot be written, and keep the interpreter's
    final flush of stdout from failing again (with a traceback) on the way out."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.close(devnull)
    except OSError:
        pass
    try:
        sys.stderr.write(wording.output_lost(cause) + "\n")
        sys.stderr.flush()
    except (OSError, AttributeError):  # stderr is gone too: the exit code says it
        pass
    return EXIT_ERROR


def _missing_dependency(buildpack_dir: str, err: ImportError) -> int:
    """The vendored dependencies are missing or do not fit the bundled interpreter
    (a checkout where ``make install`` has not run, or a damaged package)."""
    import platform

    message = wording.missing_dependency(
        platform.python_version(),
        platform.machine(),
        err.name or "a module",
        f"{buildpack_dir}/vendor",
        str(err),
    )
    sys.stderr.write(f"ERROR: {message}\n")
    return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
