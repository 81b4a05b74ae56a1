"""Every sentence a person reads, for the build and the command alike.

Other modules collect facts (findings, decisions, errors' causes) and ask this
module how to say them, so the build and ``writable-paths check`` word the same
failure the same way, and a message names the pattern file the app really uses.
Each error is a title, what happened, and what to do (``errors.UserError``).
"""

from __future__ import annotations

from .core import findings as F
from .errors import PatternError, UserError

TYPE_CHECKING = False  # the build imports this module: no typing at run time
if TYPE_CHECKING:
    from collections.abc import Sequence

    from .core.findings import Finding

DEFAULT_FILE = ".writable-paths"  # settings.DEFAULT_FILE; named here for the texts
FAILURES_SHOWN = 20

# -- findings ------------------------------------------------------------------

HEADINGS = {
    F.SYMLINK: "Symlinks that patterns reach (left unchanged)",
    F.UNUSED: "Patterns that select nothing",
    F.UNREADABLE: "Directories the build user cannot read",
    F.HARDLINK: "Files hard-linked outside the app (left unchanged)",
    F.SPECIAL: "Sockets, FIFOs and devices (left unchanged)",
    F.BLOCKED: "Directories that could not be created",
    F.TIGHTEN_FAILED: "Paths that could not be made read-only",
    F.SET_ID_DROPPED: "Selected files that were setuid or setgid",
    F.MOUNT: "Mount points inside the app (left unchanged)",
    F.UNREACHABLE: "Selected paths the run user still cannot write",
    F.SEARCH_ADDED: "Directories given group search so that selected paths can be reached",
    F.LABEL_SHORTENED: "The image label names enclosing directories",
}


def heading(kind: str) -> str:
    return HEADINGS.get(kind, kind)


def symlink_note(path: str, target: str | None = None) -> str:
    to = f" (-> {target})" if target else ""
    return (
        f"'{path}' is a symlink{to}. The buildpack never follows symlinks: what it "
        "points to belongs to another layer or place and stays as it is. If the app must "
        "write there, make the target writable where it is created, or mount a volume there."
    )


def finding(item: Finding, pattern_file: str = DEFAULT_FILE) -> str:
    """One finding as the sentence the build, ``check`` and ``explain`` print."""
    say = _SAY.get(item.kind)
    return say(item, pattern_file) if say is not None else f"{item.kind}: {item.path}"


def _symlink(item: Finding, pattern_file: str) -> str:
    return f"{item.source}: {symlink_note(item.path, item.detail)}"


def _unused(item: Finding, pattern_file: str) -> str:
    source = item.source
    assert source is not None
    text = source.text
    if text.lstrip("!").startswith("./"):
        return (
            f"{source}: selects nothing: git paths have no '.' segment. Write the path "
            f"without './' ('{text.replace('./', '', 1)}')."
        )
    if text.startswith("!"):
        return (
            f"{source}: un-selects nothing: no earlier pattern selects what it matches, "
            "or what it matches lies inside a selected directory, which nothing can "
            "re-include (git's rule). To keep part of a directory read-only, select its "
            "contents ('dir/*') and negate the part ('!dir/part')."
        )
    base = text.rstrip("*").rstrip("/")
    missing = ""
    if base and not text.endswith("/") and not any(c in base for c in "*?[\\"):
        missing = (
            f" If it is a directory the app creates at run time, write '{base}/': the "
            "build creates a directory named by a literal pattern ending in '/'."
        )
    return (
        f"{source}: selects nothing: no path in the app matches it outside a directory "
        f"that an earlier line already selects (there it would change nothing).{missing}"
    )


def _unreadable(item: Finding, pattern_file: str) -> str:
    return (
        f"'{item.path}' cannot be read by the build user ({item.cause}); its contents were "
        "not checked, and exporting the image will fail on it. Give the owner read and "
        f"execute permission, or select it in {pattern_file}."
    )


def _hardlink(item: Finding, pattern_file: str) -> str:
    return (
        f"'{item.path}' has hard links outside the app directory ({item.links} links, "
        f"{item.seen} inside); left unchanged, because changing it would change the "
        "other files too. Copy the file instead of linking it if it must be writable."
    )


def _special(item: Finding, pattern_file: str) -> str:
    return f"{item.source}: '{item.path}' is a {item.cause}; left unchanged."


def _blocked(item: Finding, pattern_file: str) -> str:
    return (
        f"{item.source}: cannot create directory '{item.path}': '{item.detail}' is a file. "
        "Remove the file from the app, or drop the trailing '/' from the pattern to make "
        "the file writable instead."
    )


