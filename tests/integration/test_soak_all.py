"""CI-length form of the combined soak (``bench/soak_all.py --minutes 60`` is the full one).

One engine, built and ticked as the TUI does, for 80 s: a live capture of a churn
replayed over a veth pair at 10,000 packets/s (5,000 new flows/s) into a table bounded
at 20,000 flows; its collector under the mixed hostile flood from spoofed 127.x sources
with softflowd exporting a known capture twice; a real snmpd polled and restarted in
the warm-up and after it. Limits are the small ones (``SMALL_LIMITS`` and 2,048 remote
interface rows) so that every bound is reached in the 32 s warm-up.

It replaces the engine-only (``bench/soak.py``) and collector-only
(``tests/integration/collector/soak.py``) CI soaks: it asserts all they asserted, on one
process doing both at once. ``netop collect --duration`` is held by ``test_hostile``.
"""

from __future__ import annotations

from pathlib import Path

from bench.soak_all import Soak, run
from tests.integration.collector.soak import MIX_LIMITS
from tests.netns import require_netns

SECONDS = 80
PPS = 10_000
MAX_FLOWS = 20_000


def test_capture_collector_and_snmp_at_once_keep_every_tick_and_count_every_drop(
    tmp_path: Path,
) -> None:
    require_netns()
    soak = run(SECONDS, tmp_path, pps=PPS, max_flows=MAX_FLOWS)
    assert "Traceback" not in soak.stderr, soak.stderr[-3000:]
    _no_tick_lost(soak)
    _rss_flat(soak)
    _capture_accounted(soak)
    _collector_accounted(soak)
    _snmp_back_after_each_restart(soak)


def _no_tick_lost(soak: Soak) -> None:
    ticks = soak.ticks
    last = soak.last
    # Every interval made its snapshot or was counted as lost (a whole interval late),
    # and the snapshots that were made are contiguous.
    assert len(ticks) + last["lost"] >= SECONDS - 2, f"{len(ticks)} ticks in {SECONDS} s"
    assert [t["seq"] for t in ticks] == list(range(1, len(ticks) + 1))
    # The engine kept up on its own: no tick used more CPU than its interval. (Lateness
    # alone is how busy the rest of the machine is; a late tick loses no data, which
    # the accounting below shows, and bench/soak_all.py reports it with the load.)
    late = [(t["t"], t["cpu"], load) for t, load in zip(ticks, soak.load, strict=False)
            if t["cpu"] > 1.0]  # fmt: skip
    assert last["busy"] == 0, f"ticks over their CPU budget (t, CPU s, load): {late}"


def _rss_flat(soak: Soak) -> None:
    curve = ", ".join(f"{engine:.0f}+{capture:.0f}" for _, engine, capture in soak.rss[::5])
    assert soak.growth(1) < 0.10, f"engine RSS grew {soak.growth(1):.1%}: {curve} MiB"
    assert soak.growth(2) < 0.10, f"engine+capture RSS grew {soak.growth(2):.1%}: {curve} MiB"


def _capture_accounted(soak: Soak) -> None:
    last = soak.last
    cap = last["capture"]
    # Every packet tcpreplay put on the wire reached the veth end, and every packet the
    # veth end received was either captured or counted as a kernel drop.
    assert soak.veth_tx == soak.veth_rx
    assert soak.veth_rx >= PPS * (SECONDS - 10)  # the churn ran at its rate
    assert cap["kernel_packets"] == soak.veth_rx
    assert cap["packets"] + cap["kernel_drops"] == cap["kernel_packets"]
    assert cap["sampling"] == 1  # --no-sampling: no packet is skipped uncounted
    # Every flow that entered the table is live, evicted (and said so) or expired.
    assert last["flows"] <= MAX_FLOWS
    assert last["created"] == last["flows"] + last["evicted"] + last["expired"]
    assert last["created"] > 10 * MAX_FLOWS
    assert f"{last['evicted']} evicted" in last["losses"]
    if cap["overflow"]:
        assert f"{cap['overflow']} pkts of new flows dropped" in last["losses"]


def _collector_accounted(soak: Soak) -> None:
    col = soak.last["collector"]
    assert soak.flood_sent > 1000
    real = soak.last["real_datagrams"]
    assert real >= len(soak.real_rounds) == 2
    # Every datagram sent (flood and softflowd) was received or dropped by the kernel.
    assert col["received"] + col["kernel_drops"] == soak.flood_sent + real
    for name in MIX_LIMITS:
        assert col.get(f"limit_{name}", 0) > 0, (name, col)
    # softflowd, exporting twice in the middle of the flood, got every flow through.
    want = {key: packets * 2 for key, packets in soak.real_expected.items()}
    assert soak.real_seen == want


def _snmp_back_after_each_restart(soak: Soak) -> None:
    assert len(soak.restarts) == 2
    assert soak.restarts[0] < soak.warmup < soak.restarts[1]
    for before, back, _when in soak.snmp_rows:
        assert before > 0
        assert back == before
    assert soak.last["snmp_rows"] == soak.snmp_rows[0][0]
