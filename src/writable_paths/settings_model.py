"""The pydantic model that validates the build's ``BP_*`` settings.

Imported by ``settings`` only when a setting with a value to check is present.
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .config import FILE_VAR, LOG_LEVEL_VAR, PATTERNS_VAR, STRICT_VAR, pattern_file_name
from .errors import UserError
from .settings import DEFAULT_DEBUG, DEFAULT_STRICT, Settings

_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


class SettingsModel(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    pattern_file: str = Field(alias="BP_WRITABLE_PATHS_FILE")
    patterns: str = Field(default="", alias="BP_WRITABLE_PATHS")
    strict: bool = Field(default=DEFAULT_STRICT, alias="BP_WRITABLE_PATHS_STRICT")
    debug: bool = Field(default=DEFAULT_DEBUG, alias="BP_LOG_LEVEL")

    @field_validator("strict", mode="before")
    @classmethod
    def _boolean(cls, value: object) -> bool:
        if isinstance(value, bool):
            return value
        word = str(value).strip().lower()
        if word == "":  # empty means unset: the default
            return DEFAULT_STRICT
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
        raise ValueError(f"'{value}' is not true or false")

    @field_validator("debug", mode="before")
    @classmethod
    def _log_level(cls, value: object) -> bool:
        # BP_LOG_LEVEL is shared by every buildpack: anything but DEBUG means INFO.
        if isinstance(value, bool):
            return value
        return str(value).strip().upper() == "DEBUG"


def validate(values: Mapping[str, str]) -> Settings:
    data = {k: v for k, v in values.items() if k in (PATTERNS_VAR, STRICT_VAR, LOG_LEVEL_VAR)}
    data[FILE_VAR] = pattern_file_name(values)[0]
    try:
        model = SettingsModel.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        name = str(first["loc"][0]) if first["loc"] else "setting"
        raw = values.get(name, "")
        message = str(first.get("ctx", {}).get("error", first["msg"]))
        raise UserError(
            f"Invalid value for {name}",
            f"{name}={raw!r}: {message}.",
            f"Set {name} to true or false (for example with "
            f"'pack build --env {name}=false'), or unset it to use the default.",
        ) from None
    return Settings(model.pattern_file, model.strict, model.debug)
