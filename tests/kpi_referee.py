"""tshark as the referee of netop's per-flow KPIs (helper for the KPI tests).

:func:`tshark_kpis` reads a capture with tshark's TCP analysis and DNS dissector and
sums what netop's flow record carries, per flow (unordered 5-tuple + VLAN is not used:
tshark's addresses and ports): the handshake RTT (``tcp.analysis.initial_rtt``),
retransmissions and out-of-order segments per sending side, and the DNS response times
(``dns.time``). :func:`netop_flows` runs ``netop flows -r F --json``.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

#: (proto, address, port, address, port) with the lower (address, port) first.
Key = tuple[str, str, int, str, int]

_FIELDS = (
    "ip.src", "ipv6.src", "ip.dst", "ipv6.dst", "tcp.srcport", "tcp.dstport", "udp.srcport",
    "udp.dstport", "tcp.analysis.initial_rtt", "tcp.analysis.retransmission",
    "tcp.analysis.out_of_order", "dns.time", "ip.proto", "ipv6.nxt",
)  # fmt: skip


@dataclass
class RefFlow:
    """What tshark says about one flow (sides named by (address, port))."""

    rtt_ms: float | None = None
    retrans: dict[tuple[str, int], int] = field(default_factory=dict)
    ooo: dict[tuple[str, int], int] = field(default_factory=dict)
    dns_ms: list[float] = field(default_factory=list)


def canonical(proto: str, a: str, pa: int, b: str, pb: int) -> Key:
    """The flow's key whichever way a packet went."""
    if (a, pa) <= (b, pb):
        return (proto, a, pa, b, pb)
    return (proto, b, pb, a, pa)


def tshark_kpis(path: Path) -> dict[Key, RefFlow]:
    """Per flow, tshark's KPI flags and times. Tunnelled packets (more than one IP
    header: GRE, VXLAN, Teredo, 6in4) are left out: netop counts the outer flow only."""
    cmd = ["tshark", "-n", "-r", str(path), "-o", "tcp.analyze_sequence_numbers:TRUE",
           "-o", "tcp.relative_sequence_numbers:TRUE", "-T", "fields", "-E", "separator=\t",
           "-E", "occurrence=a", "-E", "aggregator=,"]  # fmt: skip
    for f in _FIELDS:
        cmd += ["-e", f]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=True).stdout
    flows: dict[Key, RefFlow] = {}
    for line in out.splitlines():
        cols = line.split("\t")
        cols += [""] * (len(_FIELDS) - len(cols))
        src4, src6, dst4, dst6, tsp, tdp, usp, udp_, irtt, retr, ooo, dtime, p4, p6 = cols
        src, dst = src4 or src6, dst4 or dst6
        if not src or "," in src4 + src6 + dst4 + dst6 or (src4 and src6):
            continue  # not IP, or tunnelled
        if tsp and "," not in tsp:
            proto, sp, dp = "tcp", int(tsp), int(tdp)
        elif usp and "," not in usp:
            proto, sp, dp = "udp", int(usp), int(udp_)
        else:
            continue
        flow = flows.setdefault(canonical(proto, src, sp, dst, dp), RefFlow())
        if irtt and flow.rtt_ms is None:
            flow.rtt_ms = float(irtt) * 1000.0
        if retr:
            flow.retrans[(src, sp)] = flow.retrans.get((src, sp), 0) + 1
        if ooo:
            flow.ooo[(src, sp)] = flow.ooo.get((src, sp), 0) + 1
        if dtime:
            flow.dns_ms.extend(float(t) * 1000.0 for t in dtime.split(","))
    return flows


def netop_flows(path: Path, *extra: str) -> list[dict[str, object]]:
    """``netop flows -r path --json`` (one dict per flow)."""
    done = subprocess.run([sys.executable, "-m", "netop", "flows", "-r", str(path), "--json",
                           *extra], capture_output=True, text=True, timeout=120, check=True)
    return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]


def compare(path: Path, records: list[dict[str, object]] | None = None) -> list[str]:
    """Every disagreement between netop and tshark on ``path``, as readable lines;
    ``records``: netop's flow records to judge (default: ``netop flows -r path``)."""
    ref = tshark_kpis(path)
    problems: list[str] = []
    for rec in netop_flows(path) if records is None else records:
        proto = str(rec["proto"])
        if proto not in ("tcp", "udp"):
            continue
        src, sp, dst, dp = str(rec["src"]), int(rec["sport"]), str(rec["dst"]), int(rec["dport"])  # type: ignore[call-overload]
        key = canonical(proto, src, sp, dst, dp)
        r = ref.get(key)
        if r is None:
            continue  # a flow tshark reads differently (e.g. tunnel inner headers)
        name = f"{path.name} {proto} {src}:{sp} > {dst}:{dp}"
        rtt = rec["rtt_ms"]
        if r.rtt_ms is None:
            if rtt is not None:
                problems.append(f"{name}: rtt_ms {rtt}, tshark none")
        elif rtt is None or abs(float(rtt) - r.rtt_ms) > max(0.01, 0.01 * r.rtt_ms):  # type: ignore[arg-type]
            problems.append(f"{name}: rtt_ms {rtt}, tshark {r.rtt_ms:.6f}")
        if proto == "tcp":
            for side, mine_key in (((src, sp), "retrans"), ((dst, dp), "retrans_rev")):
                want = r.retrans.get(side, 0)
                if rec[mine_key] != want:
                    problems.append(f"{name}: {mine_key} {rec[mine_key]}, tshark {want}")
            for side, mine_key in (((src, sp), "ooo"), ((dst, dp), "ooo_rev")):
                want = r.ooo.get(side, 0)
                if rec[mine_key] != want:
                    problems.append(f"{name}: {mine_key} {rec[mine_key]}, tshark {want}")
        if r.dns_ms:
            want_ms = statistics.median(r.dns_ms)
            got = rec["dns_ms"]
            if got is None or abs(float(got) - want_ms) > 0.01:  # type: ignore[arg-type]
                problems.append(f"{name}: dns_ms {got}, tshark median {want_ms:.6f}")
    return problems
