"""Application-layer facts of the capture fast path (netop/native/app.h): what it reads
from HTTP, TLS and DNS payloads, that it stops after a flow's first payload packets,
that its side table is bounded, and that hostile payloads never crash it."""

from __future__ import annotations

import random
import ssl
import struct
from typing import Any

import pytest
from scapy.layers.dns import DNS, DNSQR, DNSRR
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Ether
from scapy.packet import Packet, Raw

from netop.model import AppFacts
from netop.native import fastpath
from netop.sources.capture.aggregate import PacketAggregator

pytestmark = pytest.mark.skipif(fastpath.load() is None, reason="C fast path not buildable here")

E = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
CLIENT, SERVER = "10.0.0.1", "10.0.0.2"


def _hello(sni: str | None, alpn: list[str] | None) -> bytes:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if alpn:
        ctx.set_alpn_protocols(alpn)
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = ctx.wrap_bio(incoming, outgoing, server_hostname=sni)
    with pytest.raises(ssl.SSLWantReadError):
        tls.do_handshake()
    return outgoing.read()


def _pcap(frames: list[bytes]) -> bytes:
    """pcap records (little-endian, µs), without the file header: what feed_pcap reads."""
    out = []
    for i, f in enumerate(frames):
        out.append(struct.pack("<IIII", 1000 + i, 0, len(f), len(f)) + f)
    return b"".join(out)


def _raw(payload: bytes, sport: int, dport: int, udp: bool = False) -> bytes:
    """Ethernet/IPv4/TCP or UDP from 10.0.0.1 to 10.0.0.2, by hand: the fuzz tests build
    thousands (scapy takes ~1 ms a packet). Checksums are not read."""
    l4 = (struct.pack(">HHHH", sport, dport, 8 + len(payload), 0) if udp
          else struct.pack(">HHIIBBHHH", sport, dport, 1, 0, 5 << 4, 0x18, 8192, 0, 0))
    ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(l4) + len(payload), 1, 0, 64,
                     17 if udp else 6, 0, bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2]))
    return bytes(6) + bytes(6) + b"\x08\x00" + ip + l4 + payload


def _feed(frames: list[bytes], **kw: object) -> list[tuple[object, ...]]:
    table = fastpath.load().Table(**kw)
    consumed, slow, n, _, bad = table.feed_pcap(_pcap(frames), True, False, 1)
    assert not slow
    assert not bad
    assert n == len(frames)
    return table.drain()


def _rows(packets: list[Packet], **kw: object) -> list[tuple[object, ...]]:
    return _feed([bytes(E / p) for p in packets], **kw)


def _one(packets: list[Packet]) -> AppFacts | None:
    rows = _rows(packets)
    assert len(rows) == 1
    return None if rows[0][16] is None else AppFacts.from_row(rows[0][16])


def _tcp(payload: bytes, reverse: bool = False, sport: int = 40000, dport: int = 443,
         v6: bool = False) -> Packet:
    src, dst = ("fd00::1", "fd00::2") if v6 else (CLIENT, SERVER)
    ip = IPv6(src=src, dst=dst) if v6 else IP(src=src, dst=dst)
    if reverse:
        ip = IPv6(src=dst, dst=src) if v6 else IP(src=dst, dst=src)
        return ip / TCP(sport=dport, dport=sport, flags="PA") / Raw(payload)
    return ip / TCP(sport=sport, dport=dport, flags="PA") / Raw(payload)


def test_tls_client_hello_gives_sni_and_alpn() -> None:
    hello = _hello("www.example.com", ["h2", "http/1.1"])
    facts = _one([IP(src=CLIENT, dst=SERVER) / TCP(sport=40000, dport=443, flags="S"),
                  _tcp(hello)])
    assert facts == AppFacts("tls", sni="www.example.com", alpn=("h2", "http/1.1"))


def test_tls_over_ipv6_without_alpn() -> None:
    facts = _one([_tcp(_hello("v6.example.org", None), v6=True)])
    assert facts == AppFacts("tls", sni="v6.example.org")


def test_http_request_line_and_host() -> None:
    req = b"POST /api/v1/items?x=1 HTTP/1.1\r\nUser-Agent: t\r\nhOsT:  api.example.com \r\n\r\n"
    facts = _one([_tcp(req, dport=8080), _tcp(b"HTTP/1.1 200 OK\r\n\r\n", reverse=True,
                                                dport=8080)])
    assert facts == AppFacts("http", http_host="api.example.com",
                             http_request="POST /api/v1/items?x=1")


