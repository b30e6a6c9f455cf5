"""Fixtures shared by the SNMP integration tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.snmp.agents import Snmpd


@pytest.fixture
def snmpd(tmp_path: Path) -> Iterator[Snmpd]:
    """A private net-snmp agent on a free port of 127.0.0.1, stopped after the test."""
    agent = Snmpd(tmp_path).start()
    try:
        yield agent
    finally:
        agent.stop()
