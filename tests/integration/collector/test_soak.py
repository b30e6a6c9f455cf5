"""CI-length soak: 50 s of a mixed hostile flood against a real ``netop collect``.

Limits are lowered in the config so that every bound is reached during the warm-up
(at the defaults that takes minutes: ``bench/collector_soak.py`` runs them for an hour).
"""

from __future__ import annotations

from pathlib import Path

from netop.model import proto_name
from tests.integration.collector.soak import MIX_LIMITS, SMALL_LIMITS, run_soak
from tests.integration.collector.traffic import build


def test_mixed_hostile_flood_leaves_rss_flat_and_counts_every_drop(tmp_path: Path) -> None:
    pcap = tmp_path / "source.pcap"
    truth = build(pcap)
    result = run_soak(50, rate=600_000, workdir=tmp_path, pcap=pcap, config=SMALL_LIMITS)
    assert result.sent > 1000
    rss = ", ".join(f"{mib:.0f}" for _, mib in result.rss[::10])
    assert result.growth < 0.10, f"RSS after warm-up grew {result.growth:.1%}: {rss} MiB"
    assert result.exit_after < 10  # --duration held
    counts = result.counts()
    # Every datagram sent is accounted for: decoded, refused or dropped by the kernel.
    real = counts.get("real_datagrams", 0)
    assert real > 0
    assert counts["received"] + counts["kernel_drops"] == result.sent + real
    # Every kind of hostile datagram hit its limit, and each hit was counted.
    for name in MIX_LIMITS:
        assert counts.get(name, 0) > 0, (name, result.stderr[-2000:])
    # softflowd, exporting in the middle of the flood, got every flow through.
    want = {(proto_name(k[0]), *k[1:]): t.packets for k, t in truth.items()}
    assert result.real_flows == want
