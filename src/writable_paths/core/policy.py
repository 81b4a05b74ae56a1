"""The permission policy: what the build does to an entry, as pure functions.

The build, ``check``, ``explain`` and the demo all ask this module; none of
them restates a rule. Given an entry's type, mode and decision, and whether
strict mode is on, it answers the mode the entry ends with and whether its
group becomes the build's group, or that the entry is left as it is.
"""

from __future__ import annotations

import stat

GROUP_OTHER_WRITE = stat.S_IWGRP | stat.S_IWOTH
# A selected file must not stay setuid or setgid: the run user could rewrite it
# through a shared mmap (the kernel clears these bits on write(2), not there) and
# then run it as the build user, who owns the whole app.
SET_ID = stat.S_ISUID | stat.S_ISGID
# What directories the build creates start as, whatever the platform's umask.
NEW_DIRECTORY_MODE = 0o755

# Entry types, as the policy tells them apart.
DIRECTORY = "directory"
FILE = "file"
SYMLINK = "symlink"
SPECIAL = "special"  # FIFOs, sockets, devices

# Effects, as ``check`` and ``explain`` report them.
WRITABLE = "writable"
READ_ONLY = "read-only"
UNCHANGED = "unchanged"
NOT_WRITABLE = "selected, not writable"  # selected, and still refused at run time


# The reason given for a directory above a selection root that gets group search
# (g+x, nothing more) because the run user could not otherwise reach the selection.
SEARCH_FOR_SELECTED = "group search, for a selected path below it"


def kind_of(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return DIRECTORY
    if stat.S_ISREG(mode):
        return FILE
    if stat.S_ISLNK(mode):
        return SYMLINK
    return SPECIAL


def special_kind(mode: int) -> str:
    """Which kind of special file: "FIFO", "socket" or "device"."""
    if stat.S_ISFIFO(mode):
        return "FIFO"
    if stat.S_ISSOCK(mode):
        return "socket"
    return "device"


def searchable(mode: int) -> int:
    """A directory above a selection root that the group cannot search (0700)
    gets group search, ``g+x``, and nothing more: the run user can pass it to
    reach the selection but not list it (docs/access-model.md)."""
    return stat.S_IMODE(mode) | stat.S_IXGRP


def selected_directory(mode: int) -> int:
    """Group can list, enter and create; new entries inherit the group (setgid).

    The owner keeps full access: the exporter reads every directory as the
    build user and fails on one it cannot read.
    """
    return (mode | stat.S_IRWXU | stat.S_IRWXG | stat.S_ISGID) & ~stat.S_IWOTH


def selected_file(mode: int) -> int:
    """Group can read and write; it may execute only what the owner may; never
    setuid or setgid."""
    new = mode | stat.S_IRUSR | stat.S_IWUSR | stat.S_IRGRP | stat.S_IWGRP
    if mode & stat.S_IXUSR:
        new |= stat.S_IXGRP
    return new & ~stat.S_IWOTH & ~SET_ID


def tightened(mode: int) -> int:
    """An unselected path in strict mode: nobody but the owner may write."""
    return mode & ~GROUP_OTHER_WRITE


def target_mode(kind: str, mode: int, selected: bool, strict: bool) -> int | None:
    """The permission bits ``kind`` ends with, or None: left as it is (symlinks
    are never followed or changed; FIFOs, sockets and devices are left alone)."""
    if kind == DIRECTORY:
        new = selected_directory(mode) if selected else (tightened(mode) if strict else mode)
    elif kind == FILE:
        new = selected_file(mode) if selected else (tightened(mode) if strict else mode)
    else:
        return None
    return stat.S_IMODE(new)


def drops_set_id(kind: str, mode: int, selected: bool) -> bool:
    """Whether making a selected file writable takes its setuid or setgid bit."""
    return selected and kind == FILE and bool(mode & SET_ID)


def effect(kind: str, selected: bool, strict: bool) -> str:
    """What the run user's group gets: writable, read-only, or unchanged."""
    if kind not in (DIRECTORY, FILE):
        return UNCHANGED
    if selected:
        return WRITABLE
    return READ_ONLY if strict else UNCHANGED


def app_root(mode: int, strict: bool) -> int:
    """The app directory is never selected; pack creates it 0777, and it never
    stays world-writable (in strict mode not group-writable either)."""
    return stat.S_IMODE(tightened(mode) if strict else mode & ~stat.S_IWOTH)


def link_wins(current_selected: bool, other_selected: bool) -> bool:
    """One inode, one mode: of two links of a file, a selected one decides."""
    return other_selected and not current_selected


def linked_outside(links: int, seen_inside: int) -> bool:
    """A file with more links than the app holds is shared with another place,
    and changing it would change that place too: it is left as it is."""
    return seen_inside < links


def permission_string(mode: int) -> str:
    return stat.filemode(mode)
