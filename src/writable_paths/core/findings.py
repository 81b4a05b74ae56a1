"""What a pass found that a person must hear of: typed records, no prose.

The walk (in one process or several) collects findings; ``wording`` turns each
into sentences for the build, ``check`` and ``explain`` alike.
"""

from __future__ import annotations

from bisect import bisect_right

from .records import Record

TYPE_CHECKING = False  # the build imports this module: no typing at run time
if TYPE_CHECKING:
    from .patterns import Source

SHOWN = 20  # findings of one kind kept for showing; all are counted

# Warnings: the build goes on.
SYMLINK = "symlink"  # a pattern reaches a symlink (detail: its target)
UNUSED = "unused"  # a pattern selects (or un-selects) nothing
UNREADABLE = "unreadable"  # a directory the build user cannot read (cause: the error)
HARDLINK = "hardlink"  # a file with links outside the app (links, seen)
SPECIAL = "special"  # a selected FIFO, socket or device (cause: which)
BLOCKED = "blocked"  # a declared directory cannot be created: a file is in the way (detail)
TIGHTEN_FAILED = "tighten-failed"  # an unselected path stays writable (cause)
SET_ID_DROPPED = "set-id-dropped"  # a selected setuid/setgid file lost those bits
MOUNT = "mount"  # a mount point inside the app: left as it is, with all beneath it
# A selected path the run user still cannot write (detail: the entry in the way,
# cause: the access model's reason, mode: that entry's mode in the image).
UNREACHABLE = "unreachable"
# A directory above a selection root got group search (g+x) so that the run user
# can reach the root (mode: its mode before).
SEARCH_ADDED = "search-added"
LABEL_SHORTENED = "label-shortened"  # the label names enclosing directories (count: roots)
# Failures: the build cannot be right.
UNCHANGEABLE = "unchangeable"  # a selected path the build user cannot change (cause)
CANNOT_CREATE = "cannot-create"  # a declared directory it cannot create (detail, cause)

# The mistakes people make (found by core.advice)
SEPARATOR = "separator"  # BP_WRITABLE_PATHS entries joined by ',', ';' or spaces
RUNTIME_PATH = "runtime-path"  # '/workspace/...', '/app/...': the image's path, not the app's
TYPO = "typo"  # a directory the build would create, one or two edits from a sibling
CASE = "case"  # ... the name of a sibling in another case
NORMALIZATION = "normalization"  # ... the name of a sibling in another Unicode normalization
MISSPELLED_FILE = "misspelled-file"  # no pattern file, but a near miss of its name
DATABASE_FILE = "database-file"  # a SQLite file selected without its directory
DATABASE_IN_ROOT = "database-in-root"  # ... and that directory is the app root
BROAD_PATTERN = "broad-pattern"  # '*', '**', '/', '/*': the whole app
SELECTS_PATTERN_FILE = "selects-pattern-file"  # the app could rewrite its own configuration
BIN_DIRECTORY = "bin-directory"  # 'bin/': the app's executables
EXECUTABLES = "executables"  # executable files became writable
MOST_FILES = "most-files"  # most of the app's files became writable

# The order kinds are shown in.
WARNING_KINDS = (
    SYMLINK,
    UNUSED,
    UNREADABLE,
    HARDLINK,
    SPECIAL,
    BLOCKED,
    TIGHTEN_FAILED,
    SET_ID_DROPPED,
    MOUNT,
    UNREACHABLE,
    SEARCH_ADDED,
    LABEL_SHORTENED,
)


class Finding(Record):
    """One thing found: its kind, the path it concerns (from the app root; "." is
    the app directory), the pattern line involved, and the kind's data."""

    __slots__ = ("cause", "count", "detail", "kind", "links", "mode", "path", "seen", "source")

    def __init__(
        self,
        kind: str,
        path: str,
        source: Source | None = None,
        *,
        detail: str = "",
        cause: str = "",
        links: int = 0,
        seen: int = 0,
        mode: int = 0,
        count: int = 0,
    ) -> None:
        self.kind = kind
        self.path = path
        self.source = source
        self.detail = detail  # another path: a symlink's target, what is in the way
        self.cause = cause  # the system's error text, or what kind of special file
        self.links = links  # hard links of the file
        self.seen = seen  # of them, inside the app
        self.mode = mode  # permission bits that matter to the finding
        self.count = count  # how many paths a summary finding stands for


class Findings:
    """Findings by kind, counting all and keeping ``SHOWN`` of each: the first by
    key, so the same tree shows the same findings however many processes walked it."""

    __slots__ = ("_kept", "counts")

    def __init__(self) -> None:
        # Per kind: the kept findings' sort keys, and the findings, in that order.
        self._kept: dict[str, tuple[list[tuple[int, str, str, str]], list[Finding]]] = {}
        self.counts: dict[str, int] = {}

    def add(self, finding: Finding, order: int = -1) -> None:
        """Add ``finding``; ``order`` (a pattern's index) sorts before its path."""
        self.counts[finding.kind] = self.counts.get(finding.kind, 0) + 1
        source = str(finding.source) if finding.source is not None and order < 0 else ""
        self._keep(finding.kind, (order, source, finding.path, finding.detail), finding)

    def _keep(self, kind: str, key: tuple[int, str, str, str], finding: Finding) -> None:
        keys, kept = self._kept.setdefault(kind, ([], []))
        if len(kept) >= SHOWN:
            if key >= keys[-1]:
                return
            keys.pop()
            kept.pop()
        at = bisect_right(keys, key)
        keys.insert(at, key)
        kept.insert(at, finding)

    def shown(self) -> list[tuple[str, list[Finding]]]:
        """The kept findings, kind by kind: ``WARNING_KINDS`` in their order, then
        the mistake detectors' (``core.advice``) in the order they were found."""
        kinds = [k for k in WARNING_KINDS if k in self._kept]
        kinds += [k for k in self._kept if k not in WARNING_KINDS]
        return [(kind, list(self._kept[kind][1])) for kind in kinds]

    def hidden(self, kind: str) -> int:
        kept = self._kept.get(kind)
        return self.counts.get(kind, 0) - (len(kept[1]) if kept else 0)

    def total(self) -> int:
        return sum(self.counts.values())

    def merge(self, other: Findings) -> None:
        for kind, count in other.counts.items():
            self.counts[kind] = self.counts.get(kind, 0) + count
            keys, kept = other._kept.get(kind, ([], []))
            for key, finding in zip(keys, kept):
                self._keep(kind, key, finding)
