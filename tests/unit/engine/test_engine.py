"""The engine end to end with a scripted source: snapshots, events, totals, bounds."""

from __future__ import annotations

from netop.config import Config
from netop.engine.engine import NO_FLOWS_STATUS, Engine
from netop.engine.events import REARM_TICKS, EventLog
from netop.model import NetEvent, Severity
from tests.scripted import T0, ScriptedSource, run_engine, sample


def messages(engine: Engine) -> list[str]:
    return [e.message for e in engine.events.recent()]


def test_snapshot_has_rates_history_and_totals() -> None:
    ticks = [[sample("eth0", t, rx=t * 1000, tx=t * 500), sample("lo", t, rx=t * 10**6, tx=0)]
             for t in range(5)]
    _, snaps = run_engine(ticks)
    last = snaps[-1]
    eth0 = next(r for r in last.interfaces if r.name == "eth0")
    assert eth0.rx_bps == 8000
    assert eth0.tx_bps == 4000
    assert eth0.rx_history == (0.0, 8000.0, 8000.0, 8000.0, 8000.0)
    # lo is left out of the "all" row, which sums the real interfaces.
    assert last.total is not None
    assert last.total.rx_bps == 8000
    assert last.totals.rx_bps == 8000
    assert last.totals.tx_bps == 4000
    assert last.hostname == "testhost"
    assert last.flows.status == NO_FLOWS_STATUS
    assert [s.seq for s in snaps] == [1, 2, 3, 4, 5]


def test_history_is_bounded_by_history_seconds() -> None:
    ticks = [[sample("eth0", t, rx=t * 1000, tx=0)] for t in range(40)]
    _, snaps = run_engine(ticks, Config(history_seconds=10, interval=1.0))
    assert len(snaps[-1].interfaces[0].rx_history) == 10


def test_interface_appearing_and_going_are_events() -> None:
    ticks = [
        [sample("eth0", 0, 0, 0)],
        [sample("eth0", 1, 0, 0), sample("veth9", 1, 0, 0)],
        [sample("eth0", 2, 0, 0)],
    ]
    engine, snaps = run_engine(ticks)
    log = messages(engine)
    assert "veth9: interface appeared" in log
    assert "veth9: interface gone" in log
    assert [r.name for r in snaps[-1].interfaces] == ["eth0"]


def test_recreated_interface_gets_no_spike() -> None:
    ticks = [
        [sample("veth1", 0, 5_000_000, 0)],
        [sample("veth1", 1, 6_000_000, 0)],
        [],  # gone
        [sample("veth1", 3, 100, 0)],  # back, counters from zero
        [sample("veth1", 4, 1100, 0)],
    ]
    ticks[2] = [sample("other", 2, 0, 0)]
    _, snaps = run_engine(ticks)
    rates = [next((r.rx_bps for r in s.interfaces if r.name == "veth1"), "absent") for s in snaps]
    assert rates == [None, 8e6, "absent", None, 8000.0]


def test_link_down_and_up_are_events() -> None:
    ticks = [[sample("eth0", t, 0, 0, oper_up=up)] for t, up in enumerate([True, False, True])]
    engine, _ = run_engine(ticks)
    events = {e.message: e.severity for e in engine.events.recent()}
    assert events["eth0: link down"] == Severity.ERROR
    assert events["eth0: link up"] == Severity.INFO


def test_drops_starting_is_one_event_until_quiet_again() -> None:
    drops = [0, 0, 5, 9, 12, 12] + [12] * REARM_TICKS + [20]
    ticks = [[sample("eth0", t, 0, 0, rx_drops=d)] for t, d in enumerate(drops)]
    engine, _ = run_engine(ticks)
    started = [m for m in messages(engine) if "receive drops started" in m]
    assert started == ["eth0: receive drops started increasing (+5)",
                       "eth0: receive drops started increasing (+8)"]


def test_counter_reset_is_logged() -> None:
    ticks = [[sample("eth0", 0, 10**9, 0)], [sample("eth0", 1, 10, 0)]]
    engine, snaps = run_engine(ticks)
    assert snaps[-1].interfaces[0].rx_bps is None
    assert any("counter reset" in m for m in messages(engine))


def test_event_log_is_bounded() -> None:
    log = EventLog(capacity=10)
    for i in range(1000):
        log.add(NetEvent(T0 + i, Severity.INFO, "t", str(i)))
    assert len(log) == 10
    assert log.total == 1000
    assert [e.message for e in log.recent(2)] == ["998", "999"]


def test_events_pushed_from_other_threads_reach_the_snapshot() -> None:
    engine = Engine(Config(), [ScriptedSource([[sample("eth0", 0, 0, 0)]])], hostname="h")
    engine.emit(NetEvent(T0, Severity.WARNING, "capture", "capture needs CAP_NET_RAW"))
    snap = engine.tick(now=T0)
    assert any(e.message == "capture needs CAP_NET_RAW" for e in snap.events)
    assert snap.events_total == len(engine.events)


