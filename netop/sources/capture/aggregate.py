"""Packets -> per-tick bidirectional flow deltas.

The hot loop: one fixed-layout ``struct`` unpack for an untagged Ethernet/IPv4 or IPv6
frame carrying TCP or UDP, then one dict lookup keyed by raw address bytes. Everything
else (VLAN tags, options, extension headers, fragments, other link types) goes through
:func:`netop.packet.decode.decode`. Addresses are formatted once per flow per drain,
never per packet.

Each flow is stored under both its keys (``a->b`` and ``b->a``) with the index of the
counters that direction updates, so a packet costs one lookup whichever way it goes.
An entry is a list of a :class:`~netop.model.FlowRecord`'s first fields in its order
(addresses still packed): proto, src, sport, dst, dport, vlan, packets, bytes,
packets_rev, bytes_rev, first, last, tcp_flags, in_if, out_if.

``in_if``/``out_if`` of a live capture: the ifindex of the interface a packet was seen
on (``sockaddr_ll``), as the src->dst direction's way in when it was received going
src->dst or sent going dst->src (``PACKET_OUTGOING``), else as its way out. Packets
from a file carry no interface: both stay ``None``.
"""

from __future__ import annotations

import os
import struct
from collections import OrderedDict
from collections.abc import Callable, Iterable
from functools import partial
from typing import TYPE_CHECKING, Any

from netop.native import fastpath
from netop.packet.decode import (
    LINKTYPE_ETHERNET,
    LINKTYPE_LINUX_SLL,
    Decoded,
    answers_first,
    decode,
    format_addr,
    is_ip_frame,
    request_ports,
    reverse_ports,
)
from netop.packet.pcapfile import MAX_SNAPLEN
from netop.sources.capture.watch import FLOW_PACKETS, FLOW_RINGS, PacketRing, PacketWatch

if TYPE_CHECKING:  # records are built in the parent; the capture child ships rows
    from netop.model import FlowRecord

#: A flow as the aggregator keys it: a FlowKey's fields, addresses packed.
Key = tuple[int, bytes, int, bytes, int, int | None]
#: A drained flow: a :class:`~netop.model.FlowRecord`'s fields in its order, complete
#: (plain tuples: the capture child ``marshal``s them to the parent).
Row = tuple[
    int, str, int, str, int, int | None, int, int, int, int, float, float, int,
    str, None, int, int | None, int | None, tuple[Any, ...] | None,
]  # fmt: skip
_IN, _OUT = 13, 14  # in_if, out_if in an entry

_FAST4 = struct.Struct("!12xHBxHxxHxB2x4s4sHH")  # ethertype ... ports, IHL 5 assumed
_FAST6 = struct.Struct("!12xHB3xHBx16s16sHH")
_TCP_UDP = (6, 17)
# tpacket3_hdr: next, sec, nsec, snaplen, len, status, mac, net, rxhash, vlan_tci.
_TP3 = struct.Struct("=IIIIIIH2x4xI")
_TP_STATUS_VLAN_VALID = 0x10
_U32 = struct.Struct("=I")
_I32 = struct.Struct("=i")
# sockaddr_ll after the 48-byte tpacket3_hdr: family, protocol, ifindex, hatype, pkttype.
_SLL_IFINDEX = 52
_SLL_PKTTYPE = 58
_PACKET_OUTGOING = 4
_RAW4 = struct.Struct("!BxHxxHxB2x4s4sHH")
_RAW6 = struct.Struct("!B3xHBx16s16sHH")
_SLL_PAD = bytes(14)
_IP_TYPES = (b"\x08\x00", b"\x86\xdd")


