"""Real collectors for the export tests: nfcapd + nfdump, started on 127.0.0.1."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.ready import wait_for_port

PROTOS = {6: "tcp", 17: "udp", 1: "icmp", 58: "icmpv6"}


def need(tool: str) -> str:
    """The path of ``tool``, or skip naming it."""
    path = shutil.which(tool)
    if path is None:
        pytest.skip(f"{tool} is not installed (Debian package nfdump)")
    return path


def free_udp_port() -> int:
    """A UDP port nothing is bound to on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def nfcapd(flowdir: Path) -> Iterator[int]:
    """nfcapd on a free 127.0.0.1 port writing into ``flowdir``; ended (SIGTERM, which
    writes its file) and waited for on exit. Yields the port."""
    port = free_udp_port()
    proc = subprocess.Popen([need("nfcapd"), "-w", str(flowdir), "-b", "127.0.0.1", "-p",
                             str(port), "-t", "3600", "-B", str(8 << 20)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        wait_for_port(port, udp=True, proc=proc)
        yield port
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def nfdump_records(flowdir: Path) -> list[dict[str, Any]]:
    """nfdump's JSON records of every file nfcapd wrote."""
    out = subprocess.run([need("nfdump"), "-R", str(flowdir), "-o", "json"],
                         capture_output=True, text=True, timeout=120, check=True,
                         env={**os.environ, "TZ": "UTC"}).stdout  # fmt: skip
    text = out.strip()
    return json.loads(text) if text.startswith("[") else []


def nfdump_as_flows(records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """nfdump records in netop's flow-record shape (the reverse counters of a biflow
    as ``packets_rev``/``bytes_rev``)."""
    flows = []
    for r in records:
        if r.get("type") != "FLOW":
            continue
        proto = int(r["proto"])
        flows.append({
            "proto": PROTOS.get(proto, str(proto)),
            "src": r.get("src4_addr") or r.get("src6_addr"),
            "dst": r.get("dst4_addr") or r.get("dst6_addr"),
            "sport": int(r.get("src_port", 0)), "dport": int(r.get("dst_port", 0)),
            "vlan": int(r.get("src_vlan", 0)) or None,
            "packets": int(r["in_packets"]), "bytes": int(r["in_bytes"]),
            "packets_rev": int(r.get("out_packets", 0)), "bytes_rev": int(r.get("out_bytes", 0)),
        })  # fmt: skip
    return flows


def one_way(records: Iterable[dict[str, Any]]) -> Counter[Any]:
    """Packets and bytes per direction: TCP/UDP flows by 5-tuple and VLAN (each way),
    others summed per address pair (as the truth files say to compare ICMP). The same
    whether flows come as biflows (IPFIX) or one record per direction (v9)."""
    sums: Counter[Any] = Counter()
    for r in records:
        fwd: tuple[Any, ...]
        rev: tuple[Any, ...]
        if r["proto"] in ("tcp", "udp") and (r["sport"] or r["dport"]):
            fwd = (r["proto"], r["src"], r["sport"], r["dst"], r["dport"], r["vlan"])
            rev = (r["proto"], r["dst"], r["dport"], r["src"], r["sport"], r["vlan"])
        else:
            # The truth files name protocols tshark has no word for "?": numbers here.
            proto = r["proto"] if r["proto"] in PROTOS.values() else "other"
            fwd = rev = (proto, frozenset((r["src"], r["dst"])), r["vlan"])
        for key, packets, octets in ((fwd, r["packets"], r["bytes"]),
                                     (rev, r["packets_rev"], r["bytes_rev"])):
            if packets:
                sums[(key, "packets")] += packets
                sums[(key, "bytes")] += octets
    return sums
