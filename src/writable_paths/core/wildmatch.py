"""git-compatible glob matching, one path segment at a time, on bytes.

git's ``wildmatch.c`` compares a pattern with a path byte by byte. With
``WM_PATHNAME`` (how gitignore uses it) ``*``, ``?`` and ``[...]`` never match
``/``, and ``**`` is special only as a whole segment. So a pattern splits into
segments that each match exactly one name, plus ``**`` segments that match any
number of whole names. Matching a segment is the classic glob problem: with
``*`` unable to cross a segment, remembering only the last ``*`` is enough, so
no input can make it backtrack exponentially (pathspec's regexes can: 22 s for
``*a*a*a*a*a*a*a*a*a*a*b`` against 40 ``a``\\ s).
"""

from __future__ import annotations

# Detect parses patterns: keep re, typing and dataclasses (5 to 12 ms of start-up
# each) out of import time. Regexes are compiled on first use, in the build.
TYPE_CHECKING = False
if TYPE_CHECKING:
    import re
    from typing import Union

SLASH = 0x2F
UNBOUNDED = 1 << 62  # the longest name a segment with a star matches
BACKSLASH = 0x5C

_ANY_BYTE: frozenset[int] = frozenset(b for b in range(256) if b != SLASH)

# git's sane_ctype classes are ASCII-only, whatever the locale.
_CHAR_CLASSES: dict[bytes, frozenset[int]] = {
    b"alnum": frozenset(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"),
    b"alpha": frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"),
    b"blank": frozenset(b" \t"),
    b"cntrl": frozenset([*range(0x20), 0x7F]),
    b"digit": frozenset(b"0123456789"),
    b"graph": frozenset(range(0x21, 0x7F)),
    b"lower": frozenset(b"abcdefghijklmnopqrstuvwxyz"),
    b"print": frozenset(range(0x20, 0x7F)),
    b"punct": frozenset(b"!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"),
    b"space": frozenset(b" \t\n\v\f\r"),
    b"upper": frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ"),
    b"xdigit": frozenset(b"0123456789ABCDEFabcdef"),
}


class _Star:
    """A run of ``*`` inside a segment: any bytes of this one name."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "STAR"


class _Malformed:
    """What git treats as 'never matches': an unclosed ``[``, a bad ``[:class:]``,
    a trailing backslash."""

    __slots__ = ()


class _EscapedSlash:
    """``\\/``: separates segments like ``/``, but git's ``**/`` shortcut (``**``
    matching no name at all) does not apply to ``**\\/``."""

    __slots__ = ()


STAR = _Star()
_MALFORMED = _Malformed()
_ESCAPED_SLASH = _EscapedSlash()
# A token is a set of the bytes it matches, a star run, a malformed part,
# or a separator: None for a slash, _ESCAPED_SLASH for a backslash-escaped one.
if TYPE_CHECKING:
    _Token = Union["frozenset[int]", _Star, _Malformed, _EscapedSlash, None]


# One set per byte value, shared by every pattern (a set takes 216 bytes: 10,000
# patterns of ten literal bytes each would otherwise hold 20 MiB of them).
_BYTES: dict[int, frozenset[int]] = {}


# Bracket classes, shared the same way: "[!a]" is a set of 254 bytes, 8 KiB, and
# 10,000 lines of "*[!a]*[!b]*" held 158 MiB of copies of a few hundred classes.
_CLASSES: dict[frozenset[int], frozenset[int]] = {}


def _byte(value: int) -> frozenset[int]:
    found = _BYTES.get(value)
    if found is None:
        found = _BYTES[value] = frozenset((value,))
    return found


class _Tokenizer:
    """Turns raw pattern bytes into byte-set tokens, star runs and slashes."""

    def __init__(self, pattern: bytes) -> None:
        self.p = pattern
        self.i = 0
        self.tokens: list[_Token] = []
        # (start, end) index in ``tokens`` of each star run, with its length.
        self.star_runs: list[tuple[int, int]] = []

    def run(self) -> list[_Token]:
        p = self.p
        while self.i < len(p):
            c = p[self.i]
            if c == 0x2A:  # '*'
                n = 0
                while self.i < len(p) and p[self.i] == 0x2A:
                    n += 1
                    self.i += 1
                self.star_runs.append((len(self.tokens), n))
                self.tokens.append(STAR)
                continue
            if c == BACKSLASH:
                if self.i + 1 >= len(p):
                    self.tokens.append(_MALFORMED)
                    self.i += 1
                    continue
                esc = p[self.i + 1]
                self.tokens.append(_ESCAPED_SLASH if esc == SLASH else _byte(esc))
                self.i += 2
                continue
            if c == 0x3F:  # '?'
                self.tokens.append(_ANY_BYTE)
            elif c == 0x5B:  # '['
                self.tokens.append(self._bracket())
                continue
            elif c == SLASH:
                self.tokens.append(None)
            else:
                self.tokens.append(_byte(c))
            self.i += 1
        return self.tokens

    def _bracket(self) -> frozenset[int] | _Malformed:
        """Parse ``[...]`` starting at ``self.i`` the way wildmatch.c does."""
        p = self.p
        i = self.i + 1

        def at(k: int) -> int:
            return p[k] if k < len(p) else 0

        ch = at(i)
        if ch == 0x5E:  # '^' is a synonym of '!'
            ch = 0x21
        negated = ch == 0x21
        if negated:
            i += 1
            ch = at(i)
        members: set[int] = set()
        prev = 0
        while True:
            if ch == 0:
                self.i = len(p)
                return _MALFORMED
            if ch == BACKSLASH:
                i += 1
                ch = at(i)
                if ch == 0:
                    self.i = len(p)
                    return _MALFORMED
                members.add(ch)
            elif ch == 0x2D and prev and at(i + 1) and at(i + 1) != 0x5D:  # range a-z
                i += 1
                hi = at(i)
                if hi == BACKSLASH:
                    i += 1
                    hi = at(i)
                    if hi == 0:
                        self.i = len(p)
                        return _MALFORMED
                members.update(range(prev, hi + 1))  # empty when prev > hi, as in git
                ch = 0
            elif ch == 0x5B and at(i + 1) == 0x3A:  # '[:'
                start = i + 2
                j = start
                while at(j) and at(j) != 0x5D:
                    j += 1
                if not at(j):
                    self.i = len(p)
                    return _MALFORMED
                if j - start - 1 < 0 or p[j - 1] != 0x3A:
                    # No ":]": the '[' is an ordinary member.
                    members.add(0x5B)
                    # wildmatch continues right after the '[' it just read.
                else:
                    name = p[start : j - 1]
                    cls = _CHAR_CLASSES.get(name)
                    if cls is None:
                        self.i = len(p)
                        return _MALFORMED
                    members.update(cls)
                    i = j
                    ch = 0
            else:
                members.add(ch)
            prev = ch
            i += 1
            ch = at(i)
            if ch == 0x5D:  # ']'
                break
        self.i = i + 1
        allowed = (_ANY_BYTE - members) if negated else (frozenset(members) - {SLASH})
        return _CLASSES.setdefault(allowed, allowed)


class Segment:
    """One pattern segment that matches exactly one name."""

    __slots__ = (
        "_regex",
        "_regex_source",
        "_tokens",
        "literal",
        "max_length",
        "min_length",
        "never",
    )

    def __init__(
        self,
        literal: bytes | None,
        regex_source: bytes | None,
        tokens: tuple[frozenset[int] | _Star, ...],
        never: bool,
    ) -> None:
        self.literal = literal
        self._regex_source = regex_source
        self._regex: re.Pattern[bytes] | None = None
        self._tokens = tokens
        self.never = never
        # The lengths of the names it can match: a cheap test before matching.
        fixed = sum(1 for t in tokens if t is not STAR)
        self.min_length = fixed
        self.max_length = fixed if len(tokens) == fixed else UNBOUNDED

    def __repr__(self) -> str:
        return f"Segment(literal={self.literal!r}, never={self.never})"

    @property
    def key(self) -> object:
        """Equal for segments that match the same names by the same rule."""
        return self.literal if self.literal is not None else (self.never, self._tokens)

    def fragments(self) -> tuple[bytes, bytes, bytes]:
        """Literal bytes every name this segment matches must hold: its prefix, its
        suffix, and the longest run of literal bytes anywhere in it."""
        literal = [
            next(iter(t)) if isinstance(t, frozenset) and len(t) == 1 else -1 for t in self._tokens
        ]
        prefix = bytes(_leading(literal))
        suffix = bytes(reversed(_leading(literal[::-1])))
        longest: list[int] = []
        run: list[int] = []
        for byte in literal:
            run = [*run, byte] if byte >= 0 else []
            if len(run) > len(longest):
                longest = run
        return prefix, suffix, bytes(longest)

    def match(self, name: bytes) -> bool:
        if self.literal is not None:
            return name == self.literal
        if self.never:
            return False
        if self._regex_source is not None:
            if self._regex is None:
                import re

                self._regex = re.compile(self._regex_source, re.DOTALL)
            return self._regex.fullmatch(name) is not None
        return _match_tokens(self._tokens, name)


def _leading(literal: list[int]) -> list[int]:
    out: list[int] = []
    for byte in literal:
        if byte < 0:
            break
        out.append(byte)
    return out


class _DoubleStar:
    """A whole ``**`` segment: any number of names (see ``one_or_more``)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "DOUBLESTAR"


DOUBLESTAR = _DoubleStar()
if TYPE_CHECKING:
    Element = Union[Segment, _DoubleStar]


def _match_tokens(tokens: tuple[frozenset[int] | _Star, ...], name: bytes) -> bool:
    """Glob match in O(len(tokens) * len(name)): only the last star is retried."""
    t = 0
    n = 0
    star_t = -1
    star_n = 0
    nt = len(tokens)
    nn = len(name)
    while n < nn:
        if t < nt:
            tok = tokens[t]
            if tok is STAR:
                star_t = t
                star_n = n
                t += 1
                continue
            assert isinstance(tok, frozenset)
            if name[n] in tok:
                t += 1
                n += 1
                continue
        if star_t < 0:
            return False
        t = star_t + 1
        star_n += 1
        n = star_n
    while t < nt and tokens[t] is STAR:
        t += 1
    return t == nt


def _escape(byte: int) -> bytes:
    # re.escape's rule, without importing re: escape everything but [A-Za-z0-9_].
    if byte < 0x80 and (bytes((byte,)).isalnum() or byte == 0x5F):
        return bytes((byte,))
    return b"\\" + bytes((byte,))


def _byteset_regex(allowed: frozenset[int]) -> bytes:
    if len(allowed) == 1:
        return _escape(next(iter(allowed)))
    if len(allowed) > 128:
        excluded = sorted(set(range(256)) - allowed)
        return b"[^" + b"".join(_escape(b) for b in excluded) + b"]"
    return b"[" + b"".join(_escape(b) for b in sorted(allowed)) + b"]"


def _segment(tokens: list[_Token]) -> Segment:
    if not tokens or any(t is _MALFORMED for t in tokens):
        # An empty segment ("a//b") or a malformed one never matches a name.
        return Segment(None, None, (), True)
    body: tuple[frozenset[int] | _Star, ...] = tuple(
        t for t in tokens if isinstance(t, (frozenset, _Star))
    )
    if any(isinstance(t, frozenset) and not t for t in body):
        return Segment(None, None, (), True)  # e.g. "[z-a]": a class of nothing
    if all(isinstance(t, frozenset) and len(t) == 1 for t in body):
        literal = bytes(next(iter(t)) for t in body if isinstance(t, frozenset))
        return Segment(literal, None, body, False)
    stars = sum(1 for t in body if t is STAR)
    if stars <= 1:
        # One star cannot backtrack more than len(name) times: let the C engine do it.
        rx = b"".join(b".*" if isinstance(t, _Star) else _byteset_regex(t) for t in body)
        return Segment(None, rx, body, False)
    return Segment(None, None, body, False)


def _is_doublestar(run_tokens: list[_Token], star_len: int) -> bool:
    return len(run_tokens) == 1 and run_tokens[0] is STAR and star_len >= 2


_ANY_NAME = _segment([STAR])


def compile_path(pattern: bytes) -> tuple[Element, ...]:
    """Split a (leading-slash-free) pattern into matchable elements.

    A star run of two or more that fills a whole segment is ``**``; any other
    star run is ``*``. A slash inside ``[...]`` does not split (git keeps it in
    the class, where it can never match). ``**\\/`` is ``*/**/``: one name at
    least, since wildmatch lets ``**`` match no name only before a plain ``/``.
    """
    tk = _Tokenizer(pattern)
    tokens = tk.run()
    star_len = {index: n for index, n in tk.star_runs}
    elements: list[Element] = []
    start = 0
    separators = [(k, t) for k, t in enumerate(tokens) if t is None or t is _ESCAPED_SLASH]
    for end, separator in [*separators, (len(tokens), None)]:
        seg_tokens = tokens[start:end]
        if _is_doublestar(seg_tokens, star_len.get(start, 0)):
            if separator is _ESCAPED_SLASH:
                elements.append(_ANY_NAME)
            elements.append(DOUBLESTAR)
        else:
            elements.append(_segment(seg_tokens))
        start = end + 1
    return tuple(elements)


def simple_length(pattern: bytes) -> int:
    """git's ``simple_length``: how many bytes precede the first of ``*?[\\``."""
    for i, c in enumerate(pattern):
        if c in b"*?[\\":
            return i
    return len(pattern)


def _after_special_doublestar(rest: bytes) -> bytes | None:
    """If ``rest`` opens with a star run wildmatch treats as ``**`` (two stars or
    more, then the end, ``/`` or ``\\/``), what follows the run; else None."""
    run = len(rest) - len(rest.lstrip(b"*"))
    after = rest[run:]
    if run >= 2 and (not after or after.startswith((b"/", b"\\/"))):
        return after
    return None


def compile_pathname(pattern: bytes) -> tuple[tuple[Element, ...], ...]:
    """Compile a pattern that contains a slash (leading slash removed) as git's
    ``match_pathname`` matches it: alternatives, any of which matching is a match.

    Nearly always one alternative, ``compile_path(pattern)``. But match_pathname
    compares the wildcard-free prefix itself and hands only the rest to
    wildmatch, which takes a ``**`` at the start of what it is given as a
    segment-start ``**`` even when the prefix ended inside a name. So for
    ``a**/b`` (git 2.39, checked with ``git check-ignore`` and ``git ls-files``):

    - ``**`` matches the rest of that name and any names below it: ``a*/**/b``;
    - and ``**/`` may match nothing at all, gluing ``a`` to ``b``: the name ``ab``.

    ``a**`` at the end is ``a*`` or ``a*/**``; ``a**\\/b`` has no glued form.
    """
    k = simple_length(pattern)
    if k == 0 or pattern[k - 1] == SLASH or _after_special_doublestar(pattern[k:]) is None:
        return (compile_path(pattern),)
    prefix, rest = pattern[:k], pattern[k:]
    alternatives: list[tuple[Element, ...]] = []
    while True:
        after = _after_special_doublestar(rest)
        if after is None:
            # A plain star (or none) glued to the prefix's last name.
            alternatives.append(compile_path(prefix + rest))
            break
        if not after:
            alternatives += [compile_path(prefix + b"*"), compile_path(prefix + b"*/**")]
            break
        escaped = after[0] == BACKSLASH
        tail = after[2:] if escaped else after[1:]
        if escaped or _after_special_doublestar(tail) is None:
            # (When the tail opens with "**" too, the next round adds the same set.)
            alternatives.append(compile_path(prefix + b"*/**/" + tail))
        if escaped:
            break
        rest = tail  # the "**/" that matched nothing: the tail continues the name
    return tuple(alternatives)


def has_wildcard(pattern: bytes) -> bool:
    """Whether git would treat any byte of the pattern as special."""
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == BACKSLASH:
            i += 2
            continue
        if c in b"*?[":
            return True
        i += 1
    return False
