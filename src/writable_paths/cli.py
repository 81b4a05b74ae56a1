"""``writable-paths``: the app developer's command (check, explain, init, manifest).

Reads the configuration as the build does and runs the build's own engine
(``engine.Pass`` with a dry-run ``Applier``, ``decide.Decider``), so what it
says is what the build will do; it never changes a mode.

Exit codes: 0 success, 1 an invalid configuration or a usage error (the message
says what to do), 2 ``check --strict-warnings`` found warnings.
"""

from __future__ import annotations

import argparse
import json
import os
import stat
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from typing import Any, NoReturn

from . import manifest, starter
from .apply import Applier
from .config import DEFAULT_FILE, load_patterns, pattern_file_name, read_settings
from .decide import PARENT_SELECTED, Context, Decider, Decision
from .engine import Change, Pass, Summary
from .errors import UserError, printable
from .patterns import PatternSet, Source
from .report import Reporter
from .settings import Settings
from .walk import Entry

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_WARNINGS = 2
EXIT_BUG = 70
DIRECTORY = "directory"
FILE = "file"
JSON_VERSION = 1
PROG = "writable-paths"


# -- configuration ---------------------------------------------------------


@dataclass
class Config:
    app_dir: str
    settings: Settings
    patterns: PatternSet


def _app_dir(raw: str) -> str:
    path = os.path.abspath(raw)
    try:
        st = os.stat(path)
    except OSError as err:
        raise UserError(
            f"Cannot use {raw} as the app directory",
            f"{path}: {err.strerror}.",
            "Give the app's root directory (the one pack builds), or run the command in it.",
        ) from None
    if not stat.S_ISDIR(st.st_mode):
        raise UserError(
            f"Cannot use {raw} as the app directory",
            f"{path} is not a directory.",
            "Give the app's root directory (the one pack builds), or run the command in it.",
        )
    return path


def load(raw_app_dir: str) -> Config:
    """The app's configuration, read and validated exactly as the build does
    (pattern file and ``BP_*`` variables from this process's environment)."""
    app_dir = _app_dir(raw_app_dir)
    values = read_settings(os.environ, None)
    settings = Settings.from_values(values)
    return Config(app_dir, settings, load_patterns(app_dir, values))


def _origins(patterns: PatternSet) -> dict[str, int]:
    counts: dict[str, int] = {}
    for pattern in patterns.patterns:
        counts[pattern.source.origin] = counts.get(pattern.source.origin, 0) + 1
    return counts


# -- the dry run -------------------------------------------------------------


@dataclass
class Selected:
    path: str
    kind: str
    root: bool
    # The pattern that selected it or, inside a selected directory, the root's.
    source: str
    # Inside a selected directory: that directory (the selection root).
    via: str | None = None
    created: bool = False

    def shown(self) -> str:
        return self.path + "/" if self.kind == DIRECTORY else self.path

    def as_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "type": self.kind,
            "root": self.root,
            "source": self.source,
            "via": self.via,
            "created": self.created,
        }


@dataclass
class Preview:
    summary: Summary
    selected: list[Selected] = field(default_factory=list)
    tightened: list[str] = field(default_factory=list)
    created: list[str] = field(default_factory=list)
    # Missing directories the build creates inside the selection.
    created_selected: int = 0

    @property
    def roots(self) -> list[Selected]:
        return [s for s in self.selected if s.root]

    @property
    def directories(self) -> int:
        """Directories the build makes writable, the ones it creates included."""
        return self.summary.selected_dirs + self.created_selected


def _tree_order(path: str) -> list[str]:
    return path.split("/")


def _root_of(roots_of: dict[str, Selected], parent: str) -> Selected:
    """The selection root above a selected directory's entry."""
    root = roots_of.get(parent)
    if root is None:  # cannot happen: the walk visits parents first
        root = Selected(parent, DIRECTORY, True, PARENT_SELECTED)
    return root


