"""A full egress queue's drops (counted by the qdisc, never in the interface's
``tx_dropped``) are the interface's ``qdisc_drops`` signal, baselined like its drops, and
a host's KPI alert measured on the one captured interface correlates with them."""

from __future__ import annotations

from dataclasses import replace

from netop.engine.detect.alerts import AlertBook
from netop.engine.detect.detector import Detector
from netop.engine.detect.settings import AlertSettings, DetectSettings
from netop.engine.rates import RateTracker
from netop.model import Alert, AlertSeverity, InterfaceSample


def _sample(t: float, qdisc_drops: int | None) -> InterfaceSample:
    return InterfaceSample(origin="local", name="veth1", ts=t, rx_bytes=0, tx_bytes=0,
                           rx_packets=0, tx_packets=0, rx_drops=0, tx_drops=0,
                           qdisc_drops=qdisc_drops)


def test_the_rate_tracker_gives_the_qdisc_drops_of_the_interval() -> None:
    tracker = RateTracker()
    tracker.update(_sample(0, 100))
    rate, _ = tracker.update(_sample(1, 130))
    assert rate.qdisc_drops == 30
    assert rate.deltas["tx_drops"] == 0
    # A qdisc replaced (its counter restarts) is no negative drop count.
    rate, _ = tracker.update(_sample(2, 5))
    assert rate.qdisc_drops is None
    # The kernel's counter is 32 bits wide: a wrap is the true difference.
    tracker.update(_sample(3, 2**32 - 10))
    rate, _ = tracker.update(_sample(4, 20))
    assert rate.qdisc_drops == 30


def test_a_rise_of_qdisc_drops_is_a_baseline_alert_labelled_as_such() -> None:
    settings = AlertSettings()
    settings = replace(settings, detect=replace(settings.detect, learning_samples=5,
                                                persistence=2, window=3, floor_drops=5))
    assert isinstance(settings.detect, DetectSettings)
    detector = Detector(settings)
    tracker = RateTracker()
    total = 0
    fired: list[Alert] = []
    for t in range(12):
        total += 0 if t < 8 else 40
        rate, _ = tracker.update(_sample(float(t), total))
        detector.observe_rates([rate], float(t))
        fired += detector.finish_tick(float(t))
    assert [(a.kind, a.entity) for a in fired] == [("baseline", "veth1 qdisc_drops")]
    assert fired[0].message.startswith("veth1 qdisc_drops 40 drops vs baseline 0")


def test_a_host_kpi_alert_correlates_with_the_captured_interface_qdisc_drops() -> None:
    book = AlertBook()
    book.paths = frozenset({"veth1"})
    book.fire(Alert(ts=100.0, kind="baseline", severity=AlertSeverity.WARNING,
                    entity="veth1 qdisc_drops", value=40.0, unit="drops",
                    message="veth1 qdisc_drops 40 drops vs baseline 0 ±0 drops"))
    # A host's KPI baseline alert has no single flow behind it, only the host.
    book.fire(Alert(ts=110.0, kind="kpi_baseline", severity=AlertSeverity.WARNING,
                    entity="host 10.1.2.3 retransmissions", value=8.0, unit="%",
                    message="host 10.1.2.3 retransmissions 8.00 % vs usual 0.00 % ±0.00"))
    (linked,) = book.pending
    assert linked.kind == "correlated"
    assert linked.entity == "veth1"
    assert linked.message == ("veth1: host 10.1.2.3 retransmissions 8.00 % vs usual 0.00 % "
                              "±0.00 while veth1 qdisc_drops 40 drops vs baseline 0 ±0 drops")


def test_a_host_kpi_alert_without_a_known_path_correlates_with_nothing() -> None:
    book = AlertBook()
    book.fire(Alert(ts=100.0, kind="baseline", severity=AlertSeverity.WARNING,
                    entity="veth1 qdisc_drops", value=40.0, unit="drops", message="d"))
    book.fire(Alert(ts=110.0, kind="kpi_baseline", severity=AlertSeverity.WARNING,
                    entity="host 10.1.2.3 retransmissions", value=8.0, unit="%",
                    message="k"))
    assert book.pending == []
