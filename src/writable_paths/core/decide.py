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


class Context(Record):
    """What the engine knows on entering a directory. Treated as immutable: shared."""

    __slots__ = ("active", "beneath", "selected")

    def __init__(
        self,
        selected: bool,
        active: tuple[tuple[int, frozenset[int]], ...],
        beneath: Decision | None = None,
    ) -> None:
        self.selected = selected
        # (pattern index, automaton states) for every pattern still able to match.
        self.active = active
        # In a selected directory: the decision every entry beneath it gets.
        self.beneath = beneath


# Shared decisions for the common cases: most entries are decided without matching.
NO_MATCH = Decision(False, None)
UNREACHABLE = Context(False, ())


def selected_context(selection: Selection) -> Context:
    """The context of a selected directory's subtree."""
    return Context(True, (), Decision(True, PARENT_SELECTED, None, False, selection))


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


class Decider:
    """Decides entries for one pattern set; built once per run."""

    def __init__(self, patterns: PatternSet) -> None:
        self.patterns = patterns.patterns
        self._automata = tuple(_Automaton(p) for p in self.patterns)
        self.root = Context(False, tuple((i, a.start()) for i, a in enumerate(self._automata)))

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
        decider = -1
        inner: list[tuple[int, frozenset[int]]] = []
        for index, states in parent.active:
            automaton = self._automata[index]
            after = automaton.advance(states, name)
            if not after:
                continue
            if automaton.final in after and (is_dir or not self.patterns[index].dir_only):
                decider = index
            if is_dir and min(after) < automaton.final:
                inner.append((index, after))
        if decider < 0:
            decision = NO_MATCH
        else:
            pattern = self.patterns[decider]
            if pattern.negated:
                decision = Decision(False, pattern.source, decider)
            else:
                selection = Selection(at.path if at is not None else "", pattern.source)
                decision = Decision(True, pattern.source, decider, True, selection)
        if not is_dir:
            return decision, None
        if decision.selected:
            assert decision.selection is not None
            return decision, selected_context(decision.selection)
        return decision, (Context(False, tuple(inner)) if inner else UNREACHABLE)

    def reaching_through(self, parent: Context, name: bytes) -> list[Pattern]:
        """Patterns that name something at or beneath ``name`` through a real
        segment (not merely a ``**``): for a symlink, what the user meant to
        change but the buildpack will not follow."""
        found: list[Pattern] = []
        for index, states in parent.active:
            automaton = self._automata[index]
            after = automaton.advance(states, name, through_doublestar=False)
            if not after:
                continue
            pattern = self.patterns[index]
            if pattern.negated:
                continue
            if min(after) < automaton.final or pattern.dir_only:
                found.append(pattern)
        return found

    def decide_path(self, names: tuple[bytes, ...]) -> Decision:
        """Decide a path of directories that may not exist yet."""
        context: Context | None = self.root
        decision = NO_MATCH
        for depth, name in enumerate(names):
            assert context is not None
            at = At(os.fsdecode(b"/".join(names[: depth + 1])))
            decision, context = self.decide(context, name, True, at)
        return decision


class At:
    """A path for ``Decider.decide``'s ``at``."""

    __slots__ = ("path",)

    def __init__(self, path: str) -> None:
        self.path = path
