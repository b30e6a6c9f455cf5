"""Fixtures of the capture integration tests: the installed capture launcher, and an
output directory the capture child (which never writes as root) may write to."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def launcher() -> Iterator[str]:
    """``netop install-capture`` into a root-owned temporary directory: what a
    ``capture.helper`` (sudo, or ``ip netns exec`` here) starts."""
    from netop.sources.capture.entry import install

    where = Path(tempfile.mkdtemp(prefix="netop-launcher-", dir="/tmp"))
    where.chmod(0o755)
    try:
        yield install(str(where / "netop-capture"))
    finally:
        shutil.rmtree(where, ignore_errors=True)


@pytest.fixture
def out_dir() -> Iterator[Path]:
    """A sticky world-writable directory (like /tmp) for ``-w`` files: a root child
    writes as nobody unless invoked through sudo/doas/pkexec."""
    path = Path(tempfile.mkdtemp(prefix="netop-out-", dir="/tmp"))
    path.chmod(0o1777)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
