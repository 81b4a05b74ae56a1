"""The pure engine: which entries the patterns select, decided top down.

Each pattern runs as a small automaton over path segments. Entering a
directory advances every pattern that can still match beneath it, so a name is
matched once per pattern and state, never as a whole path. git's rules follow
from walking top down:

- the last pattern that matches an entry decides it (``!`` un-selects);
- a selected directory selects its whole subtree, and no negation can
  re-include anything beneath it (git: "It is not possible to re-include a
  file if a parent directory of that file is excluded");
- a directory no pattern can reach into is decided without matching.

Knows nothing of the file system or of chmod.
"""

from __future__ import annotations

import os

from .patterns import Pattern, PatternSet, Source
from .records import Record
from .wildmatch import DOUBLESTAR, Segment

# The build imports this module: no typing or dataclasses at run time (together
# they cost more start-up time than the rest of a build on a small app).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Protocol, Union

    from .wildmatch import Element

    class Located(Protocol):
        @property
        def path(self) -> str: ...

    Reason = Union[Source, str, None]
    # A table in a pickled context: the root's by name, any other by its states.
    Part = Union[str, tuple[bool, tuple[int, ...]]]

PARENT_SELECTED = "parent directory selected"


class Selection(Record):
    """A selection root: a selected path whose parent is not selected, with the
    pattern that selected it. Everything beneath a selected directory shares it."""

    __slots__ = ("path", "source")

    def __init__(self, path: str, source: Source) -> None:
        self.path = path  # from the app root, "/"-separated
        self.source = source


class Decision(Record):
    """What happens to one entry, and why. Treated as immutable: shared."""

    __slots__ = ("pattern_index", "reason", "root", "selected", "selection")

    def __init__(
        self,
        selected: bool,
        reason: Reason,
        pattern_index: int | None = None,
        root: bool = False,
        selection: Selection | None = None,
    ) -> None:
        self.selected = selected
        # The pattern that decided (its index and source), PARENT_SELECTED, or None.
        self.reason = reason
        self.pattern_index = pattern_index
        # Selected while its parent is not: where a platform would mount a volume.
        self.root = root
        # The selection root this entry is (root) or lies beneath (selected), else None.
        self.selection = selection


class Context:
    """What the engine knows on entering a directory: the automaton states still
    able to match, as tables shared by every context that holds them. Contexts
    are interned by their tables, so sibling directories entered in the same
    state share one object, however many patterns there are. Treated as
    immutable; a context belongs to the ``Decider`` that made it."""

    __slots__ = ("_interned", "_parts", "_plain_child", "active", "beneath", "selected", "tables")

    def __init__(
        self, selected: bool, tables: tuple[_Table, ...] = (), beneath: Decision | None = None
    ) -> None:
        self.selected = selected
        self.tables = tables
        # In a selected directory: the decision every entry beneath it gets.
        self.beneath = beneath
        # Whether any pattern can still match beneath (truth is all the walk asks).
        self.active = bool(tables)
        self._plain_child: Context | None = None  # the child no name advanced
        self._parts: tuple[Part, ...] = ()  # the tables still to rebuild (unpickled)
        self._interned: Context | None = None  # (unpickled) the Decider's equal context

    def __repr__(self) -> str:
        return f"Context(selected={self.selected}, tables={len(self.tables)})"

    def __reduce__(self) -> tuple[object, ...]:
        # A job for a worker process carries its context: its states, not its
        # tables, and the root's everywhere-table (usually the bulk) as a name only.
        parts: tuple[Part, ...] = tuple(
            t.name or (t.persistent, tuple(sorted(t.states))) for t in self.tables
        )
        return (_unpickled, (self.selected, parts or self._parts, self.beneath))


def _unpickled(selected: bool, parts: tuple[Part, ...], beneath: Decision | None) -> Context:
    context = Context(selected, (), beneath)
    context._parts = parts
    context.active = bool(parts)
    return context


