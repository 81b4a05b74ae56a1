"""Pure detectors for the mistakes people make when they declare writable paths.

Each returns typed findings (kind, source, the offending text, the corrected
line or lines) and no prose: the wording module renders them. Inputs are plain
data that the engine collects during its one walk: the patterns with their
sources, the names in the few directories ``questions`` asks about, and counts.
"""

from __future__ import annotations

import unicodedata

from ..errors import UserError
from . import findings
from .decide import Decider
from .findings import (
    BIN_DIRECTORY,
    BROAD_PATTERN,
    CASE,
    DATABASE_FILE,
    DATABASE_IN_ROOT,
    EXECUTABLES,
    MISSPELLED_FILE,
    MOST_FILES,
    NORMALIZATION,
    RUNTIME_PATH,
    SELECTS_PATTERN_FILE,
    SEPARATOR,
    TYPO,
)
from .literal import pattern_for
from .patterns import ENV_ORIGIN, Pattern, PatternSet, Source, parse_line
from .records import Record
from .wildmatch import DOUBLESTAR, Segment, has_wildcard

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping, Sequence

    Path = tuple[bytes, ...]  # names from the app root; () is the app root
    Listings = Mapping[Path, frozenset[bytes]]  # the names in each asked directory that exists


RUNTIME_APP_PATHS = ("/workspace", "/app")  # where CNB platforms put the app in the image
DATABASE_SUFFIXES = (b".sqlite3", b".sqlite", b".db")
DATABASE_DIRECTORY = "/data/"  # init's suggestion for a database kept in its own directory
MOST_FILES_MIN = 20  # below this many files, "most of them" is no signal
_BROAD = frozenset(("*", "**", "/", "/*", "/**", "*/", "**/", "/*/", "/**/", "**/*", "/**/*"))
_SEPARATORS = ",; \t"


class Finding(Record):
    """One mistake. ``origin`` and ``line`` are where it is (a file or setting,
    and its 1-based line or entry; line 0 when it is not one line, such as a
    misspelled file's name); ``text`` is the offending text; ``corrected`` the
    lines to write instead (for BP_WRITABLE_PATHS, entries to join with ':'),
    empty when the fix is not a line. ``counts`` is (became writable, of all)
    where a number matters, else (0, 0)."""

    __slots__ = ("corrected", "counts", "kind", "line", "origin", "text")

    def __init__(
        self,
        kind: str,
        origin: str,
        line: int,
        text: str,
        corrected: tuple[str, ...],
        counts: tuple[int, int] = (0, 0),
    ) -> None:
        self.kind = kind
        self.origin = origin
        self.line = line
        self.text = text
        self.corrected = corrected
        self.counts = counts


def _at(kind: str, source: Source, corrected: tuple[str, ...]) -> Finding:
    return Finding(kind, source.origin, source.line, source.text, corrected)


class Breadth(Record):
    """Counts from the walk: the app's regular files, those that became writable
    for the run user, and those of them with an execute bit."""

    __slots__ = ("executables", "files", "writable_files")

    def __init__(self, files: int, writable_files: int, executables: int) -> None:
        self.files = files
        self.writable_files = writable_files
        self.executables = executables


# -- what the walk must collect ------------------------------------------------


def _names(pattern: Pattern) -> Path | None:
    """The path a pattern names when it has no wildcard (a slash-free one: at the root)."""
    elements = pattern.elements
    if pattern.alternatives:
        return None
    if len(elements) == 2 and elements[0] is DOUBLESTAR:
        elements = elements[1:]
    names: list[bytes] = []
    for element in elements:
        if not isinstance(element, Segment) or element.literal is None:
            return None
        names.append(element.literal)
    return tuple(names)


def _parse(text: str) -> Pattern | None:
    try:
        return parse_line(text.encode("utf-8", "surrogateescape"), "", 0)
    except UserError:
        return None


def _parts(source: Source) -> list[str]:
    text = source.text.strip()
    for separator in _SEPARATORS[1:]:
        text = text.replace(separator, _SEPARATORS[0])
    return [part for part in text.split(_SEPARATORS[0]) if part]


def questions(patterns: PatternSet) -> frozenset[Path]:
    """The directories whose names the detectors need: the app root, the parents of
    the paths that separator mistakes name, and every directory on the way to one
    the build would create. The engine lists each one that exists as it walks it."""
    wanted: set[Path] = {()}
    for pattern in patterns.patterns:
        if pattern.creates is not None:
            wanted.update(pattern.creates[:i] for i in range(len(pattern.creates)))
        if pattern.source.origin == ENV_ORIGIN:
            for part in (pattern, *(_parse(p) for p in _parts(pattern.source))):
                names = _names(part) if part is not None else None
                if names:
                    wanted.add(names[:-1])
    return frozenset(wanted)


