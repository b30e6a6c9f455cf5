"""Application-layer facts against tshark, per flow: the shared captures read with
``netop flows -r --json`` (TLS SNI/ALPN, HTTP Host/request, DNS query names), and live
over a veth pair: curl to ``python -m http.server``, ``openssl s_client -servername`` to
``openssl s_server``, and DNS queries to a small UDP responder, captured by netop in
namespace A."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from netop.native import fastpath
from tests.integration.capture.test_live import _attached, _fetch, _http_server, _need
from tests.netns import VethPair, veth_pair
from tests.ready import Watched, start_watched, wait_for_port

ROOT = Path(__file__).resolve().parents[3]
TRAFFIC = ROOT.parent / "shared" / "data" / "pcap" / "traffic"

#: Captures of the shared data with TLS, HTTP or DNS.
CAPTURES = ("scapy_tls_nss_example.pcap", "pcpp_three_http_streams.pcap",
            "tcpdump_dns_udp.pcap", "tcpdump_dns_tcp.pcap", "pcpp_dnspackets.pcap",
            "pcpp_raw_ip.pcap", "pcpp_sll.pcap", "pcpp_linktype_ipv4.pcap",
            "pcpp_many_interfaces-1.pcapng", "pcpp_nanosecs_big_endian.pcap",
            "pcpp_null_loopback.pcap", "pcpp_one_tcp_stream.pcap",
            "pcpp_pcapng-example.pcapng", "tcpdump_nflog.pcap",
            "zeek_http-qinq-0.pcap", "zeek_ipv6-fragmented-dns.pcap", "zeek_teredo.pcap",
            "zeek_vlan-qinqinq.pcap")  # fmt: skip

FlowId = tuple[str, frozenset[tuple[str, int]]]
_FIELDS = ("ip.src", "ipv6.src", "ip.dst", "ipv6.dst", "tcp.srcport", "udp.srcport",
           "tcp.dstport", "udp.dstport", "tls.handshake.extensions_server_name",
           "tls.handshake.extensions_alpn_str", "http.host", "http.request.method",
           "http.request.uri", "dns.qry.name", "tls.handshake.type", "http.request",
           "dns")  # fmt: skip


def _tshark_facts(pcap: Path) -> dict[FlowId, dict[str, set[str]]]:
    """Per flow (protocol, both endpoints): every value tshark decodes of each field."""
    out = subprocess.run(
        ["tshark", "-n", "-r", str(pcap), "-T", "fields", "-E", "separator=\t",
         "-E", "occurrence=a", "-E", "aggregator=,",
         "-Y", "tls.handshake.type == 1 or http.request or dns",
         *(x for f in _FIELDS for x in ("-e", f))],
        capture_output=True, text=True, timeout=120, check=True,
    ).stdout  # fmt: skip
    facts: dict[FlowId, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for line in out.splitlines():
        v = dict(zip(_FIELDS, line.split("\t"), strict=False))
        src, dst = v["ip.src"] or v["ipv6.src"], v["ip.dst"] or v["ipv6.dst"]
        tcp = bool(v["tcp.srcport"])
        if "," in src or "," in dst or not src:
            continue  # tunnels: the inner flow is not one the fast path reads
        sport = int(v["tcp.srcport"] or v["udp.srcport"])
        dport = int(v["tcp.dstport"] or v["udp.dstport"])
        flow = facts[("tcp" if tcp else "udp", frozenset({(src, sport), (dst, dport)}))]
        for key, field in (("sni", "tls.handshake.extensions_server_name"),
                           ("http_host", "http.host"), ("dns_qname", "dns.qry.name")):
            if v[field]:
                flow[key].update(v[field].split(","))
        for app in ("tls", "http", "dns"):
            if v[{"tls": "tls.handshake.type", "http": "http.request", "dns": "dns"}[app]]:
                flow["app"].add(app)
        if v["tls.handshake.extensions_alpn_str"]:
            flow["alpn"].add(v["tls.handshake.extensions_alpn_str"])
        if v["http.request.method"]:
            flow["http_request"].add(f"{v['http.request.method']} {v['http.request.uri']}")
    return facts


def _netop_facts(pcap: Path) -> dict[FlowId, dict[str, Any]]:
    done = subprocess.run([sys.executable, "-m", "netop", "flows", "-r", str(pcap), "--json"],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)  # fmt: skip
    assert done.returncode == 0, done.stderr
    flows = {}
    for line in done.stdout.splitlines():
        r = json.loads(line)
        flows[(r["proto"], frozenset({(r["src"], r["sport"]), (r["dst"], r["dport"])}))] = r
    return flows


def _compare(ours: dict[str, Any], theirs: dict[str, set[str]], where: str) -> None:
    """One flow: each fact netop gives is one tshark decoded; each tshark has, netop has."""
    assert ours["app"] in theirs["app"], where
    if theirs.get("sni"):
        assert ours["app"] == "tls", where
        assert ours["sni"] in theirs["sni"], where
    if theirs.get("alpn"):
        assert ",".join(ours["alpn"] or ()) in theirs["alpn"], where
    if theirs.get("http_request"):
        assert ours["app"] == "http", where
        assert ours["http_request"] in {r[:159] for r in theirs["http_request"]}, where
        assert ours["http_host"] in theirs["http_host"], where
    if theirs.get("dns_qname"):
        assert ours["app"] == "dns", where
        assert ours["dns_qname"] in theirs["dns_qname"], where


@pytest.mark.skipif(fastpath.load() is None, reason="C fast path not buildable here")
@pytest.mark.parametrize("name", CAPTURES)
def test_facts_of_shared_captures_match_tshark(name: str) -> None:
    _need("tshark")
    pcap = TRAFFIC / name
    if not pcap.exists():
        pytest.skip(f"{pcap} is absent (../shared/data is not checked out)")
    theirs = _tshark_facts(pcap)
    ours = _netop_facts(pcap)
    assert theirs, f"tshark finds no TLS/HTTP/DNS in {name}"
    for flow, facts in theirs.items():
        assert flow in ours, f"{name}: tshark's flow {flow} not in netop's"
        _compare(ours[flow], facts, f"{name} {sorted(flow[1])}: {ours[flow]} vs {dict(facts)}")
    for flow, record in ours.items():
        if flow not in theirs:
            assert record["app"] is None, f"{name}: {record}"


# --- live -----------------------------------------------------------------------------

_DNS_RESPONDER = r"""
import socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 53))
print("ready", flush=True)
s.settimeout(20)
for _ in range(8):
    try:
        q, peer = s.recvfrom(512)
    except TimeoutError:
        break
    end = q.index(b"\0", 12) + 5
    a = q[:2] + b"\x81\x80" + q[4:6] + b"\x00\x01\x00\x00\x00\x00" + q[12:end]
    a += b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04" + bytes([192, 0, 2, 53])
    s.sendto(a, peer)
