"""SNMP targets from the config file (``[[snmp.targets]]``) and the command line.

Secrets (communities, v3 keys) are held in :class:`Secret`, whose ``repr`` and ``str``
never show the value, so a target can be logged or printed safely. A v3 key may come
from the config (``auth_key``), an environment variable (``auth_key_env``) or a file
(``auth_key_file``); the command line never carries v3 keys.

Command-line forms (``--snmp`` / ``netop snmp TARGET``)::

    v2c:COMMUNITY@HOST[:PORT]      v1:COMMUNITY@HOST[:PORT]
    v2c:@HOST                      community from $NETOP_SNMP_COMMUNITY, or from the
                                   file named by $NETOP_SNMP_COMMUNITY_FILE
    v3:USER@HOST[:PORT][/AUTH[/PRIV]]
        keys from $NETOP_SNMP_AUTH_KEY / $NETOP_SNMP_PRIV_KEY, or from the files named by
        $NETOP_SNMP_AUTH_KEY_FILE / $NETOP_SNMP_PRIV_KEY_FILE; AUTH defaults to sha and
        PRIV to aes when the key is given without a protocol.

IPv6 hosts go in brackets: ``v2c:public@[::1]:1161``. A community written in the
argument is visible to every user in ``ps``; the ``v2c:@HOST`` form is not. No error
line ever repeats what comes before the ``@``, however mistyped the argument is.
"""

from __future__ import annotations

import difflib
import fnmatch
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from netop.config import Config, get_float, get_int, get_str
from netop.errors import ConfigError
from netop.sources.snmp.keys import (
    Secret as Secret,  # re-exported: targets carry secrets
)
from netop.sources.snmp.keys import (
    env_secret,
    read_secret,
    readable_by_others,
)

AUTH_PROTOCOLS = ("md5", "sha", "sha224", "sha256", "sha384", "sha512")
#: ``aes192``/``aes256`` extend keys as net-snmp does (Blumenthal draft); the ``c``
#: variants as Cisco does (Reeder draft). They differ only with a short auth digest.
PRIV_PROTOCOLS = ("des", "aes", "aes192", "aes256", "aes192c", "aes256c")
VERSIONS = {"1": "1", "v1": "1", "2c": "2c", "v2c": "2c", "2": "2c", "3": "3", "v3": "3"}
MIN_KEY_LEN = 8  # RFC 3414 passphrases; net-snmp and pysnmp refuse shorter ones

ENV_COMMUNITY = "NETOP_SNMP_COMMUNITY"
ENV_AUTH_KEY = "NETOP_SNMP_AUTH_KEY"
ENV_PRIV_KEY = "NETOP_SNMP_PRIV_KEY"


@dataclass(frozen=True, slots=True)
class SnmpTarget:
    """One agent to poll and how to talk to it."""

    name: str
    host: str
    port: int = 161
    version: str = "2c"
    community: Secret | None = None
    user: str = ""
    auth_protocol: str | None = None
    auth_key: Secret | None = None
    priv_protocol: str | None = None
    priv_key: Secret | None = None
    interval: float = 10.0
    timeout: float = 2.0
    retries: int = 1
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    max_repetitions: int = 25
    interface_label: str = "name"
    """Which name an interface row shows: ``name`` (ifName), ``alias`` (ifAlias where the
    operator set one, else ifName) or ``descr`` (ifDescr)."""

    @property
    def origin(self) -> str:
        """The ``origin`` of this target's interface samples."""
        return f"snmp:{self.name}"

    @property
    def security_level(self) -> str:
        """``noAuthNoPriv``, ``authNoPriv`` or ``authPriv`` (v3), else ``community``."""
        if self.version != "3":
            return "community"
        if self.priv_protocol:
            return "authPriv"
        return "authNoPriv" if self.auth_protocol else "noAuthNoPriv"

    def wants(self, *names: str) -> bool:
        """Whether an interface known by any of ``names`` passes include/exclude."""
        names = tuple(n for n in names if n)
        if self.include and not any(
            fnmatch.fnmatchcase(n, pat) for n in names for pat in self.include
        ):
            return False
        return not any(fnmatch.fnmatchcase(n, pat) for n in names for pat in self.exclude)


@dataclass(frozen=True, slots=True)
class TargetSet:
    """Targets plus warnings found while reading them (e.g. a world-readable secret)."""

    targets: tuple[SnmpTarget, ...] = ()
    warnings: tuple[str, ...] = field(default_factory=tuple)


