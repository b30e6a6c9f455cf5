"""The recorder and the player: what goes into the file comes back as it was live."""

from __future__ import annotations

import os
import sqlite3
import stat
from dataclasses import replace
from pathlib import Path

import pytest

from netop.config import Config
from netop.engine.engine import Engine
from netop.engine.player import RecordingPlayer
from netop.engine.recording import SCHEMA_VERSION, RecordingError, open_reader, significant
from netop.errors import NetopError
from netop.model import Snapshot
from netop.outputs.record import QUEUE_TICKS, Recorder, RecordOptions, RecordWriter, open_writer
from tests.scripted import T0, ScriptedFlows, ScriptedSource, demo_ticks


def sig(value: float | None) -> float:
    return significant(value or 0.0)


def live(ticks: int = 12) -> list[Snapshot]:
    engine = Engine(Config(), [ScriptedSource(demo_ticks(ticks)), ScriptedFlows()],
                    hostname="testhost")
    return [engine.tick(now=T0 + t + 0.5) for t in range(ticks)]


def record(path: Path, snapshots: list[Snapshot], **options: object) -> RecordWriter:
    db = open_writer(str(path))
    writer = RecordWriter(db, RecordOptions(str(path), **options))  # type: ignore[arg-type]
    for s in snapshots:
        writer.write(s)
    writer.flush()
    db.close()
    return writer


@pytest.mark.parametrize("keyframes", [60, 5])
def test_replay_gives_back_each_tick_as_it_was_live(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, keyframes: int
) -> None:
    monkeypatch.setattr("netop.outputs.record.KEYFRAME_TICKS", keyframes)
    snapshots = live()
    path = tmp_path / "r.db"
    record(path, snapshots)
    player = RecordingPlayer(str(path), Config())
    for n, want in enumerate(snapshots):
        got = player.current()
        assert got.ts == pytest.approx(want.ts)
        # Rates to the 3 significant digits the screen shows; counters exact.
        assert [(r.key, sig(r.rx_bps), sig(r.tx_bps), r.deltas, r.counters)
                for r in got.interfaces] == [
            (r.key, sig(r.rx_bps), sig(r.tx_bps), r.deltas, r.counters)
            for r in want.interfaces]
        assert [(r.key, r.record[:10], sig(r.rate_bps), r.process, r.state)
                for r in got.flows.rows] == [
            (r.key, r.record[:10], sig(r.rate_bps), r.process, r.state)
            for r in want.flows.rows]
        assert [e.message for e in got.events] == [e.message for e in want.events]
        assert got.events_total == want.events_total
        assert got.totals == replace(want.totals, rx_bps=sig(want.totals.rx_bps),
                                     tx_bps=sig(want.totals.tx_bps),
                                     rx_pps=sig(want.totals.rx_pps),
                                     tx_pps=sig(want.totals.tx_pps))
        # Sparklines rebuilt from the ticks before: the live history (rounded).
        assert [tuple(map(sig, r.rx_history)) for r in got.interfaces] == [
            tuple(map(sig, r.rx_history)) for r in want.interfaces]
        if n < len(snapshots) - 1:
            player.step(1)


def test_step_back_and_seek_rebuild_the_sparklines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("netop.outputs.record.KEYFRAME_TICKS", 7)
    snapshots = live(20)
    path = tmp_path / "r.db"
    record(path, snapshots)
    player = RecordingPlayer(str(path), Config())
    player.seek(snapshots[15].ts)
    player.step(-3)
    got = player.current()
    assert got.ts == pytest.approx(snapshots[12].ts)
    assert [tuple(map(sig, r.rx_history)) for r in got.interfaces] == [
        tuple(map(sig, r.rx_history)) for r in snapshots[12].interfaces]
    assert [r.counters for r in got.interfaces] == [
        r.counters for r in snapshots[12].interfaces]
    assert [r.record for r in got.flows.rows] == [
        r.record._replace(last=round(r.record.last, 3)) for r in snapshots[12].flows.rows]
    assert player.state().paused


