"""Communities on the command line: kept out of error lines, and a way to keep them
out of ``ps`` (``v2c:@HOST`` with the community from a file or the environment)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.snmp.agents import COMMUNITY, Snmpd

REPO = Path(__file__).resolve().parents[3]
SECRET = "s3cr3t-community"


def netop(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("NETOP_SNMP")}
    return subprocess.run(
        [sys.executable, "-m", "netop", *args], capture_output=True, text=True, timeout=60,
        cwd=REPO, env=dict(clean, PYTHONPATH=str(REPO), **env),
    )  # fmt: skip


@pytest.mark.parametrize(
    "spec",
    [f"v2c;{SECRET}@127.0.0.1", f"v2c{SECRET}@127.0.0.1", f"v2c/{SECRET}@127.0.0.1:99999",
     f"v2c={SECRET}@ho st", f"v3c:{SECRET}@127.0.0.1", f"{SECRET}@127.0.0.1",
     f"v2c:{SECRET}@127.0.0.1:x"],
)  # fmt: skip
def test_a_mistyped_target_never_echoes_the_community(spec: str) -> None:
    done = netop("snmp", spec, "--count", "1")
    assert done.returncode == 2, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert SECRET not in done.stderr
    assert SECRET[:6] not in done.stderr


def test_the_community_from_a_file_keeps_it_out_of_ps(snmpd: Snmpd, tmp_path: Path) -> None:
    secret = tmp_path / "community"
    secret.write_text(COMMUNITY + "\n")
    secret.chmod(0o600)
    done = netop("snmp", f"v2c:@127.0.0.1:{snmpd.port}", "--json", "--count", "1",
                 "--interval", "1", NETOP_SNMP_COMMUNITY_FILE=str(secret))  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert any(json.loads(line)["iface"] == "lo" for line in done.stdout.splitlines())
    assert COMMUNITY not in done.stdout + done.stderr


def test_help_says_a_community_on_the_command_line_is_visible_to_everyone() -> None:
    done = netop("snmp", "--help")
    text = " ".join(done.stdout.split())
    assert "visible to every user" in text
    assert "NETOP_SNMP_COMMUNITY_FILE" in text