def preview(config: Config, every: bool) -> Preview:
    """Run the build's pass without changing anything, and collect what it would do.

    Without ``every`` only the selection roots are kept, not every entry beneath them.
    """
    selected: list[Selected] = []
    roots_of: dict[str, Selected] = {}  # selected directory -> its selection root
    tightened: list[str] = []

    def on_decision(entry: Entry, decision: Decision) -> None:
        mode = entry.stat.st_mode
        if not decision.selected or not (stat.S_ISDIR(mode) or stat.S_ISREG(mode)):
            return  # symlinks and special files stay as they are (and get a warning)
        kind = DIRECTORY if stat.S_ISDIR(mode) else FILE
        if decision.root:
            item = Selected(entry.path, kind, True, str(decision.reason))
            selected.append(item)
            if every and kind == DIRECTORY:
                roots_of[item.path] = item
        elif every:
            root = _root_of(roots_of, "/".join(entry.parent.names()))
            selected.append(Selected(entry.path, kind, False, root.source, root.path))
            if kind == DIRECTORY:
                roots_of[entry.path] = root

    def on_change(change: Change) -> None:
        if every and not change.decision.selected:
            tightened.append(change.path)

    engine = Pass(
        config.patterns,
        strict=config.settings.strict,
        gid=os.getgid(),
        applier=Applier(dry_run=True),
        on_change=on_change,
        on_decision=on_decision,
    )
    summary = engine.run(config.app_dir)
    # A dry run reports the parents of a missing directory once per pattern.
    created = list(dict.fromkeys(summary.created))
    created_selected = 0
    for path in created:
        names = tuple(os.fsencode(n) for n in path.split("/"))
        decision = engine.decider.decide_path(names)
        created_selected += decision.selected
        if decision.selected and decision.root:
            item = Selected(path, DIRECTORY, True, str(decision.reason), created=True)
            selected.append(item)
            roots_of[path] = item
        elif decision.selected and every:
            root = _root_of(roots_of, "/".join(path.split("/")[:-1]))
            selected.append(Selected(path, DIRECTORY, False, root.source, root.path, True))
            roots_of[path] = root
    selected.sort(key=lambda s: _tree_order(s.path))
    tightened.sort(key=_tree_order)
    return Preview(summary, selected, tightened, created, created_selected)


# -- output helpers ----------------------------------------------------------


def _out(text: str = "") -> None:
    sys.stdout.write(printable(text, keep_newlines=True) + "\n")


def _error(err: UserError) -> None:
    sys.stderr.write(f"ERROR: {printable(err.render(), keep_newlines=True)}\n")


def _json(data: dict[str, Any]) -> None:
    # ASCII escapes keep names that are not UTF-8 (lone surrogates) printable.
    sys.stdout.write(json.dumps(data, indent=2) + "\n")


def _error_json(err: UserError) -> dict[str, str]:
    return {"title": err.title, "detail": err.detail, "hint": err.hint, "message": err.render()}


def _plural(n: int, one: str, many: str) -> str:
    return f"{n:,} {one if n == 1 else many}"


def _columns(rows: list[tuple[str, str]], indent: str = "    ") -> list[str]:
    width = min(max((len(a) for a, _ in rows), default=0), 40)
    return [f"{indent}{a:<{width}}  {b}".rstrip() for a, b in rows]


# -- check -------------------------------------------------------------------


