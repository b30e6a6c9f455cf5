"""Syslog from real senders: util-linux ``logger`` (UDP, TCP, both RFCs, octet counting)
and rsyslog forwarding from its own config, into ``netop syslog --json``."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from tests.integration.push.conftest import Netop

pytestmark = pytest.mark.skipif(shutil.which("logger") is None, reason="logger not installed")


def logger(port: int, *args: str) -> None:
    subprocess.run(["logger", "--server", "127.0.0.1", "--port", str(port), *args],
                   check=True, timeout=10)


@pytest.mark.parametrize("transport", [["--udp"], ["--tcp"], ["--tcp", "--octet-count"]])
@pytest.mark.parametrize("rfc", ["--rfc3164", "--rfc5424"])
def test_logger_both_rfcs_both_transports(netop_syslog: Netop, transport: list[str],
                                          rfc: str) -> None:  # fmt: skip
    logger(netop_syslog.port, *transport, rfc, "-t", "edge1", "-p", "local7.err",
           "%LINK-3-UPDOWN: Interface Gi0/3, changed state to down [red]x")
    [event] = netop_syslog.events(1)
    assert event["source"] == "syslog"
    assert event["sender"] == "127.0.0.1"
    assert (event["kind"], event["interface"], event["severity"]) == ("link_down", "Gi0/3",
                                                                      "error")
    details = event["details"]
    assert (details["facility"], details["level"], details["app"]) == ("local7", "err", "edge1")
    assert abs(float(details["sent"]) - time.time()) < 120
    assert event["message"].endswith("changed state to down [red]x")


def test_structured_data_kept(netop_syslog: Netop) -> None:
    logger(netop_syslog.port, "--tcp", "--rfc5424", "--sd-id", "origin@32473",
           "--sd-param", 'ip="192.0.2.1"', "-p", "daemon.warning", "disk almost full")
    [event] = netop_syslog.events(1)
    assert event["details"]["origin@32473.ip"] == "192.0.2.1"
    assert (event["severity"], event["kind"]) == ("warning", "syslog")


def test_garbage_is_counted_and_the_receiver_goes_on(netop_syslog: Netop) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.sendto(b"\xff\x00<999>\x1b[2Jnot syslog", ("127.0.0.1", netop_syslog.port))
    with socket.create_connection(("127.0.0.1", netop_syslog.port), timeout=5) as tcp:
        tcp.sendall(b"99999999 x")  # an impossible octet count: the connection is closed
    garbage = netop_syslog.events(1)[0]
    assert "\x1b" not in garbage["message"]
    logger(netop_syslog.port, "--tcp", "--rfc5424", "still here")
    assert netop_syslog.events(1)[0]["message"].endswith("still here")
    err = netop_syslog.stop()
    assert "1 malformed" in err
    assert "1 framing errors" in err


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.mark.skipif(shutil.which("rsyslogd") is None, reason="rsyslogd not installed")
@pytest.mark.parametrize("protocol", ["udp", "tcp"])
def test_rsyslog_forwards_to_netop(netop_syslog: Netop, tmp_path: Path, protocol: str) -> None:
    rsyslog_in = _free_udp_port()
    conf = tmp_path / "rsyslog.conf"
    conf.write_text(f'''
global(workDirectory="{tmp_path}")
module(load="imudp")
input(type="imudp" address="127.0.0.1" port="{rsyslog_in}")
action(type="omfwd" target="127.0.0.1" port="{netop_syslog.port}" protocol="{protocol}"
       template="RSYSLOG_SyslogProtocol23Format" TCP_Framing="octet-counted")
''')
    rsyslogd = subprocess.Popen(["rsyslogd", "-n", "-f", str(conf), "-i",
                                 str(tmp_path / "rsyslog.pid")],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)  # fmt: skip
    try:
        # Ready when a probe comes through (bounded): rsyslog has no readiness line.
        seen = None
        for _ in range(50):
            logger(rsyslog_in, "--udp", "--rfc3164", "-t", "probe", "probe")
            try:
                seen = netop_syslog.events(1, timeout=0.2)[0]
                break
            except AssertionError:
                continue
        assert seen is not None, "rsyslog forwarded nothing in 10 s"
        logger(rsyslog_in, "--udp", "--rfc3164", "-t", "rpd", "-p", "daemon.notice",
               "BGP_NEIGHBOR_STATE_CHANGED: BGP peer 203.0.113.1 (External AS 65001) changed "
               "state from Established to Idle (event RecvNotify)")
        events = netop_syslog.events(1)
        while events[-1]["details"].get("app") == "probe":  # late probes
            events = netop_syslog.events(1)
        event = events[-1]
        assert (event["kind"], event["severity"]) == ("bgp_neighbor", "error")
        assert event["details"]["neighbor"] == "203.0.113.1"
        assert event["details"]["app"] == "rpd"
    finally:
        rsyslogd.terminate()
        rsyslogd.wait(timeout=10)