def _tighten_failed(item: Finding, pattern_file: str) -> str:
    if item.path == ".":
        return f"the app directory stays writable for others ({item.cause})."
    return (
        f"'{item.path}' stays writable for others: the build user cannot change it ({item.cause})."
    )


def _set_id_dropped(item: Finding, pattern_file: str) -> str:
    return (
        f"{item.source}: '{item.path}' was setuid or setgid; a file the run user may write "
        "must not run as its owner, so the build removed those bits. Select only the data "
        "files it writes, not the program."
    )


def _mount(item: Finding, pattern_file: str) -> str:
    via = f"{item.source}: " if item.source is not None else ""
    return (
        f"{via}'{item.path}' is a mount point (another file system, or a bind mount): the "
        "build leaves it and everything beneath it as it is. Build without the mount, "
        "or set its modes where it comes from."
    )


def _search_added(item: Finding, pattern_file: str) -> str:
    at = "the app directory" if item.path == "." else f"'{item.path}'"
    return (
        f"{at} was {_perms(item.mode)}, so the run user could not reach the writable "
        "paths below it: the build added search for the group (g+x) only. The run user "
        "still cannot list it or write in it, but can now open the files below it that "
        "the group may read, by name. Move what must stay private out of it if that "
        "matters."
    )


def _unreachable(item: Finding, pattern_file: str) -> str:
    return unreachable_sentence(item.path, item.detail, item.cause, item.mode)


def _label_shortened(item: Finding, pattern_file: str) -> str:
    where = f"'{item.path}'" if item.path else "the app directory"
    return (
        f"naming all {item.count:,} writable roots would make the image label larger "
        f"than 64 KiB, so it names {where} and the other directories that enclose them "
        "instead. A platform mounting volumes from the label mounts those whole "
        "directories; select directories rather than many single files to keep it exact."
    )


def _unchangeable(item: Finding, pattern_file: str) -> str:
    return f"{item.path}: {item.cause}"


def _cannot_create(item: Finding, pattern_file: str) -> str:
    return f"{item.path}/: cannot create it ({item.source}): '{item.detail}': {item.cause}"


# -- the mistake detectors' findings (core.advice) --------------------------------

ADVICE = {
    F.SEPARATOR: "BP_WRITABLE_PATHS entries that look joined by the wrong separator",
    F.RUNTIME_PATH: "Patterns written with the image's path",
    F.TYPO: "Directories to create that look like typos",
    F.CASE: "Directories to create that differ from an existing one only in case",
    F.NORMALIZATION: "Directories to create that differ from an existing one only in Unicode form",
    F.MISSPELLED_FILE: "A pattern file with a misspelled name",
    F.DATABASE_FILE: "Database files selected without their directory",
    F.DATABASE_IN_ROOT: "Database files in the app directory",
    F.BROAD_PATTERN: "Patterns that make the whole app writable",
    F.SELECTS_PATTERN_FILE: "The pattern file itself is writable",
    F.BIN_DIRECTORY: "Executables made writable",
    F.EXECUTABLES: "Executables made writable",
    F.MOST_FILES: "Most of the app made writable",
}
HEADINGS.update(ADVICE)


def _lines(detail: str) -> str:
    return ", ".join(f"'{line}'" for line in detail.split("\n") if line)


def _narrower(item: Finding) -> str:
    fix = _lines(item.detail)
    return f" Narrower patterns for this app: {fix}." if fix else ""


def _separator(item: Finding, pattern_file: str) -> str:
    joined = ":".join(line for line in item.detail.split("\n") if line)
    return (
        f"{item.source}: this names one path, which does not exist; BP_WRITABLE_PATHS "
        f"separates patterns with newlines or ':'. Write BP_WRITABLE_PATHS={joined}"
    )


def _runtime_path(item: Finding, pattern_file: str) -> str:
    return (
        f"{item.source}: patterns are relative to the app root, so this selects a path "
        f"below a directory the app does not have. Write {_lines(item.detail)} instead."
    )


_NEAR_MISS = {
    F.TYPO: "a near miss of the existing name",
    F.CASE: "the existing name in another case",
    F.NORMALIZATION: "the existing name in another Unicode normalization",
}


def _near_miss(item: Finding, pattern_file: str) -> str:
    return (
        f"{item.source}: the build would create a new directory whose name is "
        f"{_NEAR_MISS[item.kind]}. Did you mean {_lines(item.detail)}?"
    )


