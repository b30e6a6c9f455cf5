"""``netop flows -r``'s read path: one buffer refilled chunk after chunk (records cut by
a chunk border included), no cyclic GC while reading, no filter parser without a filter.
Speed itself is measured by ``bench/capture.py --skip-live``."""

from __future__ import annotations

import gc
import io
import json
import random
import subprocess
import sys
import traceback
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

import pytest
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.l2 import Ether
from scapy.packet import Raw
from scapy.utils import wrpcap

from netop.cli import main
from netop.engine.engine import Engine
from netop.sources.capture import offline
from netop.sources.capture.aggregate import PacketAggregator

ROOT = Path(__file__).resolve().parents[4]


@pytest.fixture
def capture(tmp_path: Path) -> Path:
    """400 packets of 40 flows, sizes from 60 to ~1500 bytes: many records per chunk
    of 4 KiB and many cut by a chunk's end."""
    rng = random.Random(10)
    pkts = []
    for n in range(400):
        i = rng.randrange(40)
        l4 = TCP(sport=2000 + i, dport=443, flags="A") if i % 3 else UDP(sport=2000 + i, dport=53)
        p = Ether() / IP(src="10.0.0.1", dst=f"10.0.2.{i}") / l4 / Raw(b"x" * rng.randrange(1400))
        p.time = 1_700_000_000 + n * 0.01
        pkts.append(p)
    path = tmp_path / "c.pcap"
    wrpcap(str(path), pkts)
    return path


def _flows(path: Path) -> list[dict[str, Any]]:
    out = io.StringIO()
    with redirect_stdout(out):
        assert main(["flows", "-r", str(path), "--json"]) == 0
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_small_chunks_give_the_same_flows_from_one_reused_buffer(
    capture: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    whole = _flows(capture)
    assert len(whole) == 40
    assert sum(r["packets"] + r["packets_rev"] for r in whole) == 400
    buffers: list[object] = []
    add = PacketAggregator.add_pcap_buffer

    def watched(self: PacketAggregator, buf: Any, *args: Any) -> tuple[int, float, bool]:
        buffers.append(buf.obj if isinstance(buf, memoryview) else buf)
        return add(self, buf, *args)

    monkeypatch.setattr(PacketAggregator, "add_pcap_buffer", watched)
    monkeypatch.setattr(offline, "_CHUNK", 4096)
    assert _flows(capture) == whole
    assert len(buffers) > capture.stat().st_size // 4096
    # Every chunk was read into the same buffer: no new object per chunk.
    assert len({id(b) for b in buffers}) == 1


def test_a_file_cut_in_a_record_is_still_one_error_line(
    capture: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(offline, "_CHUNK", 4096)
    cut = tmp_path / "cut.pcap"
    cut.write_bytes(capture.read_bytes()[:-100])
    done = subprocess.run([sys.executable, "-m", "netop", "flows", "-r", str(cut), "--json"],
                          capture_output=True, text=True, cwd=ROOT, timeout=60)  # fmt: skip
    assert done.returncode == 2
    assert "file ends in the middle of a packet" in done.stderr
    assert "Traceback" not in done.stderr
    assert len(done.stdout.splitlines()) == 40


def test_the_cyclic_gc_rests_while_a_file_is_read(
    capture: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[bool] = []
    play = Engine.play

    def watched(self: Engine, ticks: Any) -> None:
        seen.append(gc.isenabled())
        play(self, ticks)

    monkeypatch.setattr(Engine, "play", watched)
    assert gc.isenabled()
    _flows(capture)
    assert seen == [False]
    assert gc.isenabled()


def test_without_a_filter_or_outputs_their_modules_are_not_loaded(capture: Path) -> None:
    code = ("import io, sys, contextlib\n"
            "from netop.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            f"    assert main(['flows', '-r', {str(capture)!r}, '--json']) == 0\n"
            "print(sorted(m for m in sys.modules if m.startswith(\n"
            "    ('netop.engine.filter', 'netop.outputs.prometheus', 'netop.outputs.record',\n"
            "     'netop.outputs.ipfix', 'netop.engine.recording'))))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
    # With one, it is (and works).
    done = subprocess.run([sys.executable, "-m", "netop", "flows", "-r", str(capture), "--json",
                           "--filter", "udp"], capture_output=True, text=True, cwd=ROOT,
                          timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert {json.loads(line)["proto"] for line in done.stdout.splitlines()} == {"udp"}


def test_no_collection_rescans_the_files_flows(capture: Path) -> None:
    """The flows of a file make no cycles: no cyclic collection runs over them while
    they are read, summed and printed (one young collection the moment the GC was back
    on was 5 % of the command), and what is alive after is frozen, so the collection at
    the interpreter's exit skips it too (12 %)."""
    seen: list[str] = []

    def note(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            where = [(f.filename, f.name) for f in traceback.extract_stack()]
            if any(w.endswith("commands/flows.py") and name == "run" for w, name in where):
                seen.append(f"gen{info['generation']} in {where[-2]}")

    frozen = gc.get_freeze_count()
    enabled = gc.isenabled()
    gc.callbacks.append(note)
    try:
        _flows(capture)
    finally:
        gc.callbacks.remove(note)
    assert seen == []
    assert gc.isenabled() == enabled
    assert gc.get_freeze_count() > frozen


def test_a_file_shorter_than_a_tick_is_handed_on_once(
    capture: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The tick clock starts with the file, not at 1970: a 4 s file read with 15 s ticks
    in many chunks is one tick at its end, each flow drained and merged once."""
    monkeypatch.setattr(offline, "_CHUNK", 4096)
    reader = offline.FileReader(str(capture), 10_000, tick=15.0)
    ticks = [(len(rows), clock) for rows, clock in reader]
    assert [n for n, _ in ticks if n] == [40]
    assert reader.result.packets == 400
