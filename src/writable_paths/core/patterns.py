"""gitignore line syntax: the only module that knows it.

Follows git's ``dir.c`` (``add_patterns_from_buffer``, ``trim_trailing_spaces``,
``parse_path_pattern``) for what a line means, and refuses the few inputs this
buildpack cannot act on safely, naming the file and line.
"""

from __future__ import annotations

from .. import wording
from ..errors import PatternError
from .wildmatch import DOUBLESTAR, Segment, compile_path, compile_pathname, has_wildcard

TYPE_CHECKING = False  # detect imports this module: no dataclasses or typing at run time
if TYPE_CHECKING:
    from .wildmatch import Element

BOM = b"\xef\xbb\xbf"
MAX_FILE_BYTES = 1024 * 1024
MAX_PATTERNS = 10_000
MAX_LINE_BYTES = 4096
ENV_ORIGIN = "BP_WRITABLE_PATHS"
_ANY_NAME = compile_path(b"*")[0]


class Source:
    """Where a pattern came from, shown as ``origin:line:text`` like ``git check-ignore -v``."""

    __slots__ = ("line", "origin", "text")

    def __init__(self, origin: str, line: int, text: str) -> None:
        self.origin = origin
        self.line = line
        self.text = text

    def __str__(self) -> str:
        return f"{self.origin}:{self.line}:{self.text}"

    def __repr__(self) -> str:
        return f"Source({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Source) and str(self) == str(other)

    def __hash__(self) -> int:
        return hash(str(self))


class Pattern:
    """One gitignore pattern, compiled to elements anchored at the app root."""

    __slots__ = ("alternatives", "creates", "dir_only", "elements", "negated", "source")

    def __init__(
        self,
        source: Source,
        negated: bool,
        dir_only: bool,
        elements: tuple[Element, ...],
        creates: tuple[bytes, ...] | None = None,
        alternatives: tuple[tuple[Element, ...], ...] = (),
    ) -> None:
        self.source = source
        self.negated = negated
        self.dir_only = dir_only
        self.elements = elements
        # For a literal, non-negated directory pattern: the path it names, which
        # the build creates when it is missing (``tmp/pids/``; ``log/`` -> ``log``).
        self.creates = creates
        # Further element sequences that also match, for the rare pattern git reads
        # as several (``a**/b``: see ``wildmatch.compile_pathname``); usually empty.
        self.alternatives = alternatives

    def __repr__(self) -> str:
        return f"Pattern({self.source})"


class PatternSet:
    __slots__ = ("patterns",)

    def __init__(self, patterns: tuple[Pattern, ...]) -> None:
        self.patterns = patterns

    def __bool__(self) -> bool:
        return bool(self.patterns)

    def __len__(self) -> int:
        return len(self.patterns)

    def origins(self) -> dict[str, int]:
        """How many patterns each source (file or setting) holds, in order."""
        counts: dict[str, int] = {}
        for pattern in self.patterns:
            counts[pattern.source.origin] = counts.get(pattern.source.origin, 0) + 1
        return counts

    def __add__(self, other: PatternSet) -> PatternSet:
        combined = PatternSet(self.patterns + other.patterns)
        if len(combined) > MAX_PATTERNS:
            last = other.patterns[MAX_PATTERNS - len(self)].source
            raise _too_many(last.origin, last.line)
        return combined


def _too_many(origin: str, line: int) -> PatternError:
    return wording.too_many_patterns(origin, line, MAX_PATTERNS)


def trim_trailing_spaces(line: bytes) -> bytes:
    """git's rule: unescaped trailing spaces go, an escaped one (``\\ ``) stays."""
    last_space = -1
    i = 0
    while i < len(line):
        c = line[i]
        if c == 0x20:
            if last_space < 0:
                last_space = i
        elif c == 0x5C:
            i += 1
            if i >= len(line):
                return line
            last_space = -1
        else:
            last_space = -1
        i += 1
    return line if last_space < 0 else line[:last_space]


def parse_line(raw: bytes, origin: str, number: int) -> Pattern | None:
    """Parse one line (without its newline); None for blanks and comments."""
    if raw.endswith(b"\r"):
        raw = raw[:-1]
    if not raw or raw.startswith(b"#"):
        return None  # git ignores comments whatever they hold
    if len(raw) > MAX_LINE_BYTES:
        raise wording.line_too_long(origin, number, len(raw), MAX_LINE_BYTES)
    if b"\0" in raw:
        raise wording.nul_in_line(origin, number)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise wording.not_utf8(origin, number, err.start + 1, raw[err.start]) from None
    line = trim_trailing_spaces(raw)
    if not line.strip(b" "):
        return None
    body = line
    negated = body.startswith(b"!")
    if negated:
        body = body[1:]
    dir_only = body.endswith(b"/")
    if dir_only:
        body = body[:-1]
    anchored = b"/" in body
    if anchored and body.startswith(b"/"):
        body = body[1:]
    alternatives: tuple[tuple[Element, ...], ...] = ()
    if anchored:
        elements, *others = compile_pathname(body)
        alternatives = tuple(others)
    else:
        elements = compile_path(body)
        # A slash-free pattern matches a name at any depth; there "**" means "*".
        only = elements[0]
        elements = (DOUBLESTAR, _ANY_NAME if only is DOUBLESTAR else only)
    if any(isinstance(e, Segment) and e.literal == b".." for e in elements):
        raise wording.dotdot(origin, number, text)
    source = Source(origin, number, text)
    creates = None
    if dir_only and not negated and not has_wildcard(body):
        names = tuple(e.literal for e in elements if isinstance(e, Segment))
        if all(n is not None and n not in (b"", b".") for n in names):
            creates = tuple(n for n in names if n is not None)
    return Pattern(source, negated, dir_only, elements, creates, alternatives)


def parse_file(data: bytes, origin: str) -> PatternSet:
    """Parse the bytes of a pattern file named ``origin`` (for messages)."""
    if len(data) > MAX_FILE_BYTES:
        raise wording.file_too_large(origin, len(data), MAX_FILE_BYTES)
    if data.startswith(BOM):
        data = data[len(BOM) :]
    patterns: list[Pattern] = []
    for number, raw in enumerate(data.split(b"\n"), start=1):
        pattern = parse_line(raw, origin, number)
        if pattern is not None:
            if len(patterns) == MAX_PATTERNS:
                raise _too_many(origin, number)
            patterns.append(pattern)
    return PatternSet(tuple(patterns))


def split_env_value(value: str) -> list[str]:
    """Split ``BP_WRITABLE_PATHS`` on newlines and colons; ``\\:`` is a literal colon."""
    items: list[str] = []
    current: list[str] = []
    i = 0
    while i < len(value):
        c = value[i]
        if c == "\\" and i + 1 < len(value):
            nxt = value[i + 1]
            current.append(":" if nxt == ":" else c + nxt)
            i += 2
            continue
        if c in ":\n":
            items.append("".join(current))
            current = []
        else:
            current.append(c)
        i += 1
    items.append("".join(current))
    return items


def parse_env(value: str, origin: str = ENV_ORIGIN) -> PatternSet:
    """Parse the patterns given in the environment variable ``origin``."""
    patterns: list[Pattern] = []
    for number, item in enumerate(split_env_value(value), start=1):
        pattern = parse_line(item.encode("utf-8", "surrogateescape"), origin, number)
        if pattern is not None:
            if len(patterns) == MAX_PATTERNS:
                raise _too_many(origin, number)
            patterns.append(pattern)
    return PatternSet(tuple(patterns))