# Shared decisions for the common cases: most entries are decided without matching.
NO_MATCH = Decision(False, None)
UNREACHABLE = Context(False)
_FINAL = -1  # the state after a pattern's last element: "matched"
_ROOT_TABLE = "root"  # the name of the root's persistent table in pickles
_MAX_CACHED = 4096  # tables and contexts kept for sharing; beyond, sharing starts afresh
_INNER = 3  # bytes of a literal run used as an index key
# Outcomes of (context, name, kind) kept: beyond, the memo starts afresh. About
# 200 bytes each; sibling directories share contexts, so names repeat under them.
_MAX_MEMO = 16384


class _Table:
    """An index over automaton states, built once per distinct set of states.

    A persistent table holds ``**`` states, which survive every name, with
    the segment states that follow them; a transient one holds segment states
    that must match the next name or die. Segment states are grouped by
    segment (each distinct segment is matched once per name) and indexed the
    way git narrows its candidates: wildcard-free segments by the whole name,
    others by a literal prefix or suffix, else by a literal run inside, so
    that a name is matched only against segments that can match it. Segments
    without a literal byte (``*``, ``?*``, ``[0-9]*``) are tried one by one,
    shortest first, and only those whose length bounds admit the name's.
    """

    __slots__ = (
        "any_dir",
        "any_file",
        "covered",
        "inner",
        "inner_lengths",
        "literal",
        "name",
        "persistent",
        "prefix",
        "prefix_lengths",
        "scan",
        "states",
        "suffix",
        "suffix_lengths",
    )

    def __init__(self, plan: _Plan, states: frozenset[int], persistent: bool) -> None:
        self.states = states
        self.persistent = persistent
        self.name: str | None = None
        # The best pattern that a "**" at its end lets match any name (dir, file).
        self.any_dir = self.any_file = -1
        covered: set[int] = set()
        if persistent:
            for state in states:
                if plan.following[state] == _FINAL:
                    self.any_dir = max(self.any_dir, plan.final_dir[state])
                    self.any_file = max(self.any_file, plan.final_file[state])
                covered.update(s for s in plan.closure[state] if plan.segment[s] is not None)
        else:
            covered.update(states)
        self.covered = frozenset(covered)
        groups: dict[object, tuple[Segment, list[int]]] = {}
        for state in sorted(covered):
            segment = plan.segment[state]
            assert segment is not None
            if segment.never:
                continue
            groups.setdefault(segment.key, (segment, []))[1].append(state)
        self.literal: dict[bytes, tuple[int, ...]] = {}
        self.prefix: dict[bytes, list[tuple[Segment, tuple[int, ...]]]] = {}
        self.suffix: dict[bytes, list[tuple[Segment, tuple[int, ...]]]] = {}
        self.inner: dict[bytes, list[tuple[Segment, tuple[int, ...]]]] = {}
        self.scan: list[tuple[Segment, tuple[int, ...]]] = []
        for segment, members in groups.values():
            group = (segment, tuple(members))
            if segment.literal is not None:
                self.literal[segment.literal] = group[1]
                continue
            prefix, suffix, run = segment.fragments()
            if prefix and len(prefix) >= len(suffix):
                self.prefix.setdefault(prefix, []).append(group)
            elif suffix:
                self.suffix.setdefault(suffix, []).append(group)
            elif run:
                self.inner.setdefault(run[:_INNER], []).append(group)
            else:
                self.scan.append(group)
        # Shortest first: a name is tried only against segments not longer than it.
        self.scan.sort(key=lambda group: group[0].min_length)
        self.prefix_lengths = sorted({len(k) for k in self.prefix})
        self.suffix_lengths = sorted({len(k) for k in self.suffix})
        self.inner_lengths = sorted({len(k) for k in self.inner})

    def collect(self, name: bytes, out: list[int]) -> None:
        """Append the segment states that ``name`` matches."""
        hit = self.literal.get(name)
        if hit is not None:
            out.extend(hit)
        size = len(name)
        for length in self.prefix_lengths:
            if length > size:
                break
            for segment, states in self.prefix.get(name[:length], ()):
                if segment.match(name):
                    out.extend(states)
        for length in self.suffix_lengths:
            if length > size:
                break
            for segment, states in self.suffix.get(name[size - length :], ()):
                if segment.match(name):
                    out.extend(states)
        if self.inner:
            seen: set[bytes] = set()
            for length in self.inner_lengths:
                for i in range(size - length + 1):
                    key = name[i : i + length]
                    groups = self.inner.get(key)
                    if groups is None or key in seen:
                        continue
                    seen.add(key)
                    for segment, states in groups:
                        if segment.match(name):
                            out.extend(states)
        for segment, states in self.scan:
            if segment.min_length > size:
                break
            if size <= segment.max_length and segment.match(name):
                out.extend(states)


