"""Many boxes, tested small: three netop exporters in three namespaces capture their own
traffic and export it as IPFIX to one ``netop collect`` on a hub, while one real
Prometheus server on the hub scrapes all three. The central sums equal each box's own
truth: the flows that box printed, and the packets its capture counted."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.export.prom import prometheus
from tests.netns import require_netns, sh
from tests.ready import Watched, start_watched, wait_until

BOXES = 3
METRICS_PORT = 9464


@contextlib.contextmanager
def _star() -> Iterator[tuple[str, list[tuple[str, str, str, str]]]]:
    """A hub namespace joined to three box namespaces by veth pairs; per box:
    (namespace, its interface, its address, the hub's address on its link)."""
    require_netns()
    tag = f"{os.getpid() % 10000}"
    hub = f"nxhub{tag}"
    boxes = []
    made = [hub]
    try:
        sh("ip", "netns", "add", hub)
        sh("ip", "-n", hub, "link", "set", "lo", "up")
        for i in range(1, BOXES + 1):
            ns, ifb, ifh = f"nxbox{i}-{tag}", f"nxb{i}{tag}"[:15], f"nxh{i}{tag}"[:15]
            sh("ip", "netns", "add", ns)
            made.append(ns)
            sh("ip", "link", "add", ifh, "netns", hub, "type", "veth", "peer", "name", ifb,
               "netns", ns)
            box_addr, hub_addr = f"10.77.{i}.2", f"10.77.{i}.1"
            for where, ifname, addr in ((ns, ifb, box_addr), (hub, ifh, hub_addr)):
                sh("ip", "-n", where, "addr", "add", f"{addr}/24", "dev", ifname)
                sh("ip", "-n", where, "link", "set", ifname, "up")
                sh("ip", "netns", "exec", where, "sysctl", "-qw",
                   "net.ipv6.conf.all.disable_ipv6=1")
            sh("ip", "-n", ns, "link", "set", "lo", "up")
            boxes.append((ns, ifb, box_addr, hub_addr))
        yield hub, boxes
    finally:
        for ns in made:
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def test_central_sums_equal_each_boxs_truth(tmp_path: Path) -> None:
    hping3 = shutil.which("hping3")
    if hping3 is None:
        pytest.skip("hping3 is not installed (Debian package hping3)")
    with _star() as (hub, boxes):
        collect = start_watched(["ip", "netns", "exec", hub, sys.executable, "-m", "netop",
                                 "collect", "--listen", "0.0.0.0:4739", "--json",
                                 "--duration", "40"])  # fmt: skip
        exporters: list[Watched] = []
        try:
            collect.stderr.wait_for("listening on", 30)
            for ns, ifname, addr, hub_addr in boxes:
                exporters.append(start_watched([
                    "ip", "netns", "exec", ns, sys.executable, "-m", "netop", "flows", "-i",
                    ifname, "-f", "icmp", "--json", "--export-ipfix", f"{hub_addr}:4739",
                    "--prometheus", f"{addr}:{METRICS_PORT}"]))  # fmt: skip
            for box in exporters:
                box.stderr.wait_for("capture attached", 30)
            targets = [f"{addr}:{METRICS_PORT}" for _, _, addr, _ in boxes]
            with prometheus(tmp_path, targets, hub) as prom:
                wait_until(lambda: len(prom.query('up{job="netop"} == 1')) == BOXES, 30,
                           "all three boxes scraped")
                for i, (_, _, addr, _) in enumerate(boxes, 1):
                    # hping3: ICMP echo requests the box's kernel answers (no ping here).
                    subprocess.run(["ip", "netns", "exec", hub, hping3, "-1", "-q", "-c",
                                    str(10 * i), "-i", "u20000", addr],
                                   capture_output=True, timeout=60)  # fmt: skip

                def central() -> float | None:
                    got = prom.query("sum(netop_capture_packets_total)")
                    value = float(got[0]["value"][1]) if got else 0.0
                    return value if value == 2 * 10 * (1 + 2 + 3) else None

                # Each box counts its pings both ways; Prometheus sums the three.
                wait_until(central, 30, "Prometheus' sum of the boxes' captured packets")
                per_box = {r["metric"]["instance"]: float(r["value"][1])
                           for r in prom.query("netop_capture_packets_total")}
            # The exporters stop (as at Ctrl-C): their flows end and are exported.
            outputs = []
            for box in exporters:
                box.proc.send_signal(signal.SIGTERM)
                out, err = box.communicate(timeout=60)
                assert box.returncode == 0, err
                assert "exported" in err
                outputs.append([json.loads(line) for line in out.splitlines()])
            out, err = collect.communicate(timeout=90)
        finally:
            for proc in [*exporters, collect]:
                proc.kill()
    assert collect.returncode == 0, err
    assert per_box == {f"{addr}:{METRICS_PORT}": 20.0 * i
                       for i, (_, _, addr, _) in enumerate(boxes, 1)}  # fmt: skip
    central_flows = [json.loads(line) for line in out.splitlines()]
    for i, ((_, _, addr, hub_addr), mine) in enumerate(zip(boxes, outputs, strict=True), 1):
        # The box's own listing: one ping flow, 10*i each way.
        assert [(r["src"], r["dst"], r["packets"], r["packets_rev"]) for r in mine] == [
            (hub_addr, addr, 10 * i, 10 * i)]
        theirs = [r for r in central_flows if r["exporter"] == addr]
        assert sum(r["packets"] + r["packets_rev"] for r in theirs) == 20 * i
        assert sum(r["bytes"] + r["bytes_rev"] for r in theirs) == sum(
            r["bytes"] + r["bytes_rev"] for r in mine)
    lost = [int(n) for n in re.findall(r'"seq_lost": (\d+)', err)]
    assert lost == [0] * BOXES