def _check_json(
    app_dir: str,
    config: Config | None,
    result: Preview | None,
    error: UserError | None,
    every: bool,
) -> dict[str, Any]:
    summary = result.summary if result else None
    warnings = []
    counts: dict[str, int] = {}
    if summary is not None:
        counts = dict(summary.warnings.counts)
        for kind, messages in summary.warnings.shown.items():
            warnings += [{"kind": kind, "message": message} for message in messages]
    return {
        "version": JSON_VERSION,
        "app_dir": app_dir,
        "valid": error is None,
        "configured": bool(config and config.patterns),
        "strict": config.settings.strict if config else None,
        "patterns": [
            {"source": str(p.source), "origin": p.source.origin, "line": p.source.line}
            for p in (config.patterns.patterns if config else ())
        ],
        "selected": [s.as_json() for s in result.selected] if result else [],
        "tightened": {
            "count": summary.tightened if summary else 0,
            "paths": result.tightened if result and every else None,
        },
        "created": result.created if result else [],
        "writable": {
            "directories": result.directories if result else 0,
            "files": summary.selected_files if summary else 0,
        },
        "warnings": warnings,
        "warning_counts": counts,
        "errors": [_error_json(error)] if error else [],
    }


def _check_text(config: Config, result: Preview, every: bool) -> None:
    reporter = Reporter(sys.stdout)
    summary = result.summary
    strict = config.settings.strict
    reporter.title(f"{PROG} check {config.app_dir}")
    reporter.step("Reading patterns")
    for origin, count in _origins(config.patterns).items():
        reporter.detail(f"{origin}: {_plural(count, 'pattern', 'patterns')}")
    reporter.step(f"Writable for the group (strict={str(strict).lower()})")
    shown = result.selected if every else result.roots
    if not shown:
        reporter.detail("nothing: no pattern selects a path")
    rows = []
    for item in shown:
        note = " (created by the build)" if item.created and item.root else ""
        via = f" (inside {item.via}/)" if item.via else ""
        rows.append((item.shown(), f"{item.source}{via}{note}"))
    for line in _columns(rows):
        _out(line)
    if result.created:
        reporter.step(
            f"Created by the build: {_plural(len(result.created), 'directory', 'directories')}"
        )
        for path in result.created:
            reporter.detail(path + "/")
    if strict:
        tight = _plural(summary.tightened, "path", "paths")
        hint = "" if every or not summary.tightened else " (--all lists them)"
        reporter.step(f"Made read-only for group and others: {tight}{hint}")
        if every:
            for path in result.tightened:
                reporter.detail("(the app directory)" if path == "." else path)
    else:
        reporter.step("Strict mode is off: unselected paths stay as they are")
    reporter.warnings(summary.warnings)
    reporter.step("Summary")
    reporter.detail(
        f"Writable for the group: {_plural(result.directories, 'directory', 'directories')}"
        f" and {_plural(summary.selected_files, 'file', 'files')}"
        f" under {_plural(len(result.roots), 'selection root', 'selection roots')}"
    )
    reporter.detail(f"Warnings: {summary.warnings.total():,}")


def cmd_check(args: argparse.Namespace) -> int:
    app_dir = os.path.abspath(args.app_dir)
    config: Config | None = None
    try:
        config = load(args.app_dir)
        result = preview(config, args.all) if config.patterns else None
    except UserError as err:
        if args.json:
            _json(_check_json(app_dir, config, None, err, args.all))
        else:
            _error(err)
        return EXIT_ERROR
    if result is not None and result.summary.unchangeable:
        paths = ", ".join(p for p, _ in result.summary.unchangeable[:5])
        problem = UserError(
            "Some selected paths cannot be changed",
            f"These selected paths cannot be changed by this user: {paths}.",
            "Make sure the build user owns them.",
        )
        if args.json:
            _json(_check_json(app_dir, config, result, problem, args.all))
        else:
            _error(problem)
        return EXIT_ERROR
    if args.json:
        _json(_check_json(app_dir, config, result, None, args.all))
    elif result is None:
        name = pattern_file_name(read_settings(os.environ, None))[0]
        _out(
            f"No writable paths configured (no {name} file, BP_WRITABLE_PATHS unset): "
            "the build does nothing. Run 'writable-paths init' to write a starter file."
        )
    else:
        _check_text(config, result, args.all)
    if args.strict_warnings and result is not None and result.summary.warnings.total():
        return EXIT_WARNINGS
    return EXIT_OK