def _exists(listings: Listings, names: Path) -> bool:
    return bool(names) and names[-1] in listings.get(names[:-1], frozenset())


# -- the detectors ---------------------------------------------------------------


def separators(patterns: PatternSet, listings: Listings) -> list[Finding]:
    """BP_WRITABLE_PATHS entries such as 'tmp/pids/,log/' naming a path that does
    not exist, whose parts each exist, would be created, or hold a wildcard."""
    found = []
    for pattern in patterns.patterns:
        parts = _parts(pattern.source)
        if pattern.source.origin != ENV_ORIGIN or len(parts) < 2:
            continue
        whole = _names(pattern)
        if whole is not None and _exists(listings, whole):
            continue
        parsed = [_parse(part) for part in parts]
        if all(p is not None and _plausible(p, listings) for p in parsed):
            found.append(_at(SEPARATOR, pattern.source, tuple(parts)))
    return found


def _plausible(pattern: Pattern, listings: Listings) -> bool:
    names = _names(pattern)
    return names is None or pattern.creates is not None or _exists(listings, names)


def runtime_paths(
    patterns: PatternSet, listings: Listings, app_paths: Sequence[str] = RUNTIME_APP_PATHS
) -> list[Finding]:
    """Patterns written with the path the app has in the image ('/workspace/log/')
    or on this machine, where the rest of the path starts with a name in the app
    root and the first name of the path itself is not there."""
    root = listings.get((), frozenset())
    found = []
    for pattern in patterns.patterns:
        text = pattern.source.text.strip()
        bang = "!" if text.startswith("!") else ""
        body = text[len(bang) :]
        for prefix in sorted({p.rstrip("/") for p in app_paths if p.strip("/")}, key=len)[::-1]:
            if not body.startswith(prefix + "/"):
                continue
            rest = body[len(prefix) + 1 :].lstrip("/")
            first = rest.split("/")[0].encode("utf-8", "surrogateescape")
            own = prefix.lstrip("/").split("/")[0].encode("utf-8", "surrogateescape")
            if rest and first in root and own not in root:
                found.append(_at(RUNTIME_PATH, pattern.source, (f"{bang}/{rest}",)))
            break
    return found


