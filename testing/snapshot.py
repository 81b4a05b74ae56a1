"""One snapshot of a file tree for every test: each path's type, mode, owner, link
target and content hash, by relative path, without following links.

Walks by directory descriptor, without recursion and without long path names, so
trees thousands of levels deep work.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Node:
    """What a snapshot records of one path (``lstat``, never following links)."""

    kind: str  # "d", "f", "l", "p" (FIFO), "s" (socket), "c", "b", "?"
    mode: int  # permission bits, with setuid, setgid and sticky
    uid: int
    gid: int
    target: bytes | None = None  # a symlink's target
    digest: str | None = None  # a regular file's content hash

    def __str__(self) -> str:
        extra = f" -> {self.target!r}" if self.target is not None else ""
        return f"{self.kind} {self.mode:04o} {self.uid}:{self.gid}{extra}"


Snapshot = dict[bytes, Node]
_OPEN_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
# Content hashes by (dev, inode, size, mtime, ctime): any write or chmod changes ctime.
_digests: dict[tuple[int, int, int, int, int], str] = {}


def _kind(mode: int) -> str:
    for test, kind in (
        (stat.S_ISDIR, "d"),
        (stat.S_ISREG, "f"),
        (stat.S_ISLNK, "l"),
        (stat.S_ISFIFO, "p"),
        (stat.S_ISSOCK, "s"),
        (stat.S_ISCHR, "c"),
        (stat.S_ISBLK, "b"),
    ):
        if test(mode):
            return kind
    return "?"


def _digest(dir_fd: int, name: bytes, st: os.stat_result) -> str:
    key = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
    known = _digests.get(key)
    if known is not None:
        return known
    fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK, dir_fd=dir_fd)
    digest = hashlib.sha256()
    with os.fdopen(fd, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    _digests[key] = digest.hexdigest()
    return _digests[key]


def _node(dir_fd: int, name: bytes, st: os.stat_result) -> Node:
    kind = _kind(st.st_mode)
    target = os.readlink(name, dir_fd=dir_fd) if kind == "l" else None
    digest = _digest(dir_fd, name, st) if kind == "f" else None
    return Node(kind, stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid, target, digest)


def snapshot(root: Path, exclude: Iterable[Path] = ()) -> Snapshot:
    """Every path under ``root`` (and ``root`` itself, as ``b""``), by relative path,
    but the ``exclude`` subtrees.

    Walks by directory descriptor, without recursion and without long path
    names, so trees thousands of levels deep work; a directory's descriptor is
    closed as soon as all its subdirectories are opened.
    """
    skip = {os.fsencode(os.path.relpath(path, root)) for path in exclude}
    root_fd = os.open(root, _OPEN_DIR)
    out: Snapshot = {b"": _node(root_fd, b".", os.stat(root_fd))}
    # Each frame: a directory's fd, its relative path, subdirectory names still to open.
    stack: list[tuple[int, bytes, list[bytes]]] = []

    def enter(fd: int, rel: bytes) -> None:
        subdirs: list[bytes] = []
        with os.scandir(fd) as it:
            names = sorted(os.fsencode(e.name) for e in it)
        for name in names:
            st = os.stat(name, dir_fd=fd, follow_symlinks=False)
            node = _node(fd, name, st)
            path = rel + b"/" + name if rel else name
            if path in skip:
                continue
            out[path] = node
            if node.kind == "d":
                subdirs.append(name)
        subdirs.reverse()
        stack.append((fd, rel, subdirs))

    enter(root_fd, b"")
    while stack:
        fd, rel, pending = stack[-1]
        if not pending:
            stack.pop()
            os.close(fd)
            continue
        name = pending.pop()
        child = os.open(name, _OPEN_DIR, dir_fd=fd)
        if not pending:  # the parent is done: do not hold its fd while going deep
            stack.pop()
            os.close(fd)
        enter(child, rel + b"/" + name if rel else name)
    return out


def diff(before: Mapping[bytes, Node], after: Mapping[bytes, Node]) -> list[str]:
    """Readable differences between two snapshots; empty when equal."""
    lines: list[str] = []
    for path in sorted(set(before) | set(after)):
        old, new = before.get(path), after.get(path)
        if old == new:
            continue
        shown = os.fsdecode(path)
        if old is None:
            lines.append(f"added   {shown}: {new}")
        elif new is None:
            lines.append(f"removed {shown}: {old}")
        else:
            lines.append(f"changed {shown}: {old} -> {new}")
    return lines