# -- explain -----------------------------------------------------------------


class PathError(UserError):
    """A PATH given to explain that cannot name anything in the app."""


@dataclass
class Explanation:
    path: str
    exists: bool
    kind: str  # directory, file, symlink, special, beyond-symlink
    effect: str  # writable, read-only, unchanged
    why: str  # pattern, negation, parent, symlink, none, not-configured, app-root
    source: str | None = None
    ancestor: str | None = None
    created_by: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def writable(self) -> bool:
        return self.effect == "writable"

    def shown(self) -> str:
        if self.path == ".":
            return ". (the app directory)"
        return self.path + "/" if self.kind == DIRECTORY else self.path

    def reason(self) -> str:
        if self.why == "pattern":
            return f"selected by {self.source}"
        if self.why == "negation":
            return f"un-selected by {self.source} (the last matching pattern wins)"
        if self.why == "parent":
            return f"{PARENT_SELECTED}: '{self.ancestor}/' is selected by {self.source}"
        if self.why == "symlink":
            return (
                f"'{self.ancestor}' is a symlink: the buildpack never follows symlinks, so "
                "nothing beneath it changes"
            )
        if self.why == "not-configured":
            return "no writable paths configured: the build changes nothing"
        if self.why == "app-root":
            return "the app directory itself is never selected"
        return "no pattern matches it"

    def as_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "exists": self.exists,
            "type": self.kind,
            "writable": self.writable,
            "effect": self.effect,
            "decided_by": {
                "kind": self.why,
                "source": self.source,
                "ancestor": self.ancestor,
                "text": self.reason(),
            },
            "created_by": self.created_by,
            "notes": self.notes,
        }


def split_path(raw: str, app_dir: str) -> tuple[list[str], bool]:
    """The segments of ``raw`` relative to the app root, and whether it ends in '/'."""
    if not raw:
        raise PathError(f"Cannot explain {raw!r}", "The path is empty.", "Name a path in the app.")
    trailing = raw.endswith("/") or raw.endswith("/.") or raw in (".", "./")
    if os.path.isabs(raw):
        rel = os.path.relpath(os.path.normpath(raw), app_dir)
        if rel == ".." or rel.startswith("../"):
            raise PathError(
                f"Cannot explain {raw}",
                f"It is outside the app directory {app_dir}.",
                "Give a path relative to the app directory, or choose the app with --app.",
            )
        parts = rel.split("/")
    else:
        parts = raw.split("/")
        if ".." in parts:
            raise PathError(
                f"Cannot explain {raw}",
                "It has a '..' segment; the buildpack only changes paths inside the app.",
                "Give the path relative to the app directory, without '..'.",
            )
    return [p for p in parts if p not in ("", ".")], trailing


def _lstat(path: str) -> os.stat_result | None:
    try:
        return os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None


