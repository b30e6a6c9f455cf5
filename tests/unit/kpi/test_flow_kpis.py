"""Per-flow KPIs from scapy-built conversations: Zeek's conn_state for each outcome, the
handshake RTT halves, retransmissions per direction, TTFB, DNS and UDP jitter.

Each conversation goes through both routes the capture table has: the C walker over
pcap records (files, live rings) and the Python path (packets it decodes itself).
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

import pytest
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.l2 import Ether
from scapy.packet import Packet

from netop.model import FlowKpi, FlowRecord
from netop.native import fastpath
from netop.sources.capture.aggregate import PacketAggregator

pytestmark = pytest.mark.skipif(fastpath.load() is None, reason="KPIs need the C extension")

C, S = "10.0.0.1", "10.0.0.2"
CP, SP = 40000, 80


def c2s(flags: str, seq: int, ack: int = 0, data: bytes = b"") -> Packet:
    return Ether() / IP(src=C, dst=S) / TCP(sport=CP, dport=SP, flags=flags, seq=seq, ack=ack,
                                            window=1000) / data  # fmt: skip


def s2c(flags: str, seq: int, ack: int = 0, data: bytes = b"") -> Packet:
    return Ether() / IP(src=S, dst=C) / TCP(sport=SP, dport=CP, flags=flags, seq=seq, ack=ack,
                                            window=1000) / data  # fmt: skip


def run(packets: Sequence[tuple[float, Packet]], route: str) -> list[FlowRecord]:
    agg = PacketAggregator()
    if route == "c":
        buf = b"".join(struct.pack("<IIII", int(ts), round((ts % 1) * 1e6), len(raw), len(raw))
                       + raw for ts, raw in ((t, bytes(p)) for t, p in packets))  # fmt: skip
        agg.add_pcap_buffer(buf, True, False, 1)
    else:
        agg.add_batch(1, [(ts, bytes(p), len(bytes(p))) for ts, p in packets])
    return agg.drain()


def kpi_of(packets: Sequence[tuple[float, Packet]], route: str) -> FlowKpi:
    (rec,) = run(packets, route)
    assert rec.src == C
    assert rec.kpi is not None
    return rec.kpi


HANDSHAKE = [(100.000, c2s("S", 1000)), (100.010, s2c("SA", 5000, 1001)),
             (100.012, c2s("A", 1001, 5001))]  # fmt: skip
REQUEST = [(100.013, c2s("PA", 1001, 5001, b"GET / HTTP/1.0\r\n\r\n")),
           (100.050, s2c("PA", 5001, 1019, b"HTTP/1.0 200 OK\r\n\r\n"))]  # fmt: skip
CLOSE = [(100.060, c2s("FA", 1019, 5020)), (100.070, s2c("FA", 5020, 1020)),
         (100.071, c2s("A", 1020, 5021))]  # fmt: skip

STATES = {
    "S0": [(100.0, c2s("S", 1000)), (103.0, c2s("S", 1000))],
    "REJ": [(100.0, c2s("S", 1000)), (100.001, s2c("RA", 0, 1001))],
    "S1": HANDSHAKE + REQUEST,
    "SF": HANDSHAKE + REQUEST + CLOSE,
    "RSTO": [*HANDSHAKE, *REQUEST, (100.06, c2s("RA", 1019, 5020))],
    "RSTR": [*HANDSHAKE, *REQUEST, (100.06, s2c("RA", 5020, 1019))],
    "RSTOS0": [(100.0, c2s("S", 1000)), (100.5, c2s("R", 1001))],
    "SH": [(100.0, c2s("S", 1000)), (100.5, c2s("F", 1001))],
    "S2": [*HANDSHAKE, *REQUEST, CLOSE[0]],
    "S3": [*HANDSHAKE, *REQUEST, CLOSE[1]],
    "OTH": REQUEST,
}


@pytest.mark.parametrize("route", ["c", "python"])
@pytest.mark.parametrize("state", sorted(STATES))
def test_conn_state_follows_zeek(state: str, route: str) -> None:
    assert kpi_of(STATES[state], route).conn_state == state


@pytest.mark.parametrize("route", ["c", "python"])
def test_handshake_rtt_split_and_ttfb(route: str) -> None:
    k = kpi_of(HANDSHAKE + REQUEST + CLOSE, route)
    assert k.rtt_ms == pytest.approx(12.0, abs=1e-3)
    assert k.rtt_server_ms == pytest.approx(10.0, abs=1e-3)
    assert k.rtt_client_ms == pytest.approx(2.0, abs=1e-3)
    assert k.ttfb_ms == pytest.approx(37.0, abs=1e-3)
    assert k.ack_rtt_ms is not None
    assert (k.retrans, k.retrans_rev, k.ooo, k.ooo_rev) == (0, 0, 0, 0)
    assert k.dns_ms is None
    assert k.jitter_ms is None


@pytest.mark.parametrize("route", ["c", "python"])
def test_a_resent_segment_counts_once_on_its_side(route: str) -> None:
    resend = (100.5, c2s("PA", 1001, 5001, b"GET / HTTP/1.0\r\n\r\n"))  # 0.5 s later: not OOO
    k = kpi_of([*HANDSHAKE, REQUEST[0], resend, REQUEST[1]], route)
    assert (k.retrans, k.retrans_rev) == (1, 0)


@pytest.mark.parametrize("route", ["c", "python"])
@pytest.mark.parametrize(("acked", "want"), [(True, (1, 0)), (False, (0, 1))])
def test_a_segment_resent_within_the_irtt_is_spurious_once_acknowledged(
    route: str, acked: bool, want: tuple[int, int]
) -> None:
    """tshark 4.0.17 tests "already acknowledged" before "out of order": a segment sent
    again 1 ms after the side's highest (iRTT 12 ms) is a spurious retransmission when
    the other side has acknowledged it, out of order when it has not."""
    first = c2s("PA", 1001, 5001, b"a" * 100)
    ack = [(100.014, s2c("A", 5001, 1101))] if acked else []
    later = (100.015, c2s("PA", 1101, 5001, b"b" * 100))
    again = (100.016, c2s("PA", 1001, 5001, b"a" * 100))
    k = kpi_of([*HANDSHAKE, (100.013, first), *ack, later, again], route)
    assert (k.retrans, k.ooo) == want


def test_no_handshake_no_rtt_and_udp_has_no_tcp_keys() -> None:
    assert kpi_of(REQUEST, "c").rtt_ms is None
    pkts = [(100.0 + i * 0.02 + (0.005 if i % 2 else 0.0),
             Ether() / IP(src=C, dst=S) / UDP(sport=5004, dport=5004) / b"rtp")
            for i in range(20)]  # fmt: skip
    k = kpi_of(pkts, "c")
    assert k.retrans is None
    assert k.conn_state is None
    assert k.rtt_ms is None
    assert k.jitter_ms is not None
    assert 0 < k.jitter_ms < 10


@pytest.mark.parametrize("route", ["c", "python"])
def test_dns_time_and_rcodes(route: str) -> None:
    # DNS messages by hand: importing scapy's DNS layer would bind it to port 53 for
    # every later test in the process (the dissector's tests expect raw UDP there).
    question = b"\x01x\x00\x00\x01\x00\x01"
    query = struct.pack("!HHHHHH", 7, 0x0100, 1, 0, 0, 0) + question
    answer = struct.pack("!HHHHHH", 7, 0x8183, 1, 0, 0, 0) + question  # QR, RD, RA, NXDOMAIN
    q = Ether() / IP(src=C, dst=S) / UDP(sport=3333, dport=53) / query
    a = Ether() / IP(src=S, dst=C) / UDP(sport=53, dport=3333) / answer
    k = kpi_of([(100.0, q), (100.025, a)], route)
    assert (k.dns_queries, k.dns_answers) == (1, 1)
    assert k.dns_ms == pytest.approx(25.0, abs=1e-3)
    assert k.dns_rcodes == {"NXDOMAIN": 1}


def test_kpis_last_across_drains_and_json_is_flat() -> None:
    agg = PacketAggregator()
    for ts, p in HANDSHAKE:
        agg.add(ts, bytes(p))
    agg.drain()
    for ts, p in REQUEST:
        agg.add(ts, bytes(p))
    (rec,) = agg.drain()
    assert rec.kpi is not None
    assert rec.kpi.rtt_ms == pytest.approx(12.0, abs=1e-3)
    j = rec.to_json()
    assert j["rtt_ms"] == rec.kpi.rtt_ms
    assert j["conn_state"] == "S1"
    assert j["dns_ms"] is None
    assert FlowRecord(6, C, 1, S, 2).to_json()["rtt_ms"] is None


def test_without_the_c_extension_kpis_are_not_measured_not_zero() -> None:
    agg = PacketAggregator(fast=False)
    agg.add_batch(1, [(ts, bytes(p), len(bytes(p))) for ts, p in HANDSHAKE])
    (rec,) = agg.drain()
    assert rec.kpi is None
    assert rec.to_json()["retrans"] is None
