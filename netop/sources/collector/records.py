"""The collector's compact flow record and the per-tick aggregation into FlowRecords.

Decoders produce plain tuples in one canonical layout (:data:`RawFlow`) instead of
objects: building a dataclass per exported record costs about five times the decode.
:class:`FlowAggregator` sums those tuples per flow key for one tick and builds one
:class:`~netop.model.FlowRecord` per distinct flow only when the tick is drained.
"""

from __future__ import annotations

import socket
from collections.abc import Iterable
from typing import Any, TypeAlias

from netop.config import DEFAULT_MAX_FLOWS
from netop.model import FlowRecord

#: (proto, src, sport, dst, dport, vlan, packets, bytes, first, last, tcp_flags).
#: Addresses are packed (4 or 16 bytes) or already text; times are epoch seconds.
RawFlow: TypeAlias = tuple[
    int, bytes | str, int, bytes | str, int, int | None, int, int, float, float, int
]
_FlowKey: TypeAlias = tuple[int, bytes | str, int, bytes | str, int, int | None]


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
        self._tables: dict[tuple[str, str | None, int], dict[Any, list[Any]]] = {}

    def __len__(self) -> int:
        return self._size

    @property
    def room(self) -> int:
        """How many new flow keys still fit before :meth:`drain`."""
        return self.max_flows - self._size

    def table(self, source: str, exporter: str | None, sampling: int) -> dict[Any, list[Any]]:
        """The sums of one (source, exporter, sampling) group, for generated decoders."""
        group = (source, exporter, sampling)
        table = self._tables.get(group)
        if table is None:
            table = self._tables[group] = {}
        return table

    def commit(self, room: int, overflow: int) -> None:
        """Account for keys a generated decoder added (``room`` is what is left)."""
        self._size = self.max_flows - room
        self.overflow += overflow

    def add(
        self, source: str, exporter: str | None, sampling: int, records: Iterable[RawFlow]
    ) -> None:
        """Merge decoded records of one datagram."""
        group = (source, exporter, sampling)
        table = self._tables.get(group)
        if table is None:
            table = self._tables[group] = {}
        get = table.get
        size, limit = self._size, self.max_flows
        for proto, src, sport, dst, dport, vlan, packets, octets, first, last, flags in records:
            key = (proto, src, sport, dst, dport, vlan)
            entry = get(key)
            if entry is None:
                if size >= limit:
                    self.overflow += 1
                    continue
                table[key] = [packets, octets, first, last, flags]
                size += 1
                continue
            entry[0] += packets
            entry[1] += octets
            if first < entry[2]:
                entry[2] = first
            if last > entry[3]:
                entry[3] = last
            entry[4] = int(entry[4]) | flags
        self._size = size

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
