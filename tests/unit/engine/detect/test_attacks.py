"""Attack detection over a real flow table fed flow deltas tick by tick."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from netop.engine.detect.detector import Detector
from netop.engine.detect.settings import AlertSettings, DetectSettings, alert_settings
from netop.engine.flowtable import FlowTable
from netop.model import Alert, FlowRecord

T0 = 1_700_000_000.0
SYN, RST, ACK, PSH = 0x02, 0x04, 0x10, 0x08


def run(ticks: Sequence[Sequence[FlowRecord]], settings: AlertSettings | None = None,
        step: float = 1.0) -> list[Alert]:
    """Feed each tick's deltas to a table and the detector; every alert fired."""
    table = FlowTable()
    detector = Detector(settings or AlertSettings())
    fired: list[Alert] = []
    for i, records in enumerate(ticks):
        now = T0 + i * step
        table.merge_records(records, now)
        detector.observe_flows(table.created(), now, table.entries, table.touched())
        fired.extend(detector.finish_tick(now))
        table.end_tick()
        table.expire(now)
    return fired


def tcp(src: str, sport: int, dst: str, dport: int, t: float, packets: int = 1,
        nbytes: int = 60, rev: int = 0, rev_bytes: int = 0, flags: int = SYN) -> FlowRecord:
    return FlowRecord(6, src, sport, dst, dport, None, packets, nbytes, rev, rev_bytes,
                      t, t, flags)


def test_syn_flood_fires_above_256_per_second_and_not_below() -> None:
    flood = [[tcp("10.0.0.9", 1024 + i * 400 + j, "10.0.0.1", 80, T0 + i, rev=1,
                  rev_bytes=40, flags=SYN | RST | ACK) for j in range(300)] for i in range(3)]
    alerts = run(flood)
    assert [a.kind for a in alerts] == ["syn_flood"]
    assert alerts[0].entity == "10.0.0.1"
    assert alerts[0].value is not None
    assert alerts[0].value > 256
    assert alerts[0].flow is not None
    assert alerts[0].community_id is not None
    assert alerts[0].community_id.startswith("1:")
    calm = [[tcp("10.0.0.9", 1024 + i * 400 + j, "10.0.0.1", 80, T0 + i, rev=1,
                 rev_bytes=40, flags=SYN | RST | ACK) for j in range(200)] for i in range(3)]
    assert run(calm) == []


def test_completed_handshakes_are_no_syn_flood() -> None:
    busy = [[tcp("10.0.0.9", 1024 + i * 1000 + j, "10.0.0.1", 80, T0 + i, packets=5,
                  nbytes=600, rev=4, rev_bytes=3000, flags=SYN | ACK | PSH)
             for j in range(1000)] for i in range(3)]
    assert run(busy) == []


def test_port_scan_counts_rejected_attempts_on_one_host() -> None:
    ports = [[tcp("10.0.0.9", 40000, "10.0.0.1", port, T0, rev=1, rev_bytes=40,
                  flags=SYN | RST | ACK)] for port in range(1, 15)]
    assert run(ports) == []  # 14 ports: below Zeek's 15
    ports.append([tcp("10.0.0.9", 40000, "10.0.0.1", 15, T0, rev=1, rev_bytes=40,
                      flags=SYN | RST | ACK)])
    alerts = run(ports)
    assert [(a.kind, a.entity, a.value) for a in alerts] == [
        ("port_scan", "10.0.0.9 → 10.0.0.1", 15)]


def test_answered_connections_are_no_scan() -> None:
    ok = [[tcp("10.0.0.9", 40000 + port, "10.0.0.1", port, T0, packets=4, nbytes=400,
               rev=3, rev_bytes=2000, flags=SYN | ACK | PSH)] for port in range(1, 40)]
    ok += [[] for _ in range(8)]  # past the reply timeout
    assert run(ok) == []


def test_address_scan_counts_unanswered_attempts_after_the_timeout() -> None:
    sweep = [[tcp("10.0.0.9", 40000, f"10.0.1.{host}", 443, T0)] for host in range(1, 26)]
    # Unanswered: judged failed only once scan_reply_timeout (5 s) has passed.
    assert run(sweep) == []
    alerts = run(sweep + [[] for _ in range(6)])
    assert [(a.kind, a.entity) for a in alerts] == [("address_scan", "10.0.0.9")]
    assert "tcp/443" in alerts[0].message


def test_icmp_echo_sweep_is_an_address_scan() -> None:
    sweep = [[FlowRecord(1, "10.0.0.9", 0, f"10.0.1.{h}", 8 * 256, None, 1, 28, 0, 0,
                         T0, T0)] for h in range(1, 30)]
    alerts = run(sweep + [[] for _ in range(6)])
    assert [a.kind for a in alerts] == ["address_scan"]
    assert "icmp echo" in alerts[0].message


def test_scan_is_one_deduplicated_alert_with_a_count() -> None:
    ports = [[tcp("10.0.0.9", 40000, "10.0.0.1", port, T0, rev=1, rev_bytes=40,
                  flags=SYN | RST | ACK)] for port in range(1, 40)]
    table_alerts = run(ports)
    assert len(table_alerts) == 1
    settings = AlertSettings()
    detector = Detector(settings)
    table = FlowTable()
    for i, records in enumerate(ports):
        table.merge_records(records, T0 + i)
        detector.observe_flows(table.created(), T0 + i)
        detector.finish_tick(T0 + i)
        table.end_tick()
    (alert,) = detector.book.alerts()
    assert alert.count == 39 - 15 + 1
    assert alert.value == 39


