"""The one model of run-time access: what the run user can do to an app path.

Pure: it is given the entries along a path as the image will hold them (after
the build, after the exporter) and answers with a typed verdict, no prose.
The rules are POSIX's, for a user who shares only the group with the build user:

- the exporter makes the build user own every app entry, so the run user gets
  the owner bits if it is that user, else the group bits if it is in the build's
  group, else the "other" bits; uid 0 is not limited by permission bits;
- writing an existing file needs write on the file and search (``x``) on every
  directory above it, from the app root down;
- creating, renaming or deleting an entry needs write and search on its
  directory and search on every directory above; in a sticky directory the run
  user may rename or delete only what it owns (or everything, in a directory it owns).

Directories above the app root (``/``, ``/workspace``'s parent) are searchable in
every image and are not modelled. See docs/access-model.md.
"""

from __future__ import annotations

import stat

# The kinds of entry are the policy's (re-exported for the model's callers).
from .policy import DIRECTORY as DIRECTORY
from .policy import FILE as FILE
from .policy import SPECIAL as SPECIAL
from .policy import SYMLINK as SYMLINK
from .policy import kind_of as kind_of
from .records import Record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

# What an entry along a path is, in the image.
MISSING = "missing"  # absent, and the build will not create it

# Which permission bits apply to the run user.
OWNER = "owner"
GROUP = "group"
OTHER = "other"
SUPERUSER = "superuser"

# What was asked.
WRITE = "write"  # open the last entry for writing, creating it when missing (O_CREAT)
CREATE_IN = "create-in"  # create, rename and delete entries inside the last entry
REPLACE = "replace"  # rename or delete the existing last entry (atomic saves, log rotation)

# Verdict reasons. ``at`` in the verdict is the index of the entry they are about.
ALLOWED = "allowed"
NOT_SEARCHABLE = "not-searchable"  # a directory above cannot be entered
NOT_A_DIRECTORY = "not-a-directory"  # something above is a file or special file
THROUGH_SYMLINK = "through-symlink"  # a symlink on the way: its target is not the app's
MISSING_DIRECTORY = "missing-directory"  # a directory on the way does not exist
DIRECTORY_NOT_WRITABLE = "directory-not-writable"  # cannot add or remove entries there
FILE_NOT_WRITABLE = "file-not-writable"
NOT_A_FILE = "not-a-file"  # WRITE on a directory or special file
STICKY = "sticky"  # REPLACE in a sticky directory, of an entry the run user does not own
NOTHING_TO_REPLACE = "nothing-to-replace"  # REPLACE of a missing entry

_BITS = {
    OWNER: (stat.S_IWUSR, stat.S_IXUSR),
    GROUP: (stat.S_IWGRP, stat.S_IXGRP),
    OTHER: (stat.S_IWOTH, stat.S_IXOTH),
}


class Entry(Record):
    """One entry along a path: ``name`` (b"" for the app root), ``kind`` and the
    mode it will have in the image (permission bits with setgid and sticky; 0 when missing)."""

    __slots__ = ("kind", "mode", "name")

    def __init__(self, name: bytes, kind: str, mode: int = 0) -> None:
        self.name = name
        self.kind = kind
        self.mode = stat.S_IMODE(mode)


class Identity(Record):
    """Who owns the app's entries in the image (the build user: the exporter
    forces its uid and gid onto every entry) and who runs the app."""

    __slots__ = ("owner_gid", "owner_uid", "run_gids", "run_uid")

    def __init__(
        self, owner_uid: int, owner_gid: int, run_uid: int, run_gids: frozenset[int]
    ) -> None:
        self.owner_uid = owner_uid
        self.owner_gid = owner_gid
        self.run_uid = run_uid
        self.run_gids = run_gids  # the run user's primary and supplementary groups


# Paketo Jammy: build 1001:1000, run 1002:1000.
PAKETO_JAMMY = Identity(1001, 1000, 1002, frozenset({1000}))


def openshift(build_uid: int, run_uid: int) -> Identity:
    """OpenShift runs an arbitrary uid in group 0; it works when the build ran
    with gid 0 (``pack build --gid 0``), since the exporter keeps the build's gid."""
    return Identity(build_uid, 0, run_uid, frozenset({0}))


