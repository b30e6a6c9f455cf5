"""The SNMP column group of ``netop reconcile``: deltas, 32-bit wraps, resets, caching."""

from __future__ import annotations

from dataclasses import replace

from netop.engine.reconcile_snmp import compare
from netop.model import InterfaceSample


def _s(ts: float, rx: int, tx: int, bits: int = 64, disc: str | None = None) -> InterfaceSample:
    return InterfaceSample("snmp:sw", "eth0", ts, rx_bytes=rx, tx_bytes=tx, rx_packets=rx // 100,
                           tx_packets=tx // 100, counter_bits=bits, discontinuity=disc,
                           speed_bps=1_000_000_000)  # fmt: skip


def test_equal_counters_give_zero_difference_and_no_reason() -> None:
    fields, reasons = compare(_s(0, 0, 0), _s(10, 5000, 5000), 100, 10000, 10.2, 10.0)
    assert fields["snmp_bytes"] == 10000
    assert fields["snmp_diff_bytes_pct"] == 0.0
    assert fields["snmp_packets"] == 100
    assert fields["snmp_counter_bits"] == 64
    assert reasons == []


def test_a_32_bit_wrap_is_unwrapped_and_named() -> None:
    start = replace(_s(0, 2**32 - 1000, 0, bits=32), rx_packets=5)
    end = replace(_s(10, 1000, 0, bits=32), rx_packets=25)
    fields, reasons = compare(start, end, 20, 2000, 10.1, 10.0)
    assert fields["snmp_bytes"] == 2000
    assert any("32-bit counter wrapped (rx_bytes)" in r for r in reasons)
    assert any("only 32-bit counters" in r and "every 34 s at 1000 Mbit/s" in r for r in reasons)


def test_a_restart_gives_no_snmp_difference() -> None:
    fields, reasons = compare(_s(0, 9000, 0), _s(10, 100, 0, disc="agent restarted"), 1, 100,
                              10.0, 10.0)  # fmt: skip
    assert fields["snmp_bytes"] is None
    assert fields["snmp_diff_bytes_pct"] is None
    assert any("restarted" in r for r in reasons)


def test_polls_faster_than_the_agent_cache_name_caching() -> None:
    same = _s(5, 700, 700)
    fields, reasons = compare(same, same, 30, 3000, 7.0, 1.0)
    assert fields["snmp_bytes"] == 0
    assert fields["snmp_diff_bytes_pct"] == -100.0
    assert any("agent counter caching" in r and "reads 0" in r for r in reasons)


def test_no_reading_leaves_the_snmp_keys_null() -> None:
    fields, reasons = compare(None, None, 1, 1, 1.0, 1.0)
    assert set(fields.values()) == {None}
    assert reasons == []
