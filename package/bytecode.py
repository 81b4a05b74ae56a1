"""Compiled bytecode for the archive, one set per CPython found.

A builder installs the buildpack read-only (root-owned; the buildpack spec marks
the buildpack directory read-only), so the build user's Python cannot write
``__pycache__`` there and would compile every module on every run: 6 ms of
detect's 14 ms and half of a small build's time, measured by ``make bench``.
The archive therefore carries ``__pycache__/<module>.cpython-313.pyc`` made by the
bundled interpreter (package/runtime.py).

The files use CHECKED_HASH invalidation (PEP 552): they hold a hash of their
source instead of an mtime, so they are reproducible, and the interpreter
checks the hash on import and compiles the source itself if it differs.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path

# Compiles the files named on stdin (JSON: [[source path, pyc path, shown name]]).
_COMPILER = """
import json, py_compile, sys
for source, cfile, shown in json.load(sys.stdin):
    py_compile.compile(source, cfile=cfile, dfile=shown, doraise=True,
                       invalidation_mode=py_compile.PycInvalidationMode.CHECKED_HASH)
print(sys.implementation.cache_tag)
"""


def compile_sources(sources: Mapping[str, bytes], pythons: Mapping[str, Path]) -> dict[str, bytes]:
    """``name.py`` -> ``__pycache__/name.<tag>.pyc`` beside it, for each interpreter.

    ``sources`` maps archive paths to contents; so does the result.
    """
    compiled: dict[str, bytes] = {}
    work = Path(tempfile.mkdtemp(prefix="wp-bytecode-"))
    try:
        for name, data in sources.items():
            path = work / "src" / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        for version, python in sorted(pythons.items()):
            out = work / f"out-{version}"
            jobs = [[str(work / "src" / name), str(out / name), name] for name in sorted(sources)]
            # A fixed hash seed: CPython 3.9 writes set constants in hash order.
            # (-I would ignore PYTHONHASHSEED; -S and a bare environment isolate.)
            proc = subprocess.run(
                [str(python), "-S", "-c", _COMPILER],
                input=json.dumps(jobs),
                capture_output=True,
                text=True,
                cwd=work,
                env={"PYTHONHASHSEED": "0"},
                check=False,
            )
            if proc.returncode != 0:
                raise RuntimeError(f"{python} could not compile the sources:\n{proc.stderr}")
            tag = proc.stdout.strip()
            if tag != f"cpython-{version.replace('.', '')}":
                raise RuntimeError(f"{python} is {tag}, not CPython {version}")
            for name in sources:
                parent, _, leaf = name.rpartition("/")
                pyc = f"{parent}/__pycache__/{leaf[:-3]}.{tag}.pyc".lstrip("/")
                compiled[pyc] = (out / name).read_bytes()
    finally:
        shutil.rmtree(work)
    return compiled
