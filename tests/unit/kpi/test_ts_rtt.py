"""``ack_rtt_ms`` from TCP timestamps where a flow carries them (pping's method: the first
time a TSval is seen on one side -> the first packet of the other side echoing it), and
from data segment -> covering ACK (Karn's rule) where it does not.

Conversations built with scapy go through both routes of the capture table (the C
walker over pcap records and the Python path); the expected values are pping's samples
computed here from the same packets.
"""

from __future__ import annotations

import statistics
import struct
from collections.abc import Sequence

import pytest
from scapy.layers.inet import IP, TCP
from scapy.layers.l2 import Ether
from scapy.packet import Packet

from netop.model import FlowKpi
from netop.native import fastpath
from netop.sources.capture.aggregate import PacketAggregator

pytestmark = pytest.mark.skipif(fastpath.load() is None, reason="KPIs need the C extension")

C, S = "10.0.0.1", "10.0.0.2"
CP, SP = 40000, 80


def seg(to_server: bool, flags: str, seq: int, ack: int = 0, data: bytes = b"",
        ts: tuple[int, int] | None = None) -> Packet:
    opts = [("NOP", None), ("NOP", None), ("Timestamp", ts)] if ts else []
    src, dst, sport, dport = (C, S, CP, SP) if to_server else (S, C, SP, CP)
    return Ether() / IP(src=src, dst=dst) / TCP(
        sport=sport, dport=dport, flags=flags, seq=seq, ack=ack, window=1000, options=opts
    ) / data


def kpi_of(packets: Sequence[tuple[float, Packet]], route: str) -> FlowKpi:
    agg = PacketAggregator()
    if route == "c":
        buf = b"".join(struct.pack("<IIII", int(t), round((t % 1) * 1e6), len(raw), len(raw))
                       + raw for t, raw in ((t, bytes(p)) for t, p in packets))  # fmt: skip
        agg.add_pcap_buffer(buf, True, False, 1)
    else:
        agg.add_batch(1, [(t, bytes(p), len(bytes(p))) for t, p in packets])
    (rec,) = agg.drain()
    assert rec.kpi is not None
    return rec.kpi


def pping_samples(packets: Sequence[tuple[float, Packet]]) -> list[float]:
    """pping's RTT samples (ms): per side, the first time each TSval is seen; the first
    packet of the other side whose TSecr names it closes it."""
    seen: dict[tuple[str, int], float] = {}
    used: set[tuple[str, int]] = set()
    out: list[float] = []
    for t, p in packets:
        tsval, tsecr = dict(p[TCP].options)["Timestamp"]
        side, other = p[IP].src, p[IP].dst
        if tsval == 0 or (tsecr == 0 and p[TCP].flags != "S"):
            continue
        seen.setdefault((side, tsval), t)
        key = (other, tsecr)
        if key in seen and key not in used:
            out.append((t - seen[key]) * 1e3)
            used.add(key)
    return out


# The handshake with timestamps (TSvals on a 1 ms clock).
HANDSHAKE = [(100.000, seg(True, "S", 1000, ts=(1, 0))),
             (100.010, seg(False, "SA", 5000, 1001, ts=(1000, 1))),
             (100.012, seg(True, "A", 1001, 5001, ts=(2, 1000)))]  # fmt: skip


@pytest.mark.parametrize("route", ["c", "python"])
def test_a_resent_request_is_timed_by_its_echo(route: str) -> None:
    """Every copy of the request was resent: the seq/ack method has no sample (Karn),
    the echo of the resent copy's TSval gives one."""
    req = b"GET / HTTP/1.0\r\n\r\n"
    packets = [*HANDSHAKE,
               (100.013, seg(True, "PA", 1001, 5001, req, ts=(3, 1000))),
               (100.213, seg(True, "PA", 1001, 5001, req, ts=(203, 1000))),
               (100.233, seg(False, "A", 5001, 1019, ts=(1223, 203)))]  # fmt: skip
    expected = statistics.median(pping_samples(packets))  # 10, 2 and 20 ms
    k = kpi_of(packets, route)
    assert k.retrans == 1
    assert k.ack_rtt_ms == pytest.approx(expected, abs=1e-3)
    assert expected == pytest.approx(10.0)


@pytest.mark.parametrize("route", ["c", "python"])
def test_bulk_sender_echoed_an_rtt_later(route: str) -> None:
    """A segment a millisecond for 100 ms, each TSval echoed 20 ms later: pping's
    samples are 20 ms (the handshake's two aside), whatever is still in flight."""
    packets = list(HANDSHAKE)
    for i in range(100):
        t = 100.020 + i * 0.001
        packets.append((t, seg(True, "PA", 1001 + 100 * i, 5001, b"x" * 100, ts=(20 + i, 1000))))
        if i >= 20:  # the ACK of segment i - 20
            packets.append((t + 0.0001, seg(False, "A", 5001, 1001 + 100 * (i - 19),
                                            ts=(1100 + i, 20 + i - 20))))  # fmt: skip
    packets.sort(key=lambda tp: tp[0])
    samples = pping_samples(packets)
    assert statistics.median(samples) == pytest.approx(20.0, abs=0.2)
    k = kpi_of(packets, route)
    assert k.ack_rtt_ms == pytest.approx(20.0, abs=0.2)
    assert min(samples) <= k.ack_rtt_ms <= max(samples)


@pytest.mark.parametrize("route", ["c", "python"])
def test_without_timestamps_seq_ack_and_karn(route: str) -> None:
    """No timestamps: data -> the ACK covering it; the resent request gives nothing."""
    req = b"GET / HTTP/1.0\r\n\r\n"
    plain = [(100.000, seg(True, "S", 1000)), (100.010, seg(False, "SA", 5000, 1001)),
             (100.012, seg(True, "A", 1001, 5001)),
             (100.013, seg(True, "PA", 1001, 5001, req))]  # fmt: skip
    ok = [*plain, (100.043, seg(False, "A", 5001, 1019))]
    assert kpi_of(ok, route).ack_rtt_ms == pytest.approx(30.0, abs=1e-3)
    resent = [*plain, (100.213, seg(True, "PA", 1001, 5001, req)),
              (100.233, seg(False, "A", 5001, 1019))]  # fmt: skip
    assert kpi_of(resent, route).ack_rtt_ms is None
