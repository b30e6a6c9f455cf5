"""The README's first command, as a stranger runs it: in a fresh clone, as root, with the
PATH of a fresh Debian root shell (which has no sudo)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def first_command() -> str:
    readme = (ROOT / "README.md").read_text()
    found = re.search(r"```sh\n(.+?)\n```", readme)
    assert found, "README has no sh block"
    return found.group(1)


@pytest.mark.skipif(os.geteuid() != 0, reason="the root case needs root (CI is root)")
def test_readme_first_command_installs_and_starts_netop_as_root(tmp_path: Path) -> None:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    command = first_command()
    assert command.endswith(".venv/bin/netop"), command
    clone = tmp_path / "netop"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True, timeout=60)
    # The TUI needs a terminal; --version shows the installed entry point starts.
    done = subprocess.run(
        ["sh", "-c", command + " --version"], cwd=clone, capture_output=True, text=True,
        timeout=600, env=dict(os.environ, PATH="/usr/sbin:/usr/bin:/sbin:/bin"),
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith("netop "), done.stdout
