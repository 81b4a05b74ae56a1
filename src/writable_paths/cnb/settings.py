"""The ``BP_*`` settings, read once into one ``Settings`` that everything
downstream receives.

Values come from the process environment, overridden by ``<platform>/env/NAME``
files as the lifecycle passes them (that is how ``pack build --env`` and
project.toml's ``[[io.buildpacks.build.env]]`` arrive). Such a file is read only
if it is a regular file inside the platform dir, without blocking and within the
pattern file's size limit.

Only ``BP_WRITABLE_PATHS_STRICT`` and ``BP_LOG_LEVEL`` carry values to check.
They are checked by the pydantic model in ``settings_model``, imported only when
one of them is set: importing pydantic and building the model costs about
100 ms, eight times the rest of a build on a small app (``make bench``). With
neither set, the settings are the model's defaults, which are these constants.
"""

from __future__ import annotations

import errno
import os
import stat

from .. import wording
from ..core.patterns import ENV_ORIGIN, MAX_FILE_BYTES
from ..core.records import Record

TYPE_CHECKING = False  # detect imports this module: no typing at run time
if TYPE_CHECKING:
    from collections.abc import Mapping

DEFAULT_FILE = ".writable-paths"
FILE_VAR = "BP_WRITABLE_PATHS_FILE"
PATTERNS_VAR = ENV_ORIGIN
STRICT_VAR = "BP_WRITABLE_PATHS_STRICT"
LOG_LEVEL_VAR = "BP_LOG_LEVEL"
SETTING_NAMES = (PATTERNS_VAR, FILE_VAR, STRICT_VAR, LOG_LEVEL_VAR)
VALIDATED = (STRICT_VAR, LOG_LEVEL_VAR)
DEFAULT_STRICT = True
DEFAULT_DEBUG = False


class Settings(Record):
    """The buildpack's configuration, as every step uses it."""

    __slots__ = ("debug", "extra_patterns", "pattern_file", "pattern_file_named", "strict")

    def __init__(
        self,
        pattern_file: str = DEFAULT_FILE,
        pattern_file_named: bool = False,
        extra_patterns: str = "",
        strict: bool = DEFAULT_STRICT,
        debug: bool = DEFAULT_DEBUG,
    ) -> None:
        self.pattern_file = pattern_file  # relative to the app root
        self.pattern_file_named = pattern_file_named  # set explicitly: it must exist
        self.extra_patterns = extra_patterns  # BP_WRITABLE_PATHS, as given
        self.strict = strict
        self.debug = debug


def read_settings(
    environ: Mapping[str, str], platform_dir: str | None, *, validate: bool = True
) -> Settings:
    """The settings from ``environ`` and ``<platform_dir>/env``. A bad value
    raises ``UserError``; without ``validate`` (detect) strictness and log level
    keep their defaults and pydantic is never imported."""
    return from_values(read_values(environ, platform_dir), validate=validate)


def from_values(values: Mapping[str, str], *, validate: bool = True) -> Settings:
    """Settings from raw ``BP_*`` values."""
    named = values.get(FILE_VAR, "").strip()
    extra = values.get(PATTERNS_VAR, "")
    if len(extra.encode("utf-8", "surrogateescape")) > MAX_FILE_BYTES:
        raise wording.setting_too_large(PATTERNS_VAR, MAX_FILE_BYTES)
    strict, debug = DEFAULT_STRICT, DEFAULT_DEBUG
    if validate and any(values.get(name, "").strip() for name in VALIDATED):
        from .settings_model import validate as check

        strict, debug = check(values, DEFAULT_STRICT)
    return Settings(named or DEFAULT_FILE, bool(named), extra, strict, debug)


def read_values(environ: Mapping[str, str], platform_dir: str | None) -> dict[str, str]:
    """The raw ``BP_*`` values, platform files overriding the environment."""
    values = {name: environ[name] for name in SETTING_NAMES if name in environ}
    if platform_dir:
        env_dir = os.path.join(platform_dir, "env")
        for name in SETTING_NAMES:
            data = _read_platform_file(env_dir, name)
            if data is not None:
                values[name] = data.decode("utf-8", "surrogateescape")
    return values


def _read_platform_file(env_dir: str, name: str) -> bytes | None:
    """``<env_dir>/<name>``, if it exists: a regular file, never through a symlink
    (as the launcher checks), read without blocking, size-limited."""
    path = os.path.join(env_dir, name)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as err:
        cause = wording.SYMLINK_SETTING if err.errno == errno.ELOOP else err.strerror or str(err)
        raise wording.platform_setting_unreadable(name, path, cause) from None
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise wording.platform_setting_unreadable(name, path, wording.NOT_REGULAR)
        data = handle.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise wording.setting_too_large(name, MAX_FILE_BYTES, path)
    return data
