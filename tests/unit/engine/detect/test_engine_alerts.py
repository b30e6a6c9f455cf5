"""Detection inside the engine: an interface baseline alert in the snapshot and the
event log; the learning period as status, never as an alert."""

from __future__ import annotations

import random

from netop.model import AlertSeverity
from tests.scripted import run_engine, sample


def test_interface_spike_is_one_baseline_alert_in_snapshot_and_log() -> None:
    rng = random.Random(5)
    rx = 0
    ticks = []
    for t in range(110):
        rate = 500e6 if t >= 100 else 100e6 * (1 + rng.uniform(-0.05, 0.05))
        rx += int(rate / 8)
        ticks.append([sample("eth0", t, rx=rx, tx=0)])
    engine, snaps = run_engine(ticks)
    assert snaps[10].alerts == ()
    assert any("learning" in line for line in snaps[10].detect_status)
    assert not any("learning" in line for line in snaps[-1].detect_status)
    fired = [a for s in snaps for a in s.new_alerts]
    # The spike in bit/s and in packets/s (its packets grew with its bytes).
    assert [(a.kind, a.entity) for a in fired] == [("baseline", "eth0 rx"),
                                                   ("baseline", "eth0 rx_pps")]
    alert = fired[0]
    assert alert.severity == AlertSeverity.WARNING
    assert alert.value is not None
    assert alert.value > 400e6
    assert alert.baseline is not None
    assert 90e6 < alert.baseline < 110e6
    assert "vs baseline" in alert.message
    assert snaps[-1].alerts_total == 2
    assert any(e.source == "alert" and "eth0 rx" in e.message for e in snaps[-1].events)


def test_steady_noisy_link_never_alerts() -> None:
    rng = random.Random(9)
    rx = 0
    ticks = []
    for t in range(400):
        rx += int(100e6 * (1 + rng.uniform(-0.3, 0.3)) / 8)
        ticks.append([sample("eth0", t, rx=rx, tx=rx // 3)])
    _, snaps = run_engine(ticks)
    assert snaps[-1].alerts_total == 0


def test_rate_spike_and_drops_on_one_interface_are_correlated() -> None:
    from netop.engine.detect.detector import Detector
    from netop.engine.detect.settings import AlertSettings
    from netop.model import Alert

    detector = Detector(AlertSettings())
    detector.report("baseline", "eth1 rx", 5e8, "bit/s", "eth1 rx 500 Mb/s vs 99 Mb/s",
                    None, 99e6, 5e6)
    detector.report("baseline", "eth1 rx_pps", 5e4, "packets/s", "eth1 rx_pps up", None,
                    1e4, 1e3)
    detector.report("baseline", "eth1 drops", 500, "drops", "eth1 drops 500 vs 0", None,
                    0, 1)
    detector.report("port_scan", "10.0.0.9 → 10.0.0.1", 15, "ports", "scan", None)
    fired: list[Alert] = detector.finish_tick(0.0)
    assert [(a.kind, a.entity) for a in fired] == [
        ("baseline", "eth1 rx"), ("baseline", "eth1 rx_pps"), ("baseline", "eth1 drops"),
        ("correlated", "eth1"), ("port_scan", "10.0.0.9 → 10.0.0.1")]
    assert fired[3].message == "eth1: eth1 drops 500 vs 0 while eth1 rx 500 Mb/s vs 99 Mb/s"