def test_playing_past_the_end_stops_there_paused(tmp_path: Path) -> None:
    snapshots = live(4)
    path = tmp_path / "r.db"
    record(path, snapshots)
    player = RecordingPlayer(str(path), Config())
    for _ in range(10):
        last = player.tick()
    assert last.ts == pytest.approx(snapshots[-1].ts)
    state = player.state()
    assert state.ended
    assert state.paused
    assert state.note == "end of recording"


def test_a_gap_in_the_recording_is_skipped_with_a_note(tmp_path: Path) -> None:
    snapshots = live(6)
    late = [s.__class__(**{**{f: getattr(s, f) for f in s.__slots__},  # type: ignore[attr-defined]
                           "ts": s.ts + 86400 * 365}) for s in snapshots[3:]]
    path = tmp_path / "r.db"
    record(path, snapshots[:3] + late)
    player = RecordingPlayer(str(path), Config())
    player.step(2)
    player.toggle_pause()
    player.tick()
    assert player.current().ts == pytest.approx(late[0].ts)
    assert player.state().note == "skipped a gap of 365d 0h"


def test_files_are_private_from_creation(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        recorder = Recorder(RecordOptions(str(tmp_path / "r.db")))
        recorder.start()
        recorder.consume(live(2)[-1])
        recorder.close()
    finally:
        os.umask(old)
    for name in ("r.db", "r.db-wal", "r.db-shm"):
        if (tmp_path / name).exists():
            assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600, name
    assert stat.S_IMODE((tmp_path / "r.db").stat().st_mode) == 0o600


def test_wal_mode_and_schema_version_are_in_the_file(tmp_path: Path) -> None:
    record(tmp_path / "r.db", live(2))
    db = sqlite3.connect(tmp_path / "r.db")
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_a_full_queue_drops_the_tick_and_counts_it(tmp_path: Path) -> None:
    recorder = Recorder(RecordOptions(str(tmp_path / "r.db")))
    snapshot = live(2)[-1]
    for _ in range(QUEUE_TICKS + 3):  # the writer thread is not started: nothing drains
        recorder.consume(snapshot)
    assert recorder.writer.dropped == 3
    recorder.start()
    recorder.close()
    db = sqlite3.connect(tmp_path / "r.db")
    assert db.execute("SELECT count(*) FROM ticks").fetchone()[0] == QUEUE_TICKS
    assert db.execute("SELECT value FROM meta WHERE key = 'dropped'").fetchone()[0] == "3"


def test_retention_by_age_deletes_the_oldest_ticks(tmp_path: Path) -> None:
    from bench.record_gen import Scenario, snapshots

    path = tmp_path / "r.db"
    days = list(snapshots(Scenario(interfaces=2, flows=2), T0, 3 * 144, 600))
    record(path, days, max_age_days=1.0)
    db = sqlite3.connect(path)
    first, last = db.execute("SELECT min(ts), max(ts) FROM ticks").fetchone()
    # Pruned every 60 ticks, up to a keyframe (every 60 ticks): at most 120 ticks late.
    assert 86400 - 120 * 600 <= last - first <= 86400 + 120 * 600
    assert db.execute("SELECT keyframe FROM ticks ORDER BY seq LIMIT 1").fetchone()[0] == 1
    assert db.execute("SELECT count(*) FROM events WHERE ts < ?", (first,)).fetchone()[0] == 0


def test_retention_by_size_keeps_the_file_bounded(tmp_path: Path) -> None:
    from bench.record_gen import Scenario, snapshots

    path = tmp_path / "r.db"
    many = list(snapshots(Scenario(interfaces=30, flows=100), T0, 1200, 1.0))
    record(path, many, max_mb=1.0)
    db = sqlite3.connect(path)
    assert db.execute("SELECT min(seq) FROM ticks").fetchone()[0] > 1
    pages, size, free = (db.execute(f"PRAGMA {p}").fetchone()[0]
                         for p in ("page_count", "page_size", "freelist_count"))
    assert (pages - free) * size < 1.5e6


def test_appending_keeps_events_apart(tmp_path: Path) -> None:
    path = tmp_path / "r.db"
    record(path, live(3))
    record(path, live(3))
    db = sqlite3.connect(path)
    ids = [r[0] for r in db.execute("SELECT id FROM events ORDER BY id")]
    assert len(ids) == len(set(ids))
    assert len(ids) == 2 * len(live(3)[-1].events)


def test_another_file_is_refused_with_one_line(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_text("not sqlite")
    with pytest.raises(NetopError, match="not a netop recording"):
        open_writer(str(path))
    with pytest.raises(RecordingError, match="not a netop recording"):
        open_reader(str(path))
    other = tmp_path / "other.db"
    db = sqlite3.connect(other)
    db.execute("CREATE TABLE meta (key TEXT, value TEXT)")
    db.execute("PRAGMA user_version = 99")
    db.commit()
    db.close()
    with pytest.raises(RecordingError, match="version 99"):
        open_reader(str(other))


def test_flow_kpis_are_recorded_and_come_back_typed_tick_by_tick(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A DNS flow's KPIs hold a dict (its rcodes) and change every tick: each replayed
    tick shows the KPIs of that tick as a FlowKpi, also after a jump into a group."""
    from dataclasses import replace

    from netop.model import FlowKpi

    monkeypatch.setattr("netop.outputs.record.KEYFRAME_TICKS", 3)
    snapshots = []
    for n, snap in enumerate(live(7)):
        kpi = FlowKpi(rtt_ms=1.5 + n // 2, retrans=n // 2, dns_queries=n, dns_answers=n,
                      dns_rcodes={"NOERROR": n, "NXDOMAIN": 1}, conn_state="S1")
        rows = tuple(r._replace(record=r.record._replace(kpi=kpi if n != 4 else None))
                     for r in snap.flows.rows)
        snapshots.append(replace(snap, flows=replace(snap.flows, rows=rows)))
    assert snapshots[-1].flows.rows
    path = tmp_path / "k.db"
    writer = record(path, snapshots)
    assert writer.written == len(snapshots)
    player = RecordingPlayer(str(path), Config())
    for n, want in enumerate(snapshots):
        got = player.current()
        assert [(r.key, r.record.kpi) for r in got.flows.rows] == [
            (r.key, r.record.kpi) for r in want.flows.rows], n
        if n < len(snapshots) - 1:
            player.step(1)
    player.seek(snapshots[5].ts)
    got = player.current()
    assert [r.record.kpi for r in got.flows.rows] == [
        r.record.kpi for r in snapshots[5].flows.rows]
    assert all(isinstance(r.record.kpi, FlowKpi) for r in got.flows.rows)


def test_a_day_of_one_second_ticks_fits_in_150_mb(tmp_path: Path) -> None:
    """The size goal of issue 15 at its load (30 interfaces, top 100 of 10,000 flows, a
    1 s tick), measured on ten minutes of the synthetic recorder's ticks."""
    from bench.record_gen import Scenario, linear_level, snapshots

    path = tmp_path / "size.db"
    db = open_writer(str(path))
    writer = RecordWriter(db, RecordOptions(str(path), top=100, max_age_days=0))
    ticks = 600
    sizes = []
    # The growth from the end of the first 2 minutes to the end, after the fixed cost
    # of the tables' first pages.
    for n, snap in enumerate(snapshots(Scenario(level=linear_level(400e6, 0)), T0,
                                       ticks + 120, 1.0), 1):
        writer.write(snap)
        if n in (120, ticks + 120):
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            sizes.append(os.path.getsize(path))
    writer.flush()
    db.close()
    per_day = (sizes[1] - sizes[0]) * 86400 / ticks
    assert per_day <= 150e6, f"{per_day / 1e6:.0f} MB per day"


def test_alerts_and_kpi_groups_come_back_typed_in_replay(tmp_path: Path) -> None:
    """Snapshot fields the codec keeps as extras (alerts, KPI groups) are objects again
    in replay: the Alerts and KPI screens read their attributes."""
    from dataclasses import replace

    from netop.model import Alert, AlertSeverity, FlowKey, KpiGroup

    alert = Alert(ts=T0 + 1, kind="port_scan", severity=AlertSeverity.CRITICAL,
                  entity="10.0.0.9", message="scan", value=20.0,
                  flow=FlowKey(6, "10.0.0.9", 40000, "10.0.0.1", 22, 0))
    group = KpiGroup("10.0.0.1", 3, 100.0, 1.0, 2.0, 0.0, None, None, None, None)
    snaps = [replace(s, alerts=(alert,), new_alerts=(alert,), kpis=(group,))
             for s in live(3)]
    path = tmp_path / "a.db"
    record(path, snaps)
    got = RecordingPlayer(str(path), Config()).current()
    assert got.alerts == (alert,)
    assert got.alerts[0].severity is AlertSeverity.CRITICAL
    assert got.new_alerts == ()
    assert got.kpis == (group,)


@pytest.mark.parametrize("keyframes", [60, 5])
def test_replay_rebuilds_the_flow_and_total_histories_for_the_averages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, keyframes: int
) -> None:
    # The Avg 2s / 40s and Peak columns and the totals line are made from histories:
    # without them a replay showed dashes where the live screen had numbers.
    monkeypatch.setattr("netop.outputs.record.KEYFRAME_TICKS", keyframes)
    snapshots = live(20)
    path = tmp_path / "r.db"
    record(path, snapshots)
    player = RecordingPlayer(str(path), Config())
    for n, want in enumerate(snapshots):
        got = player.current()
        assert got.total is not None
        assert want.total is not None
        assert tuple(map(sig, got.total.rx_history)) == tuple(map(sig, want.total.rx_history))
        assert tuple(map(sig, got.total.tx_history)) == tuple(map(sig, want.total.tx_history))
        assert_histories(got, want)
        if n < len(snapshots) - 1:
            player.step(1)
    # A jump rebuilds them from the ticks before it, as a step back does.
    player.seek(snapshots[15].ts)
    got, want = player.current(), snapshots[15]
    assert got.total is not None
    assert want.total is not None
    assert tuple(map(sig, got.total.rx_history)) == tuple(map(sig, want.total.rx_history))
    assert_histories(got, want)
    assert any(r.history for r in got.flows.rows)


def assert_histories(got: Snapshot, want: Snapshot) -> None:
    """Each row's history as live, to the recording's rounding (each way to 3 digits)."""
    assert [r.key for r in got.flows.rows] == [r.key for r in want.flows.rows]
    for a, b in zip(got.flows.rows, want.flows.rows, strict=True):
        assert a.history == pytest.approx(b.history, rel=0.01), a.key
def test_the_kpi_pane_in_replay_groups_the_recorded_flows_kpis(tmp_path: Path) -> None:
    """Opening the KPI pane in replay (``kpi_by``) groups the recorded rows' KPIs, as the
    live engine groups its table's."""
    from netop.engine.kpis import kpi_groups
    from netop.model import FlowKpi

    kpi = FlowKpi(rtt_ms=12.0, retrans=0, retrans_rev=0, conn_state="SF", ttfb_ms=30.0)
    snaps = []
    for snap in live(3):
        rows = tuple(r._replace(record=r.record._replace(kpi=kpi)) for r in snap.flows.rows)
        snaps.append(replace(snap, flows=replace(snap.flows, rows=rows), kpis=()))
    path = tmp_path / "kpi.db"
    record(path, snaps)
    player = RecordingPlayer(str(path), Config())
    assert player.current().kpis == ()
    player.kpi_by = "host"
    got = player.current()
    assert got.kpis == tuple(kpi_groups([r.record for r in snaps[0].flows.rows], "host"))
    assert got.kpis
    assert got.kpis[0].rtt_ms_p50 == 12.0
