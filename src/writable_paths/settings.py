"""The build's settings, and when they need validating.

Only ``BP_WRITABLE_PATHS_STRICT`` and ``BP_LOG_LEVEL`` carry values to check.
They are checked by the pydantic model in ``settings_model``, imported only when
one of them is set: importing pydantic and building the model costs about
100 ms, eight times the rest of a build on a small app (``make bench``). With
neither set, the settings are the model's defaults, which are these constants.
"""

from __future__ import annotations

from .config import LOG_LEVEL_VAR, STRICT_VAR, pattern_file_name

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

DEFAULT_STRICT = True
DEFAULT_DEBUG = False
VALIDATED = (STRICT_VAR, LOG_LEVEL_VAR)


class Settings:
    """``BP_*`` settings as the build uses them."""

    __slots__ = ("debug", "pattern_file", "strict")

    def __init__(self, pattern_file: str, strict: bool, debug: bool) -> None:
        self.pattern_file = pattern_file
        self.strict = strict
        self.debug = debug

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Settings):
            return NotImplemented
        return (self.pattern_file, self.strict, self.debug) == (
            other.pattern_file,
            other.strict,
            other.debug,
        )

    def __hash__(self) -> int:
        return hash((self.pattern_file, self.strict, self.debug))

    def __repr__(self) -> str:
        return (
            f"Settings(pattern_file={self.pattern_file!r}, strict={self.strict}, "
            f"debug={self.debug})"
        )

    @classmethod
    def from_values(cls, values: Mapping[str, str]) -> Settings:
        """Settings from raw ``BP_*`` values; a bad value raises ``UserError``."""
        if any(values.get(name, "").strip() for name in VALIDATED):
            from .settings_model import validate

            return validate(values)
        return cls(pattern_file_name(values)[0], DEFAULT_STRICT, DEFAULT_DEBUG)
