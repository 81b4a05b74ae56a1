"""The fixture every safety test uses: a fresh sandbox, removed afterwards."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from safety_sandbox import Sandbox, sandbox


@pytest.fixture
def sb() -> Iterator[Sandbox]:
    with sandbox() as box:
        yield box
