"""The shell around ``suggest``: read the log, check each proposal against the
app's current configuration (the build's own ``Explainer``), print, and with
``--write`` append the new lines to the pattern file."""

from __future__ import annotations

import os
import re
import stat
import sys
from collections.abc import Callable, Iterable
from typing import TextIO

from .. import wording
from ..errors import printable
from . import app_readers, starter
from .explain import Explainer, PathError
from .preview import Config, load
from .suggest import Known, Proposal, Suggestion, propose, scan

MAX_LOG_BYTES = 256 * 1024 * 1024


def _lines(log: str) -> Iterable[str]:
    if log == "-":
        yield from sys.stdin.buffer.read(MAX_LOG_BYTES).decode("utf-8", "replace").splitlines()
        return
    try:
        with open(log, "rb") as handle:
            data = handle.read(MAX_LOG_BYTES)
    except OSError as err:
        raise wording.log_unreadable(log, str(err.strerror)) from None
    yield from data.decode("utf-8", "replace").splitlines()


def _databases(app_dir: str) -> list[str]:
    """SQLite databases the app's settings name (Django, Rails), for errors that
    name no file."""
    found = list(app_readers.rails_sqlite_databases(app_dir))
    django = app_readers.django_paths(app_dir)
    if django is not None:
        found += django.databases
    return found


_PLAIN_DIRECTORY = re.compile(r"^/[^*?\[\\!#]+/$")


def _known(app_dir: str) -> list[Known]:
    """The plain directories ``init`` would write for the app's frameworks."""
    found = []
    for framework in starter.recognise(app_dir):
        for line in framework.lines:
            if _PLAIN_DIRECTORY.match(line.pattern):
                found.append(Known(line.pattern.strip("/"), framework.name, line.why))
    return found


def _selected_by(explainer: Explainer, item: Suggestion) -> str | None:
    """The line that already makes the suggested path writable, or None."""
    raw = item.directory + ("/" if item.pattern.endswith("/") else "")
    try:
        result = explainer.explain(raw)
    except PathError:
        return None
    return result.source if result.writable else None


def run(log: str, app: str, app_path: str, write: bool, out: TextIO) -> int:
    if not app_path.startswith("/"):
        raise wording.bad_app_path(app_path)
    config = load(app)
    name = config.settings.pattern_file
    shown_log = wording.SUGGEST_STDIN if log == "-" else log
    app_dir = config.app_dir
    proposal = propose(scan(_lines(log)), app_path, _databases(app_dir), _known(app_dir))
    explainer = Explainer(config)
    for item in proposal.suggestions + proposal.volumes:
        item.selected_by = _selected_by(explainer, item)

    def say(text: str = "") -> None:
        out.write(printable(text, keep_newlines=True) + "\n")

    if not proposal.errors:
        say(wording.SUGGEST_NONE_FOUND.format(log=shown_log))
        return 0
    say(
        wording.SUGGEST_TITLE.format(
            errors=wording.plural(proposal.errors, "permission error", "permission errors"),
            log=shown_log,
        )
    )
    new = [s for s in proposal.suggestions if s.selected_by is None]
    _render(say, proposal, new, shown_log, name, app_path)
    if not new:
        if write and proposal.suggestions:
            say(wording.SUGGEST_NOTHING_TO_WRITE.format(file=name))
        return 0
    if not write:
        say()
        say(wording.SUGGEST_NEXT_WRITE.format(file=name))
        return 0
    _append(config, name, new, shown_log)
    say()
    say(wording.SUGGEST_WROTE.format(count=wording.plural(len(new), "line", "lines"), file=name))
    return 0


def _refs(item: Suggestion, log: str) -> str:
    lines = ", ".join(str(n) for n in item.lines[:10]) + (", ..." if len(item.lines) > 10 else "")
    runtimes = f" ({', '.join(item.runtimes)})" if item.runtimes else ""
    return wording.SUGGEST_LINE_REFS.format(
        log=log, s="s" if len(item.lines) > 1 else "", lines=lines, runtimes=runtimes
    )


def _render(
    say: Callable[..., None],
    proposal: Proposal,
    new: list[Suggestion],
    log: str,
    name: str,
    app_path: str,
) -> None:
    if new:
        say()
        say(wording.SUGGEST_ADD.format(file=name))
        for item in new:
            say(f"  {item.pattern}")
            say(f"    why: {item.reason}")
            say(_refs(item, log))
    already = [s for s in proposal.suggestions if s.selected_by is not None]
    if already:
        say()
        say(wording.SUGGEST_ALREADY)
        for item in already:
            say(wording.SUGGEST_ALREADY_ITEM.format(pattern=item.pattern, source=item.selected_by))
    if proposal.volumes:
        say()
        say(wording.SUGGEST_VOLUMES)
        for item in proposal.volumes:
            say(f"  {app_path.rstrip('/')}/{item.directory}")
            say(_refs(item, log))
            if item.selected_by is not None:
                say(wording.SUGGEST_VOLUME_SELECTED.format(source=item.selected_by))
            else:
                say(wording.SUGGEST_VOLUME_NOT_SELECTED.format(pattern=item.pattern, file=name))
    if proposal.outside:
        say()
        say(wording.SUGGEST_OUTSIDE.format(app_path=app_path))
        for path, line in proposal.outside[:20]:
            say(wording.SUGGEST_OUTSIDE_ITEM.format(path=path, line=line))
    if proposal.hints:
        say()
        say(wording.SUGGEST_NOTES)
        for hint in proposal.hints:
            say(f"  {hint}")


def _append(config: Config, name: str, new: list[Suggestion], log: str) -> None:
    """Append the lines (each after its reason as a comment) to the pattern file,
    creating it when missing; never through a symlink."""
    path = os.path.join(config.app_dir, name)
    flags = os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
    try:
        fd = os.open(path, flags, 0o644)
    except OSError as err:
        raise wording.suggest_cannot_write(name, path, str(err.strerror)) from None
    with os.fdopen(fd, "r+b") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise wording.suggest_not_a_file(name, path)
        text = []
        if info.st_size:
            handle.seek(-1, os.SEEK_END)
            if handle.read(1) != b"\n":
                text.append("")
            text.append("")
        text.append(wording.SUGGEST_WRITE_HEADER.format(log=log))
        for item in new:
            text.append(f"# {item.reason[:1].upper()}{item.reason[1:]}.")
            text.append(item.pattern)
        handle.write(("\n".join(text) + "\n").encode("utf-8"))
