"""A real agent's replies made hostile by a relay: oversized integers in v1/v2c values."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from netop.sources.snmp import mib
from netop.sources.snmp.ber import encode_oid
from tests.integration.snmp.agents import COMMUNITY, Snmpd
from tests.integration.snmp.relay import Relay, Tlv, parse

REPO = Path(__file__).resolve().parents[3]
HUGE = b"\x01" + b"\x00" * 137  # 2^1096: no SNMP type is this long


def _oid_body(name: str) -> bytes:
    return encode_oid(mib.COLUMNS[name])[2:]


class Inflate:
    """Replace ifHCInOctets and ifHighSpeed values with 2^1096: in the first reply that
    carries them (the static walk: a link speed), and once more after ``after``
    seconds (a counter, once netop has a rate baseline)."""

    def __init__(self, after: float) -> None:
        self.later = time.monotonic() + after
        self.left = 2
        self.forged = 0

    def __call__(self, request: bytes, reply: bytes) -> list[bytes]:
        if self.left <= 0 or (self.forged and time.monotonic() < self.later):
            return [reply]
        message = parse(reply)
        varbinds = message[2][3].children
        changed = False
        for varbind in varbinds:
            oid = varbind[0].value
            for name, tag in (("hc_in_octets", 0x46), ("high_speed", 0x42)):
                if oid.startswith(_oid_body(name)):
                    varbind.children[1] = Tlv(tag, HUGE)
                    changed = True
        if not changed:
            return [reply]
        self.left -= 1
        self.forged += 1
        return [message.encode()]


def _netop(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "netop", *args], capture_output=True, text=True, timeout=60,
        cwd=REPO, env=dict(os.environ, PYTHONPATH=str(REPO), **env),
    )  # fmt: skip


def test_oversized_integers_never_crash_netop_snmp_and_polling_goes_on(
    snmpd: Snmpd, tmp_path: Path
) -> None:
    inflate = Inflate(after=4.0)
    with Relay(snmpd.port, inflate) as relay:
        config = tmp_path / "netop.toml"
        config.write_text(
            f'[[snmp.targets]]\nname = "sw"\nhost = "127.0.0.1"\nport = {relay.port}\n'
            f'version = "2c"\ncommunity_env = "NETOP_TEST_COMMUNITY"\ninterval = 1\n'
            "timeout = 0.3\nretries = 0\n"
        )
        proc = _netop("snmp", "--config", str(config), "--json", "--count", "3",
                      NETOP_TEST_COMMUNITY=COMMUNITY)  # fmt: skip
    assert "Traceback" not in proc.stderr, proc.stderr[-1500:]
    assert relay.errors == []
    assert inflate.forged == 2
    assert proc.returncode == 0, proc.stderr
    records = [json.loads(line) for line in proc.stdout.splitlines()]
    lo = [r for r in records if r["iface"] == "lo"]
    assert lo, proc.stdout
    # The forged replies were dropped whole; the real ones after them are believed.
    assert all(r["speed_bps"] is None or r["speed_bps"] < 2**64 for r in records)
    assert all(0 <= r["counters"]["rx_bytes"] < 2**64 for r in lo)
    assert "no response" in proc.stderr  # the dropped replies read as timeouts
