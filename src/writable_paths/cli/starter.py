"""``writable-paths init``: recognise the app's framework and draft a ``.writable-paths``.

Only reads a few marker files; never walks the tree. Every pattern it writes is
anchored (a leading ``/`` or a ``/`` in the middle), so that it selects the
app's own directory and never a directory of the same name inside a dependency
(``vendor/`` in a PHP app is part of the app directory).
"""

from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass


@dataclass(frozen=True)
class Framework:
    """A recognised framework: its name, why it was recognised, its patterns."""

    name: str
    evidence: str
    # (pattern, what the app writes there) pairs.
    patterns: tuple[tuple[str, str], ...]
    # Patterns many apps of this kind need, written commented out.
    optional: tuple[tuple[str, str], ...] = ()


RAILS = (
    ("tmp/pids/", "the server's PID file (tmp/pids/server.pid)"),
    ("tmp/cache/", "Rails' file cache and bootsnap's cache"),
    ("/log/", "log files, when RAILS_LOG_TO_STDOUT is not set"),
)
LARAVEL = (
    ("/storage/", "logs, sessions, compiled views and the file cache"),
    ("bootstrap/cache/", "the cached config, routes, services and packages"),
)
RAILS_OPTIONAL = (
    ("/storage/", "Active Storage's Disk service and SQLite databases (Rails 8), if used"),
)
DJANGO = (("/media/", "uploaded files (MEDIA_ROOT; change this line if yours differs)"),)
DJANGO_OPTIONAL = (
    ("/data/", "a SQLite database, kept in its own directory (SQLite writes a journal next to it)"),
)
NEXT = ((".next/cache/", "Next.js' image optimisation and fetch caches"),)
NEXT_CONFIGS = ("next.config.js", "next.config.mjs", "next.config.cjs", "next.config.ts")
KNOWN = "Rails, Laravel, Django, Next.js"  # what recognise() knows, for init's message

HEADER = """\
# .writable-paths: the paths this app writes to at run time.
# Everything else in the app directory stays read-only for the run-time user.
# Syntax is gitignore's: a trailing '/' means a directory (and everything
# beneath it), a leading '/' anchors a pattern at the app root, '!' un-selects.
# Missing literal directories (such as tmp/pids/) are created by the build.
# Check it before you build: writable-paths check
"""

TEMPLATE = """\
# Nothing was recognised in this app, so every pattern below is commented out.
# Uncomment the ones your app needs (a pattern line holds only the pattern:
# gitignore has no comments at the end of a line).
#
# Log files:
# /log/
#
# PID files (the build creates the directory when it is missing):
# tmp/pids/
#
# Everything inside storage, but not storage itself ...
# /storage/*
# ... except storage/public, which stays read-only:
# !/storage/public
#
# A single file (SQLite also needs its directory writable for its journal):
# /data/app.db
"""


def _is_file(app_dir: str, name: str) -> bool:
    try:
        return stat.S_ISREG(os.lstat(os.path.join(app_dir, name)).st_mode)
    except OSError:
        return False


def _uses_next(app_dir: str) -> str | None:
    """Why the app looks like a Next.js app, or None."""
    for name in NEXT_CONFIGS:
        if _is_file(app_dir, name):
            return name
    if not _is_file(app_dir, "package.json"):
        return None
    try:
        with open(os.path.join(app_dir, "package.json"), "rb") as handle:
            manifest = json.loads(handle.read(1024 * 1024))
    except (OSError, ValueError):
        return None
    if not isinstance(manifest, dict):
        return None
    for section in ("dependencies", "devDependencies"):
        deps = manifest.get(section)
        if isinstance(deps, dict) and "next" in deps:
            return f"package.json ({section} has next)"
    return None


def recognise(app_dir: str) -> list[Framework]:
    """The frameworks recognised in ``app_dir``, in a fixed order."""
    found: list[Framework] = []
    if _is_file(app_dir, "Gemfile") and _is_file(app_dir, "config/application.rb"):
        found.append(Framework("Rails", "Gemfile and config/application.rb", RAILS, RAILS_OPTIONAL))
    if _is_file(app_dir, "artisan"):
        found.append(Framework("Laravel", "artisan", LARAVEL))
    if _is_file(app_dir, "manage.py"):
        found.append(Framework("Django", "manage.py", DJANGO, DJANGO_OPTIONAL))
    evidence = _uses_next(app_dir)
    if evidence is not None:
        found.append(Framework("Next.js", evidence, NEXT))
    return found


def render(frameworks: list[Framework]) -> str:
    """The file's text: a header, then one commented section per framework."""
    if not frameworks:
        return HEADER + "\n" + TEMPLATE
    parts = [HEADER]
    for framework in frameworks:
        lines = [f"# {framework.name} (recognised by {framework.evidence})"]
        for pattern, why in framework.patterns:
            lines += [f"# {_sentence(why)}:", pattern]
        for pattern, why in framework.optional:
            lines += [f"# {_sentence(why)}:", f"# {pattern}"]
        parts.append("\n".join(lines) + "\n")
    return "\n".join(parts)


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]
