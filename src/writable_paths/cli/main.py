"""``writable-paths``: the app developer's command (check, explain, init, manifest, suggest).

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
import sys
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from typing import Any, NoReturn

from .. import wording
from ..cnb.sources import misspelled_files
from ..core import policy
from ..core.findings import Findings
from ..errors import UserError, printable
from ..report import Reporter
from . import manifest, starter, suggest_command
from .explain import Explainer, Explanation, PathError
from .preview import Config, Preview, load, preview, resolve_app_dir

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_WARNINGS = 2
EXIT_BUG = 70
JSON_VERSION = 1
PROG = "writable-paths"


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
    found: Findings | None = None,
) -> dict[str, Any]:
    summary = result.summary if result else None
    warnings = []
    counts: dict[str, int] = {}
    if found is None and summary is not None:
        found = summary.findings
    if found is not None:
        counts = dict(found.counts)
        pattern_file = config.settings.pattern_file if config else wording.DEFAULT_FILE
        for kind, items in found.shown():
            warnings += [
                {"kind": kind, "path": i.path, "message": wording.finding(i, pattern_file)}
                for i in items
            ]
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
    reporter.title(wording.check_title(PROG, config.app_dir))
    reporter.step(wording.READING)
    for origin, count in config.patterns.origins().items():
        reporter.detail(wording.pattern_count(origin, count))
    reporter.step(wording.writable_step(strict))
    shown = result.selected if every else result.roots
    if not shown:
        reporter.detail(wording.NOTHING_SELECTED)
    rows = []
    for item in shown:
        note = wording.CREATED_NOTE if item.created and item.root else ""
        via = wording.inside(item.via) if item.via else ""
        rows.append((item.shown(), f"{item.source}{via}{note}"))
    for line in _columns(rows):
        _out(line)
    if result.created:
        reporter.step(wording.created_step(len(result.created)))
        for path in result.created:
            reporter.detail(path + "/")
    if strict:
        hint = "" if every or not summary.tightened else wording.ALL_HINT
        reporter.step(wording.tightened_count(summary.tightened) + hint)
        if every:
            for path in result.tightened:
                reporter.detail("(the app directory)" if path == "." else path)
    else:
        reporter.step(wording.STRICT_OFF_STEP)
    reporter.findings(summary.findings, config.settings.pattern_file)
    reporter.step(wording.SUMMARY)
    reporter.detail(
        wording.check_summary(result.directories, summary.selected_files, len(result.roots))
    )
    reporter.detail(wording.warning_total(summary.findings.total()))


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
    if result is not None and result.summary.failures:
        assert config is not None
        problem = wording.unchangeable(
            result.summary.failures, os.getuid(), config.settings.pattern_file
        )
        if args.json:
            _json(_check_json(app_dir, config, result, problem, args.all))
        else:
            _error(problem)
        return EXIT_ERROR
    assert config is not None
    # With nothing configured, the one mistake there can be: a misspelled file name.
    found = result.summary.findings if result else misspelled_files(config.app_dir, config.settings)
    if args.json:
        _json(_check_json(app_dir, config, result, None, args.all, found))
    elif result is None:
        _out(wording.check_not_configured(config.settings.pattern_file))
        Reporter(sys.stdout).findings(found, config.settings.pattern_file)
    else:
        _check_text(config, result, args.all)
    if args.strict_warnings and found.total():
        return EXIT_WARNINGS
    return EXIT_OK


# -- explain -----------------------------------------------------------------


def _explain_text(items: list[Explanation | PathError], raws: list[str]) -> None:
    for raw, item in zip(raws, items):
        if isinstance(item, PathError):
            _out(wording.path_error_line(raw, item.detail))
            continue
        effect = item.effect
        if effect == policy.READ_ONLY:
            effect = wording.READ_ONLY_STRICT
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
        app_dir = resolve_app_dir(args.app_dir)
    except UserError as err:
        _error(err)
        return EXIT_ERROR
    frameworks = starter.recognise(app_dir)
    text = starter.render(frameworks)
    if args.stdout:
        sys.stdout.write(text)
        return EXIT_OK
    target = os.path.join(app_dir, wording.DEFAULT_FILE)
    try:
        fd = os.open(
            target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644
        )
    except FileExistsError:
        _error(wording.init_exists(wording.DEFAULT_FILE, target))
        return EXIT_ERROR
    except OSError as err:
        _error(wording.init_cannot_write(wording.DEFAULT_FILE, target, str(err.strerror)))
        return EXIT_ERROR
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    if frameworks:
        found = ", ".join(f"{f.name} ({f.evidence})" for f in frameworks)
        lines = wording.init_recognised(found, target)
    else:
        lines = wording.init_nothing(starter.NAMES, target)
    for line in [*lines, wording.INIT_NEXT]:
        _out(line)
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
        _error(wording.bad_app_path(args.app_path))
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
    if result is not None and result.summary.findings.total():
        sys.stderr.write(wording.manifest_note(result.summary.findings.total()) + "\n")
    return EXIT_OK


# -- suggest -------------------------------------------------------------------


def cmd_suggest(args: argparse.Namespace) -> int:
    return suggest_command.run(args.log, args.app, args.app_path, args.write, sys.stdout)


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
        f"recognises ({starter.NAMES}); with nothing recognised, a template "
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

    sug = sub.add_parser(
        "suggest",
        help="read a container log and propose pattern lines for its permission errors",
        description="Read LOG (a file, or '-' or nothing for standard input) and propose a "
        "pattern line for every permission error under the app path that Ruby, Node, PHP, "
        "Python, Java or nginx printed, with the reason for each; 'Read-only file system' "
        "errors get volumes instead. Lines the configuration already selects are left out. "
        + CONFIG_HELP.replace(" Nothing is changed.", " Only --write changes a file."),
    )
    sug.add_argument("log", nargs="?", default="-", metavar="LOG", help="the log (default: -)")
    sug.add_argument(
        "--app", default=".", metavar="APP_DIR", help="the app's root directory (default: .)"
    )
    sug.add_argument(
        "--app-path",
        default=manifest.DEFAULT_APP_PATH,
        metavar="PATH",
        help="the app directory in the container that wrote the log (default: /workspace)",
    )
    sug.add_argument(
        "--write",
        action="store_true",
        help="append the new lines to the pattern file (BP_WRITABLE_PATHS_FILE, "
        "default .writable-paths)",
    )
    sug.set_defaults(run=cmd_suggest)
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
        sys.stderr.write(f"ERROR: {wording.cli_bug(type(err).__name__, err)}\n")
        return EXIT_BUG


if __name__ == "__main__":
    sys.exit(main())
