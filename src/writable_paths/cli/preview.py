"""The dry run behind ``writable-paths check``: the build's own engine with an
applier that changes nothing, and what it would select, tighten and create."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from typing import Any

from .. import wording
from ..cnb.settings import Settings, read_settings
from ..cnb.sources import load_patterns
from ..core import policy
from ..core.decide import Decision
from ..core.patterns import PatternSet
from ..core.policy import DIRECTORY, FILE
from ..fs.apply import Applier
from ..fs.engine import Change, Pass, Summary
from ..fs.walk import Entry


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
        raise wording.app_dir_refused(raw, path, err.strerror or str(err)) from None
    if not stat.S_ISDIR(st.st_mode):
        raise wording.app_dir_refused(raw, path, wording.NOT_A_DIRECTORY)
    return path


def load(raw_app_dir: str) -> Config:
    """The app's configuration, read and validated exactly as the build does
    (pattern file and ``BP_*`` variables from this process's environment)."""
    app_dir = resolve_app_dir(raw_app_dir)
    settings = read_settings(os.environ, None)
    return Config(app_dir, settings, load_patterns(app_dir, settings))


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
    # Whether the run user can really write it (its selection root can be reached).
    writable: bool = True

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
            "writable": self.writable,
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


def _selected(path: str, kind: str, decision: Decision, created: bool = False) -> Selected:
    """What ``check`` lists for a selected entry: a root, or the root it lies under."""
    selection = decision.selection
    assert selection is not None
    via = None if decision.root else selection.path
    return Selected(path, kind, decision.root, str(selection.source), via, created)


def preview(config: Config, every: bool) -> Preview:
    """Run the build's pass without changing anything, and collect what it would do.

    Without ``every`` only the selection roots are kept, not every entry beneath them.
    """
    selected: list[Selected] = []
    tightened: list[str] = []

    def on_decision(entry: Entry, decision: Decision) -> None:
        kind = policy.kind_of(entry.stat.st_mode)
        if not decision.selected or kind not in (DIRECTORY, FILE):
            return  # symlinks and special files stay as they are (and get a warning)
        if decision.root or every:
            selected.append(_selected(entry.path, kind, decision))

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
        pattern_file=config.settings.pattern_file,
    )
    summary = engine.run(config.app_dir)
    # A dry run reports the parents of a missing directory once per pattern.
    created = list(dict.fromkeys(summary.created))
    created_selected = 0
    for path in created:
        names = tuple(os.fsencode(n) for n in path.split("/"))
        decision = engine.decider.decide_path(names)
        created_selected += decision.selected
        if decision.selected and (decision.root or every):
            selected.append(_selected(path, DIRECTORY, decision, created=True))
    blocked = set(summary.unreachable)
    for item in selected:
        item.writable = (item.via if item.via is not None else item.path) not in blocked
    selected.sort(key=lambda s: _tree_order(s.path))
    tightened.sort(key=_tree_order)
    return Preview(summary, selected, tightened, created, created_selected)
