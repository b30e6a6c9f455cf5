"""Fixed-threshold KPI events: a flow retransmitting too much, a DNS server failing.

Checked on the flows that moved in a tick (never the whole table), each condition once
per flow. Thresholds come from the ``[kpi]`` section of the config::

    [kpi]
    retrans_pct = 15.0          # ntopng's flag: retransmissions above 15 % of packets
    min_packets = 20            # ... of a flow with at least this many packets
    rtt_ms = 0                  # handshake RTT above this (0: off)
    dns_failure_rcodes = ["SERVFAIL", "REFUSED"]

Baselines (a host leaving its usual range) belong to the detection work; these are the
fixed floors.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from netop.config import get_float, get_int, get_section
from netop.errors import ConfigError
from netop.model import DNS_RCODES, FlowFields, FlowKey, NetEvent, Severity, proto_name

SOURCE = "kpi"
_DEFAULT_RCODES = ("SERVFAIL", "REFUSED")
#: Flows remembered as already reported (oldest forgotten first).
_MEMORY = 100_000


@dataclass(frozen=True, slots=True)
class KpiThresholds:
    """When a flow's KPIs become an event."""

    retrans_pct: float = 15.0
    min_packets: int = 20
    rtt_ms: float = 0.0
    dns_failure_rcodes: tuple[str, ...] = _DEFAULT_RCODES


def kpi_thresholds(raw: Mapping[str, Any]) -> KpiThresholds:
    """The ``[kpi]`` section, validated (``ConfigError``: one clear line)."""
    section = get_section(raw, "kpi")
    known = {"retrans_pct", "min_packets", "rtt_ms", "dns_failure_rcodes"}
    for key in section:
        if key not in known:
            raise ConfigError(f"kpi.{key}", f"unknown key (use {', '.join(sorted(known))})")
    rcodes = section.get("dns_failure_rcodes", list(_DEFAULT_RCODES))
    if not isinstance(rcodes, list) or not all(isinstance(c, str) for c in rcodes):
        raise ConfigError("kpi.dns_failure_rcodes", "must be a list of rcode names")
    bad = [c for c in rcodes if c.upper() not in DNS_RCODES]
    if bad:
        raise ConfigError("kpi.dns_failure_rcodes",
                          f"unknown rcode {bad[0]!r} (use {', '.join(DNS_RCODES)})")
    return KpiThresholds(
        retrans_pct=get_float(raw, "kpi.retrans_pct", 15.0, low=0.0, high=100.0),
        min_packets=get_int(raw, "kpi.min_packets", 20, low=1, high=10**9),
        rtt_ms=get_float(raw, "kpi.rtt_ms", 0.0, low=0.0, high=3_600_000.0),
        dns_failure_rcodes=tuple(c.upper() for c in rcodes),
    )


def _key(f: FlowFields) -> FlowKey:
    return FlowKey(f.proto, f.src, f.sport, f.dst, f.dport, f.vlan)


def _flow_text(f: FlowFields) -> str:
    return f"{proto_name(f.proto)} {f.src}:{f.sport} → {f.dst}:{f.dport}"


class KpiWatch:
    """Turns the KPIs of the flows that moved into events, each at most once per flow
    (a DNS failure again when more such answers come)."""

    def __init__(self, thresholds: KpiThresholds | None = None) -> None:
        self.thresholds = thresholds or KpiThresholds()
        self._seen: OrderedDict[tuple[str, str], int] = OrderedDict()

    def _once(self, key: str, kind: str, count: int = 1) -> bool:
        """True the first time (or when ``count`` grew since the last report)."""
        mark = (key, kind)
        if self._seen.get(mark, 0) >= count:
            return False
        self._seen[mark] = count
        self._seen.move_to_end(mark)
        while len(self._seen) > _MEMORY:
            self._seen.popitem(last=False)
        return True

    def check(self, flows: Iterable[Any], now: float) -> list[NetEvent]:
        """Events for ``flows`` (flow-table entries: they carry ``kpi`` and ``key``)."""
        t = self.thresholds
        out: list[NetEvent] = []
        for f in flows:
            kpi = f.kpi
            if kpi is None:
                continue
            packets = f.packets + f.packets_rev
            if (kpi.retrans is not None and kpi.retrans_rev is not None
                    and packets >= t.min_packets):  # fmt: skip
                pct = 100.0 * (kpi.retrans + kpi.retrans_rev) / packets
                if pct > t.retrans_pct and self._once(f.key, "retrans"):
                    out.append(NetEvent(now, Severity.WARNING, SOURCE,
                                        f"{_flow_text(f)}: {pct:.1f} % of {packets} packets "
                                        f"retransmitted (over {t.retrans_pct:g} %)",
                                        flow=_key(f)))
            if t.rtt_ms and kpi.rtt_ms is not None and kpi.rtt_ms > t.rtt_ms \
                    and self._once(f.key, "rtt"):
                out.append(NetEvent(now, Severity.WARNING, SOURCE,
                                    f"{_flow_text(f)}: handshake RTT {kpi.rtt_ms:.1f} ms "
                                    f"(over {t.rtt_ms:g} ms)", flow=_key(f)))
            if kpi.dns_rcodes:
                for rcode in t.dns_failure_rcodes:
                    n = kpi.dns_rcodes.get(rcode, 0)
                    if n and self._once(f.key, rcode, n):
                        out.append(NetEvent(now, Severity.WARNING, SOURCE,
                                            f"DNS server {f.dst} answered {rcode} to {f.src} "
                                            f"({n}× on this flow)", flow=_key(f)))
        return out