def _misspelled_file(item: Finding, pattern_file: str) -> str:
    return (
        f"'{item.path}' looks like a misspelled pattern file: the buildpack reads "
        f"{pattern_file} only, so nothing is made writable. Rename it to {_lines(item.detail)}."
    )


def _database_file(item: Finding, pattern_file: str) -> str:
    return (
        f"{item.source}: SQLite writes a journal next to the database, so its directory must "
        "be writable too, or writes fail with 'attempt to write a readonly database'. "
        f"Select the directory instead: {_lines(item.detail)}."
    )


def _database_in_root(item: Finding, pattern_file: str) -> str:
    return (
        f"{item.source}: SQLite writes a journal next to the database, and the app directory "
        "never becomes writable. Keep the database in a directory of its own and "
        f"select that: {_lines(item.detail)}."
    )


def _broad_pattern(item: Finding, pattern_file: str) -> str:
    return (
        f"{item.source}: this makes the whole app writable for the run user, which lets the "
        f"app rewrite its own code.{_narrower(item)}"
    )


def _selects_pattern_file(item: Finding, pattern_file: str) -> str:
    where = f"{item.source}: " if item.source is not None else ""
    fix = _lines(item.detail)
    negate = f" Add {fix} after it." if fix else ""
    return (
        f"{where}{pattern_file} itself becomes writable, so the app could change what "
        f"is writable in a rebuilt image.{negate}"
    )


def _bin_directory(item: Finding, pattern_file: str) -> str:
    return (
        f"{item.source}: the app's executables become writable for the run user, which lets "
        "the app rewrite programs it runs. Select only the directories it writes data to."
    )


def _executables(item: Finding, pattern_file: str) -> str:
    return (
        f"{item.links:,} executable files (of the app's {item.seen:,} files) became "
        f"writable for the run user: the app could rewrite programs it runs.{_narrower(item)}"
    )


def _most_files(item: Finding, pattern_file: str) -> str:
    return (
        f"{item.links:,} of the app's {item.seen:,} files became writable for the run "
        f"user: most of the app, its own code included.{_narrower(item)}"
    )


_SAY = {
    F.SYMLINK: _symlink,
    F.UNUSED: _unused,
    F.UNREADABLE: _unreadable,
    F.HARDLINK: _hardlink,
    F.SPECIAL: _special,
    F.BLOCKED: _blocked,
    F.TIGHTEN_FAILED: _tighten_failed,
    F.SET_ID_DROPPED: _set_id_dropped,
    F.MOUNT: _mount,
    F.SEARCH_ADDED: _search_added,
    F.UNREACHABLE: _unreachable,
    F.LABEL_SHORTENED: _label_shortened,
    F.UNCHANGEABLE: _unchangeable,
    F.CANNOT_CREATE: _cannot_create,
    F.SEPARATOR: _separator,
    F.RUNTIME_PATH: _runtime_path,
    F.TYPO: _near_miss,
    F.CASE: _near_miss,
    F.NORMALIZATION: _near_miss,
    F.MISSPELLED_FILE: _misspelled_file,
    F.DATABASE_FILE: _database_file,
    F.DATABASE_IN_ROOT: _database_in_root,
    F.BROAD_PATTERN: _broad_pattern,
    F.SELECTS_PATTERN_FILE: _selects_pattern_file,
    F.BIN_DIRECTORY: _bin_directory,
    F.EXECUTABLES: _executables,
    F.MOST_FILES: _most_files,
}


def _perms(mode: int) -> str:
    from .core.policy import permission_string

    return permission_string(0o040000 | mode)[1:]


def unreachable_sentence(path: str, blocker: str, reason: str, mode: int) -> str:
    """Why the run user cannot write ``path`` although it is selected."""
    from .core import access

    at = "the app directory" if blocker == "." else f"'{blocker}'"
    if reason == access.NOT_SEARCHABLE:
        return (
            f"'{path}' is selected, but the run user cannot enter {at} (mode {_perms(mode)}), "
            f"so nothing beneath it is writable at run time. Give {at} search permission for "
            f"the group in the app (chmod g+x {blocker}), or select a path outside it."
        )
    if reason == access.THROUGH_SYMLINK:
        return (
            f"'{path}' is selected, but {at} is a symlink, which the buildpack never follows: "
            "the run user writes wherever it points, not here."
        )
    return (
        f"'{path}' is selected, but the run user cannot write it at run time ({reason} at "
        f"{at}, mode {_perms(mode)})."
    )


