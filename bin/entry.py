# Run by bin/launcher.sh with the bundled CPython (-I -S -B): ARGV = BUILDPACK_DIR PHASE ARGS.
# Imports only the buildpack's own src/ and vendor/; nothing of the build image.
import sys

sys.path[:0] = [sys.argv[1] + "/src", sys.argv[1] + "/vendor"]
from writable_paths.__main__ import main  # noqa: E402

sys.exit(main(sys.argv[1:]))
