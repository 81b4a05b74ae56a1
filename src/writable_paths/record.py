"""A slotted record base: equality, hash and repr derived from ``__slots__``.

The build imports the modules that use it, so it avoids ``dataclasses`` and
``typing`` at run time (they cost more start-up time than a small build). Each
record writes its own typed ``__init__``; records are treated as immutable.
"""

from __future__ import annotations


class Record:
    __slots__: tuple[str, ...] = ()

    def _values(self) -> tuple[object, ...]:
        return tuple(getattr(self, field) for field in self.__slots__)

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Record)
            and type(other) is type(self)
            and (self._values() == other._values())
        )

    def __hash__(self) -> int:
        return hash((type(self).__name__, self._values()))

    def __repr__(self) -> str:
        inner = ", ".join(f"{field}={getattr(self, field)!r}" for field in self.__slots__)
        return f"{type(self).__name__}({inner})"