def unchangeable(failures: Sequence[Finding], uid: int, pattern_file: str) -> UserError:
    """The error that fails the build (and ``check``): selected paths it cannot change."""
    shown = [f"  {finding(item)}" for item in failures[:FAILURES_SHOWN]]
    if len(failures) > FAILURES_SHOWN:
        shown.append(f"  ... and {len(failures) - FAILURES_SHOWN:,} more")
    return UserError(
        f"Cannot make {len(failures):,} selected path(s) writable",
        f"The build user (uid {uid}) cannot change or create these paths, most often "
        "because another user owns them or the directory they are in:\n" + "\n".join(shown),
        "Make sure the files are owned by the build user (a buildpack running as root or "
        f"an archive extracted with its owners can cause this), or remove them from "
        f"{pattern_file}.",
    )


# -- the build's report ----------------------------------------------------------

READING = "Reading patterns"
SUMMARY = "Summary"


def plural(n: int, one: str, many: str) -> str:
    return f"{n:,} {one if n == 1 else many}"


def pattern_count(origin: str, count: int) -> str:
    return f"{origin}: {plural(count, 'pattern', 'patterns')}"


def no_patterns(pattern_file: str) -> str:
    return (
        f"No patterns in {pattern_file} or BP_WRITABLE_PATHS (only blank lines and comments): "
        "nothing to do"
    )


def not_configured(pattern_file: str) -> str:
    return f"No writable paths configured (no {pattern_file} file, BP_WRITABLE_PATHS unset)"


NOTHING_TO_DO = "{}: nothing to do"


def applying(gid: int, strict: bool) -> str:
    return f"Applying permissions (group {gid}, strict={str(strict).lower()})"


def created(path: str) -> str:
    return f"Created {path}/"


def writable_root(path: str) -> str:
    return f"Writable: {path}"


def warnings_heading(total: int) -> str:
    return f"Warnings ({total})"


def hidden(count: int) -> str:
    return f"... and {count:,} more"


def writable_counts(dirs: int, files: int) -> str:
    return (
        f"Writable for the group: {plural(dirs, 'directory', 'directories')}"
        f" and {plural(files, 'file', 'files')}"
    )


def tightened_count(count: int) -> str:
    return f"Made read-only for group and others: {plural(count, 'path', 'paths')}"


def created_count(count: int) -> str:
    return f"Created: {plural(count, 'directory', 'directories')}"


def done(seconds: float, workers: int) -> str:
    extra = f", {workers} worker processes" if workers else ""
    return f"Done (finished in {seconds:.2f}s{extra})"


def change(path: str, old: str, new: str, why: str) -> str:
    return f"{path}: {old} -> {new} ({why})"


NOT_SELECTED = "not selected"


def interpreter(version: str, executable: str) -> str:
    return f"Python {version} ({executable})"


def detect_configured(count: int) -> str:
    return f"writable-paths: {count} pattern(s) configured"


# -- pattern lines ------------------------------------------------------------------

_DIRECTORIES = (
    "Select directories rather than individual files (a directory pattern such as "
    "'storage/' covers everything beneath it)."
)


def too_many_patterns(origin: str, line: int, limit: int) -> PatternError:
    return PatternError(origin, line, f"More than {limit:,} patterns in all.", _DIRECTORIES)


def line_too_long(origin: str, line: int, length: int, limit: int) -> PatternError:
    return PatternError(
        origin,
        line,
        f"The line is {length:,} bytes long; the limit is {limit:,} "
        "(no path on Linux is longer, so such a pattern cannot be meant).",
        "Shorten the pattern, or split it into several lines.",
    )


def nul_in_line(origin: str, line: int) -> PatternError:
    return PatternError(
        origin,
        line,
        "The line contains a NUL byte.",
        "Remove the NUL byte; it cannot appear in a path.",
    )


def not_utf8(origin: str, line: int, position: int, byte: int) -> PatternError:
    return PatternError(
        origin,
        line,
        f"The line is not valid UTF-8 (byte {position} is 0x{byte:02x}).",
        "Save the file as UTF-8.",
    )


def dotdot(origin: str, line: int, text: str) -> PatternError:
    return PatternError(
        origin,
        line,
        f"The pattern '{text}' has a '..' segment. Patterns name paths inside the "
        "app directory; '..' would leave it.",
        "Write the path relative to the app root, without '..'.",
    )