# ---------------------------------------------------------------- config file


def targets_from_config(config: Config, env: Mapping[str, str] | None = None) -> TargetSet:
    """All ``[[snmp.targets]]`` of the config file, validated."""
    env = os.environ if env is None else env
    snmp = config.raw.get("snmp")
    if snmp is None:
        return TargetSet()
    if not isinstance(snmp, Mapping):
        raise ConfigError("snmp", "must be a table")
    entries = snmp.get("targets", [])
    if not isinstance(entries, list) or not all(isinstance(e, Mapping) for e in entries):
        raise ConfigError("snmp.targets", "must be an array of tables ([[snmp.targets]])")
    targets: list[SnmpTarget] = []
    warnings: list[str] = []
    inline_secret = False
    for i, entry in enumerate(entries):
        target, inline, file_warnings = _target_from_table(entry, f"snmp.targets[{i}]", env)
        targets.append(target)
        warnings.extend(file_warnings)
        inline_secret = inline_secret or inline
    _check_unique(targets)
    if inline_secret and config.path:
        problem = readable_by_others(Path(config.path))
        if problem:
            warnings.append(
                f"config file {config.path} holds SNMP secrets and {problem}; "
                f"run: chmod 600 {config.path}"
            )
    return TargetSet(tuple(targets), tuple(warnings))


_KNOWN_KEYS = frozenset({
    "name", "host", "port", "version", "community", "community_env", "community_file",
    "user", "auth_protocol", "auth_key", "auth_key_env", "auth_key_file", "priv_protocol",
    "priv_key", "priv_key_env", "priv_key_file", "interval", "timeout", "retries",
    "include", "exclude", "max_repetitions", "interface_label",
})  # fmt: skip
#: The choices of ``interface_label``.
INTERFACE_LABELS = ("name", "alias", "descr")


def _target_from_table(
    raw: Mapping[str, Any], prefix: str, env: Mapping[str, str]
) -> tuple[SnmpTarget, bool, list[str]]:
    for key in raw:
        if key not in _KNOWN_KEYS:
            near = difflib.get_close_matches(str(key), sorted(_KNOWN_KEYS), n=1, cutoff=0.75)
            raise ConfigError(f"{prefix}.{key}", "unknown key"
                              + (f"; did you mean {near[0]}?" if near else ""))
    host = get_str(raw, "host", "")
    if not host:
        raise ConfigError(f"{prefix}.host", "is required")
    version_text = str(raw.get("version", "2c")) if not isinstance(raw.get("version"), bool) else ""
    version = VERSIONS.get(version_text.lower())
    if version is None:
        raise ConfigError(f"{prefix}.version", f'must be "1", "2c" or "3", got {version_text!r}')
    warnings: list[str] = []
    inline = False

    def secret(base: str) -> Secret | None:
        nonlocal inline
        value, was_inline = read_secret(raw, base, prefix, env, warnings)
        inline = inline or was_inline
        return value

    common: dict[str, Any] = {
        "name": _check_name(get_str(raw, "name", host), f"{prefix}.name"),
        "host": _check_host(host, f"{prefix}.host"),
        "port": _key(prefix, "port", lambda r, k: get_int(r, k, 161, low=1, high=65535), raw),
        "version": version,
        "interval": _key(prefix, "interval", lambda r, k: get_float(r, k, 10.0, 0.1, 86400), raw),
        "timeout": _key(prefix, "timeout", lambda r, k: get_float(r, k, 2.0, 0.05, 60.0), raw),
        "retries": _key(prefix, "retries", lambda r, k: get_int(r, k, 1, low=0, high=10), raw),
        "max_repetitions": _key(
            prefix, "max_repetitions", lambda r, k: get_int(r, k, 25, low=1, high=200), raw
        ),
        "include": _patterns(raw, "include", prefix),
        "exclude": _patterns(raw, "exclude", prefix),
        "interface_label": _label(raw, prefix),
    }
    if version in ("1", "2c"):
        for key in ("user", "auth_protocol", "priv_protocol", "auth_key", "priv_key"):
            if key in raw:
                raise ConfigError(f"{prefix}.{key}", f"is for version 3, not {version}")
        community = secret("community")
        if community is None:
            raise ConfigError(f"{prefix}.community", f"is required for version {version}")
        return SnmpTarget(community=community, **common), inline, warnings
    if "community" in raw:
        raise ConfigError(f"{prefix}.community", "is for versions 1 and 2c; v3 uses user")
    user = get_str(raw, "user", "")
    if not user:
        raise ConfigError(f"{prefix}.user", "is required for version 3")
    auth_protocol = _protocol(raw, "auth_protocol", AUTH_PROTOCOLS, prefix)
    priv_protocol = _protocol(raw, "priv_protocol", PRIV_PROTOCOLS, prefix)
    auth_key = secret("auth_key")
    priv_key = secret("priv_key")
    target = _v3_target(common, user, auth_protocol, auth_key, priv_protocol, priv_key, prefix)
    return target, inline, warnings


