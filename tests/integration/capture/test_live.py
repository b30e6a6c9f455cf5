"""Live capture in network namespaces: netop's flows match tcpdump + tshark, packet for packet."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from tests.netns import VethPair, veth_pair
from tests.ready import StreamLines, Watched, start_watched, wait_for_port, wait_until

ROOT = Path(__file__).resolve().parents[3]
pytestmark = pytest.mark.netns


def _need(*tools: str) -> None:
    for tool in tools:
        if shutil.which(tool) is None:
            pytest.skip(f"`{tool}` is not installed (apt-get install {tool})")


def _netop(pair: VethPair, *args: str) -> Watched:
    """``netop flows`` in namespace A (the caller kills it in its ``finally``)."""
    return start_watched(pair.run_a(sys.executable, "-m", "netop", "flows", *args), cwd=ROOT)


def _attached(netop: Watched) -> None:
    """Wait (bounded) until netop says its capture sees packets: traffic may start."""
    netop.stderr.wait_for("netop: capture attached on ", timeout=30)


def _http_server(pair: VethPair, bind: str, port: int) -> subprocess.Popen[bytes]:
    """``python -m http.server`` in namespace B, listening (the caller terminates it)."""
    server = subprocess.Popen(
        pair.run_b(sys.executable, "-m", "http.server", "--bind", bind, str(port)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, pair.ns_b, proc=server)
    except AssertionError:
        server.kill()
        server.wait(timeout=10)
        raise
    return server


def _tcpdump(pair: VethPair, pcap: Path, expr: str) -> subprocess.Popen[str]:
    """tcpdump writing ``pcap`` in namespace A, once it says it is listening."""
    dump = subprocess.Popen(
        pair.run_a("tcpdump", "-i", pair.if_a, "-n", "-U", "-w", str(pcap), expr),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert dump.stderr is not None
    try:
        StreamLines(dump.stderr).wait_for("listening on", timeout=30)
    except AssertionError:
        dump.kill()
        dump.wait(timeout=10)
        raise
    return dump


def _fetch(pair: VethPair, url: str, max_time: int = 2, check: bool = True) -> None:
    """One bounded ``curl`` from namespace A (``-g``: IPv6 literals in brackets)."""
    subprocess.run(
        pair.run_a("curl", "-s", "-g", "-o", "/dev/null", "--max-time", str(max_time), url),
        check=check,
        timeout=10,
    )


def _tshark_flows(pcap: Path) -> Counter[tuple[str, str, int, int]]:
    """(src, dst, sport, dport) -> packets and bytes (ip.len) as tshark decodes the file."""
    out = subprocess.run(
        [
            "tshark",
            "-n",
            "-r",
            str(pcap),
            "-T",
            "fields",
            "-E",
            "separator=,",
            "-e",
            "ip.src",
            "-e",
            "ip.dst",
            "-e",
            "tcp.srcport",
            "-e",
            "tcp.dstport",
            "-e",
            "ip.len",
            "ip",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    counts: Counter[tuple[str, str, int, int]] = Counter()
    for line in out.splitlines():
        src, dst, sport, dport, length = line.split(",")
        key = (src, dst, int(sport or 0), int(dport or 0))
        counts[key + ("packets",)] += 1  # type: ignore[index]
        counts[key + ("bytes",)] += int(length)  # type: ignore[index]
    return counts


def _netop_flows(stdout: str) -> Counter[tuple[str, str, int, int]]:
    counts: Counter[tuple[str, str, int, int]] = Counter()
    for line in stdout.splitlines():
        r = json.loads(line)
        fwd = (r["src"], r["dst"], r["sport"], r["dport"])
        rev = (r["dst"], r["src"], r["dport"] if r["proto"] == "tcp" else 0, r["sport"])
        counts[fwd + ("packets",)] += r["packets"]  # type: ignore[index]
        counts[fwd + ("bytes",)] += r["bytes"]  # type: ignore[index]
        if r["packets_rev"]:
            counts[rev + ("packets",)] += r["packets_rev"]  # type: ignore[index]
            counts[rev + ("bytes",)] += r["bytes_rev"]  # type: ignore[index]
    return counts


def test_http_flows_match_tcpdump_and_tshark(tmp_path: Path) -> None:
    _need("tcpdump", "tshark", "curl")
    pcap = tmp_path / "ref.pcap"
    with veth_pair() as pair:
        server = _http_server(pair, pair.addr_b, 8080)
        dump = _tcpdump(pair, pcap, "ip")
        netop = _netop(pair, "-i", pair.if_a, "--duration", "6", "--json")
        try:
            _attached(netop)
            for i in range(5):
                _fetch(pair, f"http://{pair.addr_b}:8080/?n={i}", max_time=3)
            stdout, stderr = netop.communicate(timeout=30)
        finally:
            dump.terminate()
            dump.wait(timeout=10)
            server.terminate()
            server.wait(timeout=10)
            netop.kill()
    assert netop.returncode == 0, stderr
    mine = _netop_flows(stdout)
    ref = _tshark_flows(pcap)
    assert sum(v for k, v in ref.items() if k[-1] == "packets") >= 5 * 10  # 5 TCP exchanges
    assert mine == ref
    tcp = [json.loads(line) for line in stdout.splitlines()]
    assert sum(1 for r in tcp if r["proto"] == "tcp" and r["dport"] == 8080) == 5
    assert all(r["src"] == pair.addr_a and "S" in r["tcp_flags"] for r in tcp if r["dport"] == 8080)


def test_filter_is_applied_in_the_kernel(tmp_path: Path, launcher: str) -> None:
    _need("curl")
    config = tmp_path / "netop.toml"
    # The child starts through a command prefix, as it would through ["sudo", "-n"].
    config.write_text(f'[capture]\nhelper = ["env", "NETOP_TEST=1"]\nlauncher = "{launcher}"\n')
    with veth_pair() as pair:
        server = _http_server(pair, pair.addr_b, 8081)
        netop = _netop(
            pair,
            "--config",
            str(config),
            "-i",
            pair.if_a,
            "-f",
            "tcp port 9",
            "--duration",
            "3",
            "--json",
        )
        try:
            _attached(netop)
            _fetch(pair, f"http://{pair.addr_b}:8081/", max_time=2, check=False)
            stdout, stderr = netop.communicate(timeout=30)
        finally:
            server.terminate()
            server.wait(timeout=10)
            netop.kill()
    assert netop.returncode == 0, stderr
    assert stdout == ""
    assert "0 packets captured" in stderr


def test_without_cap_net_raw_one_line_says_how_to_grant_it() -> None:
    _need("unshare")
    # A user namespace's "root" lacks CAP_NET_RAW over the host's network namespace.
    done = subprocess.run(
        [
            "unshare",
            "--user",
            "--map-root-user",
            sys.executable,
            "-m",
            "netop",
            "flows",
            "-i",
            "lo",
            "--duration",
            "1",
            "--json",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=30,
    )
    if "unshare failed" in done.stderr or "Operation not permitted" in done.stderr[:80]:
        pytest.skip(f"user namespaces unavailable: {done.stderr.strip()}")
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1
    assert "CAP_NET_RAW" in done.stderr
    assert "netop install-capture" in done.stderr


def _iperf_server(pair: VethPair) -> subprocess.Popen[bytes]:
    server = subprocess.Popen(
        pair.run_b("iperf3", "-s", "-1", "-B", pair.addr_b),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(5201, pair.ns_b, proc=server)
    except AssertionError:
        server.kill()
        server.wait(timeout=10)
        raise
    return server


def test_iperf3_tcp_and_written_pcap_match_tcpdump(tmp_path: Path, out_dir: Path) -> None:
    _need("tcpdump", "tshark", "iperf3")
    ref = tmp_path / "ref.pcap"
    mine = out_dir / "netop.pcap"  # the child writes as nobody: not root's tmp_path
    with veth_pair() as pair:
        server = _iperf_server(pair)
        dump = _tcpdump(pair, ref, "ip")
        # --duration only bounds the test: netop ends at Ctrl-C once the last packet is
        # on the wire (a fixed 6 s ended it before iperf3's teardown on a loaded machine).
        netop = _netop(pair, "-i", pair.if_a, "--duration", "120", "--json", "-w", str(mine))
        try:
            _attached(netop)
            subprocess.run(
                pair.run_a("iperf3", "-c", pair.addr_b, "-t", "2", "-b", "100M"),
                check=True,
                capture_output=True,
                timeout=60,
            )
            server.terminate()  # its sockets close: no packet of the test comes after this
            server.wait(timeout=10)
            netop.proc.send_signal(signal.SIGINT)
            stdout, stderr = netop.communicate(timeout=30)
            # tcpdump may still be behind in its ring (a SIGTERM would lose that part):
            # wait (bounded) until its file holds as many packets as netop counted.
            counted = _netop_flows(stdout) if netop.returncode == 0 else Counter()
            total = sum(v for k, v in counted.items() if k[-1] == "packets")
            wait_until(
                lambda: sum(v for k, v in _tshark_flows(ref).items() if k[-1] == "packets")
                >= total,
                timeout=30,
                what="tcpdump's file catching up with netop's count",
                every=0.5,
            )
        finally:
            dump.terminate()
            dump.wait(timeout=10)
            server.terminate()
            server.wait(timeout=10)
            netop.kill()
    assert netop.returncode == 0, stderr
    assert counted == _tshark_flows(ref)
    assert sum(v for k, v in counted.items() if k[-1] == "bytes") > 20_000_000  # 100 Mbit/s, 2 s
    # -w wrote the same packets, private to the user, readable by tshark.
    assert mine.stat().st_mode & 0o777 == 0o600
    assert _tshark_flows(mine) == counted


def test_fixed_sampling_scales_counts_to_an_unbiased_estimate(
    tmp_path: Path, launcher: str
) -> None:
    _need("iperf3")
    # The capture child starts 3 s late, as on a busy CI machine (where a guessed 1.5 s
    # head start once let it see 8 of 10,000 datagrams): the test waits for netop's word.
    config = tmp_path / "netop.toml"
    config.write_text(
        '[capture]\nhelper = ["sh", "-c", "sleep 3; exec \\"$@\\"", "slow"]\n'
        f'launcher = "{launcher}"\n'
    )
    with veth_pair() as pair:
        server = _iperf_server(pair)
        netop = _netop(pair, "--config", str(config), "-i", pair.if_a, "--duration", "5",
                       "--json", "--sample", "8")  # fmt: skip
        try:
            _attached(netop)
            iperf = subprocess.run(
                pair.run_a("iperf3", "-c", pair.addr_b, "-u", "-b", "40M", "-l", "1000", "-t", "2"),
                check=True,
                capture_output=True,
                text=True,
                timeout=20,
            )
            stdout, stderr = netop.communicate(timeout=30)
        finally:
            server.terminate()
            server.wait(timeout=10)
            netop.kill()
    assert netop.returncode == 0, stderr
    udp = [r for r in map(json.loads, stdout.splitlines()) if r["proto"] == "udp"]
    assert len(udp) == 1
    sent = 40_000_000 * 2 // 8 // 1000  # iperf3 datagrams: 10000
    assert udp[0]["sampling"] == 8
    # Which side "opened" a sampled flow is the sender of the first *sampled* packet: the
    # server's small reply to iperf3's UDP hello is sometimes it. Count the data stream by
    # the client's address, whichever direction that is.
    forward = udp[0]["src"] == pair.addr_a
    packets = udp[0]["packets"] if forward else udp[0]["packets_rev"]
    data_bytes = udp[0]["bytes"] if forward else udp[0]["bytes_rev"]
    assert abs(packets - sent) < 0.15 * sent, (udp, stderr, iperf.stdout[-600:])
    # Nearly all datagrams carry 1000 bytes of payload + 28 of UDP/IPv4 header.
    assert abs(data_bytes - packets * 1028) < 0.01 * data_bytes


@pytest.mark.parametrize("iface_args", [[], ["-i", "any"]], ids=["default-route", "any"])
def test_default_route_interface_and_any(iface_args: list[str]) -> None:
    _need("curl")
    with veth_pair() as pair:
        subprocess.run(
            pair.run_a("ip", "route", "add", "default", "via", pair.addr_b), check=True, timeout=10
        )
        server = _http_server(pair, pair.addr_b, 8082)
        netop = _netop(pair, *iface_args, "--duration", "3", "--json")
        try:
            _attached(netop)
            _fetch(pair, f"http://{pair.addr_b}:8082/", max_time=2, check=False)
            stdout, stderr = netop.communicate(timeout=30)
        finally:
            server.terminate()
            server.wait(timeout=10)
            netop.kill()
    assert netop.returncode == 0, stderr
    flows = [json.loads(line) for line in stdout.splitlines()]
    web = [r for r in flows if r["dport"] == 8082]
    assert len(web) == 1
    assert web[0]["src"] == pair.addr_a
    assert web[0]["packets"] >= 4
    assert web[0]["packets_rev"] >= 4


def _tshark_flows_v6(pcap: Path) -> Counter[tuple[str, str, int, int]]:
    out = subprocess.run(
        [
            "tshark",
            "-n",
            "-r",
            str(pcap),
            "-T",
            "fields",
            "-E",
            "separator=,",
            "-e",
            "ipv6.src",
            "-e",
            "ipv6.dst",
            "-e",
            "tcp.srcport",
            "-e",
            "tcp.dstport",
            "-e",
            "ipv6.plen",
            "tcp",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    counts: Counter[tuple[str, str, int, int]] = Counter()
    for line in out.splitlines():
        src, dst, sport, dport, plen = line.split(",")
        key = (src, dst, int(sport), int(dport))
        counts[key + ("packets",)] += 1  # type: ignore[index]
        counts[key + ("bytes",)] += int(plen) + 40  # type: ignore[index]
    return counts


def test_ipv6_tcp_flows_match_tcpdump(tmp_path: Path) -> None:
    _need("tcpdump", "tshark", "curl")
    pcap = tmp_path / "v6.pcap"
    with veth_pair(ipv6=True) as pair:
        a6, b6 = "fd00:77::1", "fd00:77::2"
        for ns, ifname, addr in ((pair.ns_a, pair.if_a, a6), (pair.ns_b, pair.if_b, b6)):
            subprocess.run(
                ["ip", "-n", ns, "addr", "add", f"{addr}/64", "dev", ifname, "nodad"],
                check=True,
                timeout=10,
            )
        server = _http_server(pair, b6, 8084)
        dump = _tcpdump(pair, pcap, "ip6 and tcp")
        netop = _netop(pair, "-i", pair.if_a, "-f", "ip6 and tcp", "--duration", "5", "--json")
        try:
            _attached(netop)
            for i in range(3):
                _fetch(pair, f"http://[{b6}]:8084/?n={i}", max_time=3)
            stdout, stderr = netop.communicate(timeout=30)
        finally:
            dump.terminate()
            dump.wait(timeout=10)
            server.terminate()
            server.wait(timeout=10)
            netop.kill()
    assert netop.returncode == 0, stderr
    flows = [json.loads(line) for line in stdout.splitlines()]
    assert len(flows) == 3
    assert all(r["src"] == a6 and r["dport"] == 8084 for r in flows)
    assert _netop_flows(stdout) == _tshark_flows_v6(pcap)


def test_vlan_tagged_traffic_is_keyed_by_its_vlan() -> None:
    _need("curl")
    with veth_pair() as pair:
        for ns, ifname, addr in (
            (pair.ns_a, pair.if_a, "10.77.10.1"),
            (pair.ns_b, pair.if_b, "10.77.10.2"),
        ):
            sub = f"{ifname[:10]}.10"
            made = subprocess.run(
                [
                    "ip",
                    "-n",
                    ns,
                    "link",
                    "add",
                    "link",
                    ifname,
                    "name",
                    sub,
                    "type",
                    "vlan",
                    "id",
                    "10",
                ],
                capture_output=True,
                text=True,
                timeout=10,
            )
            if made.returncode != 0:
                pytest.skip(f"no VLAN devices in this kernel (8021q): {made.stderr.strip()}")
            for cmd in (["addr", "add", f"{addr}/24", "dev", sub], ["link", "set", sub, "up"]):
                subprocess.run(["ip", "-n", ns, *cmd], check=True, timeout=10)
        server = _http_server(pair, "10.77.10.2", 8085)
        # Capture on the untagged parent: the tags are on the wire there.
        netop = _netop(pair, "-i", pair.if_a, "--duration", "4", "--json")
        try:
            _attached(netop)
            _fetch(pair, "http://10.77.10.2:8085/", max_time=2)
            stdout, stderr = netop.communicate(timeout=30)
        finally:
            server.terminate()
            server.wait(timeout=10)
            netop.kill()
    assert netop.returncode == 0, stderr
    web = [r for r in map(json.loads, stdout.splitlines()) if r["dport"] == 8085]
    assert len(web) == 1
    assert web[0]["vlan"] == 10
    assert web[0]["src"] == "10.77.10.1"
    assert web[0]["packets"] >= 4
    assert web[0]["packets_rev"] >= 4


def test_replayed_vlan_and_qinq_frames_keep_the_outer_tag(tmp_path: Path) -> None:
    _need("tcpreplay")
    from scapy.layers.inet import IP, UDP
    from scapy.layers.l2 import Dot1AD, Dot1Q, Ether
    from scapy.utils import wrpcap

    eth = Ether(src="02:00:00:00:0a:01", dst="02:00:00:00:0a:02")
    frames = [
        eth / Dot1Q(vlan=10) / IP(src="192.0.2.1", dst="192.0.2.2") / UDP(sport=7, dport=9)
        for _ in range(5)
    ]
    frames += [
        eth
        / Dot1AD(vlan=300)
        / Dot1Q(vlan=20)
        / IP(src="192.0.2.3", dst="192.0.2.4")
        / UDP(sport=7, dport=9)
        for _ in range(3)
    ]
    pcap = tmp_path / "vlan.pcap"
    wrpcap(str(pcap), frames)
    with veth_pair() as pair:
        netop = _netop(pair, "-i", pair.if_a, "--duration", "3", "--json")
        try:
            _attached(netop)
            subprocess.run(
                pair.run_b("tcpreplay", "-q", "-i", pair.if_b, str(pcap)),
                check=True,
                capture_output=True,
                timeout=20,
            )
            stdout, stderr = netop.communicate(timeout=30)
        finally:
            netop.kill()
    assert netop.returncode == 0, stderr
    got = {
        (r["src"], r["vlan"]): r["packets"]
        for r in map(json.loads, stdout.splitlines())
        if r["proto"] == "udp"
    }
    assert got == {("192.0.2.1", 10): 5, ("192.0.2.3", 300): 3}


def test_child_drops_root_after_opening_the_ring_like_tcpdump_z(tmp_path: Path) -> None:
    _need("curl")
    import tempfile

    out_dir = Path(tempfile.mkdtemp(prefix="netop-drop-", dir="/tmp"))
    out_dir.chmod(0o1777)  # like /tmp: writable by the user, safe from swapped names
    try:
        with veth_pair() as pair:
            server = _http_server(pair, pair.addr_b, 8086)
            # What sudo leaves in the environment of the command it runs (`sudo netop`).
            netop = start_watched(
                pair.run_a(
                    "env", "SUDO_UID=65534", "SUDO_GID=65534",
                    sys.executable, "-m", "netop", "flows", "-i", pair.if_a,
                    "--duration", "3", "--json", "-w", str(out_dir / "cap.pcap"),
                ),
                cwd=ROOT,
            )  # fmt: skip
            try:
                _attached(netop)
                _fetch(pair, f"http://{pair.addr_b}:8086/", max_time=2, check=False)
                stdout, stderr = netop.communicate(timeout=30)
            finally:
                server.terminate()
                server.wait(timeout=10)
                netop.kill()
        assert netop.returncode == 0, stderr
        assert any(json.loads(line)["dport"] == 8086 for line in stdout.splitlines())
        written = out_dir / "cap.pcap"
        assert written.stat().st_uid == 65534  # opened after the drop, so it is the user's
        assert written.stat().st_mode & 0o777 == 0o600
    finally:
        shutil.rmtree(out_dir, ignore_errors=True)