def file_too_large(origin: str, size: int, limit: int) -> UserError:
    return UserError(
        f"Pattern file {origin} is too large",
        f"It holds {size:,} bytes; the limit is {limit:,} (1 MiB).",
        "Select directories rather than individual files: a directory pattern "
        "such as 'storage/' covers everything beneath it.",
    )


# -- settings and the pattern file -------------------------------------------------

FILE_VAR = "BP_WRITABLE_PATHS_FILE"
SYMLINK_SETTING = "it is a symbolic link; platforms write each setting as a regular file"
NOT_REGULAR = "it is not a regular file"

# Why a pattern file is refused: (what happened, what to do).
_FILE_HINT = f"Set {FILE_VAR} to a path relative to the app root, such as 'config/writable-paths'."
FILE_NUL = ("The name contains a NUL byte.", _FILE_HINT)
FILE_OUTSIDE = ("The pattern file must be inside the app directory.", _FILE_HINT)
FILE_NO_NAME = ("The name names no file.", _FILE_HINT)
FILE_MISSING = (
    f"{FILE_VAR} names '{{name}}', which does not exist in the app directory.",
    f"Add the file to the app, or unset {FILE_VAR} to use {DEFAULT_FILE}.",
)
FILE_SYMLINK = (
    "It is a symlink. The pattern file must be a regular file inside the app "
    "directory, so that it cannot be replaced from outside.",
    "Replace the symlink with the file itself.",
)
FILE_NOT_REGULAR = ("It is not a regular file.", "Make it a regular text file.")
FILE_UNREADABLE = (
    "It cannot be read by the build user ({cause}).",
    "Make the file readable (chmod a+r) before the build.",
)
FILE_BAD_PARENT = (
    "A directory on its way is a file or a symlink ({cause}).",
    "The pattern file and the directories leading to it must be real, inside the app directory.",
)


def pattern_file_refused(name: str, why: tuple[str, str], cause: str = "") -> UserError:
    detail, hint = why
    return UserError(
        f"Cannot use {name} as the pattern file", detail.format(name=name, cause=cause), hint
    )


def platform_setting_unreadable(name: str, path: str, cause: str) -> UserError:
    return UserError(
        f"Cannot read the platform setting {name}",
        f"Reading {path} failed: {cause}.",
        "Check the value passed with 'pack build --env' or project.toml.",
    )


def setting_too_large(name: str, limit: int, path: str | None = None) -> UserError:
    where = f" ({path})" if path else ""
    return UserError(
        f"The setting {name} is too large",
        f"{name}{where} holds more than {limit:,} bytes, the limit of a pattern file.",
        f"Put the patterns in the pattern file ({DEFAULT_FILE}) and keep {name} short.",
    )


def not_boolean(value: object) -> str:
    return f"'{value}' is not true or false"


def invalid_setting(name: str, raw: str, message: str) -> UserError:
    return UserError(
        f"Invalid value for {name}",
        f"{name}={raw!r}: {message}.",
        f"Set {name} to true or false (for example with "
        f"'pack build --env {name}=false'), or unset it to use the default.",
    )


# -- the lifecycle and the interpreter -----------------------------------------------

NO_LAYERS = "bin/build: no layers directory (CNB_LAYERS_DIR or the first argument)"
USAGE = "usage: writable_paths BUILDPACK_DIR detect|build [ARGS...]"
BUG = (
    "the writable-paths buildpack failed unexpectedly. This is a bug; please "
    "report it with the output below."
)


def missing_dependency(version: str, machine: str, module: str, vendor: str, err: str) -> str:
    return (
        "Cannot load the buildpack's dependencies with this Python\n\n"
        f"Python {version} on {machine} cannot import {module} from {vendor} ({err}).\n\n"
        "Use the packaged buildpack ('make package'), or run 'make install' in a checkout "
        "used as the buildpack."
    )


def label_unwritable(path: str, cause: str) -> UserError:
    """launch.toml cannot be written: every change to the app was already made."""
    return UserError(
        "Cannot write the image label",
        f"Writing {path} failed: {cause}. The app's modes were already changed, but "
        "without the label the image would not say which paths are writable.",
        "The layers directory must exist, belong to the build user and have free space: "
        "check the platform's volume for the layers directory (or CNB_LAYERS_DIR), then "
        "build again.",
    )