class _Automaton:
    """A pattern's element sequences as one automaton: state i waits for element
    i, and ``final`` (one past the last element) means "matched"."""

    __slots__ = ("elements", "final", "following", "starts")

    def __init__(self, pattern: Pattern) -> None:
        elements: list[Element] = []
        following: list[int] = []  # the state after element i; -1 until final is known
        starts: list[int] = []
        for sequence in (pattern.elements, *pattern.alternatives):
            starts.append(len(elements))
            elements.extend(sequence)
            following.extend(range(len(elements) - len(sequence) + 1, len(elements)))
            following.append(-1)
        self.elements = tuple(elements)
        self.final = len(elements)
        self.following = tuple(self.final if f < 0 else f for f in following)
        self.starts = tuple(starts)

    def closure(self, states: set[int]) -> frozenset[int]:
        """Add the states a "**" reaches by matching no name (not a trailing one:
        "logs/**" is what is inside logs, one name at least)."""
        todo = list(states)
        while todo:
            i = todo.pop()
            if i == self.final or self.elements[i] is not DOUBLESTAR:
                continue
            after = self.following[i]
            if after != self.final and after not in states:
                states.add(after)
                todo.append(after)
        return frozenset(states)

    def start(self) -> frozenset[int]:
        return self.closure(set(self.starts))

    def advance(
        self, states: frozenset[int], name: bytes, through_doublestar: bool = True
    ) -> frozenset[int]:
        """States after consuming ``name``; without ``through_doublestar``, only
        the moves that matched the name with a real segment."""
        nxt: set[int] = set()
        for i in states:
            if i >= self.final:
                continue
            element = self.elements[i]
            if element is DOUBLESTAR:
                if through_doublestar:
                    nxt.add(i)
                    if self.following[i] == self.final:
                        nxt.add(self.final)
            elif isinstance(element, Segment) and element.match(name):
                nxt.add(self.following[i])
        return self.closure(nxt) if nxt else frozenset()


class _Plan:
    """Every pattern's automaton numbered as one set of states: for state ``s``,
    its segment (None for ``**``), the state after it (``_FINAL``: matched), the
    pattern it belongs to where that match decides a directory or a file, and
    the states it stands for (a ``**`` also waits for what follows it)."""

    __slots__ = ("closure", "final_dir", "final_file", "following", "owner", "segment", "starts")

    def __init__(self, patterns: tuple[Pattern, ...]) -> None:
        self.segment: list[Segment | None] = []
        self.following: list[int] = []
        self.owner: list[int] = []
        self.final_dir: list[int] = []
        self.final_file: list[int] = []
        self.starts: list[int] = []
        interned: dict[object, Segment] = {}  # equal segments: one object, matched once
        for index, pattern in enumerate(patterns):
            automaton = _Automaton(pattern)
            base = len(self.segment)
            for i, element in enumerate(automaton.elements):
                if isinstance(element, Segment):
                    self.segment.append(interned.setdefault(element.key, element))
                else:
                    self.segment.append(None)
                final = automaton.following[i] == automaton.final
                self.following.append(_FINAL if final else base + automaton.following[i])
                self.owner.append(index)
                self.final_dir.append(index if final else -1)
                self.final_file.append(index if final and not pattern.dir_only else -1)
            self.starts.extend(base + start for start in automaton.starts)
        # A state's successors have higher numbers: fill the closures from the end.
        closure: list[tuple[int, ...]] = [()] * len(self.segment)
        for state in range(len(self.segment) - 1, -1, -1):
            after = self.following[state]
            if self.segment[state] is None and after != _FINAL:
                closure[state] = (state, *closure[after])
            else:
                closure[state] = (state,)
        self.closure = closure


