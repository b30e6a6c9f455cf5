"""A flow alert (a KPI's RTT or retransmissions to a host) and a drops/errors alert of
the interface those flows are captured on, within the window: one correlated event."""

from __future__ import annotations

from netop.engine.detect.alerts import AlertBook
from netop.model import Alert, AlertSeverity, FlowKey

FLOW = FlowKey(6, "10.1.2.9", 40000, "10.1.2.3", 443)


def kpi_alert(ts: float) -> Alert:
    return Alert(ts=ts, kind="kpi_retrans", severity=AlertSeverity.WARNING,
                 entity="10.1.2.3", message="retransmissions to 10.1.2.3 up 6×",
                 value=12.0, unit="%", flow=FLOW)


def drops_alert(ts: float, iface: str = "veth1") -> Alert:
    return Alert(ts=ts, kind="baseline", severity=AlertSeverity.WARNING,
                 entity=f"{iface} drops", message=f"{iface} drops 40 vs baseline 0 ±1",
                 value=40.0, unit="drops")


def test_flow_alert_and_drops_of_its_capture_interface_correlate() -> None:
    book = AlertBook()
    book.paths = frozenset({"veth1"})
    book.fire(drops_alert(100.0))
    book.fire(kpi_alert(130.0))
    (linked,) = book.pending
    assert linked.kind == "correlated"
    assert linked.entity == "veth1"
    assert linked.flow == FLOW
    assert linked.message == ("veth1: retransmissions to 10.1.2.3 up 6× while veth1 drops "
                              "40 vs baseline 0 ±1")


def test_no_link_to_another_interface_nor_without_a_known_path() -> None:
    book = AlertBook()
    book.paths = frozenset({"veth1"})
    book.fire(drops_alert(100.0, "eth9"))
    book.fire(kpi_alert(130.0))
    assert book.pending == []
    unknown = AlertBook()  # several interfaces or none captured: the path is unknown
    unknown.fire(drops_alert(100.0))
    unknown.fire(kpi_alert(130.0))
    assert unknown.pending == []


def test_a_rate_spike_of_the_interface_is_not_linked_to_a_flow_alert() -> None:
    book = AlertBook()
    book.paths = frozenset({"veth1"})
    book.fire(Alert(ts=100.0, kind="baseline", severity=AlertSeverity.WARNING,
                    entity="veth1 rx", message="veth1 rx 500 Mb/s", value=5e8, unit="bit/s"))
    book.fire(kpi_alert(130.0))
    assert book.pending == []


def test_outside_the_window_is_no_correlation() -> None:
    book = AlertBook()
    book.paths = frozenset({"veth1"})
    book.fire(drops_alert(100.0))
    book.fire(kpi_alert(100.0 + 121.0))
    assert book.pending == []


def test_the_engine_sets_the_path_when_one_interface_is_captured() -> None:
    from netop.config import Config
    from netop.engine.engine import Engine

    assert Engine(Config(), [], total_of=("veth1",)).detector.book.paths == {"veth1"}
    assert Engine(Config(), [], total_of=("eth0", "eth1")).detector.book.paths == frozenset()
    assert Engine(Config(), [], total_of=("eth*",)).detector.book.paths == frozenset()


def test_an_info_alert_correlates_with_nothing() -> None:
    book = AlertBook()
    book.fire(Alert(ts=100.0, kind="large_transfer", severity=AlertSeverity.WARNING,
                    entity="10.1.2.9 → 10.1.2.3", message="10.1.2.9 sent 2 GB", value=2e9,
                    unit="bytes/min"))
    book.fire(Alert(ts=101.0, kind="new_destination", severity=AlertSeverity.INFO,
                    entity="10.1.2.9 → 10.1.2.4", message="never talked to", value=3.0,
                    unit="destinations known", flow=FLOW))
    assert book.pending == []
