"""Detection settings: the ``[detect]``, ``[watchlist]`` and ``[alerts]`` sections.

Defaults are the anchors' (``../shared/notes/analytics.md``): Zeek scan.zeek for scans
(25 hosts on one port / 15 ports on one host in 5 min, failed attempts only, no answer
within 5 s), ntopng's host checks for SYN floods (> 256 SYN/s), ntopng's DES baseline
(α 0.9, β 0.035, band 1.96 × RMS error over 64 samples) and Brutlag's persistence
(7 violations in a window of 9).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from netop.config import get_bool, get_float, get_int, get_section, get_str, shown
from netop.engine.detect.kpi_baselines import KpiBaselineSettings, kpi_baseline_settings
from netop.errors import ConfigError

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

#: Where "local" hosts live when ``[detect] local_nets`` is not given: RFC 1918,
#: carrier-grade NAT, IPv6 unique-local — the sender side of a large outbound transfer.
DEFAULT_LOCAL_NETS = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10",
                      "fc00::/7")


@dataclass(frozen=True, slots=True)
class DetectSettings:
    """Thresholds of every detector (``[detect]``)."""

    enabled: bool = True
    syn_flood_rate: float = 256.0
    """SYN/s to one destination, of connections that did not complete (ntopng)."""
    icmp_flood_rate: float = 1000.0
    """ICMP packets/s to one destination."""
    scan_window: float = 300.0
    """Seconds over which scans are counted (Zeek: 5 min)."""
    address_scan_hosts: int = 25
    port_scan_ports: int = 15
    scan_reply_timeout: float = 5.0
    """An attempt with no answer within this many seconds failed (Zeek: 5 s)."""
    large_transfer_bytes: float = 1e9
    """Bytes per minute from a local host to one remote (default 1 GB/min)."""
    large_transfer_flows: int = 100
    """Connections a large transfer may be split over at once and still be seen: a flow
    adds to its (local, remote) pair when it moves at least this share of the rate."""
    local_nets: tuple[IPNetwork, ...] = ()
    baseline: bool = True
    method: str = "robust"
    """"robust" (median/MAD, the default) or "des" (ntopng's DES)."""
    alpha: float = 0.9
    beta: float = 0.035
    band_width: float = 1.96
    band_samples: int = 64
    learning_samples: int = 64
    persistence: int = 7
    window: int = 9
    floor_bps: float = 10e6
    """Interface/host/service rates below this (bit/s) never alert: an idle link that
    sees 3 packets pages nobody."""
    floor_pps: float = 1000.0
    floor_drops: float = 10.0
    """Drops or errors per second below this never alert."""
    max_tracked: int = 50_000
    """Entities (scanners, destinations, pairs) tracked at most per detector."""
    new_destinations: bool = False
    """Alert when a local host, after its learning period, opens a flow to an address
    it never talked to (off by default)."""
    new_destination_learning: float = 3600.0
    """Seconds each host learns its destinations from its first flow."""
    new_destination_hosts: int = 10_000
    """Local hosts whose destinations are remembered at most (512 bytes each)."""
    baseline_from: str = ""
    """A recording whose last day seeds the interface baselines (no learning period)."""


@dataclass(frozen=True, slots=True)
class ActionSettings:
    """One ``[[alerts.actions]]`` entry."""

    type: str
    name: str
    min_severity: str = "warning"
    rate_limit: float = 10.0
    """Alerts per minute sent at most; the rest are counted as suppressed."""
    command: tuple[str, ...] = ()
    url: str = ""
    timeout: float = 5.0
    retries: int = 3
    backoff: float = 1.0
    """Seconds before the first retry; doubles for each next one."""
    host: str = ""
    port: int = 514
    facility: int = 1


@dataclass(frozen=True, slots=True)
class AlertSettings:
    """Everything detection and alerting read from the config."""

    detect: DetectSettings = field(default_factory=DetectSettings)
    watchlist_files: tuple[str, ...] = ()
    watchlist_reload: float = 5.0
    clear_after: float = 60.0
    """An alert not fired again for this long is no longer active (it stays recent)."""
    keep: int = 200
    actions: tuple[ActionSettings, ...] = ()
    kpi: KpiBaselineSettings = field(default_factory=KpiBaselineSettings)
    """Host and service KPI baselines (``[detect] kpi_*``)."""


_ACTION_TYPES = ("command", "webhook", "syslog")
_SEVERITIES = ("info", "warning", "critical")


def _str_list(raw: Mapping[str, Any], section: Mapping[str, Any], key: str,
              name: str) -> tuple[str, ...]:
    value = section.get(key)
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(name, f"must be a list of strings, got {shown(value)}")
    return tuple(value)


def _nets(values: tuple[str, ...], key: str) -> tuple[IPNetwork, ...]:
    nets = []
    for text in values:
        try:
            nets.append(ipaddress.ip_network(text, strict=False))
        except ValueError:
            raise ConfigError(key, f"not an address or prefix: {shown(text)}") from None
    return tuple(nets)


def detect_settings(raw: Mapping[str, Any]) -> DetectSettings:
    """``[detect]``, each bad value one error naming its key."""
    section = get_section(raw, "detect")
    d = DetectSettings()
    local = _str_list(raw, section, "local_nets", "detect.local_nets") or DEFAULT_LOCAL_NETS
    return DetectSettings(
        enabled=get_bool(raw, "detect.enabled", d.enabled),
        syn_flood_rate=get_float(raw, "detect.syn_flood_rate", d.syn_flood_rate, low=1),
        icmp_flood_rate=get_float(raw, "detect.icmp_flood_rate", d.icmp_flood_rate, low=1),
        scan_window=get_float(raw, "detect.scan_window", d.scan_window, low=1, high=86400),
        address_scan_hosts=get_int(raw, "detect.address_scan_hosts", d.address_scan_hosts,
                                   low=2, high=1_000_000),
        port_scan_ports=get_int(raw, "detect.port_scan_ports", d.port_scan_ports,
                                low=2, high=65536),
        scan_reply_timeout=get_float(raw, "detect.scan_reply_timeout",
                                     d.scan_reply_timeout, low=0.1, high=600),
        large_transfer_bytes=get_float(raw, "detect.large_transfer_bytes",
                                       d.large_transfer_bytes, low=1),
        large_transfer_flows=get_int(raw, "detect.large_transfer_flows",
                                     d.large_transfer_flows, low=1, high=100_000),
        local_nets=_nets(local, "detect.local_nets"),
        baseline=get_bool(raw, "detect.baseline", d.baseline),
        method=_method(raw),
        alpha=get_float(raw, "detect.alpha", d.alpha, low=0.0, high=1.0),
        beta=get_float(raw, "detect.beta", d.beta, low=0.0, high=1.0),
        band_width=get_float(raw, "detect.band_width", d.band_width, low=0.1, high=100),
        band_samples=get_int(raw, "detect.band_samples", d.band_samples, low=2, high=10_000),
        learning_samples=get_int(raw, "detect.learning_samples", d.learning_samples,
                                 low=2, high=100_000),
        persistence=get_int(raw, "detect.persistence", d.persistence, low=1, high=1000),
        window=get_int(raw, "detect.window", d.window, low=1, high=1000),
        floor_bps=get_float(raw, "detect.floor_bps", d.floor_bps, low=0),
        floor_pps=get_float(raw, "detect.floor_pps", d.floor_pps, low=0),
        floor_drops=get_float(raw, "detect.floor_drops", d.floor_drops, low=0),
        max_tracked=get_int(raw, "detect.max_tracked", d.max_tracked, low=100,
                            high=10_000_000),
        new_destinations=get_bool(raw, "detect.new_destinations", d.new_destinations),
        new_destination_learning=get_float(raw, "detect.new_destination_learning",
                                           d.new_destination_learning, low=0, high=1e7),
        new_destination_hosts=get_int(raw, "detect.new_destination_hosts",
                                      d.new_destination_hosts, low=1, high=10_000_000),
        baseline_from=get_str(raw, "detect.baseline_from", d.baseline_from),
    )


def _method(raw: Mapping[str, Any]) -> str:
    method = get_str(raw, "detect.method", "robust")
    if method not in ("robust", "des"):
        raise ConfigError("detect.method", f"must be \"robust\" or \"des\", got {shown(method)}")
    return method


def _action(raw: Mapping[str, Any], i: int) -> ActionSettings:
    entry = get_section(raw, "alerts")["actions"][i]
    key = f"alerts.actions[{i}]"
    if not isinstance(entry, Mapping):
        raise ConfigError(key, "must be a table")
    wrapped = {"a": entry}
    kind = entry.get("type")
    if kind not in _ACTION_TYPES:
        raise ConfigError(f"{key}.type", f"must be one of {', '.join(_ACTION_TYPES)}, "
                          f"got {shown(kind)}")
    severity = entry.get("min_severity", "warning")
    if severity not in _SEVERITIES:
        raise ConfigError(f"{key}.min_severity",
                          f"must be one of {', '.join(_SEVERITIES)}, got {shown(severity)}")
    command = _str_list(raw, entry, "command", f"{key}.command")
    url = entry.get("url", "")
    host = entry.get("host", "127.0.0.1" if kind == "syslog" else "")
    name = entry.get("name", "")
    for field_name, value in (("url", url), ("host", host), ("name", name)):
        if not isinstance(value, str):
            raise ConfigError(f"{key}.{field_name}", f"must be a string, got {shown(value)}")
    if kind == "command" and not command:
        raise ConfigError(f"{key}.command", "a command action needs command = [\"prog\", ...]")
    if kind == "webhook" and not url.startswith(("http://", "https://")):
        raise ConfigError(f"{key}.url", f"a webhook needs an http(s) URL, got {shown(url)}")
    label = name or {"command": command[0] if command else "", "webhook": url,
                     "syslog": f"{host}"}[kind]
    return ActionSettings(
        type=kind, name=f"{kind} {label}".strip(), min_severity=severity,
        rate_limit=get_float(wrapped, "a.rate_limit", 10.0, low=0.01, high=1e6),
        command=command, url=url,
        timeout=get_float(wrapped, "a.timeout", 5.0, low=0.05, high=600),
        retries=get_int(wrapped, "a.retries", 3, low=0, high=100),
        backoff=get_float(wrapped, "a.backoff", 1.0, low=0.0, high=600),
        host=host, port=get_int(wrapped, "a.port", 514, low=1, high=65535),
        facility=get_int(wrapped, "a.facility", 1, low=0, high=23),
    )


def alert_settings(raw: Mapping[str, Any]) -> AlertSettings:
    """Every detection and alerting setting of the config file."""
    watch = get_section(raw, "watchlist")
    alerts = get_section(raw, "alerts")
    actions = alerts.get("actions", [])
    if not isinstance(actions, list):
        raise ConfigError("alerts.actions", "must be a list of tables ([[alerts.actions]])")
    detect = detect_settings(raw)
    return AlertSettings(
        detect=detect,
        watchlist_files=_str_list(raw, watch, "files", "watchlist.files"),
        watchlist_reload=get_float(raw, "watchlist.reload_seconds", 5.0, low=0.1, high=86400),
        clear_after=get_float(raw, "alerts.clear_after", 60.0, low=1, high=86400),
        keep=get_int(raw, "alerts.keep", 200, low=1, high=100_000),
        actions=tuple(_action(raw, i) for i in range(len(actions))),
        kpi=kpi_baseline_settings(raw, detect.persistence, detect.window),
    )
