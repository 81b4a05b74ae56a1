"""Every sentence a person reads, for the build and the command alike.

Other modules collect facts (findings, decisions, errors' causes) and ask this
module how to say them, so the build and ``writable-paths check`` word the same
failure the same way, and a message names the pattern file the app really uses.
Each error is a title, what happened, and what to do (``errors.UserError``).
"""

from __future__ import annotations

from .core import findings as F
from .errors import UserError

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
    kind, path, source = item.kind, item.path, item.source
    if kind == F.SYMLINK:
        return f"{source}: {symlink_note(path, item.detail)}"
    if kind == F.UNUSED:
        assert source is not None
        what = "un-selects nothing" if source.text.startswith("!") else "selects nothing"
        hint = ""
        if source.text.lstrip("!").startswith("./"):
            hint = " (git paths have no '.' segment: write the path without './')"
        return f"{source}: {what}: no path matches it outside an already selected directory{hint}."
    if kind == F.UNREADABLE:
        return (
            f"'{path}' cannot be read by the build user ({item.cause}); its contents were "
            "not checked, and exporting the image will fail on it. Give the owner read and "
            f"execute permission, or select it in {pattern_file}."
        )
    if kind == F.HARDLINK:
        return (
            f"'{path}' has hard links outside the app directory ({item.links} links, "
            f"{item.seen} inside); left unchanged, because changing it would change the "
            "other files too. Copy the file instead of linking it if it must be writable."
        )
    if kind == F.SPECIAL:
        return f"{source}: '{path}' is a {item.cause}; left unchanged."
    if kind == F.BLOCKED:
        return (
            f"{source}: cannot create directory '{path}': '{item.detail}' is a file. Remove "
            "the file from the app, or drop the trailing '/' from the pattern to make the "
            "file writable instead."
        )
    if kind == F.TIGHTEN_FAILED:
        if path == ".":
            return f"the app directory stays writable for others ({item.cause})."
        return (
            f"'{path}' stays writable for others: the build user cannot change it ({item.cause})."
        )
    if kind == F.SET_ID_DROPPED:
        return (
            f"{source}: '{path}' was setuid or setgid; a file the run user may write must "
            "not run as its owner, so the build removed those bits. Select only the data "
            "files it writes, not the program."
        )
    if kind == F.MOUNT:
        via = f"{source}: " if source is not None else ""
        return (
            f"{via}'{path}' is a mount point (another file system, or a bind mount): the "
            "build leaves it and everything beneath it as it is. Build without the mount, "
            "or set its modes where it comes from."
        )
    if kind == F.LABEL_SHORTENED:
        where = f"'{path}'" if path else "the app directory"
        return (
            f"naming all {item.count:,} writable roots would make the image label larger "
            f"than 64 KiB, so it names {where} and the other directories that enclose them "
            "instead. A platform mounting volumes from the label mounts those whole "
            "directories; select directories rather than many single files to keep it exact."
        )
    if kind == F.UNCHANGEABLE:
        return f"{path}: {item.cause}"
    if kind == F.CANNOT_CREATE:
        return f"{path}/: cannot create it ({source}): '{item.detail}': {item.cause}"
    return f"{kind}: {path}"


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


# -- settings and the pattern file -------------------------------------------------

FILE_VAR = "BP_WRITABLE_PATHS_FILE"
LEAVES_PLATFORM = "it is a symlink that leads out of the platform directory"
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
        "Use the packaged buildpack ('make package' builds it for CPython 3.9 to 3.14 on "
        "amd64 and arm64), or set BP_WRITABLE_PATHS_PYTHON to the Python that ran "
        "'make install'."
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


def tree_changed(path: str) -> UserError:
    return UserError(
        "The app changed while the build ran",
        f"The directory '{path}' was moved or replaced while the build walked beneath it; "
        "part of the app may be left unchanged.",
        "Make sure no other process changes the app directory during this buildpack "
        "(it must run last), then build again.",
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