def output_lost(cause: str) -> str:
    """stdout is closed or its reader has gone: said on stderr, if that still works."""
    return (
        f"ERROR: The build's output cannot be written ({cause})\n\n"
        "The lifecycle reads the build log from standard output; it was closed or its "
        "reader went away, so the build stops here.\n\n"
        "Run the build with its standard output open (a platform bug, or a pipe to a "
        "command that exits early, such as 'head')."
    )


def worker_lost(code: int | None) -> UserError:
    how = f"was killed by signal {-code}" if code is not None and code < 0 else "died"
    return UserError(
        "A worker process of the build stopped",
        f"One of the processes that walk the app in parallel {how} (exit code {code}), "
        "most often the out-of-memory killer; part of the app may be left unchanged.",
        "Give the build more memory (or fewer CPUs), then build again: a rerun ends "
        "exactly where a complete build ends.",
    )


def out_of_descriptors(path: str, cause: str) -> UserError:
    return UserError(
        "Too few file descriptors for the build",
        f"Even with a single directory kept open, opening one below '{path}' failed: "
        f"{cause}. Nothing below it was changed.",
        "Raise the open-files limit of the build container (ulimit -n; 64 or more is "
        "plenty), then build again: a rerun finishes what this one began.",
    )


def tree_changed(path: str) -> UserError:
    return UserError(
        "The app changed while the build ran",
        f"The directory '{path}' was moved or replaced while the build walked beneath it; "
        "part of the app may be left unchanged.",
        "Make sure no other process changes the app directory during this buildpack "
        "(it must run last), then build again.",
    )


# -- writable-paths suggest: why each suggested line ------------------------------

WHY_FILE = (
    "the app writes '{name}' in '{directory}'. Creating a file, and the temporary "
    "files, journals and rotated copies written beside it, needs the directory "
    "writable, so the directory is selected, not the file"
)
WHY_MKDIR = (
    "the app creates the directory '{path}', but its parent is read-only. The build "
    "creates '{path}/' and makes it writable, so the app finds it in place"
)
WHY_DIRECTORY = "the app writes into the directory '{path}'"
WHY_ROOT_FILE = (
    "the app writes '{name}' in the app directory itself, which always stays read-only "
    "for the run user: this line makes the file writable only if it is in the image, "
    "and the app can still not create, replace or rotate it. Better: move it into a "
    "directory of its own and select that directory"
)
WHY_DATABASE = (
    "SQLite refused to write the database: the database file and its directory "
    "'{directory}' (where SQLite writes its journal) must be writable"
)
WHY_KNOWN = (
    "the app writes '{path}', inside '{directory}/', which {framework} writes to "
    "({known}): selecting that directory makes everything the app creates beneath it "
    "writable"
)
HINT_DATABASE = (
    "line {line}: SQLite cannot write its database ('{text}'). The log does not say "
    "where it is: select the database's directory (SQLite writes a journal beside the "
    "file). With --app, writable-paths reads Django's settings to find it"
)
HINT_LARAVEL_CACHE = (
    "line {line}: Laravel has no writable compiled-views path ('{text}'): select "
    "/storage/framework/ (and create storage/framework/views in the app)"
)
HINT_NO_PATH = (
    "line {line}: a permission error without a path ('{text}'): run the app with more "
    "logging, or use 'writable-paths explain PATH' on the path it writes"
)


# -- writable-paths explain ----------------------------------------------------------

PARENT_SELECTED = "parent directory selected"  # decide.PARENT_SELECTED
APP_ROOT_STRICT = "strict mode: the app directory loses group and other write"
APP_ROOT_NOT_STRICT = "strict mode is off: the app directory only loses other write"
SYMLINK_ITSELF = (
    "'{path}' is a symlink: the buildpack never follows or changes symlinks; "
    "what it points to stays as it is"
)
SPECIAL_UNCHANGED = "sockets, FIFOs and devices are left unchanged"
STRICT_OFF = "strict mode is off: unselected paths stay as they are"
MISSING = "it does not exist (yet)"
READ_ONLY_STRICT = "read-only (strict mode: group and others cannot write)"
APP_DIRECTORY = ". (the app directory)"

# Why explain refuses a path: (what happened, what to do).
PATH_EMPTY = ("The path is empty.", "Name a path in the app.")
PATH_OUTSIDE = (
    "It is outside the app directory {extra}.",
    "Give a path relative to the app directory, or choose the app with --app.",
)
PATH_DOTDOT = (
    "It has a '..' segment; the buildpack only changes paths inside the app.",
    "Give the path relative to the app directory, without '..'.",
)
PATH_THROUGH_FILE = ("{extra}, so '{path}' cannot exist.", "Check the path.")


