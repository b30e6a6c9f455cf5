"""``netop > file``: no escape codes into the file, one line pointing at a headless
command, exit 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_netop_with_stdout_to_a_file_refuses_the_tui(tmp_path: Path) -> None:
    out = tmp_path / "out.txt"
    with out.open("wb") as stdout:
        done = subprocess.run([sys.executable, "-m", "netop", "-i", "lo"], stdout=stdout,
                              stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                              timeout=60, check=False)
    err = done.stderr.decode()
    assert done.returncode == 2, err
    assert out.read_bytes() == b""
    lines = err.strip().splitlines()
    assert len(lines) == 1
    assert "Traceback" not in err
    assert lines[0].startswith("netop: ")
    assert "netop flows --json" in lines[0]
