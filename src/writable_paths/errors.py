"""Errors a person can act on: a title, what happened, what to do."""

from __future__ import annotations


class UserError(Exception):
    """A problem with the app or its configuration, never a bug in the buildpack.

    Rendered as a title line, then what happened, then what to do. The build or
    detect process exits non-zero; no traceback is shown.
    """

    def __init__(self, title: str, detail: str = "", hint: str = "") -> None:
        super().__init__(title)
        self.title = title
        self.detail = detail
        self.hint = hint

    def render(self) -> str:
        parts = [self.title]
        if self.detail:
            parts.append(self.detail)
        if self.hint:
            parts.append(self.hint)
        return "\n\n".join(parts)

    def __str__(self) -> str:
        return self.render()


class PatternError(UserError):
    """A pattern line the buildpack refuses, named by file and line."""

    def __init__(self, origin: str, line: int, problem: str, hint: str) -> None:
        super().__init__(f"Invalid pattern at {origin}:{line}", problem, hint)
        self.origin = origin
        self.line = line


def printable(text: str, keep_newlines: bool = False) -> str:
    """``text`` safe to print on one line: every code point in the Unicode
    categories Cc, Cf, Zl and Zp (C0 and C1 controls, line and paragraph
    separators, bidirectional controls) becomes an escape, and so do the bytes of
    a name that is not UTF-8 (``\\xNN``): a file name may hold any of them, and
    none may forge or hide an output line."""
    if text.isprintable():  # no Cc, Cf, Zl, Zp (nor other separators): the usual case
        return text
    out = []
    for char in text:
        code = ord(char)
        if char.isprintable() or (keep_newlines and char == "\n"):
            out.append(char)
        elif 0xDC80 <= code <= 0xDCFF:  # an undecodable byte, kept by surrogateescape
            out.append(f"\\x{code - 0xDC00:02x}")
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\x{code:02x}")
        elif _hides_or_breaks(char):
            out.append(f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}")
        else:
            out.append(char)  # e.g. a no-break space: printable enough
    return "".join(out)


def _hides_or_breaks(char: str) -> bool:
    import unicodedata  # only for text that is not plainly printable (0.4 ms)

    return unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp", "Cs")
