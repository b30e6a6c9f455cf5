"""``netop config --dump``: the configuration in effect, as a commented TOML file.

Defaults, then the config file, then the flags given before ``config`` (``--interval``):
what every command would run with. Secrets (communities, keys) are never printed: a
target shows where its secret comes from, not the secret.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Mapping
from typing import Any

from netop.config import Config, get_section
from netop.errors import NetopError

HELP = "print the configuration in effect (defaults, config file, flags) with comments"
EXAMPLES = (
    "netop config --dump                      # what netop runs with",
    "netop config --dump > ~/.config/netop/config.toml   # a start for your own",
    "netop --config lab.toml --interval 2 config --dump",
)

#: Keys of ``[[snmp.targets]]`` that hold a secret: shown as where it comes from.
_SECRET_KEYS = ("community", "auth_key", "priv_key")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``--dump``."""
    parser.add_argument("--dump", action="store_true",
                        help="print the effective config as TOML with comments")


def run(args: argparse.Namespace, config: Config) -> int:
    """Print the effective config (``--dump``)."""
    if not args.dump:
        raise NetopError("netop config does one thing so far: give --dump")
    sys.stdout.write(dump(args, config))
    return 0


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # a TOML basic string is a JSON string
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return json.dumps(str(value))


def _lines(rows: Iterable[tuple[str, Any, str]]) -> list[str]:
    out = []
    for key, value, comment in rows:
        text = f"{key} = {_toml(value)}"
        out.append(f"{text:<40} # {comment}" if comment else text)
    return out


def _section(raw: Mapping[str, Any], name: str,
             rows: Iterable[tuple[str, Any, str]]) -> list[str]:
    section = get_section(raw, name)
    return _lines((key, section.get(key, default), comment) for key, default, comment in rows)


def dump(args: argparse.Namespace, config: Config) -> str:
    """The effective config as TOML text with a comment per key."""
    from netop.config import DEFAULT_PROC_ENTRIES
    from netop.sources.capture.options import options_from_args
    from netop.sources.collector.source import collector_settings

    opts = options_from_args(argparse.Namespace(), config)
    listens, limits, allow, rcvbuf = collector_settings(config)
    raw = config.raw
    out = [
        "# netop's configuration in effect: defaults, then "
        + (config.path or "no config file") + ", then the flags.",
        "",
        *_lines([
            ("interval", config.interval, "seconds per tick"),
            ("theme", config.theme, "netop-dark, netop-light, netop-contrast, or your own"),
            ("hide_idle", config.hide_idle, "start with idle interfaces hidden (i)"),
            ("history_seconds", config.history_seconds, "how far back the sparklines reach"),
        ]),
        "",
        "[capture]",
        *_lines([
            ("interfaces", list(opts.interfaces), "-i; empty: the default route's"),
            ("filter", opts.filter or "", "-f: BPF capture filter"),
            ("promiscuous", opts.promiscuous, "-p turns it off"),
            ("sampling", opts.sampling, "1-in-N kernel sampling when drops persist"),
            ("sample", opts.sample, "--sample N: fixed 1-in-N sampling"),
            ("max_flows", opts.max_flows, "flow table bound; the least recent is evicted"),
            ("idle_timeout", opts.idle_timeout, "seconds; 0 = never"),
            ("active_timeout", opts.active_timeout, "seconds; 0 = never"),
            ("ring_mb", opts.ring_mb, "kernel ring per interface, MiB (<= 256)"),
            ("snaplen", opts.snaplen, "bytes kept per packet for -w"),
            ("helper", list(opts.helper), 'e.g. ["sudo", "-n"]: starts the launcher only'),
            ("launcher", opts.launcher, "netop install-capture puts it there"),
            ("user", opts.user or "", "whom a root capture child becomes (default nobody)"),
            ("flow_packets", opts.flow_packets, "last packets kept per flow for its detail"),
            ("flow_rings", opts.flow_rings, "flows with such a ring (x packets x 128 B)"),
        ]),
        "",
        "[names]",
        *_section(raw, "names", [
            ("enabled", True, "reverse DNS and service names (n)"),
            ("ttl", 300.0, "seconds a name is kept"),
            ("negative_ttl", 60.0, "seconds a failed lookup is kept"),
            ("max_lookups_per_s", 20.0, ""),
            ("max_workers", 4, ""),
            ("max_entries", 10_000, ""),
        ]),
        "",
        "[procs]",
        *_section(raw, "procs", [
            ("refresh_interval", 2.0, "seconds between socket-table reads"),
            ("keep", 120.0, "seconds a closed socket's process is remembered"),
            ("max_entries", DEFAULT_PROC_ENTRIES, ""),
        ]),
        "",
        "[collector]",
        *_lines([
            ("listen", [f"{h}:{p}" for h, p in listens], "--collect [HOST:]PORT"),
            ("allow", allow, "exporter networks; others are refused and counted"),
            ("rcvbuf", rcvbuf, "receive buffer, bytes"),
        ]),
        *_lines((name, getattr(limits, name), "") for name in _limit_names(limits)),
    ]
    for target in get_section(raw, "snmp").get("targets", []) or []:
        if not isinstance(target, Mapping):
            continue
        out += ["", "[[snmp.targets]]"]
        for key, value in target.items():
            if key in _SECRET_KEYS:
                out.append(f"# {key} = ...   (set in {config.path}; a secret is not shown)")
                continue
            out += _lines([(str(key), value, "")])
    return "\n".join(out) + "\n"


def _limit_names(limits: Any) -> tuple[str, ...]:
    from netop.sources.collector.source import LIMIT_KEY_NAMES

    return tuple(name for name in LIMIT_KEY_NAMES if hasattr(limits, name))
