"""Host and service KPI baselines: quiet on noisy normal intervals, thin evidence and rises
under the absolute floors; an alert once a real rise persists 7 of 9 counted intervals."""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from itertools import count
from typing import Any

from netop.engine.detect.kpi_baselines import KpiBaselines, KpiBaselineSettings
from netop.model import FlowKpi

_ids = count()


@dataclass
class Flow:
    """What the baselines read of a flow-table entry."""

    key: str
    dst: str
    dport: int
    kpi: FlowKpi | None
    packets: int = 10
    packets_rev: int = 10
    proto: int = 6
    first: float = 0.0
    last: float = 0.0


def conn(dst: str, rtt: float, state: str = "SF", port: int = 443) -> Flow:
    return Flow(f"f{next(_ids)}", dst, port, FlowKpi(rtt_ms=rtt, retrans=0, retrans_rev=0,
                                                     conn_state=state))  # fmt: skip


class Run:
    """Feeds one tick a second, 10 s intervals; keeps what was reported."""

    def __init__(self, **settings: Any) -> None:
        self.kb = KpiBaselines(replace(KpiBaselineSettings(learning=20), **settings))
        self.t = 1000.0
        self.alerts: list[tuple[Any, ...]] = []

    def report(self, *args: Any, at: float) -> None:
        self.alerts.append((*args, at))

    def interval(self, flows_per_tick: list[list[Flow]]) -> None:
        for tick in range(10):
            flows = flows_per_tick[tick] if tick < len(flows_per_tick) else []
            for flow in flows:
                flow.first = flow.first or self.t
                flow.last = self.t
            self.kb.observe(flows, self.t, self.report)
            self.t += 1.0


def rtt_interval(run: Run, rng: random.Random, median: float, n: int = 30) -> None:
    """``n`` connections to one host, RTTs spread around ``median`` (±30 %, some tail)."""
    flows = [conn("192.0.2.7", median * rng.uniform(0.7, 1.3) * (3 if rng.random() < 0.03
                                                                  else 1)) for _ in range(n)]
    run.interval([flows[i::10] for i in range(10)])


def test_noisy_normal_rtt_never_alerts_and_a_lasting_rise_does() -> None:
    rng = random.Random(12)
    run = Run()
    for _ in range(300):  # 50 minutes of normal intervals
        rtt_interval(run, rng, 30.0)
    assert run.alerts == []
    fed = 0
    while not run.alerts and fed < 9:
        rtt_interval(run, rng, 120.0)
        fed += 1
    assert len(run.alerts) == 1
    # The 7th violating interval (Brutlag's 7 of 9), judged as the next one begins.
    assert fed == 8
    kind, entity, value, unit, message, flow, usual, band, at = run.alerts[0]
    assert at == run.t - 10  # the end of the interval judged (as the next one began)
    assert kind == "kpi_baseline"
    assert entity == "host 192.0.2.7 rtt p95"
    assert unit == "ms"
    assert value > 2 * usual
    assert "vs usual" in message


def test_thin_evidence_does_not_count() -> None:
    rng = random.Random(3)
    run = Run()
    for _ in range(40):
        rtt_interval(run, rng, 30.0)
    for _ in range(20):
        rtt_interval(run, rng, 300.0, n=19)  # under 20 RTT samples an interval
    assert run.alerts == []


def test_a_rise_under_the_absolute_floor_does_not_alert() -> None:
    rng = random.Random(4)
    run = Run()
    for _ in range(40):
        rtt_interval(run, rng, 1.0)
    for _ in range(20):
        rtt_interval(run, rng, 8.0)  # ×8, but only 7 ms up: not 20 ms
    assert run.alerts == []


def test_no_alert_while_learning_and_the_status_says_so() -> None:
    rng = random.Random(5)
    run = Run()
    for _ in range(5):
        rtt_interval(run, rng, 30.0)
    assert run.kb.status()[0].startswith("KPI baselines: 2 of 2 host/service series learning")
    for _ in range(12):
        rtt_interval(run, rng, 200.0)
    assert run.alerts == []


