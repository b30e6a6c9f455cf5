"""End to end in a namespace: snmpd (``notificationEvent`` + ``monitor``: what
``linkUpDownNotifications yes`` expands to, polled every second instead of 60 s) sends
a real linkDown when the test sets a veth down; netop polls the same snmpd, receives
its trap, watches the traffic over that veth fall; the event log shows one incident.

netop and snmpd both run inside namespace A (loopback there); traffic comes from
namespace B over the veth pair."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.integration.push.conftest import Netop
from tests.netns import VethPair, sh, veth_pair

pytestmark = [pytest.mark.netns,
              pytest.mark.skipif(shutil.which("snmpd") is None, reason="snmpd not installed")]

# linkUpDownNotifications' expansion, with numeric OIDs (Debian ships no IF-MIB text).
SNMPD_CONF = """agentaddress udp:127.0.0.1:{agent}
rocommunity public 127.0.0.1
iquerySecName internal
rouser internal noauth
createUser internal
trap2sink 127.0.0.1:{traps} public
notificationEvent linkUpTrap .1.3.6.1.6.3.1.1.5.4 .1.3.6.1.2.1.2.2.1.1 .1.3.6.1.2.1.2.2.1.7 .1.3.6.1.2.1.2.2.1.8
notificationEvent linkDownTrap .1.3.6.1.6.3.1.1.5.3 .1.3.6.1.2.1.2.2.1.1 .1.3.6.1.2.1.2.2.1.7 .1.3.6.1.2.1.2.2.1.8
monitor -r 1 -e linkUpTrap "up" .1.3.6.1.2.1.2.2.1.8 != 2
monitor -r 1 -e linkDownTrap "down" .1.3.6.1.2.1.2.2.1.8 == 2
"""  # noqa: E501
# ~1 MB/s of UDP from B to A for at most 60 s (bounded in time and count).
SENDER = """
import socket, sys, time
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
end = time.monotonic() + 60
for n in range(600_000):
    if time.monotonic() > end:
        break
    try:
        sock.sendto(b"x" * 1000, (sys.argv[1], 9))
    except OSError:
        pass
    if n % 10 == 0:
        time.sleep(0.01)
"""


def test_real_link_down_is_one_incident(tmp_path: Path) -> None:
    with veth_pair() as pair:
        agent, traps = 11161, 11162  # inside the test's own namespace: no collisions
        conf = tmp_path / "snmpd.conf"
        conf.write_text(SNMPD_CONF.format(agent=agent, traps=traps))
        config = tmp_path / "netop.toml"
        config.write_text(f'[[snmp.targets]]\nname = "edge"\nhost = "127.0.0.1"\n'
                          f'port = {agent}\ncommunity = "public"\ninterval = 1\n')
        config.chmod(0o600)
        snmpd = subprocess.Popen(pair.run_a("snmpd", "-f", "-Lo", "-C", "-c", str(conf),
                                            "--persistentDir=" + str(tmp_path / "snmp")),
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        ping = None
        netop = Netop("traps", "--config", str(config), listen=f"127.0.0.1:{traps}",
                      prefix=("ip", "netns", "exec", pair.ns_a))
        try:
            events = []
            # Ready: the poller has seen the agent's interfaces (bounded wait).
            deadline = time.monotonic() + 20
            while not any("watching" in e["message"] for e in events):
                assert time.monotonic() < deadline, events
                events += netop.events(1, timeout=max(0.1, deadline - time.monotonic()))
            ping = subprocess.Popen(pair.run_b(sys.executable, "-c", SENDER, pair.addr_a),
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            # Ready when the agent's counter has moved 3 MB past the first busy reading:
            # net-snmp refreshes it every ~3 s, so netop's 1 s poller has rates of it.
            deadline = time.monotonic() + 30
            first = None
            while True:
                assert time.monotonic() < deadline, "no traffic seen on the veth"
                octets = _in_octets(pair, agent)
                first = octets if first is None and octets > 0 else first
                if first is not None and octets - first > 3_000_000:
                    break
            sh("ip", "-n", pair.ns_a, "link", "set", pair.if_a, "down")
            deadline = time.monotonic() + 40
            summary = None
            while summary is None:
                assert time.monotonic() < deadline, events
                event = netop.events(1, timeout=max(0.1, deadline - time.monotonic()))[0]
                events.append(event)
                if event.get("kind") == "incident_summary":
                    summary = event
            about = [e for e in events if e.get("interface") == pair.if_a]
            downs = [e for e in about if e.get("kind") == "link_down"]
            # Headless prints every witness; all of them carry the one incident.
            assert {e["details"].get("incident") for e in downs} == {"1"}, about
            assert {e["source"] for e in downs} >= {"traps", "snmp:edge"}, about
            assert summary["sender"] == "edge"
            assert summary["interface"] == pair.if_a
            for witness in ("trap", "snmp", "traffic"):
                assert witness in summary["details"], summary
        finally:
            if ping is not None:
                ping.kill()
                ping.wait()
            netop.stop()
            snmpd.terminate()
            snmpd.wait(timeout=10)


def _in_octets(pair: VethPair, agent: int) -> int:
    """ifInOctets of A's veth, read from the agent with net-snmp's snmpget."""
    index = int(sh("ip", "-n", pair.ns_a, "-o", "link", "show", pair.if_a).split(":", 1)[0])
    out = subprocess.run(pair.run_a("snmpget", "-v2c", "-c", "public", "-Oqv",
                                    f"127.0.0.1:{agent}", f".1.3.6.1.2.1.2.2.1.10.{index}"),
                         capture_output=True, text=True, timeout=10)  # fmt: skip
    value = out.stdout.strip()
    return int(value) if value.isdigit() else 0