class Explainer:
    """Decides single paths with the build's ``Decider``."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.patterns = config.patterns
        self.decider = Decider(config.patterns)
        negations = tuple(p for p in config.patterns.patterns if p.negated)
        self.negations = Decider(PatternSet(negations))

    def _created_by(self, names: tuple[bytes, ...]) -> Source | None:
        """The pattern whose missing directory the build creates at or below ``names``."""
        for pattern in self.patterns.patterns:
            creates = pattern.creates
            if creates is None or creates[: len(names)] != names:
                continue
            if self.decider.decide_path(creates).selected:
                return pattern.source
        return None

    def explain(self, raw: str) -> Explanation:
        names, trailing = split_path(raw, self.config.app_dir)
        if not names:
            return self._app_root()
        return self._explain(names, trailing, alternative=True)

    def _app_root(self) -> Explanation:
        if not self.patterns:
            return Explanation(".", True, DIRECTORY, "unchanged", "not-configured")
        if self.config.settings.strict:
            note = "strict mode: the app directory loses group and other write"
            return Explanation(".", True, DIRECTORY, "read-only", "app-root", notes=[note])
        note = "strict mode is off: the app directory only loses other write"
        return Explanation(".", True, DIRECTORY, "unchanged", "app-root", notes=[note])

    def _explain(self, names: list[str], trailing: bool, alternative: bool) -> Explanation:
        app_dir = self.config.app_dir
        path = "/".join(names)
        encoded = tuple(os.fsencode(n) for n in names)
        created_by = None
        notes: list[str] = []
        context: Context | None = self.decider.root
        decisions: list[Decision] = []
        dirs: list[bool] = []
        exists = True
        kind = DIRECTORY
        stopped_at: str | None = None  # a symlink on the way
        final_st: os.stat_result | None = None
        for depth, name in enumerate(encoded):
            last = depth == len(encoded) - 1
            here = "/".join(names[: depth + 1])
            st = _lstat(os.path.join(app_dir, here)) if exists else None
            if st is None:
                if exists:
                    exists = False
                    source = self._created_by(encoded)
                    created_by = str(source) if source is not None else None
                is_dir = not last or trailing or created_by is not None
                kind = DIRECTORY if is_dir else FILE
            elif stat.S_ISLNK(st.st_mode):
                is_dir, kind = False, "symlink"
            elif stat.S_ISDIR(st.st_mode):
                is_dir, kind = True, DIRECTORY
            elif stat.S_ISREG(st.st_mode):
                is_dir, kind = False, FILE
            else:
                is_dir, kind = False, "special"
            if not last and st is not None and not is_dir and kind != "symlink":
                raise PathError(
                    f"Cannot explain {path}",
                    f"'{here}' is a {kind}, so '{path}' cannot exist.",
                    "Check the path.",
                )
            assert context is not None
            if kind == "symlink" and not last and not context.selected:
                reaching = self.decider.reaching_through(context, name)
                for pattern in reaching:
                    notes.append(
                        f"{pattern.source} reaches through the symlink '{here}': the build "
                        "warns and leaves the target as it is"
                    )
            decision, context = self.decider.decide(context, name, is_dir)
            decisions.append(decision)
            dirs.append(is_dir)
            if last:
                final_st = st
            if kind == "symlink":
                if not last:
                    stopped_at = here
                break

        decision = decisions[-1]
        result = Explanation(path, exists, kind, "", "none", created_by=created_by, notes=notes)
        self._decided_by(result, decisions, names)
        if not self.patterns:
            result.why, result.effect = "not-configured", "unchanged"
        elif stopped_at is not None:
            result.kind, result.effect, result.why = "beyond-symlink", "unchanged", "symlink"
            result.ancestor, result.source = stopped_at, None
        elif kind == "symlink":
            result.effect = "unchanged"
            result.notes.append(
                f"'{path}' is a symlink: the buildpack never follows or changes symlinks; "
                "what it points to stays as it is"
            )
        elif kind == "special":
            result.effect = "unchanged"
            result.notes.append("sockets, FIFOs and devices are left unchanged")
        elif decision.selected:
            result.effect = "writable"
        elif self.config.settings.strict:
            result.effect = "read-only"
        else:
            result.effect = "unchanged"
            result.notes.append("strict mode is off: unselected paths stay as they are")
        if result.why == "parent":
            self._ineffective_negations(result, encoded, dirs, decisions)
        elif result.why == "none":
            for depth, earlier in enumerate(decisions[:-1]):
                if isinstance(earlier.reason, Source) and not earlier.selected:
                    result.notes.append(
                        f"its directory '{'/'.join(names[: depth + 1])}' is un-selected by "
                        f"{earlier.reason}"
                    )
        if final_st is not None and kind == FILE and final_st.st_nlink > 1:
            result.notes.append(
                f"it has {final_st.st_nlink} hard links: the build leaves it unchanged if any "
                "link is outside the app, and makes it writable if any link inside is selected"
            )
        if created_by is not None:
            result.notes.append(f"it does not exist yet: the build creates it ({created_by})")
        elif not exists:
            result.notes.append("it does not exist (yet)")
            if alternative and not trailing:
                other = self._explain(names, True, alternative=False)
                if other.effect != result.effect:
                    result.notes.append(
                        f"as a directory ('{path}/') it would be {other.effect}: {other.reason()}"
                    )
        return result

    @staticmethod
    def _decided_by(result: Explanation, decisions: list[Decision], names: list[str]) -> None:
        decision = decisions[-1]
        reason = decision.reason
        if isinstance(reason, Source):
            result.why = "pattern" if decision.selected else "negation"
            result.source = str(reason)
        elif reason == PARENT_SELECTED:
            top = next(i for i, d in enumerate(decisions) if d.selected)
            result.why = "parent"
            result.ancestor = "/".join(names[: top + 1])
            result.source = str(decisions[top].reason)

    def _ineffective_negations(
        self,
        result: Explanation,
        names: tuple[bytes, ...],
        dirs: list[bool],
        decisions: list[Decision],
    ) -> None:
        top = next(i for i, d in enumerate(decisions) if d.selected)
        context: Context | None = self.negations.root
        for depth, (name, is_dir) in enumerate(zip(names, dirs)):
            assert context is not None
            decision, context = self.negations.decide(context, name, is_dir)
            if depth > top and isinstance(decision.reason, Source):
                here = os.fsdecode(b"/".join(names[: depth + 1]))
                result.notes.append(
                    f"{decision.reason} cannot un-select '{here}': nothing inside a selected "
                    "directory can be re-included (git's rule). To keep part of "
                    f"'{result.ancestor}' read-only, select its contents instead "
                    f"('{result.ancestor}/*') and negate the part"
                )


def _explain_text(items: list[Explanation | PathError], raws: list[str]) -> None:
    for raw, item in zip(raws, items):
        if isinstance(item, PathError):
            _out(f"{raw}: error: {item.detail}")
            continue
        effect = item.effect
        if effect == "read-only":
            effect = "read-only (strict mode: group and others cannot write)"
        _out(f"{item.shown()}: {effect}")
        _out(f"    {item.reason()}")
        for note in item.notes:
            _out(f"    note: {note}")


def cmd_explain(args: argparse.Namespace) -> int:
    app_dir = os.path.abspath(args.app)
    try:
        config = load(args.app)
    except UserError as err:
        if args.json:
            _json(
                {
                    "version": JSON_VERSION,
                    "app_dir": app_dir,
                    "paths": [],
                    "errors": [_error_json(err)],
                }
            )
        else:
            _error(err)
        return EXIT_ERROR
    explainer = Explainer(config)
    items: list[Explanation | PathError] = []
    for raw in args.paths:
        try:
            items.append(explainer.explain(raw))
        except PathError as err:
            items.append(err)
    failed = [(raw, i) for raw, i in zip(args.paths, items) if isinstance(i, PathError)]
    if args.json:
        _json(
            {
                "version": JSON_VERSION,
                "app_dir": config.app_dir,
                "strict": config.settings.strict,
                "configured": bool(config.patterns),
                "paths": [
                    i.as_json()
                    if isinstance(i, Explanation)
                    else {"path": raw, "error": i.render()}
                    for raw, i in zip(args.paths, items)
                ],
                "errors": [_error_json(e) for _, e in failed],
            }
        )
    else:
        _explain_text(items, args.paths)
    return EXIT_ERROR if failed else EXIT_OK


# -- init --------------------------------------------------------------------


def cmd_init(args: argparse.Namespace) -> int:
    try:
        app_dir = _app_dir(args.app_dir)
    except UserError as err:
        _error(err)
        return EXIT_ERROR
    frameworks = starter.recognise(app_dir)
    text = starter.render(frameworks)
    if args.stdout:
        sys.stdout.write(text)
        return EXIT_OK
    target = os.path.join(app_dir, DEFAULT_FILE)
    try:
        fd = os.open(
            target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644
        )
    except FileExistsError:
        _error(
            UserError(
                f"{DEFAULT_FILE} already exists",
                f"{target} is there already; init never overwrites it.",
                "Edit it, or remove it and run 'writable-paths init' again. "
                "'writable-paths init --stdout' prints the starter without writing it.",
            )
        )
        return EXIT_ERROR
    except OSError as err:
        _error(UserError(f"Cannot write {DEFAULT_FILE}", f"{target}: {err.strerror}."))
        return EXIT_ERROR
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    if frameworks:
        found = ", ".join(f"{f.name} ({f.evidence})" for f in frameworks)
        _out(f"Recognised {found}.")
        _out(f"Wrote {target}.")
    else:
        _out("Recognised no framework (Rails, Laravel, Django, Next.js).")
        _out(f"Wrote {target} with commented examples only: uncomment what the app needs.")
    _out("Review it, then run 'writable-paths check' to see what the build will do.")
    return EXIT_OK


# -- manifest ----------------------------------------------------------------


def _content(app_dir: str, path: str) -> tuple[str, ...]:
    try:
        with os.scandir(os.path.join(app_dir, path)) as it:
            names = [
                e.name + ("/" if e.is_dir(follow_symlinks=False) else "")
                for e in it
                if e.name not in manifest.PLACEHOLDERS
            ]
    except OSError:
        return ()
    return tuple(sorted(names))


def cmd_manifest(args: argparse.Namespace) -> int:
    if not args.app_path.startswith("/"):
        _error(
            UserError(
                "Invalid --app-path",
                f"'{args.app_path}' is not an absolute path.",
                "Give the app directory inside the image (CNB images use /workspace).",
            )
        )
        return EXIT_ERROR
    try:
        config = load(args.app_dir)
        result = preview(config, every=False) if config.patterns else None
    except UserError as err:
        _error(err)
        return EXIT_ERROR
    plan = manifest.Plan()
    for root in result.roots if result else []:
        why = manifest.mountable(root.path, root.kind)
        if why is not None:
            plan.skipped.append(manifest.Skipped(root.path, why))
            continue
        content = () if root.created else _content(config.app_dir, root.path)
        plan.mounts.append(manifest.Mount(root.path, root.source, content))
    sys.stdout.write(manifest.render(args.format, plan, args.app_path, args.group))
    if result is not None and result.summary.warnings.total():
        count = _plural(result.summary.warnings.total(), "warning", "warnings")
        sys.stderr.write(f"note: the configuration has {count}; see 'writable-paths check'.\n")
    return EXIT_OK


# -- the parser --------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    """Usage errors exit 1 (2 is check's "warnings" code)."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_ERROR, f"{self.prog}: error: {message}\n")


def _group(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"'{text}' is negative")
    return value


CONFIG_HELP = (
    "The configuration is read as the build reads it: the pattern file (.writable-paths, "
    "or BP_WRITABLE_PATHS_FILE) and BP_WRITABLE_PATHS and BP_WRITABLE_PATHS_STRICT from "
    "this shell's environment. Nothing is changed."
)


def parser() -> argparse.ArgumentParser:
    top = _Parser(
        prog=PROG,
        description="Preview and explain what the writable-paths buildpack does with an app, "
        "before building it.",
        epilog="Exit codes: 0 success, 1 invalid configuration or usage, "
        "2 warnings (check --strict-warnings).",
    )
    top.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = top.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    check = sub.add_parser(
        "check",
        help="dry run: what would become writable, read-only or created, and warnings",
        description="Dry run of the build on APP_DIR: lists the selection roots (selected "
        "paths whose parent is not selected) with the pattern that selected each, the "
        "paths strict mode would make read-only, the directories the build would create, "
        "and warnings. " + CONFIG_HELP,
        epilog="Exit codes: 0 valid configuration, 1 invalid, 2 warnings with --strict-warnings.",
    )
    check.add_argument(
        "app_dir",
        nargs="?",
        default=".",
        metavar="APP_DIR",
        help="the app's root directory (default: .)",
    )
    check.add_argument(
        "--all",
        action="store_true",
        help="list every selected entry and every path strict mode tightens",
    )
    check.add_argument(
        "--strict-warnings",
        action="store_true",
        help="exit 2 when there are warnings (for CI and pre-commit)",
    )
    check.add_argument("--json", action="store_true", help="print JSON for machines")
    check.set_defaults(run=cmd_check)

    explain = sub.add_parser(
        "explain",
        help="whether paths end up writable, and which pattern line decided it",
        description="For each PATH (relative to the app directory; it need not exist, and a "
        "trailing '/' marks a missing one as a directory): whether the build makes it "
        "writable, and the pattern line that decided it. " + CONFIG_HELP,
    )
    explain.add_argument("paths", nargs="+", metavar="PATH", help="a path in the app")
    explain.add_argument(
        "--app", default=".", metavar="APP_DIR", help="the app's root directory (default: .)"
    )
    explain.add_argument("--json", action="store_true", help="print JSON for machines")
    explain.set_defaults(run=cmd_explain)

    init = sub.add_parser(
        "init",
        help="write a starter .writable-paths for the recognised framework",
        description="Write a commented starter .writable-paths into APP_DIR from what it "
        "recognises (Rails, Laravel, Django, Next.js); with nothing recognised, a template "
        "of commented examples. Never overwrites an existing file.",
    )
    init.add_argument(
        "app_dir",
        nargs="?",
        default=".",
        metavar="APP_DIR",
        help="the app's root directory (default: .)",
    )
    init.add_argument(
        "--stdout", action="store_true", help="print the starter instead of writing the file"
    )
    init.set_defaults(run=cmd_init)

    mani = sub.add_parser(
        "manifest",
        help="volumes for running the image with a read-only root file system",
        description="Print the Kubernetes (emptyDir volumes, volumeMounts, securityContext) "
        "or Compose (read_only, tmpfs) settings that give the app's writable directories "
        "volumes when the root file system is read-only. " + CONFIG_HELP,
    )
    mani.add_argument(
        "app_dir",
        nargs="?",
        default=".",
        metavar="APP_DIR",
        help="the app's root directory (default: .)",
    )
    mani.add_argument(
        "--format", required=True, choices=manifest.FORMATS, help="kubernetes or compose"
    )
    mani.add_argument(
        "--app-path",
        default=manifest.DEFAULT_APP_PATH,
        metavar="PATH",
        help="the app directory in the image (default: /workspace)",
    )
    mani.add_argument(
        "--group",
        type=_group,
        default=manifest.DEFAULT_GROUP,
        metavar="GID",
        help="the CNB group id of the run image (default: 1000)",
    )
    mani.set_defaults(run=cmd_manifest)
    return top


def _version() -> str:
    try:
        return version(PROG)
    except PackageNotFoundError:
        return "unknown"


def main(argv: Sequence[str] | None = None) -> int:
    top = parser()
    try:
        args = top.parse_args(argv)
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else EXIT_ERROR
    if args.command is None:
        top.print_help(sys.stderr)
        return EXIT_ERROR
    try:
        code: int = args.run(args)
        return code
    except KeyboardInterrupt:
        return 130
    except UserError as err:
        _error(err)
        return EXIT_ERROR
    except OSError as err:
        name = f" {err.filename}" if err.filename else ""
        sys.stderr.write(f"ERROR: {err.strerror or err}{name}\n")
        return EXIT_ERROR
    except Exception as err:
        sys.stderr.write(
            f"ERROR: writable-paths failed unexpectedly ({type(err).__name__}: {err}). "
            "This is a bug; please report it with the command you ran.\n"
        )
        return EXIT_BUG


if __name__ == "__main__":
    sys.exit(main())