def test_http_request_line_is_bounded_and_printable() -> None:
    req = b"GET /" + b"a" * 1000 + b"\x1b[31m HTTP/1.1\r\nHost: h\x00\xff\r\n\r\n"
    facts = _one([_tcp(req, dport=80)])
    assert facts is not None
    assert facts.http_request is not None
    assert facts.http_request.startswith("GET /aaa")
    assert len(facts.http_request) < 160
    assert facts.http_host == "h??"


def test_dns_query_and_answer_with_compression() -> None:
    query = DNS(id=7, rd=1, qd=DNSQR(qname="www.example.com", qtype="A"))
    answer = DNS(id=7, qr=1, rd=1, ra=1, qd=DNSQR(qname="www.example.com", qtype="A"),
                 an=[DNSRR(rrname="www.example.com", type="CNAME", rdata="edge.example.net"),
                     DNSRR(rrname="edge.example.net", type="A", rdata="192.0.2.7"),
                     DNSRR(rrname="edge.example.net", type="AAAA", rdata="2001:db8::7")])
    facts = _one([IP(src=CLIENT, dst=SERVER) / UDP(sport=5353, dport=53) / query,
                  IP(src=SERVER, dst=CLIENT) / UDP(sport=53, dport=5353) / answer])
    assert facts == AppFacts("dns", dns_qname="www.example.com", dns_qtype="A",
                             dns_rcode="NOERROR",
                             dns_records=("edge.example.net", "192.0.2.7", "2001:db8::7"))


def test_dns_nxdomain_and_query_type_name() -> None:
    query = DNS(id=9, qd=DNSQR(qname="nope.example", qtype="HTTPS"))
    answer = DNS(id=9, qr=1, rcode=3, qd=DNSQR(qname="nope.example", qtype="HTTPS"))
    facts = _one([IP(src=CLIENT, dst=SERVER) / UDP(sport=5000, dport=53) / query,
                  IP(src=SERVER, dst=CLIENT) / UDP(sport=53, dport=5000) / answer])
    assert facts == AppFacts("dns", dns_qname="nope.example", dns_qtype="HTTPS",
                             dns_rcode="NXDOMAIN")


def test_dns_over_tcp() -> None:
    msg = bytes(DNS(id=3, qd=DNSQR(qname="tcp.example", qtype="TXT")))
    facts = _one([_tcp(struct.pack(">H", len(msg)) + msg, dport=53)])
    assert facts == AppFacts("dns", dns_qname="tcp.example", dns_qtype="TXT")


def test_looking_stops_after_the_first_payload_packets() -> None:
    """Four payload packets that say nothing, then a request: the flow is not looked at
    any more (the per-packet cost stays bounded), so the request is not seen."""
    noise = [_tcp(b"\x00" * 20, dport=80) for _ in range(4)]
    assert _one([*noise, _tcp(b"GET / HTTP/1.1\r\nHost: late\r\n\r\n", dport=80)]) is None
    # packets without payload are not looks: the handshake does not use them up
    handshake = [IP(src=CLIENT, dst=SERVER) / TCP(sport=40000, dport=80, flags="S")] * 6
    facts = _one([*handshake, _tcp(b"GET / HTTP/1.1\r\nHost: early\r\n\r\n", dport=80)])
    assert facts is not None
    assert facts.http_host == "early"


def test_side_table_is_bounded_and_counts_the_rest() -> None:
    req = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
    frames = [_raw(req, 1024 + i, 80) for i in range(4200)]
    table = fastpath.load().Table()
    table.feed_pcap(_pcap(frames), True, False, 1)
    rows = table.drain()
    assert len(rows) == 4200
    assert sum(r[16] is not None for r in rows) == 4096
    assert table.app_overflow == 4200 - 4096
    # a new interval has the whole table again
    table.feed_pcap(_pcap(frames[:1]), True, False, 1)
    assert table.drain()[0][16] is not None


def _check(row: tuple[object, ...]) -> None:
    facts = row[16]
    if facts is None:
        return
    app, name, text, qtype, rcode = facts  # type: ignore[misc]
    assert app in ("http", "tls", "dns")
    for s in (name, text):
        assert s is None or (isinstance(s, str) and s.isascii() and s.isprintable()
                             and 0 < len(s) < 256)
    AppFacts.from_row(facts)  # type: ignore[arg-type]


