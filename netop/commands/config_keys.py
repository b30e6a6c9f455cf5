"""The keys of the config file, for warnings about unknown ones and for ``config --dump``.

Each feature validates its own section; this module only knows the names, so that a
typo (``intervall``) is warned about with the nearest known key instead of being
silently ignored. A table no feature here knows (another feature's own section) is
warned about only when its name is close to a known one (``[captur]``).
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

#: Top-level keys that are plain values.
TOP_KEYS: tuple[str, ...] = ("interval", "theme", "hide_idle", "history_seconds")

#: Keys of each table this module checks.
SECTION_KEYS: dict[str, tuple[str, ...]] = {
    "capture": ("interfaces", "filter", "promiscuous", "sampling", "sample", "max_flows",
                "idle_timeout", "active_timeout", "ring_mb", "snaplen", "helper",
                "launcher", "user", "flow_packets", "flow_rings"),
    "names": ("enabled", "ttl", "negative_ttl", "max_lookups_per_s", "max_workers",
              "max_entries"),
    "procs": ("refresh_interval", "keep", "max_entries"),
    "collector": ("listen", "allow", "rcvbuf", "max_flows"),  # + the limits: _known
    "snmp": ("targets",),
    "syslog": ("listen", "allow", "timezone", "patterns", "rate_limit", "queue", "rcvbuf"),
    "traps": ("listen", "allow", "communities", "engine_id", "users", "rate_limit", "queue"),
    "export": ("ipfix", "netflow9", "biflow", "domain", "template_every", "template_seconds",
               "message_bytes", "queue_records", "max_datagrams_per_s"),
    "record": ("path", "top", "max_age_days", "max_mb"),
    "kpi": ("retrans_pct", "min_packets", "rtt_ms", "dns_failure_rcodes"),
    "detect": ("enabled", "local_nets", "syn_flood_rate", "icmp_flood_rate",
               "address_scan_hosts", "port_scan_ports", "scan_window", "scan_reply_timeout",
               "large_transfer_bytes", "window", "max_tracked", "baseline", "method", "alpha",
               "beta", "band_samples", "band_width", "learning_samples", "persistence",
               "floor_bps", "floor_pps", "floor_drops", "large_transfer_flows",
               "new_destinations", "new_destination_learning", "new_destination_hosts",
               "baseline_from",
               # host/service KPI baselines (netop/engine/detect/kpi_baselines.py)
               "kpi_baselines", "kpi_interval", "kpi_learning", "kpi_min_rtt_samples",
               "kpi_min_connections", "kpi_min_packets", "kpi_rtt_rise_ms", "kpi_rtt_factor",
               "kpi_retrans_rise_pct", "kpi_retrans_segments", "kpi_success_drop_pct",
               "kpi_max_entities", "kpi_forget_after"),
    "watchlist": ("files", "reload_seconds"),
    "alerts": ("actions", "clear_after", "keep"),
    "prometheus": ("listen", "top_n", "max_interfaces", "basic_auth_user",
                   "basic_auth_password", "basic_auth_password_env",
                   "basic_auth_password_file", "tls_cert_file", "tls_key_file"),
}  # fmt: skip


def _known(section: str) -> tuple[str, ...]:
    if section == "collector":  # imported only when asked: the collector's decoders
        from netop.sources.collector.source import LIMIT_KEY_NAMES

        return SECTION_KEYS[section] + LIMIT_KEY_NAMES
    return SECTION_KEYS[section]


def _nearest(key: str, known: tuple[str, ...]) -> str | None:
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.75)
    return close[0] if close else None


def _said(path: str, nearest: str | None) -> str:
    return f"{path}: unknown key" + (f"; did you mean {nearest}?" if nearest else "")


def config_warnings(raw: Mapping[str, Any]) -> list[str]:
    """One line per unknown key of ``raw`` (the parsed file), naming the nearest known
    key when there is one (``difflib``)."""
    warnings: list[str] = []
    tables = tuple(SECTION_KEYS)
    for key, value in raw.items():
        if key in SECTION_KEYS:
            if isinstance(value, Mapping):
                known = _known(key)
                for inner in value:
                    if inner not in known:
                        near = _nearest(inner, known)
                        warnings.append(_said(f"{key}.{inner}", near and f"{key}.{near}"))
            continue
        if key in TOP_KEYS:
            continue
        if isinstance(value, Mapping | list):
            near = _nearest(key, tables)
            if near is not None:  # else another feature's own table: its business
                warnings.append(_said(key, near))
            continue
        warnings.append(_said(key, _nearest(key, TOP_KEYS + tables)))
    return warnings