def _v3_target(
    common: dict[str, Any],
    user: str,
    auth_protocol: str | None,
    auth_key: Secret | None,
    priv_protocol: str | None,
    priv_key: Secret | None,
    prefix: str,
) -> SnmpTarget:
    if auth_key is not None and auth_protocol is None:
        auth_protocol = "sha"
    if priv_key is not None and priv_protocol is None:
        priv_protocol = "aes"
    if auth_protocol and auth_key is None:
        raise ConfigError(
            f"{prefix}.auth_key",
            "is required with auth_protocol (give auth_key, auth_key_env or auth_key_file)",
        )
    if priv_protocol and priv_key is None:
        raise ConfigError(
            f"{prefix}.priv_key",
            "is required with priv_protocol (give priv_key, priv_key_env or priv_key_file)",
        )
    if priv_protocol and not auth_protocol:
        raise ConfigError(f"{prefix}.priv_protocol", "needs auth_protocol too (authPriv)")
    for key, value in (("auth_key", auth_key), ("priv_key", priv_key)):
        if value is not None and len(value.reveal()) < MIN_KEY_LEN:
            raise ConfigError(f"{prefix}.{key}", f"must be at least {MIN_KEY_LEN} characters")
    return SnmpTarget(
        user=user,
        auth_protocol=auth_protocol,
        auth_key=auth_key,
        priv_protocol=priv_protocol,
        priv_key=priv_key,
        **common,
    )


def _key(prefix: str, key: str, getter: Any, raw: Mapping[str, Any]) -> Any:
    """Run a config getter on one table, re-raising with the full dotted key."""
    try:
        return getter(raw, key)
    except ConfigError as exc:
        raise ConfigError(f"{prefix}.{key}", exc.problem) from None


def _protocol(raw: Mapping[str, Any], key: str, allowed: Sequence[str], prefix: str) -> str | None:
    value = raw.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or value.lower().replace("-", "") not in allowed:
        raise ConfigError(f"{prefix}.{key}", f"must be one of {', '.join(allowed)}, got {value!r}")
    return value.lower().replace("-", "")


def _patterns(raw: Mapping[str, Any], key: str, prefix: str) -> tuple[str, ...]:
    value = raw.get(key)
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ConfigError(f"{prefix}.{key}", "must be a glob pattern or a list of them")
    return tuple(value)


def _label(raw: Mapping[str, Any], prefix: str) -> str:
    value = get_str(raw, "interface_label", "name")
    if value not in INTERFACE_LABELS:
        raise ConfigError(f"{prefix}.interface_label",
                          f"must be one of {', '.join(INTERFACE_LABELS)}, got {value!r}")
    return value


def _check_name(name: str, key: str) -> str:
    if not name or len(name) > 64 or not all(c.isprintable() and c != ":" for c in name):
        raise ConfigError(key, "must be 1-64 printable characters without ':'")
    return name


def _check_host(host: str, key: str) -> str:
    if len(host) > 253 or not all(c.isalnum() or c in ".-_:" for c in host):
        raise ConfigError(key, f"not a host name or address: {host!r}")
    return host


def _check_unique(targets: Sequence[SnmpTarget]) -> None:
    seen: set[str] = set()
    for target in targets:
        if target.name in seen:
            raise ConfigError("snmp.targets", f"two targets are named {target.name!r}")
        seen.add(target.name)


# ---------------------------------------------------------------- command line