def test_a_failing_source_becomes_an_event_not_a_crash() -> None:
    class Broken(ScriptedSource):
        def poll(self, now: float):  # type: ignore[no-untyped-def]
            raise OSError("boom")

    engine = Engine(Config(), [Broken([[]])], hostname="h")
    snap = engine.tick(now=T0)
    assert snap.events[-1].severity == Severity.ERROR
    assert "boom" in snap.events[-1].message


def test_watched_flow_is_relayed_to_sources_and_its_packets_reach_the_snapshot() -> None:
    from dataclasses import replace

    from netop.model import FlowBatch, FlowPackets, PacketSample
    from netop.sources.base import Source

    flow = (6, "10.0.0.1", 1000, "10.0.0.2", 80, None)

    class Keeper(Source):
        name = "capture"
        produces_flows = True

        def __init__(self) -> None:
            self.watching: object = "never asked"

        def watch_flow(self, wanted: object) -> None:
            self.watching = wanted

        def poll(self, now: float):  # type: ignore[no-untyped-def]
            if self.watching != flow:
                return [FlowBatch("capture")]
            sample = PacketSample(now, 1, b"\x00" * 60, 60)
            return [FlowBatch("capture", watched=FlowPackets(flow, (sample,), 0.02, 0.01))]

    keeper = Keeper()
    engine = Engine(Config(), [keeper], hostname="h")
    assert engine.tick(now=T0).flows.watched is None
    assert keeper.watching == "never asked"  # nothing to relay while nothing is watched
    engine.view_spec = replace(engine.view_spec, watch=flow)
    engine.tick(now=T0 + 1)  # the request goes out during this tick
    assert keeper.watching == flow
    for t in range(2, 80):
        snap = engine.tick(now=T0 + t)
    watched = snap.flows.watched
    assert watched is not None
    assert watched.flow == flow
    assert len(watched.packets) == 50  # bounded
    assert watched.packets[-1].ts == T0 + 79
    assert watched.handshake_rtt == 0.02
    engine.view_spec = replace(engine.view_spec, watch=None)
    assert engine.tick(now=T0 + 80).flows.watched is None
    assert keeper.watching is None


def _lo_and_eth0(total_of: tuple[str, ...]) -> tuple[float, float | None]:
    ticks = [[sample("eth0", t, rx=t * 1000, tx=t * 500), sample("lo", t, rx=t * 10**6, tx=0)]
             for t in range(4)]
    engine = Engine(Config(), [ScriptedSource(ticks)], hostname="testhost", total_of=total_of)
    last = [engine.tick(now=T0 + t + 0.5) for t in range(len(ticks))][-1]
    assert last.total is not None
    return last.totals.rx_bps, last.total.rx_bps


def test_named_interfaces_are_the_total_even_lo() -> None:
    """``-i lo``: the header total and the all row are lo's traffic, not 0."""
    assert _lo_and_eth0(("lo",)) == (8_000_000, 8_000_000)
    assert _lo_and_eth0(("lo", "eth0")) == (8_008_000, 8_008_000)
    assert _lo_and_eth0(("eth*",)) == (8000, 8000)  # glob patterns, as -i takes
    assert _lo_and_eth0(()) == (8000, 8000)  # nothing named: lo left out


def test_a_remote_rate_goes_stale_when_its_samples_stop() -> None:
    """An SNMP target that stops answering must not keep showing its last rate."""
    from dataclasses import replace

    from netop.model import InterfaceRate, InterfaceSample

    def snmp(t: int) -> InterfaceSample:
        return replace(sample("Gi0/1", t, rx=t * 1000, tx=t * 1000), origin="snmp:sw",
                       max_gap=1.0)

    # Samples for 4 s, then silence (the agent is gone): 2 x max_gap later, stale.
    ticks = [[snmp(t)] if t < 4 else [] for t in range(10)]
    _, snaps = run_engine(ticks)

    def gi(index: int) -> InterfaceRate:
        return next(r for r in snaps[index].interfaces if r.name == "Gi0/1")

    assert gi(3).rx_bps == 8000
    assert gi(3).stale_for is None
    assert gi(4).rx_bps == 8000  # 1.5 s old: within 2 x max_gap
    assert gi(5).rx_bps is None  # 2.5 s old: stale
    stale = gi(9)
    assert (stale.rx_bps, stale.tx_bps, stale.rx_pps, stale.tx_pps) == (None,) * 4
    assert stale.stale_for == 6.5  # now T0+9.5, sample at T0+3
    assert stale.util_rx is None
    assert stale.oper_up is None  # the last link state is no news either


def test_local_interfaces_sampled_every_tick_never_go_stale() -> None:
    ticks = [[sample("eth0", t, rx=t * 1000, tx=0)] for t in range(5)]
    _, snaps = run_engine(ticks)
    assert all(r.stale_for is None for s in snaps for r in s.interfaces)
