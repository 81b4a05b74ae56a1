"""Everything a person reads: title, indented steps, warnings, errors, summary."""

from __future__ import annotations

import sys

from .engine import WARNINGS_SHOWN
from .errors import printable
from .modes import permission_string

TYPE_CHECKING = False  # the build imports this module: no typing at run time
if TYPE_CHECKING:
    from typing import TextIO

    from .engine import Change, Summary, Warnings
    from .errors import UserError

_WARNING_HEADINGS = {
    "symlink": "Symlinks that patterns reach (left unchanged)",
    "unused": "Patterns that select nothing",
    "unreadable": "Directories the build user cannot read",
    "hardlink": "Files hard-linked outside the app (left unchanged)",
    "special": "Sockets, FIFOs and devices (left unchanged)",
    "blocked": "Directories that could not be created",
    "tighten-failed": "Paths that could not be made read-only",
}


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
        why = str(reason) if reason is not None else "not selected"
        self._line(
            2,
            f"{change.path}: {permission_string(change.old_mode)} -> "
            f"{permission_string(change.new_mode)} ({why})",
        )

    def warnings(self, warnings: Warnings) -> None:
        if not warnings.counts:
            return
        self.step(f"Warnings ({warnings.total()})")
        for kind, messages in warnings.shown.items():
            self.detail(_WARNING_HEADINGS.get(kind, kind) + ":")
            for message in messages:
                self._line(3, "- " + message)
            hidden = warnings.counts[kind] - WARNINGS_SHOWN
            if hidden > 0:
                self._line(3, f"... and {hidden:,} more")

    def summary(self, summary: Summary, seconds: float) -> None:
        self.step("Summary")
        self.detail(
            f"Writable for the group: {_count(summary.selected_dirs, 'directory', 'directories')}"
            f" and {_count(summary.selected_files, 'file', 'files')}"
        )
        self.detail(
            f"Made read-only for group and others: {_count(summary.tightened, 'path', 'paths')}"
        )
        self.detail(f"Created: {_count(len(summary.created), 'directory', 'directories')}")
        workers = f", {summary.workers} worker processes" if summary.workers else ""
        self.detail(f"Done (finished in {seconds:.2f}s{workers})")

    def error(self, error: UserError) -> None:
        err = sys.stderr if self.out is sys.stdout else self.out
        err.write(f"ERROR: {printable(error.render(), keep_newlines=True)}\n")


def _count(n: int, one: str, many: str) -> str:
    return f"{n:,} {one if n == 1 else many}"
