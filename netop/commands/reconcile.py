"""``netop reconcile``: do the captured numbers agree with the kernel's?

Captures ``-i IFACE`` for ``--duration`` seconds and prints, per interval and for the
whole run, the packets and bytes the capture saw (wire length: IP packets' layer-3 octets
plus their 14-byte Ethernet header) beside the interface's kernel counters (received plus
sent: a capture sees both), the difference in %, and the reasons netop knows for one:
capture drops (``PACKET_STATISTICS``), sampling, segmentation offloads (TSO/GSO/GRO on:
the capture sees merged or not yet cut packets), non-IP packets (counted, bytes unknown).
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from netop.commands.flags import DURATION_HELP, JSON_HELP
from netop.commands.output import json_line
from netop.commands.pipeline import build_engine, build_sources
from netop.config import Config
from netop.engine.engine import Engine
from netop.engine.reconcile_snmp import SnmpSide, line_part, poll_every
from netop.errors import ConfigError, NetopError
from netop.sources.capture.options import add_capture_arguments
from netop.sources.offloads import read_offloads
from netop.sources.snmp.source import add_snmp_arguments

HELP = "captured packets and bytes against the interface's kernel counters, with reasons"
EXAMPLES = (
    "netop reconcile -i eth0 --duration 10 --json   # one record a second, then the total",
    "netop reconcile -i eth0                         # until Ctrl-C, then the total",
    "netop reconcile -i eth0 --snmp v2c:@127.0.0.1 --duration 30   # and the agent's counters",
)
#: Seconds to wait for the first SNMP reading of the interface (the SNMP tracker holds
#: a first poll until the agent's cache refreshes, up to 5 s).
SNMP_FIRST_WAIT = 15.0
#: Bytes of an Ethernet header a capture's layer-3 count leaves out.
ETHERNET_HEADER = 14


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags of ``netop reconcile``."""
    add_capture_arguments(parser)
    parser.add_argument("--duration", type=float, metavar="S", default=None,
                        help=DURATION_HELP)
    parser.add_argument("--json", action="store_true", help=JSON_HELP)
    add_snmp_arguments(parser)


@dataclass
class Totals:
    """Cumulative counts at one moment."""

    cap_packets: int = 0
    ip_packets: int = 0
    l3_bytes: int = 0
    drops: int = 0
    k_packets: int = 0
    k_bytes: int = 0


def kernel_counters(iface: str) -> tuple[int, int]:
    """(packets, bytes) the interface received plus sent, from sysfs."""
    base = Path("/sys/class/net") / iface / "statistics"
    try:
        vals = {name: int((base / name).read_text()) for name in
                ("rx_packets", "tx_packets", "rx_bytes", "tx_bytes")}  # fmt: skip
    except (OSError, ValueError) as exc:
        raise NetopError(f"{iface}: no kernel counters ({exc})") from None
    return vals["rx_packets"] + vals["tx_packets"], vals["rx_bytes"] + vals["tx_bytes"]


def _captured(engine: Engine, iface: str) -> Totals:
    stats = engine.flow_stats.get("capture", {})
    table = engine.flow_table
    ip_packets = l3 = 0
    for e in [*table.entries(), *table.ended()]:
        ip_packets += e.packets + e.packets_rev
        l3 += e.bytes + e.bytes_rev
    k_packets, k_bytes = kernel_counters(iface)
    return Totals(stats.get("packets", 0), ip_packets, l3, stats.get("kernel_drops", 0),
                  k_packets, k_bytes)


def _pct(captured: int, kernel: int) -> float | None:
    return None if kernel <= 0 else round(100.0 * (captured - kernel) / kernel, 3)


def record(iface: str, start: Totals, end: Totals, interval: float | str,
           offloads: dict[str, bool | None], sampling: int) -> dict[str, Any]:
    """One reconciliation record between two moments."""
    packets = end.cap_packets - start.cap_packets
    ip_packets = end.ip_packets - start.ip_packets
    wire = (end.l3_bytes - start.l3_bytes) + ETHERNET_HEADER * ip_packets
    k_packets, k_bytes = end.k_packets - start.k_packets, end.k_bytes - start.k_bytes
    drops = end.drops - start.drops
    reasons = []
    if drops:
        reasons.append(f"capture dropped {drops} packets (kernel ring full)")
    if sampling > 1:
        reasons.append(f"sampling 1 in {sampling}: captured counts are estimates")
    merged = [name.upper() for name, on in offloads.items() if on]
    if merged:
        reasons.append(f"{'/'.join(merged)} on: the capture sees merged or uncut packets "
                       "(fewer, larger than on the wire)")
    if packets > ip_packets:
        reasons.append(f"{packets - ip_packets} non-IP packets (their bytes are not counted)")
    return {
        "ts": time.time(), "iface": iface, "interval": interval,
        "captured_packets": packets, "captured_bytes": wire,
        "kernel_packets": k_packets, "kernel_bytes": k_bytes,
        "diff_packets_pct": _pct(packets, k_packets), "diff_bytes_pct": _pct(wire, k_bytes),
        "capture_drops": drops, "sampling": sampling, "offloads": offloads,
        "reasons": reasons,
    }  # fmt: skip


