"""Where the patterns come from: the pattern file, then ``BP_WRITABLE_PATHS``.

Kept light (no pydantic) because detect uses it.
"""

from __future__ import annotations

import os
import stat

from .. import wording
from ..core.findings import Findings
from ..core.patterns import MAX_FILE_BYTES, PatternSet, parse_env, parse_file
from ..fs.beneath import open_beneath

TYPE_CHECKING = False  # detect imports this module: no typing at run time
if TYPE_CHECKING:
    from .settings import Settings


def load_patterns(app_dir: str, settings: Settings) -> PatternSet:
    """The pattern file's patterns followed by those of ``BP_WRITABLE_PATHS``."""
    name = settings.pattern_file
    data = read_pattern_file(app_dir, name, settings.pattern_file_named)
    patterns = parse_file(data, name) if data is not None else PatternSet(())
    if settings.extra_patterns.strip():
        patterns = patterns + parse_env(settings.extra_patterns)
    return patterns


def read_pattern_file(app_dir: str, name: str, required: bool) -> bytes | None:
    """Read a pattern file that must be a regular file inside the app dir.

    Opened component by component with ``O_NOFOLLOW``, so neither the file nor a
    directory on its way can be a symlink out of the app.
    """
    if "\0" in name:
        raise wording.pattern_file_refused(repr(name), wording.FILE_NUL)
    parts = name.split("/")
    if name.startswith("/") or ".." in parts:
        raise wording.pattern_file_refused(name, wording.FILE_OUTSIDE)
    parts = [p for p in parts if p not in ("", ".")]
    if not parts:
        raise wording.pattern_file_refused(repr(name), wording.FILE_NO_NAME)
    try:
        fd = _open_parent(app_dir, parts[:-1])
        try:
            return _read_file(fd, parts[-1], name, required)
        finally:
            os.close(fd)
    except PermissionError as err:
        raise wording.pattern_file_refused(
            name, wording.FILE_UNREADABLE, err.strerror or str(err)
        ) from None
    except OSError as err:
        missing = isinstance(err, (FileNotFoundError, NotADirectoryError))
        if missing and not required:
            return None
        if isinstance(err, FileNotFoundError):
            raise wording.pattern_file_refused(name, wording.FILE_MISSING) from None
        raise wording.pattern_file_refused(
            name, wording.FILE_BAD_PARENT, err.strerror or str(err)
        ) from None


def _open_parent(app_dir: str, names: list[str]) -> int:
    root = os.open(app_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        return open_beneath(root, names)
    finally:
        os.close(root)


def _read_file(fd: int, leaf: str, name: str, required: bool) -> bytes | None:
    try:
        st = os.stat(leaf, dir_fd=fd, follow_symlinks=False)
    except FileNotFoundError:
        if not required:
            return None
        raise wording.pattern_file_refused(name, wording.FILE_MISSING) from None
    if stat.S_ISLNK(st.st_mode):
        raise wording.pattern_file_refused(name, wording.FILE_SYMLINK)
    if not stat.S_ISREG(st.st_mode):
        raise wording.pattern_file_refused(name, wording.FILE_NOT_REGULAR)
    file_fd = os.open(leaf, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK, dir_fd=fd)
    with os.fdopen(file_fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(file_fd).st_mode):  # swapped since the stat
            raise wording.pattern_file_refused(name, wording.FILE_NOT_REGULAR)
        return handle.read(MAX_FILE_BYTES + 1)


def misspelled_files(app_dir: str, settings: Settings) -> Findings:
    """With nothing configured: pattern files with a near miss of the name the
    buildpack reads (``.writeable-paths``, ``.writable_paths``...)."""
    found = Findings()
    if settings.pattern_file_named or settings.extra_patterns.strip():
        return found
    from ..core import advice  # only here: detect's usual path stays light

    try:
        names = os.listdir(os.fsencode(app_dir))
    except OSError:
        return found
    for item in advice.misspelled_pattern_file(names, settings.pattern_file):
        found.add(advice.as_finding(item))
    return found
