"""Traps and informs from net-snmp's ``snmptrap`` / ``snmpinform`` (v1, v2c, v3
authPriv) into ``netop traps --json``; an inform is acknowledged (snmpinform exits 0
only when it got the Response), a v3 trap with the wrong key is counted, never shown."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.integration.push.conftest import Netop

pytestmark = pytest.mark.skipif(shutil.which("snmptrap") is None, reason="net-snmp not installed")

V3 = ["-v", "3", "-u", "netop", "-l", "authPriv", "-a", "SHA", "-A", "authpass123",
      "-x", "AES", "-X", "privpass123"]  # fmt: skip
LINK_DOWN_V2 = ["1.3.6.1.6.3.1.1.5.3", "1.3.6.1.2.1.2.2.1.1.2", "i", "2",
                "1.3.6.1.2.1.2.2.1.7.2", "i", "1", "1.3.6.1.2.1.2.2.1.8.2", "i", "2"]  # fmt: skip


def run(tool: str, port: int, options: list[str], *pdu: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([tool, "-r", "1", "-t", "3", *options, f"127.0.0.1:{port}", *pdu],
                          capture_output=True, text=True, timeout=30)  # fmt: skip


def test_v1_link_down(netop_traps: Netop) -> None:
    done = run("snmptrap", netop_traps.port, ["-v", "1", "-c", "public"],
               "1.3.6.1.4.1.8072", "127.0.0.1", "2", "0", "", "1.3.6.1.2.1.2.2.1.1.5", "i", "5")
    assert done.returncode == 0, done.stderr
    [event] = netop_traps.events(1)
    assert (event["kind"], event["severity"], event["interface"]) == ("link_down", "error",
                                                                      "ifIndex 5")
    assert event["details"]["version"] == "v1"
    assert event["details"]["trap_oid"] == "1.3.6.1.6.3.1.1.5.3"


def test_v2c_trap_and_inform(netop_traps: Netop) -> None:
    done = run("snmptrap", netop_traps.port, ["-v", "2c", "-c", "public"], "", *LINK_DOWN_V2)
    assert done.returncode == 0, done.stderr
    [trap] = netop_traps.events(1)
    assert trap["message"] == "127.0.0.1: linkDown ifIndex 2 (admin up, oper down)"
    done = run("snmpinform", netop_traps.port, ["-v", "2c", "-c", "public"], "",
               "1.3.6.1.4.1.9999.0.7", "1.3.6.1.4.1.9999.1.1", "s", "fan 2 failed")
    assert done.returncode == 0, f"inform not acknowledged: {done.stderr}"
    inform = netop_traps.events(1)[0]
    assert inform["kind"] == "trap"
    assert inform["details"]["pdu"] == "inform"
    assert "1.3.6.1.4.1.9999.1.1=fan 2 failed" in inform["message"]


def test_v3_authpriv_trap_inform_and_bad_key(netop_traps: Netop) -> None:
    done = run("snmptrap", netop_traps.port, [*V3, "-e", "0x8000000001020304"], "",
               "1.3.6.1.6.3.1.1.5.1")
    assert done.returncode == 0, done.stderr
    assert netop_traps.events(1)[0]["kind"] == "cold_start"
    # An inform: snmpinform discovers netop's engine ID, and exits 0 on the Response.
    done = run("snmpinform", netop_traps.port, V3, "", "1.3.6.1.6.3.1.1.5.4",
               "1.3.6.1.2.1.2.2.1.1.7", "i", "7")
    assert done.returncode == 0, f"v3 inform not acknowledged: {done.stderr}"
    inform = netop_traps.events(1)[0]
    assert (inform["kind"], inform["interface"], inform["details"]["user"]) == (
        "link_up", "ifIndex 7", "netop")
    wrong = [*V3[:9], "wrongpass123", *V3[10:]]
    run("snmptrap", netop_traps.port, [*wrong, "-e", "0x8000000001020304"], "",
        "1.3.6.1.6.3.1.1.5.2")
    done = run("snmptrap", netop_traps.port, [*V3, "-e", "0x8000000001020304"], "",
               "1.3.6.1.6.3.1.1.5.5")
    after = netop_traps.events(1)[0]
    assert after["kind"] == "auth_failure"  # the warmStart with the bad key never showed
    assert "1 dropped bad digest" in netop_traps.stop()


def test_v3_authnopriv_sha256_trap(netop_traps: Netop) -> None:
    options = ["-v", "3", "-u", "netop-auth", "-l", "authNoPriv", "-a", "SHA-256",
               "-A", "authpass456", "-e", "0x8000000001020399"]  # fmt: skip
    done = run("snmptrap", netop_traps.port, options, "", "1.3.6.1.6.3.1.1.5.2")
    assert done.returncode == 0, done.stderr
    event = netop_traps.events(1)[0]
    assert event["kind"] == "warm_start"
    assert event["details"]["user"] == "netop-auth"
