"""CI-length soak of the engine (``bench/soak.py --minutes 60`` is the full one): a churn
of new flows at 3000/s played at recorded speed into a table bounded at 20,000 flows,
and a real snmpd polled all along and restarted twice (in the warm-up and after it)."""

from __future__ import annotations

from pathlib import Path

from bench.soak import run_soak

SECONDS = 50
#: Measured here (MiB): 53 at 1 s, 81 at 11 s (the table is full after 7 s, the 10 s rate
#: average holds evicted flows), 96 from 12 s, 105 from 25 s, then 99..108 to the end.
WARMUP = 25


def test_churn_and_an_agent_restart_leave_rss_flat_and_every_flow_accounted(
    tmp_path: Path,
) -> None:
    result = run_soak(SECONDS, tmp_path, rate=3000, max_flows=20000)
    assert "Traceback" not in result.stderr, result.stderr[-2000:]
    ticks = result.ticks
    assert len(ticks) >= SECONDS - 2, f"{len(ticks)} ticks in {SECONDS} s"
    last = ticks[-1]
    # No tick lost: the engine kept its 1 s cadence and every snapshot was made.
    assert last["lost"] == 0
    assert [t["seq"] for t in ticks] == list(range(1, len(ticks) + 1))
    rss = ", ".join(f"{mib:.0f}" for _, mib in result.rss[::5])
    assert result.growth(WARMUP) < 0.10, f"RSS grew {result.growth(WARMUP):.1%}: {rss} MiB"
    # Every flow that entered the table is live, evicted (and counted) or expired.
    assert last["flows"] <= 20000
    assert last["created"] == last["flows"] + last["evicted"] + last["expired"]
    assert last["evicted"] > 0
    assert f"{last['evicted']} evicted" in str(last["losses"])
    # The agent answered before its restarts and again after them.
    assert len(result.restarts) == 2
    before = [t for t in ticks if t["t"] < result.restarts[0]]
    assert before[-1]["snmp_rows"] > 0
    assert last["snmp_rows"] == before[-1]["snmp_rows"]
