"""The permission policy, as pure functions of a mode."""

from __future__ import annotations

import stat

GROUP_OTHER_WRITE = stat.S_IWGRP | stat.S_IWOTH


def selected_directory(mode: int) -> int:
    """Group can list, enter and create; new entries inherit the group (setgid).

    The owner keeps full access: the exporter reads every directory as the
    build user and fails on one it cannot read.
    """
    return (mode | stat.S_IRWXU | stat.S_IRWXG | stat.S_ISGID) & ~stat.S_IWOTH


def selected_file(mode: int) -> int:
    """Group can read and write; it may execute only what the owner may."""
    new = mode | stat.S_IRUSR | stat.S_IWUSR | stat.S_IRGRP | stat.S_IWGRP
    if mode & stat.S_IXUSR:
        new |= stat.S_IXGRP
    return new & ~stat.S_IWOTH


def tightened(mode: int) -> int:
    """An unselected path in strict mode: nobody but the owner may write."""
    return mode & ~GROUP_OTHER_WRITE


def app_root(mode: int, strict: bool) -> int:
    """pack creates the app dir 0777; never leave it world-writable."""
    return tightened(mode) if strict else mode & ~stat.S_IWOTH


def permission_string(mode: int) -> str:
    return stat.filemode(mode)
