"""``python -m writable_paths.cli``: the ``writable-paths`` command."""

import sys

from .main import main

sys.exit(main())