class PacketAggregator(PacketWatch):
    """Accumulates flow deltas until :meth:`drain`; bounded, never raises on input."""

    def __init__(
        self,
        max_flows: int = 1_000_000,
        max_fragments: int = 4096,
        fast: bool = True,
        keep_packets: bool = False,
        flow_packets: int = FLOW_PACKETS,
        flow_rings: int = FLOW_RINGS,
    ) -> None:
        self.max_flows = max_flows
        self.max_fragments = max_fragments
        self.sampling = 1
        self.packets = 0
        self.malformed = 0
        self.non_ip = 0
        self.overflow = 0
        #: Packets a file reader gave their predecessor's time (theirs was impossible).
        self.bad_timestamps = 0
        self._flows: dict[Key, tuple[list[Any], int]] = {}
        self._count = 0
        self._frags: OrderedDict[bytes, Key] = OrderedDict()
        self._names: dict[bytes, str] = {}
        module = fastpath.load() if fast else None
        self._c: Any = None
        if module is not None:
            self._c = module.Table(max_flows, keep_packets, kpis=kpis_enabled(),
                                   flow_packets=flow_packets, flow_rings=flow_rings)
        #: Application facts of the flows this path counts, by id of their entry (the C
        #: table keeps its own): app.h reads each of a flow's first packets.
        self._app: dict[int, tuple[Any, ...]] = {}
        self._app_parse: Callable[..., tuple[Any, ...] | None] | None = (
            module.app_parse if module is not None else None)
        # Recent packets for watch(): the C table keeps them itself when it is in use.
        self._ring = None
        if keep_packets:
            self._ring = self._c if self._c is not None else PacketRing(flow_packets, flow_rings)

    @property
    def accelerated(self) -> bool:
        """Whether the C fast path is in use."""
        return self._c is not None

    def __len__(self) -> int:
        return self._count + (len(self._c) if self._c is not None else 0)

    @property
    def full(self) -> bool:
        """True when the caller should drain before adding more."""
        return len(self) >= self.max_flows

    def add_pcap_buffer(
        self, buf: bytes | memoryview, little: bool, nano: bool, linktype: int
    ) -> tuple[int, float, bool]:
        """Count the complete pcap records at the start of ``buf`` (a buffer the caller
        may fill again afterwards: no packet keeps a view of it).

        Returns (bytes consumed, timestamp of the last packet, damaged record found).
        """
        order = "<" if little else ">"
        rec = struct.Struct(order + "IIII")
        scale = 1e-9 if nano else 1e-6
        if self._c is not None:
            consumed, slow, n, last_ts, bad = self._c.feed_pcap(buf, little, nano, linktype)
            for off in slow:
                sec, frac, caplen, wirelen = rec.unpack_from(buf, off)
                data = bytes(buf[off + 16 : off + 16 + caplen])
                self._add_slow(sec + frac * scale, data, linktype, wirelen)
            self.packets += n
            return consumed, last_ts, bool(bad)
        if not isinstance(buf, bytes):
            buf = bytes(buf)
        packets: list[tuple[float, bytes, int]] = []
        off, end, bad = 0, len(buf), False
        while off + 16 <= end:
            sec, frac, caplen, wirelen = rec.unpack_from(buf, off)
            if caplen > MAX_SNAPLEN:
                bad = True
                break
            if off + 16 + caplen > end:
                break
            packets.append((sec + frac * scale, buf[off + 16 : off + 16 + caplen], wirelen))
            off += 16 + caplen
        self.add_batch(linktype, packets)
        return off, packets[-1][0] if packets else 0.0, bad

    def add_batch(self, linktype: int, packets: Iterable[tuple[float, bytes, int]]) -> None:
        """Count a batch of ``(ts, frame, wirelen)`` of one link type."""
        flows = self._flows
        get = flows.get
        slow = self._add_slow
        keep = self._ring.record if self._ring is not None else None
        n = 0
        if linktype != LINKTYPE_ETHERNET:
            for ts, data, wirelen in packets:
                n += 1
                slow(ts, data, linktype, wirelen)
            self.packets += n
            return
        unpack4 = _FAST4.unpack_from
        unpack6 = _FAST6.unpack_from
        kpi = self._c.kpi_feed if self._c is not None else None
        look, first = self._app_parse, APP_PACKETS
        for ts, data, wirelen in packets:
            n += 1
            try:
                if data[12] == 8:
                    etype, vihl, total, frag, proto, src, dst, sport, dport = unpack4(data)
                    if (
                        etype != 0x0800
                        or vihl != 0x45
                        or frag & 0x3FFF
                        or proto not in _TCP_UDP
                        or total < 20
                    ):
                        slow(ts, data, linktype, wirelen)
                        continue
                else:
                    etype, vtc, plen, proto, src, dst, sport, dport = unpack6(data)
                    if etype != 0x86DD or vtc >> 4 != 6 or proto not in _TCP_UDP:
                        slow(ts, data, linktype, wirelen)
                        continue
                    total = plen + 40
            except (struct.error, IndexError):
                slow(ts, data, linktype, wirelen)
                continue
            flags = 0
            if proto == 6:
                at = 47 if etype == 0x0800 else 67
                if len(data) > at:
                    flags = data[at]
            l4, l4_len = (34, total - 20) if etype == 0x0800 else (54, total - 40)
            if kpi is not None:
                kpi(ts, proto, None, src, dst, sport, dport, data[l4 : l4 + l4_len], l4_len)
            if keep is not None:
                keep(ts, linktype, data[:256], wirelen, proto, None, src, dst, sport, dport, flags)
            key = (proto, src, sport, dst, dport, None)
            hit = get(key)
            if hit is None:
                self._new(ts, proto, None, src, dst, sport, dport, total, flags)
                if look is not None:
                    self._look(get(key), proto, sport, dport, data[l4 : l4 + l4_len])
                continue
            entry, i = hit
            entry[i] += 1
            entry[i + 1] += total
            # A file's packets may go back in time (merged interfaces): first and last
            # are the earliest and the latest, as C keeps them.
            if ts > entry[11]:
                entry[11] = ts
            elif ts < entry[10]:
                entry[10] = ts
            entry[12] |= flags
            if look is not None and entry[6] + entry[8] <= first:
                self._look(hit, proto, sport, dport, data[l4 : l4 + l4_len])
        self.packets += n

    def _look(self, hit: tuple[list[Any], int] | None, proto: int, sport: int, dport: int,
              l4: bytes) -> None:
        """What one of a flow's first segments says at the application layer, merged
        into what it said before (at most APP_FLOWS flows an interval, as in C)."""
        assert self._app_parse is not None
        facts = self._app_parse(proto, sport, dport, l4)
        if facts is None or hit is None:
            return
        key = id(hit[0])
        old = self._app.get(key)
        if old is None:
            if len(self._app) < APP_FLOWS:
                self._app[key] = facts
        else:
            self._app[key] = _merge_app(old, facts)

    def add_tpacket_block(self, block: bytes, count: int, loopback: int = 0) -> None:
        """Count the packets of one TPACKET_V3 block from a ``SOCK_DGRAM`` ring.

        ``loopback`` is the ifindex of ``lo`` (0: none): its outgoing copies are skipped
        like libpcap does, since lo hands every packet back as incoming too.
        """
        if self._c is not None:
            slow, n = self._c.feed_tpacket(block, count, loopback)
            for off in slow:
                self._tp_slow(block, off)
            self.packets += n
            return
        get = self._flows.get
        keep = self._ring.record if self._ring is not None else None
        unpack_hdr = _TP3.unpack_from
        unpack4 = _RAW4.unpack_from
        unpack6 = _RAW6.unpack_from
        unpack_i32 = _I32.unpack_from
        off = _U32.unpack_from(block, 16)[0]
        end = len(block)
        n = 0
        for _ in range(count):
            if off + 60 > end:
                break
            nxt, sec, nsec, snaplen, wirelen, status, mac, tci = unpack_hdr(block, off)
            ifx = unpack_i32(block, off + _SLL_IFINDEX)[0]
            outgoing = block[off + _SLL_PKTTYPE] == _PACKET_OUTGOING
            if loopback and outgoing and ifx == loopback:
                if not nxt:
                    break
                off += nxt
                continue
            n += 1
            ts = sec + nsec * 1e-9
            p = off + mac
            etype = block[off + 50] << 8 | block[off + 51]
            vlan = tci & 0x0FFF if status & _TP_STATUS_VLAN_VALID else None
            try:
                if etype == 0x0800:
                    vihl, total, frag, proto, src, dst, sport, dport = unpack4(block, p)
                    fast = vihl == 0x45 and not frag & 0x3FFF and proto in _TCP_UDP and total >= 20
                    flag_at = p + 33
                elif etype == 0x86DD:
                    vtc, plen, proto, src, dst, sport, dport = unpack6(block, p)
                    total = plen + 40
                    fast = vtc >> 4 == 6 and proto in _TCP_UDP
                    flag_at = p + 53
                else:
                    fast = False
            except struct.error:
                fast = False
            if not fast or snaplen < 24:
                self._tp_slow(block, off, ifx, outgoing)
            else:
                flags = block[flag_at] if proto == 6 and flag_at < p + snaplen else 0
                if keep is not None:
                    data = block[p : p + min(snaplen, 256)]
                    keep(ts, 101, data, wirelen, proto, vlan, src, dst, sport, dport, flags)
                hit = get((proto, src, sport, dst, dport, vlan))
                if hit is None:
                    self._new(ts, proto, vlan, src, dst, sport, dport, total, flags, ifx, outgoing)
                else:
                    entry, i = hit
                    entry[i] += 1
                    entry[i + 1] += total
                    entry[11] = ts
                    entry[12] |= flags
                    entry[_OUT if (i == 6) == outgoing else _IN] = ifx
            if not nxt:
                break
            off += nxt
        self.packets += n

    def _tp_slow(self, block: bytes, off: int, ifx: int = 0, outgoing: bool = False) -> None:
        if not ifx:  # the C path hands over only the offset
            ifx = _I32.unpack_from(block, off + _SLL_IFINDEX)[0]
            outgoing = block[off + _SLL_PKTTYPE] == _PACKET_OUTGOING
        _nxt, sec, nsec, snaplen, wirelen, status, mac, tci = _TP3.unpack_from(block, off)
        p = off + mac
        frame = _SLL_PAD + block[off + 50 : off + 52] + block[p : p + snaplen]
        d = decode(frame, LINKTYPE_LINUX_SLL)
        if d is None and status & _TP_STATUS_VLAN_VALID and frame[14:16] in _IP_TYPES:
            # QinQ: the kernel took the outer tag into the metadata but left the inner
            # tag in front of the packet while naming the innermost protocol.
            d = decode(_SLL_PAD + b"\x81\x00" + block[p : p + snaplen], LINKTYPE_LINUX_SLL)
        if d is None:
            if is_ip_frame(frame, LINKTYPE_LINUX_SLL):
                self.malformed += 1
            else:
                self.non_ip += 1
            return
        if status & _TP_STATUS_VLAN_VALID:
            d = d._replace(vlan=tci & 0x0FFF)
        ts = sec + nsec * 1e-9
        self._count_decoded(ts, d, LINKTYPE_LINUX_SLL, frame, wirelen + 16, ifx, outgoing)

    def add(self, ts: float, data: bytes, linktype: int = LINKTYPE_ETHERNET) -> None:
        """Count one packet (the slow path; fine for low rates and tests)."""
        self.packets += 1
        self._add_slow(ts, data, linktype)

    def add_decoded(self, ts: float, d: Decoded) -> None:
        """Count one packet already decoded (e.g. from a cooked AF_PACKET socket)."""
        self.packets += 1
        self._count_decoded(ts, d)

    def _add_slow(self, ts: float, data: bytes, linktype: int, wirelen: int = 0) -> None:
        d = decode(data, linktype)
        if d is None:
            if is_ip_frame(data, linktype):
                self.malformed += 1
            else:
                self.non_ip += 1
            return
        self._count_decoded(ts, d, linktype, data, wirelen or len(data))

    def _count_decoded(
        self,
        ts: float,
        d: Decoded,
        linktype: int = 0,
        data: bytes = b"",
        wirelen: int = 0,
        ifx: int = 0,
        outgoing: bool = False,
    ) -> None:
        key: Key = (d.proto, d.src, d.sport, d.dst, d.dport, d.vlan)
        if d.frag is not None:
            ident, first = d.frag
            if first:
                self._frags[ident] = key
                if len(self._frags) > self.max_fragments:
                    self._frags.popitem(last=False)
            else:
                key = self._frags.get(ident, key)
        looks = self._c is not None and data and d.l4_off >= 0 and d.proto in _TCP_UDP
        if looks:
            end = d.l4_off + d.l4_len
            self._c.kpi_feed(ts, d.proto, d.vlan, d.src, d.dst, d.sport, d.dport,
                             data[d.l4_off : end], d.l4_len)  # fmt: skip
        if self._ring is not None and data:
            proto, src, sport, dst, dport, vlan = key
            self._ring.record(ts, linktype, data[:256], wirelen, proto, vlan, src, dst, sport,
                              dport, d.tcp_flags)  # fmt: skip
        hit = self._flows.get(key)
        if hit is None:
            proto, src, sport, dst, dport, vlan = key
            self._new(ts, proto, vlan, src, dst, sport, dport, d.l3_len, d.tcp_flags, ifx,
                      outgoing)  # fmt: skip
            if looks and d.frag is None:
                self._look(self._flows.get(key), d.proto, d.sport, d.dport,
                           data[d.l4_off : d.l4_off + d.l4_len])
            return
        entry, i = hit
        entry[i] += 1
        entry[i + 1] += d.l3_len
        if ts > entry[11]:
            entry[11] = ts
        elif ts < entry[10]:
            entry[10] = ts
        entry[12] |= d.tcp_flags
        if ifx:
            entry[_OUT if (i == 6) == outgoing else _IN] = ifx
        if looks and d.frag is None and entry[6] + entry[8] <= APP_PACKETS:
            self._look(hit, d.proto, d.sport, d.dport, data[d.l4_off : d.l4_off + d.l4_len])

    def _new(
        self,
        ts: float,
        proto: int,
        vlan: int | None,
        src: bytes,
        dst: bytes,
        sport: int,
        dport: int,
        l3_len: int,
        flags: int,
        ifx: int = 0,
        outgoing: bool = False,
    ) -> None:
        if self._count >= self.max_flows:
            self.overflow += 1
            return
        if answers_first(proto, dport, flags) and (src != dst or sport != dport):
            # The other side opened it: store it the way the opener would have sent it.
            if proto == 6:
                src, dst, sport, dport = dst, src, dport, sport
            else:
                src, dst, dport = dst, src, request_ports(proto, dport)
            entry: list[Any] = [proto, src, sport, dst, dport, vlan, 0, 0, 1, l3_len, ts, ts,
                                flags, None, None]  # fmt: skip
            forward = False
        else:
            entry = [proto, src, sport, dst, dport, vlan, 1, l3_len, 0, 0, ts, ts, flags, None,
                     None]  # fmt: skip
            forward = True
        if ifx:
            entry[_OUT if forward == outgoing else _IN] = ifx
        rsport, rdport = reverse_ports(proto, sport, dport)
        self._flows[(proto, src, sport, dst, dport, vlan)] = (entry, 6)
        self._flows.setdefault((proto, dst, rsport, src, rdport, vlan), (entry, 8))
        self._count += 1

    def drain_rows(self, source: str = "capture") -> list[Row]:
        """The deltas since the last drain, as plain tuples of a
        :class:`~netop.model.FlowRecord`'s fields in its order; starts a new interval.

        Counts are already scaled by the sampling rate. The capture child ships these to
        the parent, which makes each a record with :func:`rows_to_records`.
        """
        return self._drain(source)

    def _drain(self, source: str, typed: bool = False) -> list[Any]:
        """The deltas since the last drain, each a tuple of the fields in FlowRecord order;
        ``typed``: each a :class:`~netop.model.FlowRecord` and the KPIs a
        :class:`~netop.model.FlowKpi` (else plain tuples: the capture child does not load
        the model)."""
        as_kpi: Callable[[Any], Any] | None = None
        as_app: Callable[[Any], Any] | None = None
        record_type: type | None = None
        # The named tuples made as their own ``__new__`` makes them, without its Python
        # call: two per flow per drain.
        new = tuple.__new__
        if typed:
            from netop.model import AppFacts, FlowKpi, FlowRecord

            as_kpi, as_app, record_type = partial(new, FlowKpi), AppFacts.from_row, FlowRecord

        k = self.sampling
        names = self._address_names()
        out: list[Any] = []
        app_of = self._app.get
        # Only C rows (the usual case): no entry lists to merge them with.
        entries = self._c.drain() if self._c is not None and not self._flows else self._entries()
        kpi_of = self._c.kpi_of if self._c is not None else None
        for row in entries:
            proto, src, sport, dst, dport, vlan, p, b, pr, br, first, last, flags, in_if, out_if = (
                row[:15])
            # A C row carries its KPIs; a Python entry's are looked up (same C state).
            kpi = row[15] if len(row) > 15 else (
                kpi_of(proto, vlan, src, dst, sport, dport) if kpi_of is not None else None)
            if kpi is not None and as_kpi is not None:
                kpi = as_kpi(kpi)
            app = row[16] if len(row) > 16 else app_of(id(row))
            if app is not None and as_app is not None:
                app = as_app(app)
            s = names.get(src) or names.setdefault(src, format_addr(src))
            t = names.get(dst) or names.setdefault(dst, format_addr(dst))
            fields = (proto, s, sport, t, dport, vlan, p * k, b * k, pr * k, br * k, first, last,
                      flags, source, None, k, in_if, out_if, kpi, app)  # fmt: skip
            out.append(fields if record_type is None else new(record_type, fields))
        self._interval_done()
        return out

    def _address_names(self) -> dict[bytes, str]:
        """Packed address -> its text, one string per address shared by its flows and
        drains; emptied when it outgrows four times the table (a churn of addresses)."""
        if len(self._names) > 4 * self.max_flows:
            self._names.clear()
        return self._names

    def _interval_done(self) -> None:
        """Forget the interval's flows (they were drained)."""
        self._flows = {}
        self._count = 0
        self._app = {}
        if self._c is not None:
            self._c.sweep_kpis()

    def _entries(self) -> list[list[Any]]:
        """Every flow of the interval in the entry layout, C and Python merged."""
        flows = self._flows
        out: list[list[Any]] = []
        merged: set[int] = set()
        if self._c is not None:
            for row in self._c.drain():
                entry = list(row)
                hit = flows.get(row[:6]) if flows else None
                if hit is not None:
                    # The same flow also took the slow path (e.g. some fragments): one
                    # row, oriented the way its earliest packet went.
                    other, i = hit
                    merged.add(id(other))
                    if i != 6:  # the Python entry is the other way round
                        other = [*row[:6], *other[8:10], *other[6:8], *other[10:13],
                                 other[_OUT], other[_IN]]  # fmt: skip
                    entry = _combine(entry, other)
                    if i != 6 and hit[0][10] < row[10]:
                        entry = [*hit[0][:6], *entry[8:10], *entry[6:8], *entry[10:13],
                                 entry[_OUT], entry[_IN]]  # fmt: skip
                    facts = row[16] if len(row) > 16 and row[16] is not None else (
                        self._app.get(id(hit[0])))
                    if facts is not None:  # the combined entry is a new list
                        self._app[id(entry)] = facts
                out.append(entry)
        for entry, i in flows.values():
            if i == 6 and (not merged or id(entry) not in merged):
                out.append(entry)
        return out

    def drain(self, source: str = "capture") -> list[FlowRecord]:
        """The deltas since the last drain as records; starts a new interval."""
        if self._c is None or self._flows:
            return self._drain(source, typed=True)
        # Only C rows (the usual case): C makes the records too, with no Python per flow
        # (that loop was a tenth of ``flows -r`` on 10k flows).
        from netop.model import AppFacts, FlowKpi, FlowRecord

        out: list[FlowRecord] = self._c.drain_records(FlowRecord, FlowKpi, AppFacts.from_row,
                                                      source, self.sampling,
                                                      self._address_names())  # fmt: skip
        self._interval_done()
        return out

    def stats(self) -> dict[str, int]:
        """Cumulative counters for the source's ``FlowBatch.stats``."""
        return {
            "packets": self.packets,
            "malformed": self.malformed,
            "non_ip": self.non_ip,
            "overflow": self.overflow + (self._c.overflow if self._c is not None else 0),
            "sampling": self.sampling,
            "bad_time": self.bad_timestamps,
        }


