"""Where the configuration comes from: ``BP_*`` values and the pattern sources.

Kept light (no pydantic) because detect uses it: detect validates the patterns,
build validates everything (see ``settings``).
"""

from __future__ import annotations

import os
import stat

from .errors import UserError
from .patterns import ENV_ORIGIN, MAX_FILE_BYTES, PatternSet, parse_env, parse_file

TYPE_CHECKING = False  # detect imports this module: no typing at run time
if TYPE_CHECKING:
    from collections.abc import Mapping

DEFAULT_FILE = ".writable-paths"
FILE_VAR = "BP_WRITABLE_PATHS_FILE"
PATTERNS_VAR = ENV_ORIGIN
STRICT_VAR = "BP_WRITABLE_PATHS_STRICT"
LOG_LEVEL_VAR = "BP_LOG_LEVEL"
SETTING_NAMES = (PATTERNS_VAR, FILE_VAR, STRICT_VAR, LOG_LEVEL_VAR)


def read_settings(environ: Mapping[str, str], platform_dir: str | None) -> dict[str, str]:
    """The ``BP_*`` values from the process env, overridden by ``<platform>/env/<NAME>``
    files as the lifecycle does (that is how ``pack build --env`` arrives)."""
    values = {name: environ[name] for name in SETTING_NAMES if name in environ}
    if platform_dir:
        for name in SETTING_NAMES:
            path = os.path.join(platform_dir, "env", name)
            try:
                with open(path, "rb") as handle:
                    values[name] = handle.read().decode("utf-8", "surrogateescape")
            except (FileNotFoundError, NotADirectoryError):
                continue
            except OSError as err:
                raise UserError(
                    f"Cannot read the platform setting {name}",
                    f"Reading {path} failed: {err.strerror}.",
                    "Check the value passed with 'pack build --env' or project.toml.",
                ) from None
    return values


def pattern_file_name(values: Mapping[str, str]) -> tuple[str, bool]:
    """The pattern file's name relative to the app root, and whether it was named
    explicitly (then it must exist)."""
    named = values.get(FILE_VAR, "").strip()
    return (named, True) if named else (DEFAULT_FILE, False)


def load_patterns(app_dir: str, values: Mapping[str, str]) -> PatternSet:
    """The pattern file's patterns followed by those of ``BP_WRITABLE_PATHS``."""
    name, required = pattern_file_name(values)
    data = read_pattern_file(app_dir, name, required)
    patterns = parse_file(data, name) if data is not None else PatternSet(())
    extra = values.get(PATTERNS_VAR, "")
    if extra.strip():
        patterns = patterns + parse_env(extra)
    return patterns


def _refuse(name: str, detail: str, hint: str) -> UserError:
    return UserError(f"Cannot use {name} as the pattern file", detail, hint)


def read_pattern_file(app_dir: str, name: str, required: bool) -> bytes | None:
    """Read a pattern file that must be a regular file inside the app dir.

    Opened component by component with ``O_NOFOLLOW``, so neither the file nor a
    directory on its way can be a symlink out of the app.
    """
    hint = f"Set {FILE_VAR} to a path relative to the app root, such as 'config/writable-paths'."
    if "\0" in name:
        raise _refuse(repr(name), "The name contains a NUL byte.", hint)
    parts = name.split("/")
    if name.startswith("/") or ".." in parts:
        raise _refuse(name, "The pattern file must be inside the app directory.", hint)
    parts = [p for p in parts if p not in ("", ".")]
    if not parts:
        raise _refuse(repr(name), "The name names no file.", hint)
    fd = os.open(app_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for part in parts[:-1]:
            nxt = os.open(
                part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=fd
            )
            os.close(fd)
            fd = nxt
        try:
            st = os.stat(parts[-1], dir_fd=fd, follow_symlinks=False)
        except FileNotFoundError:
            if not required:
                return None
            raise _refuse(
                name,
                f"{FILE_VAR} names '{name}', which does not exist in the app directory.",
                f"Add the file to the app, or unset {FILE_VAR} to use {DEFAULT_FILE}.",
            ) from None
        if stat.S_ISLNK(st.st_mode):
            raise _refuse(
                name,
                "It is a symlink. The pattern file must be a regular file inside the app "
                "directory, so that it cannot be replaced from outside.",
                "Replace the symlink with the file itself.",
            )
        if not stat.S_ISREG(st.st_mode):
            raise _refuse(name, "It is not a regular file.", "Make it a regular text file.")
        file_fd = os.open(
            parts[-1], os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK, dir_fd=fd
        )
        with os.fdopen(file_fd, "rb") as handle:
            return handle.read(MAX_FILE_BYTES + 1)
    except PermissionError as err:
        raise _refuse(
            name,
            f"It cannot be read by the build user ({err.strerror}).",
            "Make the file readable (chmod a+r) before the build.",
        ) from None
    except OSError as err:
        missing = isinstance(err, (FileNotFoundError, NotADirectoryError))
        if missing and not required:
            return None
        if isinstance(err, FileNotFoundError):
            raise _refuse(
                name,
                f"{FILE_VAR} names '{name}', which does not exist in the app directory.",
                f"Add the file to the app, or unset {FILE_VAR} to use {DEFAULT_FILE}.",
            ) from None
        raise _refuse(
            name,
            f"A directory on its way is a file or a symlink ({err.strerror}).",
            "The pattern file and the directories leading to it must be real, "
            "inside the app directory.",
        ) from None
    finally:
        os.close(fd)
