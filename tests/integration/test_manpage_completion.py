"""The man page and shell completion are made from the argparse definitions: the man
page renders with man(1), bash completes a subcommand and its flags."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _netop(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "netop", *args], capture_output=True, text=True, timeout=60,
        cwd=REPO, env=dict(os.environ, PYTHONPATH=str(REPO)), check=True,
    )  # fmt: skip
    return done.stdout


@pytest.mark.skipif(shutil.which("man") is None, reason="man (Debian man-db) not installed")
def test_the_man_page_renders(tmp_path: Path) -> None:
    page = tmp_path / "netop.1"
    page.write_text(_netop("manpage"))
    done = subprocess.run(["man", "-l", str(page)], capture_output=True, text=True,
                          timeout=60, env=dict(os.environ, MANPAGER="cat", PAGER="cat",
                                               MANWIDTH="100"), check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    text = done.stdout
    assert "NETOP(1)" in text
    for command in ("ifaces", "flows", "snmp", "collect", "config", "completion"):
        assert f"netop {command}" in text, command
    assert "--interface" in text.replace("‐", "-")
    assert "examples:" in text.lower() or "EXAMPLES" in text
    assert "warning:" not in done.stderr


def _bash_complete(script: Path, words: list[str]) -> list[str]:
    line = " ".join(words)
    program = (
        f"source {script}\n"
        f"COMP_WORDS=({' '.join(repr(w) for w in words)})\n"
        f"COMP_CWORD={len(words) - 1}\nCOMP_LINE={line!r}\nCOMP_POINT={len(line)}\n"
        "_shtab_netop netop\nprintf '%s\\n' \"${COMPREPLY[@]}\"\n"
    )
    done = subprocess.run(["bash", "-c", program], capture_output=True, text=True,
                          timeout=30, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_bash_completes_a_subcommand_and_its_flags(tmp_path: Path) -> None:
    script = tmp_path / "netop.bash"
    script.write_text(_netop("completion", "bash"))
    assert _bash_complete(script, ["netop", "fl"]) == ["flows"]
    assert "--interface" in _bash_complete(script, ["netop", "flows", "--inte"])
    assert "--json" in _bash_complete(script, ["netop", "ifaces", "--j"])


@pytest.mark.parametrize("shell", ["zsh", "fish"])
def test_zsh_and_fish_scripts_name_every_subcommand(shell: str) -> None:
    text = _netop("completion", shell)
    for command in ("ifaces", "flows", "snmp", "collect", "config"):
        assert command in text
    assert "--interface" in text or "-l interface" in text
