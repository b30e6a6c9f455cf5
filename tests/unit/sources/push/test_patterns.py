"""Known network messages become structured events; users add their own."""

from __future__ import annotations

import pytest

from netop.errors import ConfigError
from netop.model import Severity
from netop.sources.syslog.patterns import PatternTable, user_patterns

TABLE = PatternTable()

CASES = [
    ("%LINK-3-UPDOWN: Interface GigabitEthernet0/1, changed state to down",
     "link_down", "GigabitEthernet0/1", Severity.ERROR),
    ("%LINK-5-CHANGED: x %LINK-3-UPDOWN: Interface Gi0/2, changed state to up",
     "link_up", "Gi0/2", Severity.INFO),
    ("%LINEPROTO-5-UPDOWN: Line protocol on Interface Gi0/1, changed state to down",
     "link_down", "Gi0/1", Severity.ERROR),
    ("SNMP_TRAP_LINK_DOWN: ifIndex 526, ifAdminStatus up(1), ifOperStatus down(2), "
     "ifName ge-0/0/1", "link_down", "ge-0/0/1", Severity.ERROR),
    ("SNMP_TRAP_LINK_UP: ifIndex 526", "link_up", "ifIndex 526", Severity.INFO),
    ("e1000e 0000:00:19.0 eth0: NIC Link is Up 1000 Mbps Full Duplex",
     "link_up", "eth0", Severity.INFO),
    ("eth1: Link is Down", "link_down", "eth1", Severity.ERROR),
    ("bond0: link status definitely down for interface eth2, disabling it",
     "link_down", "eth2", Severity.ERROR),
    ("%BGP-5-ADJCHANGE: neighbor 203.0.113.1 Down BGP Notification sent",
     "bgp_neighbor", "", Severity.ERROR),
    ("%BGP-5-ADJCHANGE: neighbor 203.0.113.1 Up", "bgp_neighbor", "", Severity.INFO),
    ("BGP_NEIGHBOR_STATE_CHANGED: BGP peer 10.0.0.1 (External AS 65001) changed state "
     "from Established to Idle (event RecvNotify) (instance master)",
     "bgp_neighbor", "", Severity.ERROR),
    ("%OSPF-5-ADJCHG: Process 1, Nbr 10.1.1.2 on GigabitEthernet0/0 from FULL to DOWN, "
     "Neighbor Down: Dead timer expired", "ospf_neighbor", "GigabitEthernet0/0", Severity.ERROR),
    ("%SYS-5-CONFIG_I: Configured from console by admin on vty0 (10.0.0.5)",
     "config_change", "", Severity.WARNING),
    ("UI_COMMIT: User 'root' requested 'commit' operation", "config_change", "",
     Severity.WARNING),
]


@pytest.mark.parametrize(("text", "kind", "interface", "severity"), CASES)
def test_known_messages(text: str, kind: str, interface: str, severity: Severity) -> None:
    found = TABLE.match(text)
    assert found is not None
    assert (found.kind, found.interface, found.severity) == (kind, interface, severity)


def test_bgp_neighbor_and_states_are_fields() -> None:
    found = TABLE.match(CASES[10][0])
    assert found is not None
    fields = dict(found.fields)
    assert (fields["neighbor"], fields["from"], fields["state"]) == ("10.0.0.1", "Established",
                                                                    "Idle")


def test_ordinary_text_matches_nothing() -> None:
    assert TABLE.match("session opened for user root by (uid=0)") is None


def test_user_patterns_come_first() -> None:
    table = PatternTable(user_patterns([
        {"name": "fw", "match": r"DENY (?P<src>\S+)", "kind": "firewall", "severity": "warning"},
        {"match": r"%LINK-3-UPDOWN", "kind": "mine"},
    ]))
    deny = table.match("DENY 192.0.2.7 to 10.0.0.1")
    assert deny is not None
    assert (deny.kind, deny.severity, dict(deny.fields)) == (
        "firewall", Severity.WARNING, {"src": "192.0.2.7"})
    mine = table.match(CASES[0][0])
    assert mine is not None
    assert mine.kind == "mine"


@pytest.mark.parametrize(("raw", "key"), [
    ([{"match": "("}], "syslog.patterns[0].match"),
    ([{"kind": "x"}], "syslog.patterns[0].match"),
    ([{"match": "x", "kind": "Bad Kind"}], "syslog.patterns[0].kind"),
    ([{"match": "x", "severity": "fatal"}], "syslog.patterns[0].severity"),
    ([{"match": "x", "colour": "red"}], "syslog.patterns[0].colour"),
    ("x", "syslog.patterns"),
])
def test_bad_user_patterns_name_the_key(raw: object, key: str) -> None:
    with pytest.raises(ConfigError) as err:
        user_patterns(raw)
    assert err.value.key == key