def test_service_success_drop_alerts() -> None:
    rng = random.Random(6)
    run = Run()

    def interval(fail_share: float) -> None:
        flows = [conn("192.0.2.9", 5.0, "REJ" if rng.random() < fail_share else "SF",
                      port=8443) for _ in range(30)]  # fmt: skip
        run.interval([flows[i::10] for i in range(10)])

    for _ in range(60):
        interval(0.03)
    assert run.alerts == []
    for _ in range(9):
        interval(0.6)
    assert {a[1] for a in run.alerts} == {"service tcp/8443 success"}


def test_attempts_without_reply_count_as_failures_once_decided() -> None:
    run = Run(learning=2, persistence=1, window=1, min_connections=5)
    for _ in range(4):
        run.interval([[conn("192.0.2.3", 1.0, port=22) for _ in range(10)]])
    s0 = [Flow(f"s{i}", "192.0.2.3", 22, FlowKpi(conn_state="S0")) for i in range(10)]
    run.interval([s0])
    run.interval([])
    assert {a[1] for a in run.alerts} == {"service tcp/22 success"}
    assert run.alerts[0][2] == 0.0  # none of the interval's decided attempts succeeded


def test_retransmissions_counted_per_interval_from_each_flows_deltas() -> None:
    run = Run(learning=5)
    flow = Flow("bulk", "192.0.2.5", 5201, FlowKpi(retrans=0, retrans_rev=0, conn_state="S1"),
                packets=0, packets_rev=0)  # fmt: skip
    sent = lost = 0

    def interval(loss: float) -> None:
        nonlocal sent, lost
        ticks = []
        for _ in range(10):
            sent += 300
            lost += int(300 * loss)
            ticks.append([replace(flow, packets=sent, packets_rev=sent // 2,
                                  kpi=FlowKpi(retrans=lost, retrans_rev=0, conn_state="S1"))])
        run.interval(ticks)

    for _ in range(30):
        interval(0.001)
    assert run.alerts == []
    for _ in range(8):
        interval(0.08)
    assert {a[1] for a in run.alerts} == {"host 192.0.2.5 retransmissions"}


def test_tracked_entities_are_capped() -> None:
    rng = random.Random(7)
    run = Run(max_entities=3)
    flows = [conn(f"192.0.2.{h}", rng.uniform(5, 6)) for h in range(6) for _ in range(20)]
    run.interval([flows])
    run.interval([])  # the first interval is judged as the second begins
    hosts = [key for key in run.kb._series if key[0] == "host"]
    assert len(hosts) == 3
    assert run.kb.untracked == 3
    assert any("at most" in line for line in run.kb.status())


def test_a_file_read_in_coarse_ticks_is_judged_per_interval() -> None:
    """The file reader hands a classic pcap on in chunks of minutes: each handshake still
    goes to the interval of its own time."""
    rng = random.Random(8)
    kb = KpiBaselines(KpiBaselineSettings(learning=20))
    alerts: list[tuple[Any, ...]] = []
    flows = []
    for i in range(600 * 3):  # 3 connections a second for 10 minutes, the RTT ×4 at 7 min
        t = 1000.0 + i / 3
        flow = conn("192.0.2.8", rng.uniform(20, 30) * (4 if t >= 1420 else 1))
        flow.first = flow.last = t
        flows.append(flow)
    for chunk in range(3):
        part = flows[chunk * 600:(chunk + 1) * 600]
        kb.observe(part, part[-1].last, lambda *a, at: alerts.append((*a, at)))
    kb.observe([], 1700.0, lambda *a, at: alerts.append((*a, at)))
    assert kb.intervals == 60
    assert {a[1] for a in alerts} == {"host 192.0.2.8 rtt p95"}


def test_the_p95_and_groups_are_the_kpi_tables() -> None:
    from netop.engine.detect.kpi_baselines import _group, _p95
    from netop.engine.kpis import group_key, percentile

    rng = random.Random(9)
    for n in (1, 2, 20, 57):
        values = [rng.uniform(0, 100) for _ in range(n)]
        assert _p95(values) == percentile(values, 95)
    flow = conn("192.0.2.1", 1.0, port=8443)
    for by in ("host", "service"):
        assert _group(flow, by) == group_key(flow, by)  # type: ignore[arg-type]