class Decider:
    """Decides entries for one pattern set; built once per run."""

    def __init__(self, patterns: PatternSet) -> None:
        self.patterns = patterns.patterns
        self._plan = plan = _Plan(self.patterns)
        self._decisions = tuple(
            Decision(not p.negated, p.source, i, not p.negated) for i, p in enumerate(self.patterns)
        )
        self._tables: dict[tuple[frozenset[int], bool], _Table] = {}
        self._contexts: dict[tuple[_Table, ...], Context] = {}
        self._root_table: _Table | None = None
        self._memo: dict[tuple[Context, bytes, bool], tuple[int, Context | None]] = {}
        tables = self._tables_for(
            [s for start in plan.starts for s in plan.closure[start]], [], named=True
        )
        self.root = Context(False, tables)

    def _table(self, states: frozenset[int], persistent: bool) -> _Table:
        key = (states, persistent)
        table = self._tables.get(key)
        if table is None:
            if len(self._tables) >= _MAX_CACHED:
                self._tables.clear()
            table = self._tables[key] = _Table(self._plan, states, persistent)
        return table

    def _tables_for(
        self, states: list[int], persistent: list[_Table], named: bool = False
    ) -> tuple[_Table, ...]:
        """``persistent`` and tables for the states not already in them."""
        segment = self._plan.segment
        everywhere = {s for s in states if segment[s] is None}
        everywhere = {s for s in everywhere if not any(s in t.states for t in persistent)}
        tables = list(persistent)
        if everywhere:
            table = self._table(frozenset(everywhere), True)
            if named:
                table.name = _ROOT_TABLE
                self._root_table = table
            tables.append(table)
        rest = {s for s in states if segment[s] is not None}
        rest = {s for s in rest if not any(s in t.covered for t in tables)}
        if rest:
            tables.append(self._table(frozenset(rest), False))
        return tuple(tables)

    def _context(self, tables: tuple[_Table, ...]) -> Context:
        if not tables:
            return UNREACHABLE
        context = self._contexts.get(tables)
        if context is None:
            if len(self._contexts) >= _MAX_CACHED:
                self._contexts.clear()
            context = self._contexts[tables] = Context(False, tables)
        return context

    def _restore(self, context: Context) -> tuple[_Table, ...]:
        """The tables of a context that came through a pipe (see ``__reduce__``)."""
        tables: list[_Table] = []
        for part in context._parts:
            if isinstance(part, str):
                assert self._root_table is not None
                tables.append(self._root_table)
            else:
                persistent, states = part
                tables.append(self._table(frozenset(states), persistent))
        context.tables = tuple(tables)
        return context.tables

    def _interned(self, context: Context) -> Context:
        """The interned context equal to one that came through a pipe, so that the
        jobs of a worker process share outcomes as the directories of one do."""
        found = context._interned
        if found is None:
            found = context._interned = self._context(context.tables or self._restore(context))
        return found

    def _matched(self, parent: Context, name: bytes, out: list[int]) -> tuple[_Table, ...]:
        tables = parent.tables or self._restore(parent)
        for table in tables:
            table.collect(name, out)
        return tables

    def decide(
        self, parent: Context, name: bytes, is_dir: bool, at: Located | None = None
    ) -> tuple[Decision, Context | None]:
        """Decide one entry of a directory entered with ``parent``; ``at`` gives
        the entry's path, asked for only when the entry is a selection root.

        Returns the decision and, for a directory, the context to enter it with.
        """
        if parent.selected:
            beneath = parent.beneath
            assert beneath is not None
            return beneath, (parent if is_dir else None)
        if not parent.active:
            return NO_MATCH, (UNREACHABLE if is_dir else None)
        if parent._parts:  # came through a pipe: its equal here shares the memo
            parent = self._interned(parent)
        key = (parent, name, is_dir)
        outcome = self._memo.get(key)
        if outcome is None:
            if len(self._memo) >= _MAX_MEMO:
                self._memo.clear()
            outcome = self._memo[key] = self._outcome(parent, name, is_dir)
        best, child = outcome
        decision = NO_MATCH if best < 0 else self._decisions[best]
        if decision.selected:  # a selection root: its own decision, knowing its path
            source = decision.reason
            assert isinstance(source, Source)
            selection = Selection(at.path if at is not None else "", source)
            decision = Decision(True, source, best, True, selection)
            if is_dir:
                return decision, selected_context(selection)
        return decision, child

    def _outcome(self, parent: Context, name: bytes, is_dir: bool) -> tuple[int, Context | None]:
        """The deciding pattern's index (-1: none) and, for a directory that it
        does not select, the context to enter it with. A function of its
        arguments only: ``decide`` keeps it, since names repeat under shared
        contexts (every ``node_modules`` package has its ``package.json``) and a
        pattern set can make one outcome cost thousands of matches."""
        matched: list[int] = []
        tables = self._matched(parent, name, matched)
        best = -1
        for table in tables:
            anything = table.any_dir if is_dir else table.any_file
            if anything > best:
                best = anything
        plan = self._plan
        finals = plan.final_dir if is_dir else plan.final_file
        following = plan.following
        advanced: list[int] = []
        for state in matched:
            after = following[state]
            if after == _FINAL:
                if finals[state] > best:
                    best = finals[state]
            elif is_dir:
                advanced.append(after)
        if not is_dir or (best >= 0 and self._decisions[best].selected):
            return best, None
        persistent = [t for t in tables if t.persistent]
        if advanced:
            closure = plan.closure
            states = [s for state in advanced for s in closure[state]]
            return best, self._context(self._tables_for(states, persistent))
        child = parent._plain_child
        if child is None:
            child = parent._plain_child = self._context(tuple(persistent))
        return best, child

    def reaching_through(self, parent: Context, name: bytes) -> list[Pattern]:
        """Patterns that name something at or beneath ``name`` through a real
        segment (not merely a ``**``): for a symlink, what the user meant to
        change but the buildpack will not follow."""
        if parent.selected or not parent.active:
            return []
        matched: list[int] = []
        self._matched(parent, name, matched)
        found: set[int] = set()
        for state in matched:
            index = self._plan.owner[state]
            pattern = self.patterns[index]
            if pattern.negated:
                continue
            if self._plan.following[state] != _FINAL or pattern.dir_only:
                found.add(index)
        return [self.patterns[i] for i in sorted(found)]

    def decide_path(self, names: tuple[bytes, ...]) -> Decision:
        """Decide a path of directories that may not exist yet."""
        context: Context | None = self.root
        decision = NO_MATCH
        for depth, name in enumerate(names):
            assert context is not None
            at = At(os.fsdecode(b"/".join(names[: depth + 1])))
            decision, context = self.decide(context, name, True, at)
        return decision


def selected_context(selection: Selection) -> Context:
    """The context of a selected directory's subtree."""
    return Context(True, (), Decision(True, PARENT_SELECTED, None, False, selection))


class At:
    """A path for ``Decider.decide``'s ``at``."""

    __slots__ = ("path",)

    def __init__(self, path: str) -> None:
        self.path = path
