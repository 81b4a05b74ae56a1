"""The gitignore line that names exactly one path: for fixes the tools suggest."""

from __future__ import annotations

_SPECIAL = "*?[\\"


def _escape(name: str) -> str:
    return "".join("\\" + c if c in _SPECIAL else c for c in name)


def pattern_for(names: tuple[bytes, ...], directory: bool, anchored: bool = True) -> str | None:
    """The line selecting the path ``names`` (relative to the app root) and no other.

    A directory's line ends in ``/``. A one-name path gets a leading ``/`` unless
    ``anchored`` is false (then the line matches that name at any depth, as
    ``log/`` does). None when no line can name the path: a name that is not
    UTF-8 or holds a line break, and what is no name (``..``, a ``/``).
    """
    if not names or any(n in (b"", b".", b"..") or b"/" in n or b"\0" in n for n in names):
        return None
    try:
        texts = [n.decode("utf-8") for n in names]
    except UnicodeDecodeError:
        return None
    if any("\n" in t or "\r" in t for t in texts):
        return None
    line = "/".join(_escape(t) for t in texts)
    if line[0] in "!#":
        line = "\\" + line
    if directory:
        line += "/"
    elif line.endswith(" "):
        line = line[:-1] + "\\ "
    if anchored and len(names) == 1:
        line = "/" + line
    return line