"""

_DNS_QUERY = r"""
import socket, struct, sys
name = sys.argv[2]
q = struct.pack(">HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0)
q += b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0\x00\x01\x00\x01"
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(3)
s.sendto(q, (sys.argv[1], 53))
s.recv(512)
"""


def _netop_capture(pair: VethPair) -> Watched:
    cmd = pair.run_a(sys.executable, "-m", "netop", "flows", "-i", pair.if_a, "--duration", "6",
                     "--json")  # fmt: skip
    return start_watched(cmd, cwd=ROOT)


def _tls_server(pair: VethPair, tmp: Path) -> subprocess.Popen[bytes]:
    key, cert = tmp / "key.pem", tmp / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj",
                    "/CN=netop-test", "-days", "1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=60)  # fmt: skip
    server = subprocess.Popen(
        pair.run_b("openssl", "s_server", "-accept", f"{pair.addr_b}:8443", "-key", str(key),
                   "-cert", str(cert), "-alpn", "h2,http/1.1", "-naccept", "2", "-quiet"),
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for_port(8443, pair.ns_b, proc=server)
    return server


def test_live_http_tls_and_dns_facts(tmp_path: Path) -> None:
    _need("curl", "openssl")
    if fastpath.load() is None:
        pytest.skip("C fast path not buildable here")
    with veth_pair() as pair:
        web = _http_server(pair, pair.addr_b, 8082)
        tls = _tls_server(pair, tmp_path)
        dns = subprocess.Popen(pair.run_b(sys.executable, "-c", _DNS_RESPONDER, pair.addr_b),
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        netop = _netop_capture(pair)
        try:
            assert dns.stdout is not None
            assert dns.stdout.readline().strip() == "ready"
            _attached(netop)
            _fetch(pair, f"http://{pair.addr_b}:8082/index.html?q=1", max_time=3)
            subprocess.run(
                pair.run_a("openssl", "s_client", "-connect", f"{pair.addr_b}:8443",
                           "-servername", "sni.netop.test", "-alpn", "h2,http/1.1"),
                input=b"", capture_output=True, timeout=15, check=False)  # fmt: skip
            subprocess.run(pair.run_a(sys.executable, "-c", _DNS_QUERY, pair.addr_b,
                                      "www.netop.test"), check=True, timeout=10)  # fmt: skip
            out, err = netop.communicate(timeout=30)
        finally:
            for proc in (web, tls, dns):
                proc.kill()
                proc.wait(timeout=10)
            netop.kill()
    assert netop.returncode == 0, err
    flows = [json.loads(line) for line in out.splitlines()]
    by_port = {r["dport"]: r for r in flows if r["src"] == pair.addr_a}
    assert by_port[8082]["app"] == "http"
    assert by_port[8082]["http_request"] == "GET /index.html?q=1"
    assert by_port[8082]["http_host"] == f"{pair.addr_b}:8082"
    assert by_port[8443]["app"] == "tls"
    assert by_port[8443]["sni"] == "sni.netop.test"
    assert by_port[8443]["alpn"] == ["h2", "http/1.1"]
    dns_flow = by_port[53]
    assert (dns_flow["app"], dns_flow["dns_qname"], dns_flow["dns_qtype"]) == (
        "dns", "www.netop.test", "A")
    assert (dns_flow["dns_rcode"], dns_flow["dns_records"]) == ("NOERROR", ["192.0.2.53"])