def _distance(a: str, b: str) -> int:
    """Edits (insert, delete, substitute, swap two neighbours) from a to b."""
    before: list[int] = []
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        previous, before, row = before, row, [i] + [0] * len(b)
        for j, cb in enumerate(b, start=1):
            row[j] = min(before[j] + 1, row[j - 1] + 1, before[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                row[j] = min(row[j], previous[j - 2] + 1)
    return row[len(b)]


def _close(a: str, b: str) -> bool:
    limit = 1 if len(a) <= 4 else 2
    if min(len(a), len(b)) < 3 or abs(len(a) - len(b)) > limit:
        return False
    return _distance(a, b) <= limit


def _histogram(text: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for char in text:
        counts[char] = counts.get(char, 0) + 1
    return counts


def _apart(a: dict[str, int], b: dict[str, int]) -> int:
    """How many characters two histograms differ by. Each edit of ``_distance``
    changes this by at most two (a swap by none), so distance >= apart / 2."""
    common = sum(min(n, b.get(char, 0)) for char, n in a.items())
    return sum(a.values()) + sum(b.values()) - 2 * common


class _Siblings:
    """The names of one directory, indexed for ``_near``: by normal form, by
    case fold and by length, so that a name to create is compared only with
    the siblings that can be a near miss of it, not with the whole directory."""

    __slots__ = ("by_fold", "by_length", "by_nfc", "histograms")

    def __init__(self, names: Iterable[bytes]) -> None:
        self.by_nfc: dict[str, list[tuple[str, bytes]]] = {}
        self.by_fold: dict[str, list[tuple[str, bytes, str]]] = {}
        self.by_length: dict[int, list[tuple[str, bytes, str]]] = {}
        self.histograms: dict[str, dict[str, int]] = {}
        for sibling in names:
            other = sibling.decode("utf-8", "surrogateescape")
            normal = unicodedata.normalize("NFC", other)
            self.by_nfc.setdefault(normal, []).append((other, sibling))
            self.by_fold.setdefault(other.casefold(), []).append((other, sibling, normal))
            self.by_length.setdefault(len(other), []).append((other, sibling, normal))

    def histogram(self, other: str) -> dict[str, int]:
        found = self.histograms.get(other)
        if found is None:
            found = self.histograms[other] = _histogram(other)
        return found


def _near(name: bytes, siblings: _Siblings) -> tuple[str, bytes] | None:
    """How ``name`` misses one of ``siblings``: the closest kind of miss, and which.
    The same name differently normalized, or differing in case only, or else
    (for names of 3 characters or more) a typo: at most one edit away for a
    name of up to 4 characters, two for a longer one."""
    text = name.decode("utf-8", "surrogateescape")
    normal, fold = unicodedata.normalize("NFC", text), text.casefold()
    ranked = [
        (0, other, NORMALIZATION, sibling) for other, sibling in siblings.by_nfc.get(normal, ())
    ]
    for other, sibling, other_normal in siblings.by_fold.get(fold, ()):
        if other_normal != normal:
            ranked.append((1, other, CASE, sibling))
    limit = 1 if len(text) <= 4 else 2
    histogram: dict[str, int] | None = None
    if len(text) >= 3:
        for length in range(max(3, len(text) - limit), len(text) + limit + 1):
            for other, sibling, other_normal in siblings.by_length.get(length, ()):
                if other_normal == normal or other.casefold() == fold:
                    continue  # ranked above
                if histogram is None:
                    histogram = _histogram(text)
                if _apart(histogram, siblings.histogram(other)) > 2 * limit:
                    continue  # (cheap, and keeps a large directory cheap)
                distance = _distance(text, other)
                if distance <= limit:
                    ranked.append((1 + distance, other, TYPO, sibling))
    if not ranked:
        return None
    _, _, kind, sibling = min(ranked)
    return kind, sibling


def near_misses(patterns: PatternSet, listings: Listings) -> list[Finding]:
    """Directories the build would create beside an existing sibling of nearly the
    same name ('tmp/pdis/' beside 'tmp/pids', 'Log/' beside 'log', NFD 'café')."""
    found = []
    indexed: dict[Path, _Siblings] = {}
    for pattern in patterns.patterns:
        creates = pattern.creates
        if creates is None:
            continue
        for depth, name in enumerate(creates):
            parent = creates[:depth]
            siblings = listings.get(parent)
            if siblings is None or name in siblings:
                continue  # the parent is created too, or this name exists
            index = indexed.get(parent)
            if index is None:
                index = indexed[parent] = _Siblings(siblings)
            miss = _near(name, index)
            if miss is not None:
                fixed = (*creates[:depth], miss[1], *creates[depth + 1 :])
                anchored = pattern.source.text.strip().startswith("/")
                line = pattern_for(fixed, directory=True, anchored=anchored)
                found.append(_at(miss[0], pattern.source, (line,) if line else ()))
            break
    return found


def _file_key(name: str) -> str:
    key = name.casefold().lstrip(".")
    for extension in (".txt", ".conf", ".cfg", ".list", ".ignore"):
        key = key.removesuffix(extension)
    key = key.replace("writeable", "writable")
    return "".join(c for c in key if c.isalnum())


def misspelled_pattern_file(root_names: Iterable[bytes], pattern_file: str) -> list[Finding]:
    """With no pattern file (``pattern_file`` does not exist in the app root), a
    name beside it that was meant to be one ('.writeable-paths', '.writable_paths',
    'writable-paths', '.writable-paths.txt'...)."""
    wanted = _file_key(pattern_file)
    found = []
    for raw in sorted(root_names):
        name = raw.decode("utf-8", "surrogateescape")
        if name == pattern_file:
            return []
        if _file_key(name) == wanted or _close(name, pattern_file):
            found.append(Finding(MISSPELLED_FILE, name, 0, name, (pattern_file,)))
    return found


def is_database_name(name: bytes) -> bool:
    """Whether a file name is a SQLite database's, by its suffix."""
    return name.endswith(DATABASE_SUFFIXES)


def databases(
    patterns: PatternSet, direct_files: Iterable[tuple[Path, Source]] = ()
) -> list[Finding]:
    """SQLite files selected without their directory: SQLite writes its journal
    beside the database, so the directory must be writable too.

    A pattern without wildcards is checked as written (the database usually does
    not exist before the app runs); for one with wildcards, ``direct_files`` are
    the database files the walk found selected by a pattern itself (their
    directory is then not selected), with that pattern's source.
    """
    decider = Decider(patterns)
    found = []
    for pattern in patterns.patterns:
        names = _names(pattern)
        if pattern.negated or pattern.dir_only or names is None:
            continue
        if not is_database_name(names[-1]) or decider.decide_path(names[:-1]).selected:
            continue
        if len(names) == 1:
            found.append(_at(DATABASE_IN_ROOT, pattern.source, (DATABASE_DIRECTORY,)))
        else:
            line = pattern_for(names[:-1], directory=True)
            found.append(_at(DATABASE_FILE, pattern.source, (line,) if line else ()))
    parents: dict[Source, list[str]] = {}
    for path, source in direct_files:
        if len(path) > 1 and is_database_name(path[-1]):
            line = pattern_for(path[:-1], directory=True)
            if line is not None and line not in parents.setdefault(source, []):
                parents[source].append(line)
        elif len(path) == 1 and is_database_name(path[0]):
            parents.setdefault(source, [])
    for source, lines in parents.items():
        parsed = _parse(source.text)
        if parsed is not None and _names(parsed) is None:
            kind = DATABASE_FILE if lines else DATABASE_IN_ROOT
            found.append(_at(kind, source, tuple(lines) or (DATABASE_DIRECTORY,)))
    return found


def _decide_file(decider: Decider, names: Path) -> tuple[bool, Source | None]:
    """Whether the file at ``names`` is selected, and the pattern's source when it
    selected the file itself (not its directory)."""
    context = decider.root
    for name in names[:-1]:
        decision, inner = decider.decide(context, name, is_dir=True)
        if decision.selected:
            return True, None
        if inner is None:
            return False, None
        context = inner
    decision, _ = decider.decide(context, names[-1], is_dir=False)
    reason = decision.reason
    return decision.selected, reason if isinstance(reason, Source) else None


def broad(
    patterns: PatternSet,
    pattern_file: str,
    breadth: Breadth | None = None,
    suggestions: tuple[str, ...] = (),
) -> list[Finding]:
    """Selections that make the app's own code writable for the run user: the
    whole app ('*', '**', '/', '/*'), the pattern file itself, 'bin/', executable
    files, or most of the files. ``suggestions`` are the narrower lines that
    ``init`` proposes for this app (``cli.starter.active_lines``)."""
    found = []
    for pattern in patterns.patterns:
        text = pattern.source.text.strip()
        if pattern.negated:
            continue
        if text in _BROAD:
            found.append(_at(BROAD_PATTERN, pattern.source, suggestions))
        elif (_names(pattern) or (b"",))[-1] == b"bin" and not has_wildcard(text.encode()):
            found.append(_at(BIN_DIRECTORY, pattern.source, ()))
    names = tuple(n.encode("utf-8", "surrogateescape") for n in pattern_file.split("/") if n)
    if names:
        selected, by = _decide_file(Decider(patterns), names)
        if selected:
            negation = pattern_for(names, directory=False)
            fix = (f"!{negation}",) if by is not None and negation else ()
            origin, line, text = (by.origin, by.line, by.text) if by else (pattern_file, 0, "")
            found.append(Finding(SELECTS_PATTERN_FILE, origin, line, text, fix))
    if breadth is not None and breadth.executables:
        counts = (breadth.executables, breadth.files)
        found.append(Finding(EXECUTABLES, "", 0, "", suggestions, counts))
    if (
        breadth is not None
        and breadth.files >= MOST_FILES_MIN
        and breadth.writable_files * 2 > breadth.files
    ):
        counts = (breadth.writable_files, breadth.files)
        found.append(Finding(MOST_FILES, "", 0, "", suggestions, counts))
    return found


def review(
    patterns: PatternSet,
    pattern_file: str,
    app_dir: str,
    listings: Listings,
    direct_files: Iterable[tuple[Path, Source]],
    breadth: Breadth,
    suggestions: Callable[[], tuple[str, ...]],
) -> list[Finding]:
    """Every detector, on what one pass collected. ``suggestions`` gives the lines
    ``init`` would write, asked for only when a selection is too broad."""
    found = separators(patterns, listings)
    found += runtime_paths(patterns, listings, (*RUNTIME_APP_PATHS, app_dir))
    found += near_misses(patterns, listings)
    found += databases(patterns, direct_files)
    wide = broad(patterns, pattern_file, breadth)
    if any(f.corrected == () and f.kind not in _WITHOUT_SUGGESTIONS for f in wide):
        wide = broad(patterns, pattern_file, breadth, suggestions())
    return found + wide


# Broad findings whose fix is not init's lines.
_WITHOUT_SUGGESTIONS = frozenset((SELECTS_PATTERN_FILE, BIN_DIRECTORY))


def as_finding(item: Finding) -> findings.Finding:
    """A detector's finding as the build reports findings (``core.findings``)."""
    source = Source(item.origin, item.line, item.text) if item.line else None
    return findings.Finding(
        item.kind,
        item.text if item.line == 0 else "",
        source,
        detail="\n".join(item.corrected),
        links=item.counts[0],
        seen=item.counts[1],
    )