def explain_refused(
    error: type[UserError], path: str, why: tuple[str, str], extra: str = ""
) -> UserError:
    detail, hint = why
    return error(f"Cannot explain {path}", detail.format(path=path, extra=extra), hint)


def explain_reason(why: str, source: str | None, ancestor: str | None) -> str:
    if why == "pattern":
        return f"selected by {source}"
    if why == "negation":
        return f"un-selected by {source} (the last matching pattern wins)"
    if why == "parent":
        return f"{PARENT_SELECTED}: '{ancestor}/' is selected by {source}"
    if why == "symlink":
        return (
            f"'{ancestor}' is a symlink: the buildpack never follows symlinks, so "
            "nothing beneath it changes"
        )
    if why == "not-configured":
        return "no writable paths configured: the build changes nothing"
    if why == "app-root":
        return "the app directory itself is never selected"
    return "no pattern matches it"


def reaches_through(source: object, here: str) -> str:
    return (
        f"{source} reaches through the symlink '{here}': the build "
        "warns and leaves the target as it is"
    )


def directory_unselected(here: str, source: object) -> str:
    return f"its directory '{here}' is un-selected by {source}"


def hard_links_note(links: int) -> str:
    return (
        f"it has {links} hard links: the build leaves it unchanged if any "
        "link is outside the app, and makes it writable if any link inside is selected"
    )


def will_create(source: str) -> str:
    return f"it does not exist yet: the build creates it ({source})"


def as_directory(path: str, effect: str, reason: str) -> str:
    return f"as a directory ('{path}/') it would be {effect}: {reason}"


def negation_cannot(source: object, here: str, ancestor: str) -> str:
    return (
        f"{source} cannot un-select '{here}': nothing inside a selected "
        "directory can be re-included (git's rule). To keep part of "
        f"'{ancestor}' read-only, select its contents instead "
        f"('{ancestor}/*') and negate the part"
    )


def run_time_refusal(reason: str, path: str, blocker: str, mode: int, fix: str | None) -> str:
    """Why the run user cannot write ``path`` (or create in it), and what to write."""
    from .core import access

    at = "the app directory" if blocker == "." else f"'{blocker}'"
    instead = f" Select the directory instead: '/{fix}'." if fix else ""
    if reason == access.DIRECTORY_NOT_WRITABLE and blocker == ".":
        return (
            "at run time it cannot be created: the app directory itself never becomes "
            "writable. Keep it in a directory of its own (such as '/data/') and select that."
        )
    if reason == access.DIRECTORY_NOT_WRITABLE:
        return (
            f"at run time it cannot be created or replaced: {at} itself is not writable "
            f"for the run user (mode {_perms(mode)}).{instead}"
        )
    if reason == access.MISSING_DIRECTORY:
        return (
            f"at run time it cannot be written: {at} does not exist and the build does not "
            "create it (it creates only directories named by a literal pattern ending in "
            f"'/').{instead}"
        )
    if reason == access.NOT_SEARCHABLE:
        return (
            f"at run time it cannot be reached: the run user cannot enter {at} "
            f"(mode {_perms(mode)}). Give {at} search permission for the group (chmod g+x)."
        )
    if reason == access.FILE_NOT_WRITABLE:
        return f"at run time it cannot be written (mode {_perms(mode)}).{instead}"
    return f"at run time the run user cannot write it ({reason} at {at})."


def path_error_line(raw: str, detail: str) -> str:
    return f"{raw}: error: {detail}"


# -- writable-paths check, init, manifest -----------------------------------------------

NOT_A_DIRECTORY = "not a directory"
NOTHING_SELECTED = "nothing: no pattern selects a path"
CREATED_NOTE = " (created by the build)"
STRICT_OFF_STEP = "Strict mode is off: unselected paths stay as they are"
ALL_HINT = " (--all lists them)"


def app_dir_refused(raw: str, path: str, cause: str) -> UserError:
    return UserError(
        f"Cannot use {raw} as the app directory",
        f"{path}: {cause}.",
        "Give the app's root directory (the one pack builds), or run the command in it.",
    )


def check_title(prog: str, app_dir: str) -> str:
    return f"{prog} check {app_dir}"


def writable_step(strict: bool) -> str:
    return f"Writable for the group (strict={str(strict).lower()})"


def inside(via: str) -> str:
    return f" (inside {via}/)"


