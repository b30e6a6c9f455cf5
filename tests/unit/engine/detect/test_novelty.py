"""Never-seen destinations: after a host's learning period, a destination it never
talked to is an alert; off by default; bounded memory."""

from __future__ import annotations

from netop.engine.detect.novelty import NewDestinations
from netop.engine.detect.settings import AlertSettings, DetectSettings, alert_settings
from netop.model import FlowRecord
from tests.unit.engine.detect.test_attacks import ACK, PSH, SYN, T0, run

LOCAL = alert_settings({}).detect.local_nets


def conn(src: str, dst: str, t: float, sport: int = 40000, flags: int = SYN | ACK | PSH
         ) -> FlowRecord:
    return FlowRecord(6, src, sport, dst, 443, None, 5, 900, 4, 3000, t, t, flags)


def settings(on: bool = True, learning: float = 10.0) -> AlertSettings:
    return AlertSettings(detect=DetectSettings(local_nets=LOCAL, new_destinations=on,
                                               new_destination_learning=learning))


def learned_then(*later: str) -> list[list[FlowRecord]]:
    """Ten ticks of 10.0.0.5 talking to five remotes, two quiet ones, then ``later``."""
    ticks = [[conn("10.0.0.5", f"203.0.113.{i % 5 + 1}", T0 + i, 40000 + i)]
             for i in range(10)]
    ticks += [[], []]
    ticks += [[conn("10.0.0.5", dst, T0 + 12 + k, 41000 + k)] for k, dst in enumerate(later)]
    return ticks


def test_a_never_seen_destination_after_learning_is_one_alert() -> None:
    alerts = run(learned_then("203.0.113.3", "198.51.100.7", "198.51.100.7"), settings())
    assert [(a.kind, a.entity) for a in alerts] == [
        ("new_destination", "10.0.0.5 → 198.51.100.7")]
    assert alerts[0].flow is not None
    assert alerts[0].flow.dst == "198.51.100.7"
    assert "never" in alerts[0].message


def test_off_by_default() -> None:
    assert alert_settings({}).detect.new_destinations is False
    loose = AlertSettings(detect=DetectSettings(local_nets=LOCAL))
    assert run(learned_then("198.51.100.7"), loose) == []


def test_nothing_while_learning_nor_for_remote_initiators() -> None:
    # Learning 100 s: everything at 12 s is still learned, not alerted.
    assert run(learned_then("198.51.100.7"), settings(learning=100.0)) == []
    inbound = learned_then()
    inbound.append([conn("198.51.100.9", "10.0.0.5", T0 + 13)])
    # Met mid-stream (no SYN seen): who opened it is unknown, so it is not judged.
    inbound.append([conn("10.0.0.5", "198.51.100.10", T0 + 14, flags=ACK | PSH)])
    assert run(inbound, settings()) == []


def test_a_host_first_seen_later_has_its_own_learning_period() -> None:
    ticks = learned_then()
    ticks.append([conn("10.0.0.6", "198.51.100.1", T0 + 12)])  # 10.0.0.6 starts learning
    ticks.append([conn("10.0.0.6", "198.51.100.2", T0 + 13)])
    assert run(ticks, settings()) == []


def test_memory_is_bounded_in_hosts_and_per_host() -> None:
    novelty = NewDestinations(DetectSettings(local_nets=LOCAL, new_destinations=True,
                                             new_destination_learning=0.0,
                                             new_destination_hosts=100),
                              lambda address: address.startswith("10."))
    fired: list[str] = []

    def report(kind: str, entity: str, *rest: object) -> None:
        fired.append(entity)

    for h in range(1000):
        for d in range(50):
            novelty.see(f"10.1.{h // 250}.{h % 250}", f"203.0.{d}.1", None, T0, report)
    assert len(novelty.hosts) == 100
    assert all(len(f.bits) == novelty.filter_bytes for f in novelty.hosts.values())
    # A host past its filter's capacity is no longer judged (its destinations are too
    # many to call one unusual), rather than alerting on every false negative.
    busy = "10.9.9.9"
    for d in range(5000):
        novelty.see(busy, f"198.{d // 250}.{d % 250}.1", None, T0, report)
    before = len(fired)
    novelty.see(busy, "192.0.2.77", None, T0 + 1, report)
    assert len(fired) == before
