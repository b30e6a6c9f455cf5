"""``netop record`` killed with SIGKILL: the file is whole and replays what was live up
to the last interval written (a real recorder process capturing real datagrams over a veth
pair in namespaces the test made)."""

from __future__ import annotations

import os
import signal
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from netop.config import Config
from netop.engine.player import RecordingPlayer
from netop.model import Snapshot
from tests.netns import veth_pair
from tests.ready import start_watched, wait_until

ROOT = Path(__file__).resolve().parents[3]
PORT = 9411
pytestmark = pytest.mark.netns


def _latest(path: Path) -> Snapshot | None:
    """The last tick in the file as the player shows it (None before there is one)."""
    if not path.exists():
        return None
    try:
        player = RecordingPlayer(str(path), Config())
    except Exception:  # not created yet, or no tick yet
        return None
    try:
        player.seek(player.state().end)
        return player.current()
    finally:
        player.stop()


def test_kill_9_keeps_the_file_whole_and_replayable(tmp_path: Path) -> None:
    db = tmp_path / "rec.db"
    with veth_pair() as pair:
        rec = start_watched(pair.run_a(sys.executable, "-m", "netop", "--interval", "0.2",
                                       "record", str(db), "-i", pair.if_a), cwd=ROOT)
        sender_proc = None
        try:
            rec.stderr.wait_for("netop: recording", timeout=30)
            # 500 datagrams, 20 ms apart: bounded in count and time (10 s).
            sender = (f"import socket, time\ns = socket.socket(socket.AF_INET, "
                      f"socket.SOCK_DGRAM)\nfor _ in range(500):\n"
                      f"    s.sendto(b'x' * 100, ('{pair.addr_b}', {PORT}))\n"
                      f"    time.sleep(0.02)\n")
            sender_proc = subprocess.Popen(pair.run_a(sys.executable, "-c", sender),
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

            def datagrams_recorded() -> Snapshot | None:
                snap = _latest(db)
                if snap is None:
                    return None
                udp = [r for r in snap.flows.rows
                        if r.record.proto == 17 and r.record.dport == PORT]
                veth = [r for r in snap.interfaces if r.name == pair.if_a]
                if udp and veth and (veth[0].tx_bps or 0) > 0:
                    return snap
                return None

            wait_until(datagrams_recorded, 30, "datagrams in the recording")
            live = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
            written = live.execute("SELECT max(seq) FROM ticks").fetchone()[0]
            live.close()
            os.kill(rec.proc.pid, signal.SIGKILL)
            rec.proc.wait(timeout=10)
        finally:
            if sender_proc is not None:
                sender_proc.kill()
                sender_proc.wait(timeout=10)
            rec.kill()
    assert rec.returncode == -signal.SIGKILL
    assert stat.S_IMODE(db.stat().st_mode) == 0o600
    check = sqlite3.connect(db)
    assert check.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    # Every tick committed before the kill is there (and at most the one being written
    # at that moment is not).
    assert check.execute("SELECT max(seq) FROM ticks").fetchone()[0] >= written
    check.close()
    last = _latest(db)
    assert last is not None
    udp = [r for r in last.flows.rows if r.record.proto == 17 and r.record.dport == PORT]
    assert udp
    assert udp[0].record.packets > 0
    veth = next(r for r in last.interfaces if r.name == pair.if_a)
    assert veth.counters["tx_packets"] > 0