def parse_target_spec(
    spec: str, env: Mapping[str, str] | None = None, interval: float | None = None
) -> TargetSet:
    """One ``--snmp`` argument as a target (see the module docstring for the forms),
    optionally named: ``NAME=v2c:...`` (default name: the host, or host:port)."""
    env = os.environ if env is None else env
    key = "--snmp"
    named = _NAMED_SPEC.match(spec)
    name = named.group(1) if named else None
    if named:
        spec = spec[named.end(1) + 1:]
    version_text, sep, rest = spec.partition(":")
    version = VERSIONS.get(version_text.lower()) if sep else None
    if version is None or "@" not in rest:
        raise ConfigError(
            key,
            f"{_shown(spec)}: expected v2c:COMMUNITY@HOST[:PORT], "
            "v1:COMMUNITY@HOST[:PORT] or v3:USER@HOST[:PORT][/AUTH[/PRIV]]",
        )
    who, _, where = rest.rpartition("@")
    protocols: list[str] = []
    if version == "3":
        where, *protocols = where.split("/")
        if len(protocols) > 2:
            raise ConfigError(key, f"{_shown(spec)}: at most /AUTH/PRIV after the host")
    host, port = _split_host_port(where, key)
    common: dict[str, Any] = {
        "name": name or (host if port == 161 else f"{host}:{port}"),
        "host": host,
        "port": port,
        "version": version,
    }
    if interval is not None:
        common["interval"] = interval
    warnings: list[str] = []
    if version != "3":
        community = Secret(who) if who else env_secret(env, ENV_COMMUNITY, warnings)
        if community is None:
            raise ConfigError(key, f"empty community and neither ${ENV_COMMUNITY} nor "
                              f"${ENV_COMMUNITY}_FILE is set")  # fmt: skip
        return TargetSet((SnmpTarget(community=community, **common),), tuple(warnings))
    if not who:
        raise ConfigError(key, "v3 needs a user: v3:USER@HOST")
    auth = _cli_protocol(protocols[0], AUTH_PROTOCOLS, "auth") if protocols else None
    priv = _cli_protocol(protocols[1], PRIV_PROTOCOLS, "priv") if len(protocols) > 1 else None
    auth_key = env_secret(env, ENV_AUTH_KEY, warnings)
    priv_key = env_secret(env, ENV_PRIV_KEY, warnings)
    for what, protocol, value, name in (("auth", auth, auth_key, ENV_AUTH_KEY),
                                        ("priv", priv, priv_key, ENV_PRIV_KEY)):  # fmt: skip
        if protocol and value is None:
            raise ConfigError(key, f"v3 with {what} protocol {protocol}: set ${name} "
                              f"or ${name}_FILE (keys never go on the command line)")  # fmt: skip
    target = _v3_target(common, who, auth, auth_key, priv, priv_key, key)
    return TargetSet((target,), tuple(warnings))


def _cli_protocol(text: str, allowed: Sequence[str], what: str) -> str:
    value = text.lower().replace("-", "")
    if value not in allowed:
        raise ConfigError("--snmp", f"{what} protocol must be one of {', '.join(allowed)}")
    return value


def _split_host_port(where: str, key: str) -> tuple[str, int]:
    if where.startswith("["):
        host, _, tail = where[1:].partition("]")
        port_text = tail[1:] if tail.startswith(":") else ("" if not tail else "x")
    elif where.count(":") == 1:
        host, _, port_text = where.partition(":")
    else:
        host, port_text = where, ""
    if not host:
        raise ConfigError(key, "missing host")
    port = 161
    if port_text:
        if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
            raise ConfigError(key, f"bad port {port_text!r} (1-65535)")
        port = int(port_text)
    return _check_host(host, key), port


#: ``NAME=`` before a target spec; only before a version and its ':' (so that a mistyped
#: ``v2c=COMMUNITY@HOST`` is not read as a name, and its community never echoed).
_NAMED_SPEC = re.compile(r"([A-Za-z0-9_.-]{1,64})=(?:v1|v2c|v3):", re.IGNORECASE)


def _shown(spec: str) -> str:
    """The spec with anything before '@' hidden: it may be a community, even when the
    version and its ':' are mistyped (``v2c;public@host``). Only a known version is
    shown; nothing at all without an '@' (the community may be all there is)."""
    head, at, tail = spec.rpartition("@")
    version, sep, _ = head.partition(":")
    shown = version if sep and version.lower() in VERSIONS else "***"
    return repr(f"{shown}:***@{tail}") if at else repr(f"{shown}:...")
