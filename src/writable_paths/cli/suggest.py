"""``writable-paths suggest``: from a container log to the pattern lines that fix it.

Pure: log lines in, proposals out. ``scan`` finds the permission errors that Ruby,
Node, PHP and Laravel, Python, Java and nginx print, with the path and the
operation; ``propose`` turns those under the app path into pattern lines, one per
directory, each with the reason and the log lines behind it. ``Read-only file
system`` errors are not fixed by a pattern (the container's root file system is
read-only): they become volumes.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from ..wording import (
    HINT_DATABASE,
    HINT_LARAVEL_CACHE,
    HINT_NO_PATH,
    WHY_DATABASE,
    WHY_DIRECTORY,
    WHY_FILE,
    WHY_KNOWN,
    WHY_MKDIR,
    WHY_ROOT_FILE,
)

# Operations that create the named path as a directory.
MKDIR = "mkdir"
DIRECTORY = "directory"  # the message names a directory the app writes into
OPEN = "open"
TEXT_SHOWN = 160


@dataclass(frozen=True)
class Hit:
    """One permission error in the log."""

    line: int  # 1-based line number in the log
    runtime: str
    operation: str  # MKDIR, DIRECTORY, OPEN (create, open, rename, unlink, ...)
    path: str | None  # as printed; None when the message names no path
    read_only_fs: bool  # EROFS: the file system is mounted read-only
    text: str  # the log line, trimmed
    hint: str | None = None  # for messages without a path


# -- scanning ------------------------------------------------------------------

_DENIED = r"(?P<err>[Pp]ermission denied|[Rr]ead-only file system)"

# (runtime, regex). Named groups: path (and dest), op, err.
_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    # Ruby: "Permission denied @ rb_sysopen - /workspace/tmp/pids/server.pid (Errno::EACCES)"
    (
        "Ruby",
        re.compile(
            _DENIED
            + r" @ (?P<op>\w+) - (?:\((?P<src>[^,()]+), (?P<dest>[^()]+)\)|(?P<path>[^\s()]+))"
        ),
    ),
    # Node: "Error: EACCES: permission denied, open '/workspace/.next/cache/x'"
    (
        "Node",
        re.compile(
            r"E(?:ACCES|ROFS|PERM): " + _DENIED + r", (?P<op>\w+) '(?P<path>[^']+)'"
            r"(?: -> '(?P<dest>[^']+)')?"
        ),
    ),
    # Laravel (Monolog): The stream or file "/workspace/storage/logs/laravel.log" could
    # not be opened in append mode: Failed to open stream: Permission denied
    (
        "PHP",
        re.compile(
            r"The stream or file \"(?P<path>[^\"]+)\" could not be opened[^:]*: "
            r"[Ff]ailed to open stream: " + _DENIED
        ),
    ),
    # PHP: "file_put_contents(/workspace/storage/framework/views/x.php): Failed to open
    # stream: Permission denied"; "mkdir(): Permission denied" has no path.
    (
        "PHP",
        re.compile(
            r"\b(?P<op>file_put_contents|fopen|mkdir|touch|unlink|rename|tempnam|copy|"
            r"move_uploaded_file)\((?P<path>[^)]+)\): (?:[Ff]ailed to open stream: )?" + _DENIED
        ),
    ),
    # Laravel: "The /workspace/bootstrap/cache directory must be present and writable."
    (
        "PHP",
        re.compile(r"The (?P<dirpath>\S+) directory must be present and writable"),
    ),
    # Python: "PermissionError: [Errno 13] Permission denied: '/workspace/media/x.png'"
    (
        "Python",
        re.compile(
            r"\[Errno (?:13|30|1)\] " + _DENIED + r": '(?P<path>[^']+)'(?: -> '(?P<dest>[^']+)')?"
        ),
    ),
    # Java: "java.nio.file.AccessDeniedException: /workspace/logs/spring.log"
    ("Java", re.compile(r"java\.nio\.file\.AccessDeniedException: (?P<path>\S+)")),
    # Java: "java.io.FileNotFoundException: /workspace/logs/app.log (Permission denied)"
    (
        "Java",
        re.compile(r"java\.io\.FileNotFoundException: (?P<path>\S.*?) \(" + _DENIED + r"\)"),
    ),
    # Java: "java.nio.file.FileSystemException: /workspace/logs/x.log: Read-only file system"
    (
        "Java",
        re.compile(r"java\.nio\.file\.FileSystemException: (?P<path>\S+?): " + _DENIED),
    ),
    # logback, when it cannot create the log's directory (the next line then says
    # "(No such file or directory)"): "Failed to create parent directories for [...]"
    ("Java", re.compile(r"Failed to create parent directories for \[(?P<path>[^\]]+)\]")),
    # nginx: open() "/workspace/logs/error.log" failed (13: Permission denied)
    (
        "nginx",
        re.compile(
            r"\b(?P<op>\w+)\(\) \"(?P<path>[^\"]+)\" failed \((?:13|30): " + _DENIED + r"\)"
        ),
    ),
)

_SQLITE = re.compile(
    r"OperationalError\W+(attempt to write a readonly database|unable to open database file)"
)
_LARAVEL_CACHE = re.compile(r"Please provide a valid cache path")
_BARE = re.compile(r"\bmkdir\(\): Permission denied|EACCES|\[Errno 13\]")

# The runtimes' names for "create a directory".
_MKDIR_OPS = frozenset({"dir_s_mkdir", "mkdir"})


def _trim(text: str) -> str:
    text = text.strip()
    return text if len(text) <= TEXT_SHOWN else text[: TEXT_SHOWN - 3] + "..."


def scan(lines: Iterable[str]) -> list[Hit]:
    """Every permission error in the log, in order; at most one per path and line."""
    hits: list[Hit] = []
    for number, raw in enumerate(lines, 1):
        line = raw.rstrip("\r\n")
        found = _scan_line(number, line)
        if not found:
            found = _pathless(number, line)
        hits += found
    return hits


def _scan_line(number: int, line: str) -> list[Hit]:
    found: list[Hit] = []
    seen: set[str] = set()
    for runtime, regex in _PATTERNS:
        for match in regex.finditer(line):
            groups = match.groupdict()
            rofs = (groups.get("err") or "").lower().startswith("read-only")
            op = groups.get("op") or ""
            operation = MKDIR if op in _MKDIR_OPS else OPEN
            paths = [groups.get(k) for k in ("path", "src", "dest")]
            if groups.get("dirpath"):
                paths, operation = [groups["dirpath"]], DIRECTORY
            for path in paths:
                if not path or path in seen:
                    continue
                seen.add(path)
                path = path.strip().strip("'\"")
                found.append(Hit(number, runtime, operation, path, rofs, _trim(line)))
    return found


def _pathless(number: int, line: str) -> list[Hit]:
    text = _trim(line)
    if _SQLITE.search(line):
        hint = HINT_DATABASE.format(line=number, text=text)
        return [Hit(number, "SQLite", "database", None, False, text, hint)]
    if _LARAVEL_CACHE.search(line):
        hint = HINT_LARAVEL_CACHE.format(line=number, text=text)
        return [Hit(number, "PHP", DIRECTORY, None, False, text, hint)]
    if _BARE.search(line) and "denied" in line.lower():
        return [
            Hit(number, "", OPEN, None, False, text, HINT_NO_PATH.format(line=number, text=text))
        ]
    return []


# -- proposing -------------------------------------------------------------------


@dataclass
class Suggestion:
    """A pattern line to add, why, and the log lines that call for it."""

    pattern: str
    reason: str
    directory: str  # the path relative to the app root, without the slashes
    lines: list[int] = field(default_factory=list)
    runtimes: list[str] = field(default_factory=list)
    # Set by the caller: the pattern line that already selects it.
    selected_by: str | None = None


@dataclass
class Proposal:
    suggestions: list[Suggestion] = field(default_factory=list)
    # Read-only file system: directories that need a volume (same shape).
    volumes: list[Suggestion] = field(default_factory=list)
    # (path as printed, line) for paths outside the app.
    outside: list[tuple[str, int]] = field(default_factory=list)
    hints: list[str] = field(default_factory=list)
    errors: int = 0  # permission errors found


def relative(path: str, app_path: str) -> str | None:
    """``path`` relative to the app root (``""`` for the root), or None outside it.
    A relative path is relative to the working directory, which is the app root."""
    root = posixpath.normpath(app_path)
    full = posixpath.normpath(path if path.startswith("/") else posixpath.join(root, path))
    if full == root:
        return ""
    if not full.startswith(root.rstrip("/") + "/"):
        return None
    return full[len(root.rstrip("/")) + 1 :]


def escape(path: str) -> str:
    """``path`` as a literal gitignore pattern: wildcards and backslashes escaped,
    and a trailing space kept."""
    text = re.sub(r"([\\*?\[])", r"\\\1", path)
    return text[:-1] + "\\ " if text.endswith(" ") else text


def _line_for(hit: Hit, rel: str) -> tuple[str, str, str]:
    """The pattern for one hit on ``rel`` (not the root), why, and the path it selects."""
    if hit.operation == MKDIR:
        return f"/{escape(rel)}/", WHY_MKDIR.format(path=rel), rel
    if hit.operation == DIRECTORY:
        return f"/{escape(rel)}/", WHY_DIRECTORY.format(path=rel), rel
    directory, name = posixpath.split(rel)
    if not directory:
        return f"/{escape(rel)}", WHY_ROOT_FILE.format(name=name), rel
    why = WHY_FILE.format(name=name, directory=directory)
    return f"/{escape(directory)}/", why, directory


@dataclass(frozen=True)
class Known:
    """A directory the app's framework writes to (from ``init``'s starter)."""

    directory: str  # relative to the app root
    framework: str
    why: str


def _known_root(path: str, known: Iterable[Known]) -> Known | None:
    for item in known:
        if path == item.directory or path.startswith(item.directory + "/"):
            return item
    return None


def propose(
    hits: Iterable[Hit],
    app_path: str,
    databases: Iterable[str] = (),
    known: Iterable[Known] = (),
) -> Proposal:
    """Pattern lines for the hits under ``app_path``, merged: one per directory, none
    inside another proposed directory. ``databases`` are SQLite database files
    (relative to the app root) read from the app, for errors that name none; a path
    inside one of the ``known`` framework directories selects that directory."""
    known = tuple(known)
    databases = tuple(databases)
    proposal = Proposal()
    hinted: set[str] = set()
    by_pattern: dict[str, Suggestion] = {}
    volumes: dict[str, Suggestion] = {}
    for hit in hits:
        proposal.errors += 1
        if hit.path is None:
            if hit.operation == "database" and databases:
                for database in databases:
                    directory = posixpath.dirname(database)
                    if directory:
                        why = WHY_DATABASE.format(directory=directory)
                        _add(by_pattern, f"/{escape(directory)}/", why, hit, directory)
                continue
            kind = f"{hit.runtime}:{hit.operation}"  # one note per kind of message
            if hit.hint and kind not in hinted:
                hinted.add(kind)
                proposal.hints.append(hit.hint)
            continue
        rel = relative(hit.path, app_path)
        if rel is None:
            proposal.outside.append((hit.path, hit.line))
            continue
        if not rel:
            continue  # the app root itself: never selectable
        pattern, why, path = _line_for(hit, rel)
        root = _known_root(path, known)
        if root is not None and root.directory != path:
            why = WHY_KNOWN.format(
                path=rel, directory=root.directory, framework=root.framework, known=root.why
            )
            pattern, path = f"/{escape(root.directory)}/", root.directory
        _add(volumes if hit.read_only_fs else by_pattern, pattern, why, hit, path)
    proposal.suggestions = _merge(by_pattern)
    proposal.volumes = _merge(volumes)
    return proposal


def _add(into: dict[str, Suggestion], pattern: str, why: str, hit: Hit, path: str) -> None:
    item = into.setdefault(pattern, Suggestion(pattern, why, path))
    if hit.line not in item.lines:
        item.lines.append(hit.line)
    if hit.runtime and hit.runtime not in item.runtimes:
        item.runtimes.append(hit.runtime)


def _merge(items: dict[str, Suggestion]) -> list[Suggestion]:
    """Drop suggestions inside a suggested directory (it selects its whole subtree),
    folding their log lines into it; sorted by path."""
    directories = sorted((p for p in items if p.endswith("/")), key=len)
    kept: dict[str, Suggestion] = {}
    for pattern in sorted(items, key=lambda p: (p.count("/"), p)):
        item = items[pattern]
        outer = next(
            (d for d in directories if d != pattern and pattern.startswith(d) and d in kept), None
        )
        if outer is None:
            kept[pattern] = item
            continue
        for line in item.lines:
            if line not in kept[outer].lines:
                kept[outer].lines.append(line)
    for item in kept.values():
        item.lines.sort()
    return [kept[p] for p in sorted(kept)]
