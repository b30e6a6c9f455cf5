"""Shortening addresses and names so rows stay tell-apart-able: the middle goes, the port
and the end of the address (where hosts of one network differ) stay."""

from __future__ import annotations

import pytest
from rich.cells import cell_len

from netop.ui.panes.flows import endpoint_cell, short_proto
from netop.ui.widgets.linetable import cut_middle


def test_ipv6_with_port_keeps_the_port_and_the_host_part() -> None:
    cell = endpoint_cell("fd00:99:aaaa:bbbb::12", 51234, 6)
    assert cell.text == "[fd00:99:aaaa:bbbb::12]:51234"
    short = cut_middle(cell.text, 20, cell.keep)
    assert cell_len(short) <= 20
    assert short.endswith("::12]:51234")
    assert short.startswith("[fd00")
    assert "…" in short
    other = cut_middle(endpoint_cell("fd00:99:aaaa:bbbb::13", 51234, 6).text, 20, cell.keep)
    assert other != short  # two hosts of one /64 stay apart


def test_ipv4_with_port() -> None:
    cell = endpoint_cell("192.168.100.200", 51234, 17)
    assert cut_middle(cell.text, 21, cell.keep) == "192.168.100.200:51234"  # fits: as is
    short = cut_middle(cell.text, 14, cell.keep)
    assert len(short) == 14
    assert short.endswith(".200:51234") or short.endswith("200:51234")
    assert short.startswith("19")


def test_names_lose_their_middle() -> None:
    assert cut_middle("GigabitEthernet1/0/48", 12) == "Gigab…1/0/48"
    cell = endpoint_cell("192.0.2.10", 443, 6, "cdn.example.net")
    assert cut_middle(cell.text, 14, cell.keep) == "cdn.…e.net:443"


def test_address_without_port_and_tiny_widths() -> None:
    assert endpoint_cell("fd00::1", 0, 58).keep == 0
    assert cut_middle("fd00:99:aaaa:bbbb::1", 10) == "fd00…bb::1"
    assert cut_middle("abcdef", 1) == ""
    assert cut_middle("[::1]:51234", 4, keep=7) == "[::…"  # no room for the port: cut at the end


@pytest.mark.parametrize("width", range(0, 40))
def test_never_wider_than_asked(width: int) -> None:
    for text, keep in (("[fd00:99:aaaa:bbbb::12]:51234", 7), ("名前.example:443", 4)):
        assert cell_len(cut_middle(text, width, keep)) <= width


def test_protocol_names_fit_five_cells() -> None:
    assert [short_proto(p) for p in (1, 6, 17, 58, 132)] == ["icmp", "tcp", "udp", "icmp6",
                                                               "132"]
    assert all(len(short_proto(p)) <= 5 for p in range(256))
