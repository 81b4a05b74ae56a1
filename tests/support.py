"""Helpers shared by the tests: the repository and real users to run as."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from testing.cnb import BUILD_USER, RUN_USER

REPO = Path(__file__).resolve().parent.parent
BUILD_UID = BUILD_USER.uid
BUILD_GID = BUILD_USER.gid
RUN_UID = RUN_USER.uid

needs_root = pytest.mark.skipif(
    os.geteuid() != 0, reason="switching to the build user (uid 1001) needs root"
)


def shown(summary: object) -> dict[str, list[str]]:
    """The warnings a pass's summary shows, kind by kind, as the build words them."""
    from writable_paths import wording
    from writable_paths.fs.engine import Summary

    assert isinstance(summary, Summary)
    return {
        kind: [wording.finding(item) for item in items] for kind, items in summary.findings.shown()
    }
