"""The record/replay flags and commands at their edges: one line and exit 2."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pytest

from netop.commands.pipeline import build_sinks
from netop.config import Config, ConfigError
from netop.outputs.record import Recorder, record_options


def _netop(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "netop", *args], capture_output=True,
                          text=True, timeout=60, stdin=subprocess.DEVNULL)


def test_record_flag_and_config_section_build_the_recorder(tmp_path: Path) -> None:
    args = argparse.Namespace(record=str(tmp_path / "a.db"))
    sinks = build_sinks(args, Config())
    assert [type(s) for s in sinks] == [Recorder]
    for sink in sinks:
        sink.close()
    raw = {"record": {"path": str(tmp_path / "b.db"), "top": 20, "max_mb": 5}}
    options = record_options(argparse.Namespace(), Config(raw=raw))
    assert options is not None
    assert (options.top, options.max_mb, options.max_age_days) == (20, 5.0, 30.0)
    assert record_options(argparse.Namespace(), Config()) is None
    with pytest.raises(ConfigError, match="record.top"):
        record_options(argparse.Namespace(), Config(raw={"record": {"path": "x", "top": -1}}))


@pytest.mark.parametrize("args", [
    ["replay", "/nonexistent/x.db"],
    ["report", "/nonexistent/x.db"],
    ["record", "/nonexistent/dir/x.db", "--duration", "0"],
])
def test_bad_files_are_one_line_and_exit_2(args: list[str]) -> None:
    out = _netop(*args)
    assert out.returncode == 2, out.stderr
    assert out.stderr.count("\n") == 1
    assert out.stderr.startswith("netop: ")


def test_replay_without_a_terminal_says_what_to_use(tmp_path: Path) -> None:
    db = tmp_path / "r.db"
    assert _netop("record", str(db), "--duration", "1.5").returncode == 0
    out = _netop("replay", str(db))
    assert out.returncode == 2
    assert "netop report" in out.stderr
    report = _netop("report", str(db))
    assert report.returncode == 0, report.stderr
    assert "netop report:" in report.stdout