def test_truncated_and_mutated_client_hellos_never_read_past_the_packet() -> None:
    hello = _hello("truncate.example.com", ["h2", "http/1.1"])
    rnd = random.Random(11)
    frames: list[bytes] = []
    for cut in range(len(hello) + 1):
        frames.append(_raw(hello[:cut], 2000 + cut, 443))
    for i in range(3000):
        b = bytearray(hello)
        for _ in range(rnd.randint(1, 8)):
            b[rnd.randrange(len(b))] = rnd.randrange(256)
        frames.append(_raw(bytes(b[: rnd.randint(0, len(b))]), 10000 + i, 443))
    rows = _feed(frames)
    for row in rows:
        _check(row)
    whole = [r for r in rows if r[2] == 2000 + len(hello) or r[4] == 2000 + len(hello)]
    assert whole
    assert whole[0][16] == ("tls", "truncate.example.com", "h2,http/1.1", None, None)


@pytest.mark.parametrize("port", [53, 80, 443])
def test_random_payloads_are_harmless(port: int) -> None:
    rnd = random.Random(port)
    prefixes = [b"", b"\x16\x03\x01", b"\x16\x03\x03\x00\x30\x01", b"GET ", b"HEAD /",
                bytes(DNS(id=1, qd=DNSQR(qname="a.b")))[:12], bytes(DNS(id=1, qr=1))[:12]]
    frames = [_raw(rnd.choice(prefixes) + rnd.randbytes(rnd.randint(0, 300)), 20000 + i, port,
                   udp=bool(i % 2)) for i in range(4000)]
    for row in _feed(frames):
        _check(row)


def test_dns_compression_loops_and_wild_pointers_end() -> None:
    header = struct.pack(">HHHHHH", 1, 0x8180, 1, 2, 0, 0)
    loop = b"\xc0\x0c"  # the question's name points at itself
    question = loop + b"\x00\x01\x00\x01"
    wild = b"\xc0\xff" + b"\x00\x05\x00\x01" + b"\x00" * 4 + b"\x00\x02" + b"\xc0\x0c"
    payloads = [header + question, header + b"\x01a\x00\x00\x01\x00\x01" + wild,
                header + b"\x01a\x00\x00\x01\x00\x01" + b"\xc0\x0c\x00\x05\x00\x01" + b"\x00" * 4
                + b"\x00\x02\xc0\x20"]
    packets = [IP(src=CLIENT, dst=SERVER) / UDP(sport=3000 + i, dport=53) / Raw(p)
               for i, p in enumerate(payloads)]
    rows = _rows(packets)
    for row in rows:
        _check(row)
    by_port = {r[2] if r[4] == 53 else r[4]: r[16] for r in rows}
    assert by_port[3000] is None  # a name that never ends is no DNS message
    assert by_port[3001] == ("dns", "a", None, 1, 0)


def test_child_rows_become_records_with_kpis_and_facts_apart() -> None:
    """The capture child's rows: KPIs without facts, facts without KPIs, neither."""
    from netop.model import FlowKpi
    from netop.sources.capture.aggregate import rows_to_records

    head = (6, "10.0.0.1", 1, "10.0.0.2", 80, None, 1, 60, 1, 60, 1.0, 2.0, 2, "capture",
            None, 1, None, None)
    kpi = (None,) * 13 + ({"NOERROR": 1}, None)
    facts = ("http", "h", "GET /", None, None)
    a, b, c = rows_to_records([(*head, kpi, None), (*head, None, facts), (*head, None, None)])
    assert a.kpi == FlowKpi._make(kpi)
    assert a.app is None
    assert b.kpi is None
    assert b.app == AppFacts("http", http_host="h", http_request="GET /")
    assert c.kpi is None
    assert c.app is None
    with pytest.raises(ValueError, match="positional arguments"):
        rows_to_records([(*head, None, None, "extra")])


def _dns_pair() -> list[Packet]:
    query = DNS(id=5, qd=DNSQR(qname="py.example", qtype="A"))
    answer = DNS(id=5, qr=1, qd=DNSQR(qname="py.example", qtype="A"),
                 an=[DNSRR(rrname="py.example", type="A", rdata="192.0.2.9")])
    return [IP(src=CLIENT, dst=SERVER) / UDP(sport=6000, dport=53) / query,
            IP(src=SERVER, dst=CLIENT) / UDP(sport=53, dport=6000) / answer]


