"""How the build lays out what a person reads: a title, steps indented two
spaces per level, warnings, errors and a summary. The sentences themselves
come from ``wording``; everything printed is escaped (``errors.printable``)."""

from __future__ import annotations

import sys

from . import wording
from .core.policy import permission_string
from .errors import printable

TYPE_CHECKING = False  # the build imports this module: no typing at run time
if TYPE_CHECKING:
    from typing import TextIO

    from .core.findings import Findings
    from .errors import UserError
    from .fs.engine import Change, Summary


class Reporter:
    def __init__(self, out: TextIO = sys.stdout, debug: bool = False) -> None:
        self.out = out
        self.debug_enabled = debug

    def _line(self, indent: int, text: str) -> None:
        self.out.write("  " * indent + printable(text) + "\n")

    def title(self, title: str) -> None:
        self._line(0, title)

    def step(self, text: str) -> None:
        self._line(1, text)

    def detail(self, text: str) -> None:
        self._line(2, text)

    def debug(self, text: str) -> None:
        if self.debug_enabled:
            self._line(2, text)

    def change(self, change: Change) -> None:
        if not self.debug_enabled:
            return
        reason = change.decision.reason
        why = str(reason) if reason is not None else wording.NOT_SELECTED
        old, new = permission_string(change.old_mode), permission_string(change.new_mode)
        self._line(2, wording.change(change.path, old, new, why))

    def findings(self, findings: Findings, pattern_file: str) -> None:
        if not findings.counts:
            return
        self.step(wording.warnings_heading(findings.total()))
        for kind, items in findings.shown():
            self.detail(wording.heading(kind) + ":")
            for item in items:
                self._line(3, "- " + wording.finding(item, pattern_file))
            hidden = findings.hidden(kind)
            if hidden > 0:
                self._line(3, wording.hidden(hidden))

    def misspelled(self, findings: Findings, pattern_file: str, *, level: int) -> bool:
        """With nothing configured: name a misspelled pattern file, if there is one,
        under a "not configured" line at ``level``; whether there was one."""
        if not findings.total():
            return False
        self._line(level, wording.not_configured(pattern_file))
        self.findings(findings, pattern_file)
        return True

    def summary(self, summary: Summary, seconds: float) -> None:
        self.step(wording.SUMMARY)
        self.detail(wording.writable_counts(summary.selected_dirs, summary.selected_files))
        self.detail(wording.tightened_count(summary.tightened))
        self.detail(wording.created_count(len(summary.created)))
        self.detail(wording.done(seconds, summary.workers))

    def error(self, error: UserError) -> None:
        err = sys.stderr if self.out is sys.stdout else self.out
        err.write(f"ERROR: {printable(error.render(), keep_newlines=True)}\n")