def kpis_enabled() -> bool:
    """Whether the capture table measures per-flow KPIs: yes unless ``NETOP_KPIS=0`` (the
    benchmark's "before" run; the capture child inherits the environment)."""
    return os.environ.get("NETOP_KPIS", "1") != "0"


def is_loopback_copy(block: bytes, off: int, loopback: int) -> bool:
    """Whether the ring packet at ``off`` is lo's outgoing copy (``PACKET_OUTGOING``)."""
    return block[off + _SLL_PKTTYPE] == _PACKET_OUTGOING and (
        _I32.unpack_from(block, off + _SLL_IFINDEX)[0] == loopback
    )


#: The Python path looks at a flow's first this many packets of an interval (both ways),
#: and keeps facts for at most this many flows an interval (app.h: APP_MAX).
APP_PACKETS = 8
APP_FLOWS = 4096


def _merge_app(old: tuple[Any, ...], new: tuple[Any, ...]) -> tuple[Any, ...]:
    """Two segments' facts of one flow (``app_parse`` tuples): what the later saw wins."""
    if old[0] != new[0]:
        return new
    return (new[0], *(o if n is None else n for o, n in zip(old[1:], new[1:], strict=True)))


def _combine(a: list[Any], b: list[Any]) -> list[Any]:
    """Two entries of one flow in the same orientation, summed (earliest ``first`` wins)."""
    return [*a[:6], a[6] + b[6], a[7] + b[7], a[8] + b[8], a[9] + b[9], min(a[10], b[10]),
            max(a[11], b[11]), a[12] | b[12], a[_IN] or b[_IN], a[_OUT] or b[_OUT]]  # fmt: skip


def rows_to_records(rows: Iterable[Any]) -> list[FlowRecord]:
    """Rows from :meth:`PacketAggregator.drain_rows` (or the child's message) as records;
    ``ValueError`` for a row of the wrong length."""
    from netop.model import AppFacts, FlowKpi, FlowRecord

    make, kpi, app = FlowRecord._make, FlowKpi._make, AppFacts.from_row

    def typed(row: Any) -> FlowRecord:
        if len(row) < 19 or len(row) > 20:
            return FlowRecord(*row)  # TypeError when too long
        k, facts = row[18], (row[19] if len(row) > 19 else None)
        return make((*row[:18], None if k is None else kpi(k),
                     None if facts is None else app(facts)))

    try:
        return [make(row) if len(row) == 20 and row[18] is None and row[19] is None
                else typed(row) for row in rows]
    except TypeError as exc:
        raise ValueError(str(exc)) from None
