"""``enter`` on an alert filters the flows behind it, also for alerts summed over many
flows (a large transfer) or about one new flow (a never-seen destination)."""

from __future__ import annotations

from netop.model import Alert, AlertSeverity, FlowKey
from netop.ui.alerts import alert_filter


def test_large_transfer_over_many_flows_filters_its_pair() -> None:
    alert = Alert(ts=1.0, kind="large_transfer", severity=AlertSeverity.WARNING,
                  entity="10.0.0.5 → 203.0.113.202", message="m", value=2e9,
                  unit="bytes/min")
    assert alert_filter(alert) == "host 10.0.0.5 and host 203.0.113.202"


def test_new_destination_filters_its_flow() -> None:
    alert = Alert(ts=1.0, kind="new_destination", severity=AlertSeverity.INFO,
                  entity="10.0.0.5 → 198.51.100.7", message="m", value=1.0, unit="",
                  flow=FlowKey(6, "10.0.0.5", 40000, "198.51.100.7", 443))
    assert alert_filter(alert) == "host 10.0.0.5 and host 198.51.100.7"
