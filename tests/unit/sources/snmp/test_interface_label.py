"""Which SNMP name an interface row shows: ifName (default), ifAlias or ifDescr."""

from __future__ import annotations

import pytest

from netop.config import Config
from netop.errors import ConfigError
from netop.sources.snmp.targets import targets_from_config
from netop.sources.snmp.tracker import TargetTracker
from tests.unit.sources.snmp.test_tracker import port, result, samples, target


def _names(label: str) -> list[str]:
    tracker = TargetTracker(target(interface_label=label, interval=60.0))
    ifaces = {1: port(100, 200, alias=b"uplink to core"), 2: port(300, 400, name=b"Gi0/2",
                                                                   alias=b"")}
    return sorted(s.name for s in samples(tracker.update(result(0.0, 500, ifaces))))


def test_the_default_is_ifname() -> None:
    assert _names("name") == ["Gi0/1", "Gi0/2"]


def test_ifalias_where_set_else_ifname() -> None:
    assert _names("alias") == ["Gi0/2", "uplink to core"]


def test_ifdescr() -> None:
    assert _names("descr") == ["GigabitEthernet0/1", "GigabitEthernet0/1#2"]


def _config(text: str) -> Config:
    import tomllib

    return Config(raw=tomllib.loads(text))


def test_the_config_key_and_a_bad_value() -> None:
    base = '[[snmp.targets]]\nhost = "192.0.2.1"\ncommunity = "x"\n'
    (t,) = targets_from_config(_config(base + 'interface_label = "alias"\n')).targets
    assert t.interface_label == "alias"
    (t,) = targets_from_config(_config(base)).targets
    assert t.interface_label == "name"
    with pytest.raises(ConfigError, match=r"interface_label: must be one of name, alias, descr"):
        targets_from_config(_config(base + 'interface_label = "ifalias"\n'))
