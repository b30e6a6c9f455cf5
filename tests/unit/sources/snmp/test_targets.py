"""SNMP targets from the config file and the command line; secrets stay secret."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from netop.config import Config
from netop.errors import ConfigError
from netop.sources.snmp.targets import Secret, parse_target_spec, targets_from_config


def config(*targets: dict[str, Any], path: str | None = None) -> Config:
    return Config(raw={"snmp": {"targets": list(targets)}}, path=path)


def test_v2c_defaults_and_origin() -> None:
    (t,) = targets_from_config(config({"host": "192.0.2.1", "community": "public"})).targets
    assert (t.name, t.port, t.version, t.interval, t.timeout, t.retries) == (
        "192.0.2.1", 161, "2c", 10.0, 2.0, 1)  # fmt: skip
    assert t.origin == "snmp:192.0.2.1"
    assert t.community == Secret("public")
    assert t.security_level == "community"


def test_v3_all_levels() -> None:
    env = {"A": "auth-secret-1", "P": "priv-secret-1"}
    found = targets_from_config(
        config(
            {"name": "a", "host": "h", "version": "3", "user": "u"},
            {
                "name": "b",
                "host": "h",
                "version": "3",
                "user": "u",
                "auth_protocol": "SHA-256",
                "auth_key_env": "A",
            },
            {
                "name": "c",
                "host": "h",
                "version": 3,
                "user": "u",
                "auth_protocol": "sha512",
                "auth_key_env": "A",
                "priv_protocol": "aes256",
                "priv_key_env": "P",
            },
        ),  # fmt: skip
        env=env,
    ).targets
    assert [t.security_level for t in found] == ["noAuthNoPriv", "authNoPriv", "authPriv"]
    assert found[1].auth_protocol == "sha256"
    assert found[2].priv_key is not None
    assert found[2].priv_key.reveal() == "priv-secret-1"


def test_secret_from_file_and_world_readable_warning(tmp_path: Path) -> None:
    key = tmp_path / "auth"
    key.write_text("file-secret-99\n")
    key.chmod(0o644)
    found = targets_from_config(
        config(
            {
                "host": "h",
                "version": "3",
                "user": "u",
                "auth_protocol": "sha",
                "auth_key_file": str(key),
            }
        )  # fmt: skip
    )
    (t,) = found.targets
    assert t.auth_key is not None
    assert t.auth_key.reveal() == "file-secret-99"
    assert len(found.warnings) == 1
    assert "readable by other users" in found.warnings[0]
    key.chmod(0o600)
    found = targets_from_config(
        config({"host": "h", "version": "3", "user": "u", "auth_key_file": str(key)})
    )
    assert found.warnings == ()


def test_inline_secret_in_a_readable_config_file_warns(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("")
    path.chmod(0o640)
    cfg = config({"host": "h", "community": "s3cret"}, path=str(path))
    (warning,) = targets_from_config(cfg).warnings
    assert "holds SNMP secrets" in warning
    assert "chmod 600" in warning
    assert "s3cret" not in warning
    path.chmod(0o600)
    assert targets_from_config(cfg).warnings == ()
    # A readable file without inline secrets is fine.
    path.chmod(0o644)
    env_only = config({"host": "h", "community_env": "C"}, path=str(path))
    assert targets_from_config(env_only, env={"C": "x"}).warnings == ()


def test_secrets_never_show_in_repr_or_str() -> None:
    (t,) = targets_from_config(
        config(
            {
                "host": "h",
                "version": "3",
                "user": "u",
                "auth_key": "TOPSECRET-A",
                "priv_key": "TOPSECRET-P",
            }
        )  # fmt: skip
    ).targets
    assert "TOPSECRET" not in repr(t)
    assert "TOPSECRET" not in str(t.auth_key)
    assert t.auth_protocol == "sha"  # defaults when a key comes without a protocol
    assert t.priv_protocol == "aes"


@pytest.mark.parametrize(
    ("entry", "key", "problem"),
    [
        ({"community": "x"}, "snmp.targets[0].host", "is required"),
        ({"host": "h"}, "snmp.targets[0].community", "is required"),
        ({"host": "h", "community": "x", "port": 70000}, "snmp.targets[0].port", "at most"),
        ({"host": "h", "community": "x", "version": "4"}, "snmp.targets[0].version", "must be"),
        ({"host": "h", "community": "x", "interval": "5"}, "snmp.targets[0].interval", "number"),
        ({"host": "h", "community": "x", "timeout": 0}, "snmp.targets[0].timeout", "at least"),
        ({"host": "h", "community": "x", "retries": -1}, "snmp.targets[0].retries", "at least"),
        ({"host": "h", "community": "x", "colour": 1}, "snmp.targets[0].colour", "unknown"),
        ({"host": "h", "community": "x", "user": "u"}, "snmp.targets[0].user", "version 3"),
        ({"host": "h", "version": "3"}, "snmp.targets[0].user", "is required"),
        ({"host": "h", "version": "3", "user": "u", "auth_protocol": "sha1024", "auth_key": "k"*8},
         "snmp.targets[0].auth_protocol", "must be one of"),
        ({"host": "h", "version": "3", "user": "u", "auth_protocol": "sha"},
         "snmp.targets[0].auth_key", "is required"),
        ({"host": "h", "version": "3", "user": "u", "auth_key": "short"},
         "snmp.targets[0].auth_key", "at least 8"),
        ({"host": "h", "version": "3", "user": "u", "auth_key": "k"*8, "auth_key_env": "X"},
         "snmp.targets[0].auth_key_env", "only one"),
        ({"host": "h", "version": "3", "user": "u", "auth_key_env": "NOT_SET"},
         "snmp.targets[0].auth_key_env", "not set"),
        ({"host": "h", "version": "3", "user": "u", "auth_key_file": "/nonexistent/k"},
         "snmp.targets[0].auth_key_file", "cannot read"),
        ({"host": "h", "community": "x", "include": [1]}, "snmp.targets[0].include", "glob"),
        ({"host": "h;rm", "community": "x"}, "snmp.targets[0].host", "not a host"),
    ],
)  # fmt: skip
def test_bad_values_name_their_key(entry: dict[str, Any], key: str, problem: str) -> None:
    with pytest.raises(ConfigError) as info:
        targets_from_config(config(entry), env={})
    assert info.value.key == key
    assert problem in info.value.problem
    assert "TOPSECRET" not in str(info.value)


def test_duplicate_names_and_bad_section() -> None:
    with pytest.raises(ConfigError, match="two targets"):
        targets_from_config(
            config({"host": "h", "community": "x"}, {"host": "h", "community": "y"})
        )
    with pytest.raises(ConfigError) as info:
        targets_from_config(Config(raw={"snmp": {"targets": {"host": "h"}}}))
    assert info.value.key == "snmp.targets"
    assert targets_from_config(Config(raw={})).targets == ()


def test_include_exclude_globs() -> None:
    (t,) = targets_from_config(
        config({"host": "h", "community": "x", "include": ["Gi*", "Te*"], "exclude": "*/0/99"})
    ).targets
    assert t.wants("Gi1/0/1")
    assert t.wants("ignored-name", "Te1/1/1")  # any of the names may match
    assert not t.wants("Vlan1")
    assert not t.wants("Gi1/0/99")


@pytest.mark.parametrize(
    ("spec", "host", "port", "version", "name"),
    [
        ("v2c:public@192.0.2.1", "192.0.2.1", 161, "2c", "192.0.2.1"),
        ("v1:public@router.example:1161", "router.example", 1161, "1", "router.example:1161"),
        ("2c:p@ss@w0rd@10.0.0.1:16100", "10.0.0.1", 16100, "2c", "10.0.0.1:16100"),
        ("v2c:public@[::1]:1161", "::1", 1161, "2c", "::1:1161"),
        ("v2c:public@[2001:db8::1]", "2001:db8::1", 161, "2c", "2001:db8::1"),
    ],
)
def test_cli_community_forms(spec: str, host: str, port: int, version: str, name: str) -> None:
    (t,) = parse_target_spec(spec, env={}).targets
    assert (t.host, t.port, t.version, t.name) == (host, port, version, name)
    assert t.community is not None


def test_cli_community_at_sign_and_env() -> None:
    (t,) = parse_target_spec("2c:p@ss@w0rd@10.0.0.1", env={}).targets
    assert t.community == Secret("p@ss@w0rd")
    (t,) = parse_target_spec("v2c:@10.0.0.1", env={"NETOP_SNMP_COMMUNITY": "from-env"}).targets
    assert t.community == Secret("from-env")
    with pytest.raises(ConfigError, match="NETOP_SNMP_COMMUNITY"):
        parse_target_spec("v2c:@10.0.0.1", env={})


def test_cli_v3_keys_come_from_env_or_files(tmp_path: Path) -> None:
    env = {"NETOP_SNMP_AUTH_KEY": "auth-key-123", "NETOP_SNMP_PRIV_KEY": "priv-key-123"}
    (t,) = parse_target_spec("v3:netop@192.0.2.9:1161/sha256/aes256", env=env).targets
    assert (t.user, t.port, t.auth_protocol, t.priv_protocol) == ("netop", 1161, "sha256", "aes256")
    assert t.security_level == "authPriv"
    (t,) = parse_target_spec("v3:netop@192.0.2.9", env={"NETOP_SNMP_AUTH_KEY": "k" * 8}).targets
    assert t.security_level == "authNoPriv"
    assert t.auth_protocol == "sha"
    (t,) = parse_target_spec("v3:netop@192.0.2.9", env={}).targets
    assert t.security_level == "noAuthNoPriv"
    key = tmp_path / "k"
    key.write_text("file-key-123")
    key.chmod(0o600)
    found = parse_target_spec("v3:u@h/md5", env={"NETOP_SNMP_AUTH_KEY_FILE": str(key)})
    assert found.targets[0].auth_key == Secret("file-key-123")
    assert found.warnings == ()
    with pytest.raises(ConfigError, match="NETOP_SNMP_AUTH_KEY_FILE") as info:
        parse_target_spec("v3:u@h/sha", env={})
    assert info.value.key == "--snmp"
    with pytest.raises(ConfigError, match=r"\$NETOP_SNMP_PRIV_KEY"):
        parse_target_spec("v3:u@h/sha/aes", env={"NETOP_SNMP_AUTH_KEY": "k" * 8})


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        ("public@192.0.2.1", "expected v2c:COMMUNITY@HOST"),
        ("v5:public@h", "expected"),
        ("v2c:public", "expected"),
        ("v2c:public@h:0", "bad port"),
        ("v2c:public@h:http", "bad port"),
        ("v2c:public@", "missing host"),
        ("v3:@h", "needs a user"),
        ("v3:u@h/sha9", "auth protocol must be one of"),
        ("v3:u@h/sha/aes9", "priv protocol must be one of"),
        ("v3:u@h/sha/aes/x", "at most"),
    ],
)
def test_cli_bad_specs(spec: str, problem: str) -> None:
    env = {"NETOP_SNMP_AUTH_KEY": "k" * 8, "NETOP_SNMP_PRIV_KEY": "k" * 8}
    with pytest.raises(ConfigError, match=problem) as info:
        parse_target_spec(spec, env=env)
    assert info.value.key == "--snmp"


def test_cli_error_hides_the_community() -> None:
    with pytest.raises(ConfigError) as info:
        parse_target_spec("v2c:TOPSECRET@h:99999", env={})
    assert "TOPSECRET" not in str(info.value)
    with pytest.raises(ConfigError) as info:
        parse_target_spec("v7:TOPSECRET@h", env={})
    assert "TOPSECRET" not in str(info.value)
