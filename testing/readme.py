"""The README's sections and fenced code blocks, for tests that check what it shows.

``section(text, "Using it")`` is the text under that heading, up to the next heading of
the same or a higher level; ``blocks(text)`` are its fenced blocks with their info
string (``toml``, ``yaml``, ``sh``, ``gitignore``) and the line each starts on. Lines
inside a fence are never headings (a ``# comment`` in a block stays in the block).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"
_HEADING = re.compile(r"^(#{1,6}) (.+?)\s*$")
_FENCE = re.compile(r"^```(\S*)\s*$")


@dataclass(frozen=True)
class Block:
    info: str  # the fence's info string: the language
    body: str
    line: int  # 1-based line of the opening fence, in the text it came from
    heading: str  # the nearest heading above it

    def where(self) -> str:
        return f"README.md:{self.line} ({self.info} block under '{self.heading}')"


@dataclass(frozen=True)
class _Line:
    number: int
    text: str
    in_fence: bool


def _lines(text: str, first: int = 1) -> list[_Line]:
    out = []
    fenced = False
    for number, line in enumerate(text.splitlines(), start=first):
        if _FENCE.match(line):
            out.append(_Line(number, line, True))
            fenced = not fenced
            continue
        out.append(_Line(number, line, fenced))
    return out


@dataclass(frozen=True)
class Section:
    text: str
    first_line: int  # the heading's line number in the whole text


def section(text: str, heading: str) -> Section:
    """The section titled ``heading`` (its heading line included); KeyError if none."""
    lines = _lines(text)
    start = level = None
    for index, line in enumerate(lines):
        match = None if line.in_fence else _HEADING.match(line.text)
        if not match:
            continue
        if start is None:
            if match.group(2) == heading:
                start, level = index, len(match.group(1))
        elif level is not None and len(match.group(1)) <= level:
            return Section("\n".join(x.text for x in lines[start:index]), lines[start].number)
    if start is None:
        raise KeyError(f"README.md has no heading '{heading}'")
    return Section("\n".join(x.text for x in lines[start:]), lines[start].number)


def blocks(part: Section) -> list[Block]:
    """The fenced blocks of ``part``, in order."""
    found: list[Block] = []
    heading = ""
    opened: tuple[str, int] | None = None
    body: list[str] = []
    for line in _lines(part.text, part.first_line):
        if opened is None:
            match = None if line.in_fence else _HEADING.match(line.text)
            if match:
                heading = match.group(2)
            fence = _FENCE.match(line.text)
            if fence:
                opened, body = (fence.group(1), line.number), []
            continue
        if _FENCE.match(line.text):
            found.append(Block(opened[0], "\n".join(body) + "\n", opened[1], heading))
            opened = None
        else:
            body.append(line.text)
    if opened is not None:
        raise ValueError(f"README.md:{opened[1]}: a code fence that is never closed")
    return found


def read() -> str:
    return README.read_text(encoding="utf-8")
