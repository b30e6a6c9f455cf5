"""Every shared real-world capture gives the flows, packets and L3 bytes of its truth file."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from netop.engine.engine import read_into_table
from netop.engine.flowtable import FlowTable
from netop.native import fastpath
from netop.sources.capture.aggregate import PacketAggregator
from tests.shared_data import absent_reason, shared_path

DATA = shared_path("data", "pcap")
TRUTH = DATA / "truth"
TRUTH_FILES = sorted(TRUTH.glob("*.truth.json")) if TRUTH.is_dir() else []


def _flows(path: Path, fast: bool) -> list[dict[str, Any]]:
    table = FlowTable(max_flows=100_000, idle_timeout=0, active_timeout=0, keep_expired=True)
    agg = PacketAggregator(fast=fast)
    assert agg.accelerated == fast
    result = read_into_table(str(path), table, agg)
    assert result.error is None, result.error
    return [r.to_json() for r in table.drain_expired() + table.records()]


def _split(records: list[dict[str, Any]]) -> tuple[dict[Any, tuple[int, ...]], Counter[Any]]:
    """Port flows keyed exactly (oriented by src); the rest summed per address pair."""
    ported: dict[Any, tuple[int, ...]] = {}
    pairs: Counter[Any] = Counter()
    for r in records:
        if r["proto"] in ("tcp", "udp") and (r["sport"] or r["dport"]):
            key = (r["proto"], r["src"], r["sport"], r["dst"], r["dport"], r["vlan"])
            ported[key] = (r["packets"], r["bytes"], r["packets_rev"], r["bytes_rev"])
        else:
            pair = (frozenset((r["src"], r["dst"])), r["vlan"])
            pairs[(pair, "packets")] += r["packets"] + r["packets_rev"]
            pairs[(pair, "bytes")] += r["bytes"] + r["bytes_rev"]
    return ported, pairs


@pytest.mark.skipif(not TRUTH_FILES, reason=absent_reason(TRUTH))
@pytest.mark.parametrize("truth_file", TRUTH_FILES, ids=lambda p: p.name.split(".truth")[0])
@pytest.mark.parametrize("fast", [True, False], ids=["c", "python"])
def test_capture_matches_truth(truth_file: Path, fast: bool) -> None:
    if fast and fastpath.load() is None:
        pytest.skip("the C fast path could not be built here (no C compiler?)")
    truth = json.loads(truth_file.read_text())
    mine = _flows(DATA / "traffic" / truth["pcap"], fast)
    assert sum(r["packets"] + r["packets_rev"] for r in mine) == truth["packets"]
    assert sum(r["bytes"] + r["bytes_rev"] for r in mine) == truth["l3_bytes"]
    want_ported, want_pairs = _split(truth["records"])
    got_ported, got_pairs = _split(mine)
    assert got_ported == want_ported
    assert got_pairs == want_pairs


MALFORMED = sorted((DATA / "malformed").glob("*")) if (DATA / "malformed").is_dir() else []


@pytest.mark.skipif(
    not MALFORMED, reason=absent_reason(DATA / "malformed")
)
@pytest.mark.parametrize("path", MALFORMED, ids=lambda p: p.name)
@pytest.mark.parametrize("fast", [True, False], ids=["c", "python"])
def test_malformed_captures_never_raise(path: Path, fast: bool) -> None:
    table = FlowTable(max_flows=10_000, keep_expired=True)
    agg = PacketAggregator(fast=fast)
    result = read_into_table(str(path), table, agg)
    # tshark, which reads damaged files as far as they go, is the referee for the count;
    # every packet counted is in a flow, malformed, or not IP: none is lost or doubled.
    assert result.packets == _tshark_frames(path)
    flows = table.drain_expired() + table.records()
    assert all(r.packets + r.packets_rev > 0 for r in flows)
    in_flows = sum(r.packets + r.packets_rev for r in flows)
    assert in_flows + result.malformed + result.non_ip == result.packets
    if result.error is not None:
        assert str(path) in str(result.error)


def _tshark_frames(path: Path) -> int:
    if shutil.which("tshark") is None:
        pytest.skip("tshark not installed (apt-get install tshark)")
    done = subprocess.run(["tshark", "-n", "-r", str(path), "-T", "fields", "-e", "frame.number"],
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    return len(done.stdout.split())  # its exit status says the file is damaged: known