def test_large_transfer_from_local_to_remote() -> None:
    settings = AlertSettings(detect=DetectSettings(
        large_transfer_bytes=1e8, local_nets=alert_settings({}).detect.local_nets))
    big = [[FlowRecord(6, "10.0.0.5", 5000, "203.0.113.202", 443, None, 2000, 30_000_000,
                       1000, 50_000, T0 + i, T0 + i, ACK | PSH)] for i in range(5)]
    alerts = run(big, settings)
    assert [(a.kind, a.entity) for a in alerts] == [
        ("large_transfer", "10.0.0.5 → 203.0.113.202")]
    # The same bytes the other way (remote to local) are a download, not an alert.
    down = [[FlowRecord(6, "203.0.113.202", 443, "10.0.0.5", 5000, None, 2000, 30_000_000,
                        1000, 50_000, T0 + i, T0 + i, ACK | PSH)] for i in range(5)]
    assert run(down, settings) == []


def _upload(src: str, sport: int, dst: str, t: float, nbytes: int) -> FlowRecord:
    return FlowRecord(6, src, sport, dst, 443, None, nbytes // 1400, nbytes, 10, 600, t, t,
                      ACK | PSH)


def test_large_transfer_over_many_parallel_slow_flows() -> None:
    """50 connections to one remote, each far below a busy flow's rate (50 kB/s against
    the 1e8/min limit's 167 kB per tick), 150 MB in a minute together: one alert."""
    settings = AlertSettings(detect=DetectSettings(
        large_transfer_bytes=1e8, local_nets=alert_settings({}).detect.local_nets))
    ticks = [[_upload("10.0.0.5", 5000 + j, "203.0.113.202", T0 + i, 50_000)
              for j in range(50)] for i in range(60)]
    alerts = run(ticks, settings)
    assert [(a.kind, a.entity) for a in alerts] == [
        ("large_transfer", "10.0.0.5 → 203.0.113.202")]
    assert alerts[0].value is not None
    assert alerts[0].value > 1e8


def test_large_transfer_over_many_consecutive_connections() -> None:
    """A new short connection every tick, 20 of them, 100 kB each (2 MB/s to one remote):
    each flow alone is small, the pair's minute is not."""
    settings = AlertSettings(detect=DetectSettings(
        large_transfer_bytes=1e8, local_nets=alert_settings({}).detect.local_nets))
    ticks = [[_upload("10.0.0.5", 10_000 + i * 20 + j, "203.0.113.202", T0 + i, 100_000)
              for j in range(20)] for i in range(60)]
    alerts = run(ticks, settings)
    assert [(a.kind, a.entity) for a in alerts] == [
        ("large_transfer", "10.0.0.5 → 203.0.113.202")]


def test_the_same_total_spread_over_many_remotes_is_no_transfer_alert() -> None:
    settings = AlertSettings(detect=DetectSettings(
        large_transfer_bytes=1e8, local_nets=alert_settings({}).detect.local_nets))
    ticks = [[_upload("10.0.0.5", 5000 + j, f"203.0.113.{j + 1}", T0 + i, 50_000)
              for j in range(50)] for i in range(60)]
    assert run(ticks, settings) == []


def test_icmp_flood() -> None:
    flood = [[FlowRecord(1, "10.0.0.9", 0, "10.0.0.1", 8 * 256, None, 5000, 140_000, 0, 0,
                         T0 + i, T0 + i)] for i in range(3)]
    assert [a.kind for a in run(flood)] == ["icmp_flood"]


def test_icmp_errors_are_no_flood() -> None:
    """Port unreachables answering a UDP burst to a closed port (seen on lo) and time
    exceeded from a traceroute: replies to other traffic, not a flood."""
    for proto, type_ in ((1, 3), (1, 11), (58, 1), (58, 3)):
        replies = [[FlowRecord(proto, "10.0.0.1", 0, "10.0.0.9", type_ * 256 + 3, None, 5000,
                               140_000, 0, 0, T0 + i, T0 + i)] for i in range(3)]
        assert run(replies) == [], (proto, type_)


def test_alert_json_has_the_design_keys() -> None:
    ports = [[tcp("10.0.0.9", 40000, "10.0.0.1", port, T0, rev=1, rev_bytes=40,
                  flags=SYN | RST | ACK)] for port in range(1, 16)]
    (alert,) = run(ports)
    record = alert.to_json()
    for key in ("ts", "kind", "severity", "entity", "value", "baseline", "band", "proto",
                "src", "sport", "dst", "dport", "community_id", "message"):
        assert key in record
    assert record["proto"] == "tcp"
    assert record["severity"] == "warning"
    assert record["dport"] == 15


def test_live_flow_alerts_when_its_address_is_listed_later(tmp_path: Path) -> None:
    listed = tmp_path / "drop.txt"
    listed.write_text("; Spamhaus DROP\n192.0.2.0/24 ; SBL1\n")
    settings = AlertSettings(watchlist_files=(str(listed),))
    detector = Detector(settings)
    detector.watchlist.poll()
    table = FlowTable()
    fired: list[Alert] = []
    conn = FlowRecord(6, "10.0.0.5", 5000, "203.0.113.202", 443, None, 10, 5000, 8, 9000,
                      T0, T0, SYN | ACK | PSH)
    for i in range(3):
        table.merge_records([conn._replace(first=T0 + i, last=T0 + i)], T0 + i)
        detector.observe_flows(table.created(), T0 + i, table.entries, table.touched())
        fired += detector.finish_tick(T0 + i)
        table.end_tick()
        if i == 1:  # the list changes while the connection lives
            listed.write_text("203.0.113.0/24 ; SBL2\n")
            os.utime(listed, (T0, T0 + 5))
            detector.watchlist.poll()
    assert [(a.kind, a.entity) for a in fired] == [("watchlist", "203.0.113.202")]
    assert fired[0].flow == conn.key
