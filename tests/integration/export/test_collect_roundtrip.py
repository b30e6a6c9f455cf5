"""netop exports a capture's flows (IPFIX biflows, NetFlow v9 uniflows) to ``netop
collect``, which prints the capture's flow truth: one netop feeding another."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from tests.integration.export.collectors import one_way
from tests.ready import start_watched
from tests.shared_data import absent_reason, shared_path

TRUTH = shared_path("data", "pcap", "truth")
TRAFFIC = shared_path("data", "pcap", "traffic")
CASES = ["pcpp_three_http_streams", "pcpp_vlanpackets", "pcpp_icmppackets",
         "pcpp_ipv6_options", "tcpdump_dns_udp"]  # fmt: skip


@pytest.mark.parametrize("flag", ["--export-ipfix", "--export-netflow9"])
@pytest.mark.parametrize("name", CASES)
def test_netop_collect_prints_the_truth(name: str, flag: str) -> None:
    truth_file = TRUTH / f"{name}.truth.json"
    if not truth_file.exists():
        pytest.skip(absent_reason(truth_file))
    truth = json.loads(truth_file.read_text())
    collect = start_watched([sys.executable, "-m", "netop", "collect", "--listen",
                             "127.0.0.1:0", "--json", "--duration", "6"])  # fmt: skip
    try:
        line = collect.stderr.wait_for("listening on", 30)
        match = re.search(r"127\.0\.0\.1:(\d+)", line)
        assert match, line
        done = subprocess.run(
            [sys.executable, "-m", "netop", "flows", "-r", str(TRAFFIC / truth["pcap"]), flag,
             f"127.0.0.1:{match.group(1)}"],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        out, err = collect.communicate(timeout=60)
    finally:
        collect.kill()
    assert collect.returncode == 0, err
    got = [json.loads(line) for line in out.splitlines()]
    assert one_way(got) == one_way(truth["records"])
    lost = [int(n) for n in re.findall(r'"seq_lost": (\d+)', err)]
    assert lost == [0]  # one exporter, nothing lost
    source = "ipfix" if flag == "--export-ipfix" else "netflow9"
    assert {r["source"] for r in got} == {source}
