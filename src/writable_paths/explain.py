"""``writable-paths explain``: whether a path ends up writable, and which pattern
line (or selected parent) decided it; paths need not exist."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from typing import Any

from .decide import PARENT_SELECTED, Context, Decider, Decision
from .errors import UserError
from .patterns import PatternSet, Source
from .preview import DIRECTORY, FILE, Config


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
