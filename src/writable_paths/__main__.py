"""Entry for the bin/ launchers: ``python -m writable_paths <bp dir> detect|build ARGS``."""

from __future__ import annotations

import sys

from .cnb import EXIT_BUG, EXIT_ERROR

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
        sys.stderr.write("usage: writable_paths BUILDPACK_DIR detect|build [ARGS...]\n")
        return 2
    buildpack_dir, phase, args = argv[0], argv[1], argv[2:]
    try:
        if phase == "detect":
            from .detect import main as run
        else:
            from .build import main as run
        # The build imports pydantic only when a setting needs checking.
        return run(buildpack_dir, args)
    except KeyboardInterrupt:
        return 130
    except Exception as err:
        if isinstance(err, ImportError) and (err.name or "").split(".")[0] in VENDORED:
            return _missing_dependency(buildpack_dir, err)
        import traceback

        sys.stderr.write(
            "ERROR: the writable-paths buildpack failed unexpectedly. This is a bug; please "
            "report it with the output below.\n"
        )
        traceback.print_exc()
        return EXIT_BUG


def _missing_dependency(buildpack_dir: str, err: ImportError) -> int:
    """The vendored dependencies are missing or do not fit the bundled interpreter
    (a checkout where ``make install`` has not run, or a damaged package)."""
    import platform

    sys.stderr.write(
        "ERROR: Cannot load the buildpack's dependencies with this Python\n\n"
        f"Python {platform.python_version()} on {platform.machine()} cannot import "
        f"{err.name or 'a module'} from {buildpack_dir}/vendor ({err}).\n\n"
        "Use the packaged buildpack ('make package'), or run 'make install' in a checkout "
        "used as the buildpack.\n"
    )
    return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
