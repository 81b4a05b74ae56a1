"""The pydantic model that validates the build's ``BP_*`` settings.

Imported by ``settings`` only when a setting with a value to check is present;
it imports nothing of ``settings`` (the defaults come as an argument).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Optional

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .. import wording

_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


class SettingsModel(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    # Optional, not "bool | None": pydantic evaluates it at run time, on Python 3.9 too.
    strict: Optional[bool] = Field(default=None, alias="BP_WRITABLE_PATHS_STRICT")  # noqa: UP045
    debug: bool = Field(default=False, alias="BP_LOG_LEVEL")

    @field_validator("strict", mode="before")
    @classmethod
    def _boolean(cls, value: object) -> Optional[bool]:  # noqa: UP045
        if isinstance(value, bool):
            return value
        word = str(value).strip().lower()
        if word == "":  # empty means unset: the default
            return None
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
        raise ValueError(wording.not_boolean(value))

    @field_validator("debug", mode="before")
    @classmethod
    def _log_level(cls, value: object) -> bool:
        # BP_LOG_LEVEL is shared by every buildpack: anything but DEBUG means INFO.
        if isinstance(value, bool):
            return value
        return str(value).strip().upper() == "DEBUG"


def validate(values: Mapping[str, str], default_strict: bool) -> tuple[bool, bool]:
    """Strictness and debug output from raw values; raises ``UserError``."""
    try:
        model = SettingsModel.model_validate(dict(values))
    except ValidationError as err:
        first = err.errors()[0]
        name = str(first["loc"][0]) if first["loc"] else "setting"
        raw = values.get(name, "")
        message = str(first.get("ctx", {}).get("error", first["msg"]))
        raise wording.invalid_setting(name, raw, message) from None
    strict = default_strict if model.strict is None else model.strict
    return strict, model.debug