def _by_port(records: list[Any]) -> dict[int, AppFacts | None]:
    return {r.dport: r.app for r in records}


EXPECTED = {53: AppFacts("dns", dns_qname="py.example", dns_qtype="A", dns_rcode="NOERROR",
                         dns_records=("192.0.2.9",)),
            80: AppFacts("http", http_host="tui.example", http_request="GET /play")}


def _web() -> list[Packet]:
    return [IP(src=CLIENT, dst=SERVER) / TCP(sport=7000, dport=80, flags="S"),
            IP(src=SERVER, dst=CLIENT) / TCP(sport=80, dport=7000, flags="SA"),
            _tcp(b"GET /play HTTP/1.1\r\nHost: tui.example\r\n\r\n", sport=7000, dport=80)]


def test_file_playback_path_reads_facts_too() -> None:
    """The TUI plays a file through the Python per-packet path (add_batch): its flows
    get the same facts from app.h's ``app_parse``."""
    agg = PacketAggregator()
    agg.add_batch(1, [(1.0 + i, bytes(E / p), 0) for i, p in enumerate([*_dns_pair(), *_web()])])
    assert _by_port(agg.drain()) == EXPECTED


def test_slow_path_reads_facts_of_cooked_captures() -> None:
    """Linux cooked (SLL) frames take the decoder's path: facts as well."""
    sll = b"\x00\x00\x00\x01\x00\x06" + bytes(8) + b"\x08\x00"
    agg = PacketAggregator()
    agg.add_batch(113, [(1.0 + i, sll + bytes(p), 0) for i, p in enumerate([*_dns_pair(),
                                                                             *_web()])])
    assert _by_port(agg.drain()) == EXPECTED


@pytest.mark.parametrize("reverse", [False, True])
def test_flow_table_merges_the_facts_of_successive_intervals(reverse: bool) -> None:
    """A query in one tick, its answer in the next (either way round): the table's entry
    has both (the C merge calls AppFacts.merged with the facts as one argument)."""
    from netop.engine.flowtable import FlowTable
    from netop.model import FlowRecord

    query = AppFacts("dns", dns_qname="q.example", dns_qtype="A")
    answer = AppFacts("dns", dns_qname="q.example", dns_qtype="A", dns_rcode="NXDOMAIN")
    fwd = FlowRecord(17, CLIENT, 5000, SERVER, 53, None, 1, 60, 0, 0, 1.0, 1.0, app=query)
    back = FlowRecord(17, SERVER, 53, CLIENT, 5000, None, 1, 90, 0, 0, 2.0, 2.0, app=answer)
    table = FlowTable()
    table.merge_records([fwd], 1.0)
    table.merge_records([back if not reverse else fwd._replace(app=answer)], 2.0)
    (entry,) = table.entries()
    assert entry.app == answer
    assert entry.record.app == answer
    table.merge_records([fwd._replace(app=AppFacts("dns", dns_qname="other.example"))], 3.0)
    assert entry.app == answer._replace(dns_qname="other.example")


def test_a_method_word_without_http_version_is_not_http() -> None:
    """Redis's inline ``GET key`` and a line cut short by the capture: only the latter
    may be an HTTP request."""
    assert _one([_tcp(b"GET session:42\r\n", dport=6379)]) is None
    facts = _one([_tcp(b"GET /a/very/long/path", dport=80)])
    assert facts == AppFacts("http", http_request="GET /a/very/long/path")


def test_json_line_of_a_flow_with_facts_is_the_record_json() -> None:
    """``netop flows --json``'s fast formatter gives the record's JSON, facts or not."""
    import json

    from netop.commands.output import flow_json_line, json_line
    from netop.model import FlowKpi, FlowRecord

    for kpi in (None, FlowKpi(rtt_ms=1.5)):
        for app in (None, AppFacts("tls", sni='a"b\\', alpn=("h2", "http/1.1"))):
            r = FlowRecord(6, "192.0.2.1", 1, "192.0.2.2", 443, None, 1, 2, 3, 4, 1.0, 2.0,
                           0x12, kpi=kpi, app=app)
            line = flow_json_line(r)
            assert line == json_line(r.to_json())
            assert json.loads(line)["alpn"] == (None if app is None else ["h2", "http/1.1"])
