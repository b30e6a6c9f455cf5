"""The collector's per-tick flow table and its drain into FlowRecords.

Decoders merge every exported record into a table of :data:`FlowKey` -> sums
(:data:`Sums`) instead of building an object per record: a dataclass per record costs
about five times the decode. :class:`FlowAggregator` holds those tables for one tick
and builds one :class:`~netop.model.FlowRecord` per distinct flow only when drained;
FlowRecord is what leaves the collector package.
"""

from __future__ import annotations

import socket
from typing import Any, TypeAlias

from netop.config import DEFAULT_MAX_FLOWS
from netop.model import FlowRecord

#: The one key order of the collector's tables (also built by generated decoders):
#: (proto, src, sport, dst, dport, vlan, in_if, out_if). Addresses are packed (4 or 16
#: bytes) or already text; in_if/out_if are ifIndexes, 0 or None (0 and None: no
#: interface, null in the FlowRecord). Records that differ in their interfaces stay
#: apart: one flow seen on two interfaces is two observations.
FlowKey: TypeAlias = tuple[
    int, bytes | str, int, bytes | str, int, int | None, int | None, int | None
]
#: The sums kept per key, a list updated in place: [packets, bytes, first, last, tcp_flags].
Sums: TypeAlias = list[Any]
#: One flow table of a (source, exporter, sampling) group.
FlowTable: TypeAlias = dict[FlowKey, Sums]


def format_addr(raw: bytes | str) -> str:
    """Text form of a packed IPv4/IPv6 address (other lengths as hex, never raises)."""
    if isinstance(raw, str):
        return raw
    if len(raw) == 4:
        return socket.inet_ntop(socket.AF_INET, raw)
    if len(raw) == 16:
        return socket.inet_ntop(socket.AF_INET6, raw)
    return raw.hex()


class FlowAggregator:
    """Sums canonical tuples per (source, exporter, sampling, 5-tuple, vlan) for one tick.

    Memory is bounded by ``max_flows`` distinct keys per drain; records beyond it are
    counted in :attr:`overflow` rather than kept (the engine's flow table is bounded too).
    """

    def __init__(self, max_flows: int = DEFAULT_MAX_FLOWS) -> None:
        self.max_flows = max_flows
        self.overflow = 0
        self._size = 0
        self._tables: dict[tuple[str, str | None, int], FlowTable] = {}

    def __len__(self) -> int:
        return self._size

    @property
    def room(self) -> int:
        """How many new flow keys still fit before :meth:`drain`."""
        return self.max_flows - self._size

    def table(self, source: str, exporter: str | None, sampling: int) -> FlowTable:
        """The sums of one (source, exporter, sampling) group, for the decoders."""
        group = (source, exporter, sampling)
        table = self._tables.get(group)
        if table is None:
            table = self._tables[group] = {}
        return table

    def commit(self, room: int, overflow: int) -> None:
        """Account for keys a decoder added (``room`` is what is left)."""
        self._size = self.max_flows - room
        self.overflow += overflow


    def drain(self) -> dict[str, list[FlowRecord]]:
        """FlowRecords per source name for everything added since the last drain."""
        out: dict[str, list[FlowRecord]] = {}
        names: dict[bytes | str, str] = {}
        for (source, exporter, sampling), table in self._tables.items():
            bucket = out.setdefault(source, [])
            for key, (packets, octets, first, last, flags) in table.items():
                if not key[1] and not key[3]:
                    continue  # a data template without addresses is not a flow
                src = names.get(key[1])
                if src is None:
                    src = names[key[1]] = format_addr(key[1])
                dst = names.get(key[3])
                if dst is None:
                    dst = names[key[3]] = format_addr(key[3])
                bucket.append(
                    FlowRecord(
                        proto=key[0],
                        src=src,
                        sport=key[2],
                        dst=dst,
                        dport=key[4],
                        vlan=key[5],
                        in_if=key[6] or None,  # ifIndex 0 names no interface (RFC 2863)
                        out_if=key[7] or None,
                        packets=int(packets),
                        bytes=int(octets),
                        first=float(first),
                        last=float(last),
                        tcp_flags=int(flags),
                        source=source,
                        exporter=exporter,
                        sampling=sampling,
                    )
                )
        self._tables = {}
        self._size = 0
        return out


def merge(table: FlowTable, key: FlowKey, sums: Sums, room: int) -> int:
    """Add one record's ``sums`` to ``table`` (as the generated decoders do inline);
    returns the room left, -1 when the key found none (the record is not kept)."""
    entry = table.get(key)
    if entry is None:
        if room <= 0:
            return -1
        table[key] = sums
        return room - 1
    entry[0] += sums[0]
    entry[1] += sums[1]
    if sums[2] < entry[2]:
        entry[2] = sums[2]
    if sums[3] > entry[3]:
        entry[3] = sums[3]
    entry[4] |= sums[4]
    return room
