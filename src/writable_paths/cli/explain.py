"""``writable-paths explain``: whether a path ends up writable, and which pattern
line (or selected parent) decided it; paths need not exist."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from .. import wording
from ..core import access, advice, policy
from ..core.decide import At, Context, Decider, Decision
from ..core.patterns import PatternSet, Source
from ..core.policy import DIRECTORY, FILE, SPECIAL, SYMLINK
from ..errors import UserError
from ..fs.listing import listings
from ..fs.reach import Reach, run_identity
from .preview import Config
from .starter import active_lines


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
    # What the run user can really do there (the access model), not only what is selected.
    writable: bool = False
    # The directory to select instead, when selecting it would make this work.
    fix: str | None = None

    def shown(self) -> str:
        if self.path == ".":
            return ". (the app directory)"
        return self.path + "/" if self.kind == DIRECTORY else self.path

    def reason(self) -> str:
        return wording.explain_reason(self.why, self.source, self.ancestor)

    def as_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "exists": self.exists,
            "type": self.kind,
            "writable": self.writable,
            "effect": self.effect,
            "fix": self.fix,
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
        raise wording.explain_refused(PathError, repr(raw), wording.PATH_EMPTY)
    trailing = raw.endswith("/") or raw.endswith("/.") or raw in (".", "./")
    if os.path.isabs(raw):
        rel = os.path.relpath(os.path.normpath(raw), app_dir)
        if rel == ".." or rel.startswith("../"):
            raise wording.explain_refused(PathError, raw, wording.PATH_OUTSIDE, app_dir)
        parts = rel.split("/")
    else:
        parts = raw.split("/")
        if ".." in parts:
            raise wording.explain_refused(PathError, raw, wording.PATH_DOTDOT)
    return [p for p in parts if p not in ("", ".")], trailing


def _lstat(path: str) -> os.stat_result | None:
    try:
        return os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None


class _Trace:
    """What deciding a path component by component found."""

    __slots__ = (
        "created_by",
        "decisions",
        "dirs",
        "exists",
        "final_st",
        "kind",
        "notes",
        "stopped_at",
    )

    def __init__(self) -> None:
        self.exists = True
        self.kind = DIRECTORY
        self.created_by: str | None = None  # the line whose directory the build creates
        self.decisions: list[Decision] = []
        self.dirs: list[bool] = []  # whether each component is taken as a directory
        self.stopped_at: str | None = None  # a symlink on the way
        self.final_st: os.stat_result | None = None
        self.notes: list[str] = []


class Explainer:
    """Decides single paths with the build's ``Decider``."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.patterns = config.patterns
        self.decider = Decider(config.patterns)
        negations = tuple(p for p in config.patterns.patterns if p.negated)
        self.negations = Decider(PatternSet(negations))
        self._creates: frozenset[str] | None = None
        self._advice: dict[str, list[str]] | None = None

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
            return Explanation(".", True, DIRECTORY, policy.UNCHANGED, "not-configured")
        strict = self.config.settings.strict
        effect = policy.READ_ONLY if strict else policy.UNCHANGED
        note = wording.APP_ROOT_STRICT if strict else wording.APP_ROOT_NOT_STRICT
        return Explanation(".", True, DIRECTORY, effect, "app-root", notes=[note])

    def _explain(self, names: list[str], trailing: bool, alternative: bool) -> Explanation:
        path = "/".join(names)
        encoded = tuple(os.fsencode(n) for n in names)
        trace = self._trace(names, encoded, trailing)
        result = self._effect(path, trace)
        self._notes(result, trace, names, encoded)
        if trace.created_by is not None:
            result.notes.append(wording.will_create(trace.created_by))
        elif not trace.exists:
            result.notes.append(wording.MISSING)
            if alternative and not trailing:
                other = self._explain(names, True, alternative=False)
                if other.effect != result.effect:
                    result.notes.append(wording.as_directory(path, other.effect, other.reason()))
        return result

    def _trace(self, names: list[str], encoded: tuple[bytes, ...], trailing: bool) -> _Trace:
        """Decide each component of the path from the app root, as the walk would."""
        trace = _Trace()
        context: Context | None = self.decider.root
        for depth, name in enumerate(encoded):
            last = depth == len(encoded) - 1
            here = "/".join(names[: depth + 1])
            st = _lstat(os.path.join(self.config.app_dir, here)) if trace.exists else None
            if st is None:
                if trace.exists:
                    trace.exists = False
                    source = self._created_by(encoded)
                    trace.created_by = str(source) if source is not None else None
                is_dir = not last or trailing or trace.created_by is not None
                trace.kind = DIRECTORY if is_dir else FILE
            else:
                trace.kind = policy.kind_of(st.st_mode)
                is_dir = trace.kind == DIRECTORY
                if not last and trace.kind in (FILE, SPECIAL):
                    raise wording.explain_refused(
                        PathError,
                        "/".join(names),
                        wording.PATH_THROUGH_FILE,
                        f"'{here}' is a {trace.kind}",
                    )
            assert context is not None
            if trace.kind == SYMLINK and not last and not context.selected:
                for pattern in self.decider.reaching_through(context, name):
                    trace.notes.append(wording.reaches_through(pattern.source, here))
            decision, context = self.decider.decide(context, name, is_dir, At(here))
            trace.decisions.append(decision)
            trace.dirs.append(is_dir)
            if last:
                trace.final_st = st
            if trace.kind == SYMLINK:
                if not last:
                    trace.stopped_at = here
                break
        return trace

    def _effect(self, path: str, trace: _Trace) -> Explanation:
        """What the build does to the path, and which line decided it."""
        decision = trace.decisions[-1]
        result = Explanation(
            path,
            trace.exists,
            trace.kind,
            "",
            "none",
            created_by=trace.created_by,
            notes=trace.notes,
        )
        self._decided_by(result, trace.decisions)
        if not self.patterns:
            result.why, result.effect = "not-configured", policy.UNCHANGED
        elif trace.stopped_at is not None:
            result.kind, result.effect, result.why = "beyond-symlink", policy.UNCHANGED, "symlink"
            result.ancestor, result.source = trace.stopped_at, None
        else:
            strict = self.config.settings.strict
            result.effect = policy.effect(trace.kind, decision.selected, strict)
            if trace.kind == SYMLINK:
                result.notes.append(wording.SYMLINK_ITSELF.format(path=path))
            elif trace.kind == SPECIAL:
                result.notes.append(wording.SPECIAL_UNCHANGED)
            elif not decision.selected and not strict:
                result.notes.append(wording.STRICT_OFF)
        return result

    def _notes(
        self, result: Explanation, trace: _Trace, names: list[str], encoded: tuple[bytes, ...]
    ) -> None:
        """Why the path is not what its pattern suggests, and the build's warnings on it."""
        decisions = trace.decisions
        if result.why == "parent":
            self._ineffective_negations(result, encoded, trace.dirs, decisions)
        elif result.why == "none":
            for depth, earlier in enumerate(decisions[:-1]):
                if isinstance(earlier.reason, Source) and not earlier.selected:
                    here = "/".join(names[: depth + 1])
                    result.notes.append(wording.directory_unselected(here, earlier.reason))
        final = trace.final_st
        if final is not None and trace.kind == FILE and final.st_nlink > 1:
            result.notes.append(wording.hard_links_note(final.st_nlink))
        if self.patterns and trace.stopped_at is None and trace.kind in (DIRECTORY, FILE):
            self._run_time(result, names)
        result.notes.extend(self._mistakes().get(result.source or "", ()))
        reason = decisions[-1].reason
        if result.why == "pattern" and trace.kind == FILE and advice.is_database_name(encoded[-1]):
            assert isinstance(reason, Source)
            for item in advice.databases(self.patterns, [(encoded, reason)]):
                text = wording.finding(advice.as_finding(item), self.config.settings.pattern_file)
                if text not in result.notes:
                    result.notes.append(text)

    def _mistakes(self) -> dict[str, list[str]]:
        """The build's warnings about mistaken lines (``core.advice``), by the line's
        source: shown for the paths that line decides."""
        if self._advice is None:
            self._advice = {}
            fd = os.open(self.config.app_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            try:
                seen = listings(fd, advice.questions(self.patterns))
            finally:
                os.close(fd)
            found = advice.review(
                self.patterns,
                self.config.settings.pattern_file,
                self.config.app_dir,
                seen,
                (),
                advice.Breadth(0, 0, 0),
                lambda: active_lines(self.config.app_dir),
            )
            for item in found:
                finding = advice.as_finding(item)
                if finding.source is not None:
                    text = wording.finding(finding, self.config.settings.pattern_file)
                    self._advice.setdefault(str(finding.source), []).append(text)
        return self._advice

    def _created(self) -> frozenset[str]:
        """Every directory the build would create (and its parents)."""
        if self._creates is None:
            wanted: set[str] = set()
            for pattern in self.patterns.patterns:
                creates = pattern.creates
                if creates is not None and self.decider.decide_path(creates).selected:
                    names = [os.fsdecode(n) for n in creates]
                    wanted.update("/".join(names[: i + 1]) for i in range(len(names)))
            self._creates = frozenset(wanted)
        return self._creates

    def _run_time(self, result: Explanation, names: list[str]) -> None:
        """What the run user can really do: write the file, or create entries in
        the directory; a selected path it cannot is "selected, not writable"."""
        with Reach(
            self.config.app_dir,
            self.decider,
            self.config.settings.strict,
            applied=False,
            created=self._created(),
        ) as reach:
            # The build gives group search to the directories above a selection root
            # that the run user could not pass (``fs.reach.reach_roots``).
            root = result.ancestor if result.why == "parent" else result.path
            if result.effect == policy.WRITABLE and root is not None:
                parts = tuple(root.split("/"))
                for depth in range(len(parts)):
                    reach.make_searchable(parts[:depth])
            entries = reach.entries(tuple(names))
        # A directory that will exist is written by creating entries in it; one that
        # will not, by creating it (then the run user owns it): like creating a file.
        will_exist = result.exists or result.created_by is not None
        directory = result.kind == DIRECTORY and will_exist
        operation = access.CREATE_IN if directory else access.WRITE
        verdict = access.verdict(entries, operation, run_identity(os.getgid()))
        result.writable = verdict.allowed
        if verdict.allowed:
            return
        if result.effect == policy.WRITABLE:
            result.effect = policy.NOT_WRITABLE
        fix = access.fix_directory(entries, verdict)
        result.fix = os.fsdecode(b"/".join(fix)) + "/" if fix else None
        blocker = "/".join(names[: verdict.at]) or "."
        if result.effect == policy.NOT_WRITABLE:
            note = wording.run_time_refusal(
                verdict.reason, result.path, blocker, entries[verdict.at].mode, result.fix
            )
            result.notes.append(note)

    @staticmethod
    def _decided_by(result: Explanation, decisions: list[Decision]) -> None:
        decision = decisions[-1]
        reason = decision.reason
        if isinstance(reason, Source):
            result.why = "pattern" if decision.selected else "negation"
            result.source = str(reason)
        elif decision.selection is not None:
            result.why = "parent"
            result.ancestor = decision.selection.path
            result.source = str(decision.selection.source)

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
                assert result.ancestor is not None
                result.notes.append(wording.negation_cannot(decision.reason, here, result.ancestor))