def created_step(count: int) -> str:
    return f"Created by the build: {plural(count, 'directory', 'directories')}"


def check_summary(dirs: int, files: int, roots: int) -> str:
    return (
        f"Writable for the group: {plural(dirs, 'directory', 'directories')}"
        f" and {plural(files, 'file', 'files')}"
        f" under {plural(roots, 'selection root', 'selection roots')}"
    )


def warning_total(count: int) -> str:
    return f"Warnings: {count:,}"


def check_not_configured(pattern_file: str) -> str:
    return (
        f"{not_configured(pattern_file)}: the build does nothing. Run 'writable-paths init' "
        "to write a starter file."
    )


def init_exists(name: str, target: str) -> UserError:
    return UserError(
        f"{name} already exists",
        f"{target} is there already; init never overwrites it.",
        "Edit it, or remove it and run 'writable-paths init' again. "
        "'writable-paths init --stdout' prints the starter without writing it.",
    )


def init_cannot_write(name: str, target: str, cause: str) -> UserError:
    return UserError(f"Cannot write {name}", f"{target}: {cause}.")


def init_recognised(found: str, target: str) -> list[str]:
    return [f"Recognised {found}.", f"Wrote {target}."]


def init_nothing(frameworks: str, target: str) -> list[str]:
    return [
        f"Recognised no framework ({frameworks}).",
        f"Wrote {target} with commented examples only: uncomment what the app needs.",
    ]


INIT_NEXT = "Review it, then run 'writable-paths check' to see what the build will do."


def bad_app_path(value: str) -> UserError:
    return UserError(
        "Invalid --app-path",
        f"'{value}' is not an absolute path.",
        "Give the app directory inside the image (CNB images use /workspace).",
    )


def manifest_note(count: int) -> str:
    warnings = plural(count, "warning", "warnings")
    return f"note: the configuration has {warnings}; see 'writable-paths check'."


def cli_bug(kind: str, err: object) -> str:
    return (
        f"writable-paths failed unexpectedly ({kind}: {err}). "
        "This is a bug; please report it with the command you ran."
    )


# -- writable-paths suggest ------------------------------------------------------

SUGGEST_TITLE = "writable-paths suggest: {errors} in {log}"
SUGGEST_NONE_FOUND = (
    "No permission errors found in {log}. suggest reads the errors Ruby, Node, PHP, "
    "Python, Java and nginx print (EACCES, 'Permission denied', 'Read-only file system')."
)
SUGGEST_ADD = "Lines to add to {file}:"
SUGGEST_LINE_REFS = "    from {log} line{s} {lines}{runtimes}"
SUGGEST_ALREADY = "Already writable (rebuild the image if the log is older than the configuration):"
SUGGEST_ALREADY_ITEM = "  {pattern}  selected by {source}"
SUGGEST_VOLUMES = (
    "Read-only file system: the container's root file system is read-only, so no "
    "pattern can fix these; give each directory a volume:"
)
SUGGEST_VOLUME_SELECTED = (
    "    selected by {source}: 'writable-paths manifest --format kubernetes' mounts it"
)
SUGGEST_VOLUME_NOT_SELECTED = (
    "    not selected yet: add {pattern} to {file}, then 'writable-paths manifest "
    "--format kubernetes' (or compose) prints its volume"
)
SUGGEST_OUTSIDE = (
    "Ignored: outside the app directory {app_path} (the buildpack changes nothing there):"
)
SUGGEST_OUTSIDE_ITEM = "  {path} (line {line})"
SUGGEST_NOTES = "Notes:"
SUGGEST_NEXT_WRITE = "Run again with --write to append them to {file}, then rebuild."
SUGGEST_WROTE = "Appended {count} to {file}. Run 'writable-paths check', then rebuild."
SUGGEST_NOTHING_TO_WRITE = "Nothing to write: {file} already selects every directory above."
SUGGEST_WRITE_HEADER = "# Added by writable-paths suggest from {log}:"
SUGGEST_STDIN = "standard input"


def log_unreadable(log: str, cause: str) -> UserError:
    return UserError(
        f"Cannot read the log {log}",
        f"{log}: {cause}.",
        "Give the log file, or '-' (or nothing) to read standard input.",
    )


def suggest_cannot_write(name: str, path: str, cause: str) -> UserError:
    return UserError(f"Cannot write {name}", f"{path}: {cause}.")


def suggest_not_a_file(name: str, path: str) -> UserError:
    return UserError(f"Cannot write {name}", f"{path} is not a regular file.")
