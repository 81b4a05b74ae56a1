"""Fixtures the contract-style tests share: one root-owned copy of the checkout's
buildpack per session, and a fresh lifecycle platform around it per test."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from lifecycle import Platform, copy_buildpack, platform

from testing.cnb import BP_DIR_NAME, BP_VERSION

PYTHON_DIR = str(Path(sys.executable).resolve().parent)


@pytest.fixture(scope="session")
def buildpack_copy() -> Iterator[Path]:
    root = Path(tempfile.mkdtemp(prefix="wp-bp-"))
    os.chmod(root, 0o755)
    copy_buildpack(root / BP_DIR_NAME / BP_VERSION)
    yield root / BP_DIR_NAME / BP_VERSION
    shutil.rmtree(root)


@pytest.fixture
def cnb(buildpack_copy: Path) -> Iterator[Platform]:
    with platform(buildpack_copy, f"{PYTHON_DIR}:/usr/bin:/bin") as sandbox:
        yield sandbox
