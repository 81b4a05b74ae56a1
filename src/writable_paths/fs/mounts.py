"""Mount points inside the app: the build never changes what another file
system holds (a host directory mounted with ``pack build --volume`` would
otherwise be changed on the host).

A directory on another device is recognised by its ``st_dev`` as the walk
meets it; a bind mount from the same file system has the same ``st_dev``, so
the mount table names those.
"""

from __future__ import annotations

import os

MOUNTINFO = "/proc/self/mountinfo"


def _unescape(field: str) -> str:
    """Mount points in the mount table escape space, tab, newline and backslash
    as octal (``\\040``)."""
    if "\\" not in field:
        return field
    out = bytearray()
    raw = field.encode("utf-8", "surrogateescape")
    i = 0
    while i < len(raw):
        if raw[i : i + 1] == b"\\" and raw[i + 1 : i + 4].isdigit():
            out.append(int(raw[i + 1 : i + 4], 8))
            i += 4
        else:
            out.append(raw[i])
            i += 1
    return out.decode("utf-8", "surrogateescape")


def mount_points(app_dir: str, table: str = MOUNTINFO) -> frozenset[str]:
    """The mount points strictly inside ``app_dir``, relative to it."""
    root = os.path.realpath(app_dir).rstrip("/") + "/"
    try:
        with open(table, encoding="utf-8", errors="surrogateescape") as handle:
            lines = handle.read().splitlines()
    except OSError:
        return frozenset()
    found = set()
    for line in lines:
        fields = line.split(" ")
        if len(fields) > 4:
            point = _unescape(fields[4])
            if point.startswith(root) and len(point) > len(root):
                found.add(point[len(root) :])
    return frozenset(found)
