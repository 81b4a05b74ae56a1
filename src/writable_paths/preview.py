"""The dry run behind ``writable-paths check``: the build's own engine with an
applier that changes nothing, and what it would select, tighten and create."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from typing import Any

from .apply import Applier
from .config import load_patterns, read_settings
from .decide import PARENT_SELECTED, Decision
from .engine import Change, Pass, Summary
from .errors import UserError
from .patterns import PatternSet
from .settings import Settings
from .walk import Entry

DIRECTORY = "directory"
FILE = "file"


@dataclass
class Config:
    app_dir: str
    settings: Settings
    patterns: PatternSet


def resolve_app_dir(raw: str) -> str:
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
    app_dir = resolve_app_dir(raw_app_dir)
    values = read_settings(os.environ, None)
    settings = Settings.from_values(values)
    return Config(app_dir, settings, load_patterns(app_dir, values))


def origins(patterns: PatternSet) -> dict[str, int]:
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
