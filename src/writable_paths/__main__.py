"""Entry for the bin/ launchers: ``python -m writable_paths <bp dir> detect|build ARGS``."""

from __future__ import annotations

import sys

from .cnb import EXIT_BUG

TYPE_CHECKING = False  # keep typing off the detect path
if TYPE_CHECKING:
    from collections.abc import Sequence


def main(argv: Sequence[str]) -> int:
    if len(argv) < 2 or argv[1] not in ("detect", "build"):
        sys.stderr.write("usage: writable_paths BUILDPACK_DIR detect|build [ARGS...]\n")
        return 2
    buildpack_dir, phase, args = argv[0], argv[1], argv[2:]
    try:
        if phase == "detect":
            from .detect import main as run
        else:
            from .build import main as run
        return run(buildpack_dir, args)
    except KeyboardInterrupt:
        return 130
    except Exception:
        import traceback

        sys.stderr.write(
            "ERROR: the writable-paths buildpack failed unexpectedly. This is a bug; please "
            "report it with the output below.\n"
        )
        traceback.print_exc()
        return EXIT_BUG


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
