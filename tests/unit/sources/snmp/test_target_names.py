"""A name for a target given on the command line: two communities (or two users) on one
agent are two targets, told apart by their names."""

from __future__ import annotations

import pytest

from netop.config import Config
from netop.errors import ConfigError
from netop.sources.snmp.source import load_targets
from netop.sources.snmp.targets import parse_target_spec


def test_a_named_target_takes_its_name() -> None:
    (target,) = parse_target_spec("core-ro=v2c:public@192.0.2.1").targets
    assert target.name == "core-ro"
    assert target.origin == "snmp:core-ro"
    assert target.host == "192.0.2.1"
    assert target.community is not None


def test_two_communities_on_one_host_are_two_targets_by_name() -> None:
    found = load_targets(["ro=v2c:public@192.0.2.1", "rw=v2c:private@192.0.2.1"], Config())
    assert [t.name for t in found.targets] == ["ro", "rw"]


def test_the_same_host_twice_without_names_says_how_to_name_them() -> None:
    with pytest.raises(ConfigError, match=r"NAME=v2c:\.\.\."):
        load_targets(["v2c:public@192.0.2.1", "v2c:private@192.0.2.1"], Config())


@pytest.mark.parametrize("spec", ["v2c=secret@host", "a:b=v2c:public@h", "=v2c:public@h"])
def test_a_mistyped_name_is_refused_without_the_secret(spec: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_target_spec(spec)
    assert "secret" not in str(info.value)
    assert "public" not in str(info.value)
