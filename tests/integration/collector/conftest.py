"""Fixtures shared by the collector's integration tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from netop.sources.collector.source import CollectorSource


@pytest.fixture
def collector() -> Iterator[CollectorSource]:
    """A collector source listening on a free loopback port, stopped afterwards."""
    source = CollectorSource([("127.0.0.1", 0)])
    source.start()
    try:
        yield source
    finally:
        source.stop()
