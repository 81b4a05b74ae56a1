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

from .patterns import Pattern, PatternSet, Source
from .wildmatch import DOUBLESTAR, Segment

# The build imports this module: no typing or dataclasses at run time (together
# they cost more start-up time than the rest of a build on a small app).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Union

    from .wildmatch import Element

    Reason = Union[Source, str, None]

PARENT_SELECTED = "parent directory selected"


class Decision:
    """What happens to one entry, and why. Treated as immutable: shared."""

    __slots__ = ("pattern_index", "reason", "root", "selected")

    def __init__(
        self,
        selected: bool,
        reason: Reason,
        pattern_index: int | None = None,
        root: bool = False,
    ) -> None:
        self.selected = selected
        # The pattern that decided (its index and source), PARENT_SELECTED, or None.
        self.reason = reason
        self.pattern_index = pattern_index
        # Selected while its parent is not: where a platform would mount a volume.
        self.root = root

    def _key(self) -> tuple[bool, Reason, int | None, bool]:
        return (self.selected, self.reason, self.pattern_index, self.root)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Decision) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return (
            f"Decision(selected={self.selected}, reason={self.reason!r}, "
            f"pattern_index={self.pattern_index}, root={self.root})"
        )


class Context:
    """What the engine knows on entering a directory. Treated as immutable: shared."""

    __slots__ = ("active", "selected")

    def __init__(self, selected: bool, active: tuple[tuple[int, frozenset[int]], ...]) -> None:
        self.selected = selected
        # (pattern index, automaton states) for every pattern still able to match.
        self.active = active

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Context)
            and self.selected == other.selected
            and self.active == other.active
        )

    def __hash__(self) -> int:
        return hash((self.selected, self.active))

    def __repr__(self) -> str:
        return f"Context(selected={self.selected}, active={self.active!r})"

    @property
    def reachable(self) -> bool:
        """Whether any pattern can still decide something beneath this directory."""
        return bool(self.active)


# Shared decisions for the common cases: most entries are decided without matching.
BY_PARENT = Decision(True, PARENT_SELECTED)
NO_MATCH = Decision(False, None)
SELECTED = Context(True, ())
UNREACHABLE = Context(False, ())


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

    def decide(self, parent: Context, name: bytes, is_dir: bool) -> tuple[Decision, Context | None]:
        """Decide one entry of a directory entered with ``parent``.

        Returns the decision and, for a directory, the context to enter it with.
        """
        if parent.selected:
            return BY_PARENT, (SELECTED if is_dir else None)
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
            decision = Decision(not pattern.negated, pattern.source, decider, not pattern.negated)
        if not is_dir:
            return decision, None
        if decision.selected:
            return decision, SELECTED
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
        decision = Decision(False, None)
        for name in names:
            assert context is not None
            decision, context = self.decide(context, name, is_dir=True)
        return decision
