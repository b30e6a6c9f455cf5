"""netop's per-flow KPIs against tshark on every shared traffic capture with TCP or DNS.

``rtt_ms`` within 0.01 ms or 1 % of ``tcp.analysis.initial_rtt``; ``retrans``/``ooo`` per
direction equal to tshark's retransmission (plain, fast, spurious) and out-of-order
flags; ``dns_ms`` within 0.01 ms of the median ``dns.time`` of the flow.

Documented differences (each one named below, nothing else may differ):
- mDNS (port 5353): answers go to the multicast group, not back on the asker's flow, so
  netop measures no DNS time there; tshark pairs them by id across flows.
- a DNS response in IPv6 fragments: netop times it at the first fragment (the one with
  the DNS header), tshark at the last (after reassembly).
- a pcapng whose timestamps lie in the year 586,000: a double holds them to ~4 ms, so a
  0.022 ms handshake reads as 0.
"""

from __future__ import annotations

import shutil

import pytest

from tests.kpi_referee import compare
from tests.shared_data import require_shared

CAPTURES = (
    "pcpp_dnspackets.pcap", "pcpp_ip6_fragments.pcap", "pcpp_null_loopback.pcap",
    "pcpp_one_tcp_stream.pcap", "pcpp_pcapng-example.pcapng", "pcpp_raw_ip.pcap",
    "pcpp_sll.pcap", "pcpp_sll2.pcap", "pcpp_three_http_streams.pcap", "pcpp_vlanpackets.pcap",
    "pcpp_many_interfaces-1.pcapng", "pcpp_qinq_802.1_ad.pcapng", "pcpp_ipv6_options.pcap",
    "pcpp_linktype_ipv4.pcap", "pcpp_microsecs_big_endian.pcap",
    "pcpp_nanosecs_big_endian.pcap", "scapy_tls_nss_example.pcap", "tcpdump_dns_tcp.pcap",
    "tcpdump_dns_udp.pcap", "tcpdump_nflog.pcap", "tcpdump_tcp-handshake-nano.pcap",
    "zeek_http-qinq-0.pcap", "zeek_ipv6-fragmented-dns.pcap", "zeek_linux_dlt_sll2.pcap",
    "zeek_vlan-qinqinq.pcap", "zeek_fragmented-1.pcap", "pcpp_ip4_fragments.pcap",
)  # fmt: skip

#: The documented differences (see the module docstring), as compare() words them.
KNOWN = (
    ":5353 > ",  # mDNS
    "zeek_ipv6-fragmented-dns.pcap udp 2001:470:1f11:81f:d138:5f55:6d4:1fe2:51851 > "
    "2607:f740:b::f93:53: dns_ms ",  # response in fragments
    "pcpp_pcapng-example.pcapng tcp 198.202.88.52:41071 > 130.217.250.13:8810: rtt_ms 0.0,",
)


@pytest.mark.parametrize("name", CAPTURES)
def test_kpis_agree_with_tshark(name: str) -> None:
    if shutil.which("tshark") is None:
        pytest.skip("tshark not installed (Debian package tshark)")
    path = require_shared("data", "pcap", "traffic", name)
    problems = [p for p in compare(path) if not any(k in p for k in KNOWN)]
    assert problems == []


def test_the_referee_sees_kpis_at_all() -> None:
    """The comparison is not vacuous: the shared captures have handshakes, DNS times
    and netop reports them."""
    from tests.kpi_referee import netop_flows, tshark_kpis

    path = require_shared("data", "pcap", "traffic", "pcpp_three_http_streams.pcap")
    ref = tshark_kpis(path)
    assert sum(1 for r in ref.values() if r.rtt_ms is not None) >= 3
    recs = netop_flows(path)
    assert sum(1 for r in recs if r["rtt_ms"] is not None) >= 3
    dns = netop_flows(require_shared("data", "pcap", "traffic", "tcpdump_dns_udp.pcap"))
    assert any(r["dns_ms"] is not None and r["dns_rcodes"] for r in dns)
