"""Link-down correlation: a trap, a syslog line, the poller's oper-status change and the
traffic falling are one incident, not four lines to match up."""

from __future__ import annotations

from netop.engine.incidents import LinkIncidents
from netop.model import InterfaceRate, NetEvent, Severity


def down(source: str, ts: float, kind: str = "link_down") -> NetEvent:
    return NetEvent(ts, Severity.ERROR, source, f"{source} says {kind}", kind, "core1", "Gi0/1")


def rates(history: tuple[float, ...]) -> dict[str, dict[tuple[str, str], InterfaceRate]]:
    row = InterfaceRate(origin="snmp:core1", name="Gi0/1", ts=0.0, rx_bps=history[-1],
                        tx_bps=0.0, rx_pps=None, tx_pps=None, deltas={}, counters={},
                        speed_bps=None, oper_up=False, rx_history=history,
                        tx_history=tuple(0.0 for _ in history))  # fmt: skip
    return {"snmp:core1": {("snmp:core1", "Gi0/1"): row}}


def test_four_witnesses_make_one_incident_and_one_closing_line() -> None:
    inc = LinkIncidents()
    busy = rates((9e6, 9e6, 9e6))
    first = inc.observe([down("traps", 10.0), down("syslog", 10.1)], busy, 10.2)
    assert [e.message for e in first] == ["traps says link_down"]
    assert dict(first[0].details)["incident"] == "1"
    assert inc.observe([down("snmp:core1", 12.0)], busy, 12.0) == []
    fallen = inc.observe([down("snmp:core1", 13.0)], rates((9e6, 9e6, 0.0)), 13.0)
    [closing] = fallen
    assert closing.kind == "incident_summary"
    assert closing.message.startswith("incident #1: core1 Gi0/1 link down, seen by trap ")
    for witness in ("syslog", "snmp", "traffic fell 9.00Mb/s -> 0b/s"):
        assert witness in closing.message
    # The link comes back: one line for all its witnesses.
    up = inc.observe([down("traps", 20.0, "link_up"), down("snmp:core1", 21.0, "link_up")],
                     busy, 21.0)
    assert [e.message for e in up] == ["traps says link_up"]


def test_window_closes_an_incident_without_traffic_evidence() -> None:
    inc = LinkIncidents(window=5.0)
    idle = rates((0.0, 0.0))
    assert len(inc.observe([down("traps", 0.0), down("snmp:core1", 1.0)], idle, 1.0)) == 1
    [closing] = inc.observe([], idle, 6.0)
    assert "seen by trap" in closing.message
    assert "snmp" in closing.message
    assert "traffic" not in closing.message


def test_other_events_pass_untouched_and_state_is_bounded() -> None:
    inc = LinkIncidents()
    plain = NetEvent(0.0, Severity.INFO, "syslog", "hello")
    assert inc.observe([plain], {}, 0.0) == [plain]
    storm = [NetEvent(0.0, Severity.ERROR, "traps", "x", "link_down", f"h{n}", "e0")
             for n in range(5000)]
    assert len(inc.observe(storm, {}, 0.0)) == 5000
    assert len(inc._open) <= 1024


def test_this_host_s_own_logs_join_its_local_link_events_keeping_their_sender() -> None:
    inc = LinkIncidents(window=5.0)
    own = NetEvent(0.0, Severity.ERROR, "syslog", "127.0.0.1 kernel: eth0: Link is Down",
                   "link_down", "127.0.0.1", "eth0")
    watch = NetEvent(0.5, Severity.ERROR, "local", "eth0: link down", "link_down", "local",
                     "eth0")
    [shown] = inc.observe([own, watch], {}, 1.0)
    assert shown.sender == "127.0.0.1"
    [closing] = inc.observe([], {}, 6.0)
    assert closing.message.startswith("incident #1: local eth0 link down, seen by syslog")
    assert "local 00:00:00" in closing.message or "local" in dict(closing.details)


def test_a_headless_stream_keeps_every_witness_marked_with_its_incident() -> None:
    inc = LinkIncidents(keep_witnesses=True)
    out = inc.observe([down("traps", 0.0), down("syslog", 0.1), down("snmp:core1", 0.2)],
                      rates((0.0, 0.0)), 0.3)
    assert [e.source for e in out] == ["traps", "syslog", "snmp:core1"]
    assert {dict(e.details)["incident"] for e in out} == {"1"}


def test_a_device_s_long_and_short_interface_names_are_one_incident() -> None:
    inc = LinkIncidents(window=5.0)
    log = NetEvent(0.0, Severity.ERROR, "syslog", "%LINK-3-UPDOWN", "link_down", "core1",
                   "GigabitEthernet0/1")
    polled = down("snmp:core1", 1.0)  # interface "Gi0/1", as the poller's row names it
    assert len(inc.observe([log, polled], rates((9e6, 9e6)), 1.0)) == 1
    [closing] = inc.observe([], rates((9e6, 9e6, 0.0)), 6.0)
    assert closing.interface == "Gi0/1"
    assert "syslog" in closing.message
    assert "snmp" in closing.message
    assert "traffic fell" in closing.message