def permission_class(identity: Identity) -> str:
    if identity.run_uid == 0:
        return SUPERUSER
    if identity.run_uid == identity.owner_uid:
        return OWNER
    if identity.owner_gid in identity.run_gids:
        return GROUP
    return OTHER


class Verdict(Record):
    """The answer for one path and operation. ``at`` indexes the entries given:
    the entry that blocks (or, when allowed, the one written or created in);
    ``who`` is the permission class that applied."""

    __slots__ = ("allowed", "at", "operation", "reason", "who")

    def __init__(self, operation: str, reason: str, at: int, who: str) -> None:
        self.operation = operation
        self.reason = reason
        self.at = at
        self.who = who
        self.allowed = reason == ALLOWED


def _reach(entries: Sequence[Entry], upto: int, who: str) -> tuple[str, int] | None:
    """Why the run user cannot enter entries[0..upto] (all must be directories), or None."""
    for index in range(upto + 1):
        entry = entries[index]
        if entry.kind == MISSING:
            return MISSING_DIRECTORY, index
        if entry.kind == SYMLINK:
            return THROUGH_SYMLINK, index
        if entry.kind != DIRECTORY:
            return NOT_A_DIRECTORY, index
        if who != SUPERUSER and not entry.mode & _BITS[who][1]:
            return NOT_SEARCHABLE, index
    return None


def _can_write(mode: int, who: str) -> bool:
    return who == SUPERUSER or bool(mode & _BITS[who][0])


def verdict(entries: Sequence[Entry], operation: str, identity: Identity) -> Verdict:
    """Whether the run user can perform ``operation`` on the last of ``entries``.

    ``entries`` runs from the app root (its first element, named b"") to the
    path asked about; entries after a missing one are missing too.
    """
    if not entries:
        raise ValueError("a path has at least the app root")
    who = permission_class(identity)
    last = len(entries) - 1
    target = entries[last]
    if operation == CREATE_IN:
        blocked = _reach(entries, last, who)
        if blocked is not None:
            return Verdict(operation, blocked[0], blocked[1], who)
        ok = _can_write(target.mode, who)
        return Verdict(operation, ALLOWED if ok else DIRECTORY_NOT_WRITABLE, last, who)
    if last == 0:
        raise ValueError(f"{operation} needs a path below the app root")
    blocked = _reach(entries, last - 1, who)
    if blocked is not None:
        return Verdict(operation, blocked[0], blocked[1], who)
    parent = entries[last - 1]
    if operation == WRITE:
        if target.kind == MISSING:
            ok = _can_write(parent.mode, who)
            return Verdict(operation, ALLOWED if ok else DIRECTORY_NOT_WRITABLE, last - 1, who)
        if target.kind == SYMLINK:
            return Verdict(operation, THROUGH_SYMLINK, last, who)
        if target.kind != FILE:
            return Verdict(operation, NOT_A_FILE, last, who)
        ok = _can_write(target.mode, who)
        return Verdict(operation, ALLOWED if ok else FILE_NOT_WRITABLE, last, who)
    if operation == REPLACE:
        if target.kind == MISSING:
            return Verdict(operation, NOTHING_TO_REPLACE, last, who)
        if not _can_write(parent.mode, who):
            return Verdict(operation, DIRECTORY_NOT_WRITABLE, last - 1, who)
        if parent.mode & stat.S_ISVTX and who not in (OWNER, SUPERUSER):
            return Verdict(operation, STICKY, last - 1, who)
        return Verdict(operation, ALLOWED, last, who)
    raise ValueError(f"unknown operation {operation!r}")


def fix_directory(entries: Sequence[Entry], found: Verdict) -> tuple[bytes, ...] | None:
    """The directory whose selection would make a refused WRITE or CREATE_IN work,
    as names from the app root, or None when selecting a directory cannot help
    (the app root, a search problem, a symlink, a file on the way).

    For a missing directory that is the directory the write needs (the build
    creates a selected literal directory with its parents): for
    ``tmp/pids/server.pid`` with no ``tmp/pids``, it is ``tmp/pids``.
    """
    names = tuple(e.name for e in entries)
    last = len(entries) - 1
    if found.reason == MISSING_DIRECTORY:
        wanted = last if found.operation == CREATE_IN else last - 1
        return names[1 : wanted + 1] if wanted > 0 else None
    if found.reason == DIRECTORY_NOT_WRITABLE and found.operation != REPLACE and found.at > 0:
        return names[1 : found.at + 1]
    return None