def _line(r: dict[str, Any]) -> str:
    def pct(v: float | None) -> str:
        return "—" if v is None else f"{v:+.2f}%"

    head = f"{r['iface']} {r['interval'] if isinstance(r['interval'], str) else ''}".strip()
    return (f"{head:<16} pkts {r['captured_packets']:>9} / {r['kernel_packets']:<9} "
            f"{pct(r['diff_packets_pct']):>8}   bytes {r['captured_bytes']:>11} / "
            f"{r['kernel_bytes']:<11} {pct(r['diff_bytes_pct']):>8}   "
            + line_part(r) + "   "
            + ("; ".join(r["reasons"]) or "no known reason for a difference"))


def run(args: argparse.Namespace, config: Config) -> int:
    """Capture, compare every interval, print; the whole run last."""
    if getattr(args, "read", None):
        raise ConfigError("-r", "reconcile compares a live capture with the kernel: use -i")
    ifaces = getattr(args, "interfaces", None) or []
    if len(ifaces) != 1:
        raise ConfigError("-i", "give exactly one interface")
    if args.duration is not None and args.duration <= 0:
        raise ConfigError("--duration", f"must be positive, got {args.duration}")
    iface = ifaces[0]
    kernel_counters(iface)  # a bad name ends here, before capturing
    sources = build_sources(args, config, kinds=("capture", "snmp"))
    if not any(s.name == "capture" for s in sources):
        raise NetopError("no interface to capture on: give -i IFACE")
    poll_every(sources, config.interval)
    engine = build_engine(args, config, sources, keep_ended=True, enrich=False)
    source: Any = next(s for s in engine.sources if s.name == "capture")
    snmp = SnmpSide(iface, config.interval) if len(sources) > 1 else None
    out = sys.stdout

    def emit(r: dict[str, Any]) -> None:
        out.write((json_line(r) if args.json else _line(r)) + "\n")
        out.flush()

    engine.start()
    try:
        deadline = time.monotonic() + 30.0
        while not source.attached.is_set() and source.alive() and time.monotonic() < deadline:
            time.sleep(0.02)
        if not source.attached.is_set():
            raise NetopError(f"{iface}: the capture did not start")
        if snmp is not None:
            _wait_snmp(engine, snmp)
        engine.tick()
        first = prev = _captured(engine, iface)
        if snmp is not None:
            snmp.interval(snmp.find(engine.interface_samples()), 0, 0, time.time())
        print(f"netop: capture attached on {source.describe()}", file=sys.stderr, flush=True)
        interval = engine.config.interval
        end = time.monotonic() + (args.duration or float("inf"))
        while time.monotonic() < end and source.alive():
            time.sleep(max(0.0, min(interval, end - time.monotonic())))
            engine.tick()
            now = _captured(engine, iface)
            r = record(iface, prev, now, interval, read_offloads(iface), _sampling(engine))
            if snmp is not None:
                _add(r, snmp.interval(snmp.find(engine.interface_samples()), r["kernel_packets"],
                                      r["kernel_bytes"], time.time()))  # fmt: skip
            emit(r)
            prev = now
    except KeyboardInterrupt:
        pass
    finally:
        source.stop()
    engine.tick()
    last = _captured(engine, iface)
    r = record(iface, first, last, "total", read_offloads(iface), _sampling(engine))
    if snmp is not None:
        _add(r, snmp.total(snmp.find(engine.interface_samples()), r["kernel_packets"],
                           r["kernel_bytes"], time.time()))  # fmt: skip
    emit(r)
    return 0


def _add(r: dict[str, Any], snmp: tuple[dict[str, Any], list[str]]) -> None:
    fields, reasons = snmp
    r.update(fields)
    r["reasons"] = [*r["reasons"], *reasons]


def _wait_snmp(engine: Engine, snmp: SnmpSide) -> None:
    """Tick until the first SNMP reading of the interface is in (bounded); say on stderr
    which interfaces the agent has when none matches."""
    deadline = time.monotonic() + SNMP_FIRST_WAIT
    while time.monotonic() < deadline:
        engine.tick()
        if snmp.find(engine.interface_samples()) is not None:
            return
        time.sleep(0.1)
    polled = ", ".join(SnmpSide.polled(engine.interface_samples())) or "no answer"
    print(f"netop: warning: no SNMP reading of {snmp.iface} within {SNMP_FIRST_WAIT:g} s "
          f"(polled: {polled}); the SNMP columns stay empty", file=sys.stderr, flush=True)


def _sampling(engine: Engine) -> int:
    return int(engine.flow_stats.get("capture", {}).get("sampling", 1) or 1)
