"""Capture options shared by ``netop flows`` and the TUI: flags, config, validation.

Config file keys (all optional), overridden by the flags::

    [capture]
    interfaces = ["eth0"]      # -i
    filter = "tcp port 443"    # -f
    promiscuous = true         # -p turns it off
    sampling = true            # adaptive 1-in-N kernel sampling when drops persist
    sample = 1                 # --sample N: fixed 1-in-N kernel sampling
    max_flows = 200000
    idle_timeout = 15.0        # seconds, 0 = never
    active_timeout = 1800.0    # seconds, 0 = never
    ring_mb = 16               # kernel ring per interface (<= 256, <= 512 over all)
    snaplen = 262144           # bytes kept per packet for -w
    helper = ["sudo", "-n"]    # start only the capture launcher with privileges
    launcher = "/usr/local/libexec/netop-capture"   # netop install-capture puts it there
    user = "alice"             # whom a root capture child becomes (like tcpdump -Z)
    flow_packets = 16          # last packets kept per active flow for its detail (0 = off)
    flow_rings = 2048          # flows with such a ring (pool: flows x packets x 128 B)
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from netop.config import (
    DEFAULT_ACTIVE_TIMEOUT,
    DEFAULT_IDLE_TIMEOUT,
    DEFAULT_MAX_FLOWS,
    DEFAULT_RING_MB,
    Config,
    get_bool,
    get_float,
    get_int,
    get_section,
    get_str,
)
from netop.errors import ConfigError
from netop.packet.pcapfile import MAX_SNAPLEN
from netop.sources.capture.watch import FLOW_PACKETS, FLOW_RINGS

#: Bounds of ``capture.flow_packets`` / ``capture.flow_rings`` (a pool of at most 128 MiB).
MAX_FLOW_PACKETS, MAX_FLOW_RINGS = 64, 16384

if TYPE_CHECKING:
    from netop.sources.capture.source import CaptureSource

#: ``-i``'s one help text: the TUI, ``flows`` and ``ifaces`` give it the same meaning.
INTERFACE_HELP = (
    "watch IFACE (repeatable): capture on it, total it in the 'all' row; 'any' = all; "
    "netop ifaces prints only these (glob patterns allowed)"
)


@dataclass(frozen=True, slots=True)
class CaptureOptions:
    """Everything the capture source needs, validated."""

    interfaces: tuple[str, ...] = ()
    filter: str | None = None
    promiscuous: bool = True
    read: str | None = None
    write: str | None = None
    rotate_mb: float | None = None
    max_files: int | None = None
    speed: float | None = 1.0
    """Playback speed for ``read``; ``None`` = as fast as possible."""
    sampling: bool = True
    """Adaptive kernel sampling when drops persist."""
    sample: int = 1
    """Fixed kernel 1-in-N sampling from the start (1 = every packet)."""
    max_flows: int = DEFAULT_MAX_FLOWS
    idle_timeout: float = DEFAULT_IDLE_TIMEOUT
    active_timeout: float = DEFAULT_ACTIVE_TIMEOUT
    ring_mb: int = DEFAULT_RING_MB
    """Start the ring at 1 MiB and re-make it at ``ring_mb`` once traffic needs it: 15 MiB
    less memory while idle, but packets that arrive while the ring is re-made are lost
    without the kernel counting them, so it is not the default."""
    helper: tuple[str, ...] = ()
    """Command prefix that starts the capture launcher with privileges (e.g. sudo -n)."""
    launcher: str = "/usr/local/libexec/netop-capture"
    """The installed capture entry point (``netop install-capture``)."""
    user: str | None = None
    """Whom a child started as root by root itself switches to (default nobody)."""
    snaplen: int = MAX_SNAPLEN
    interval: float = 1.0
    flow_packets: int = FLOW_PACKETS
    """Last packets the capture child keeps per active TCP/UDP flow (0: none)."""
    flow_rings: int = FLOW_RINGS
    """Flows with such a ring; beyond, the least recently active flow's is reused."""


def add_capture_arguments(parser: argparse.ArgumentParser) -> None:
    """The tcpdump-like capture flags (``-i -f -p -r -w -C -W --speed --no-sampling``)."""
    g = parser.add_argument_group("capture")
    g.add_argument(
        "-i",
        "--interface",
        action="append",
        dest="interfaces",
        metavar="IFACE",
        help=INTERFACE_HELP,
    )
    g.add_argument(
        "-f",
        "--bpf",
        dest="filter",
        metavar="BPF",
        help="capture (BPF) filter, e.g. 'tcp port 443'",
    )
    g.add_argument(
        "-p",
        "--no-promiscuous",
        action="store_true",
        help="don't put the interface into promiscuous mode",
    )
    g.add_argument("-r", "--read", metavar="FILE", help="read packets from a pcap/pcapng file")
    g.add_argument("-w", "--write", metavar="FILE", help="also write captured packets (pcap)")
    g.add_argument(
        "-C",
        dest="rotate_mb",
        type=float,
        metavar="MB",
        help="with -w: start a new file every MB million bytes",
    )
    g.add_argument(
        "-W",
        dest="max_files",
        type=int,
        metavar="N",
        help="with -w -C: keep at most N files, reused in a ring",
    )
    g.add_argument(
        "--speed",
        metavar="X|max",
        help="with -r in the TUI: playback speed factor, or 'max' (default 1)",
    )
    g.add_argument(
        "--sample",
        type=int,
        metavar="N",
        help="count 1 in N packets from the start (kernel sampling, counts scaled by N)",
    )
    g.add_argument(
        "--no-sampling", action="store_true", help="never switch to kernel sampling under overload"
    )
    g.add_argument("--snaplen", type=int, metavar="BYTES", help="bytes kept per packet for -w")
    g.add_argument("--idle-timeout", type=float, metavar="S", help="end flows idle this long")
    g.add_argument("--active-timeout", type=float, metavar="S", help="end flows this old")
    g.add_argument("--max-flows", type=int, metavar="N", help="flow table size limit")


def _flag(args: argparse.Namespace, name: str) -> object:
    return getattr(args, name, None)


def _opt_float(args: argparse.Namespace, name: str, flag: str, fallback: float) -> float:
    value = _flag(args, name)
    if value is None:
        return fallback
    assert isinstance(value, float)
    if value < 0:
        raise ConfigError(flag, f"must not be negative, got {value}")
    return value


#: Kernel memory a capture may pin: per interface ring, and over all of them.
MAX_RING_MB = 256
MAX_RINGS_TOTAL_MB = 512


def _unique(interfaces: tuple[str, ...]) -> tuple[str, ...]:
    """The interfaces in the order given, each once: ``-i lo -i lo`` opens one ring."""
    return tuple(dict.fromkeys(interfaces))


def _ring_mb(raw: Mapping[str, Any], interfaces: int) -> int:
    """``capture.ring_mb`` within what the kernel should pin for one capture.

    Every ring is locked kernel memory, one per interface: a typo must not take
    gigabytes, so too much is refused with one line rather than clamped in silence.
    """
    ring_mb = get_int(raw, "capture.ring_mb", DEFAULT_RING_MB)
    if not 1 <= ring_mb <= MAX_RING_MB:
        raise ConfigError("capture.ring_mb", f"must be 1..{MAX_RING_MB} MiB, got {ring_mb}")
    if ring_mb * interfaces > MAX_RINGS_TOTAL_MB:
        raise ConfigError(
            "capture.ring_mb",
            f"{ring_mb} MiB x {interfaces} interfaces = {ring_mb * interfaces} MiB of kernel "
            f"memory; at most {MAX_RINGS_TOTAL_MB}",
        )
    return ring_mb


def options_from_args(args: argparse.Namespace, config: Config) -> CaptureOptions:
    """Merge the config's ``[capture]`` table with the flags; raise ConfigError on bad input."""
    raw = config.raw
    ifaces_cfg = get_section(raw, "capture").get("interfaces")
    if ifaces_cfg is not None and not (
        isinstance(ifaces_cfg, list) and all(isinstance(i, str) for i in ifaces_cfg)
    ):
        raise ConfigError("capture.interfaces", "must be a list of interface names")
    flag_ifaces = _flag(args, "interfaces")
    chosen = flag_ifaces if isinstance(flag_ifaces, list) and flag_ifaces else ifaces_cfg or []
    interfaces = _unique(tuple(str(i) for i in chosen))
    read = _flag(args, "read")
    if read and interfaces and _flag(args, "interfaces"):
        raise ConfigError("-r", "give either -r FILE or -i IFACE, not both")
    if read and _flag(args, "write"):
        raise ConfigError("-w", "writes live captures; not supported with -r")
    helper_cfg = get_section(raw, "capture").get("helper", [])
    if not (isinstance(helper_cfg, list) and all(isinstance(h, str) for h in helper_cfg)):
        raise ConfigError("capture.helper", 'must be a list of strings, e.g. ["sudo", "-n"]')
    speed_text = _flag(args, "speed")
    speed: float | None = 1.0
    if isinstance(speed_text, str):
        if speed_text == "max":
            speed = None
        else:
            try:
                speed = float(speed_text)
            except ValueError:
                raise ConfigError(
                    "--speed", f"must be a number or 'max', got {speed_text!r}"
                ) from None
            if speed <= 0:
                raise ConfigError("--speed", f"must be positive, got {speed_text}")
    rotate = _flag(args, "rotate_mb")
    max_files = _flag(args, "max_files")
    if rotate is not None and (not isinstance(rotate, float) or rotate <= 0):
        raise ConfigError("-C", f"must be a positive number of MB, got {rotate}")
    if max_files is not None and (not isinstance(max_files, int) or max_files < 1):
        raise ConfigError("-W", f"must be at least 1, got {max_files}")
    if (rotate or max_files) and not _flag(args, "write"):
        raise ConfigError("-C/-W", "need -w FILE")
    max_flows = _flag(args, "max_flows")
    if max_flows is not None and (not isinstance(max_flows, int) or max_flows < 1):
        raise ConfigError("--max-flows", f"must be at least 1, got {max_flows}")
    snaplen = _flag(args, "snaplen")
    if snaplen is not None and (
        not isinstance(snaplen, int) or not 64 <= snaplen <= MAX_SNAPLEN
    ):
        raise ConfigError("--snaplen", f"must be 64..{MAX_SNAPLEN}, got {snaplen}")
    sample = _flag(args, "sample")
    if sample is not None and (not isinstance(sample, int) or not 1 <= sample <= 65536):
        raise ConfigError("--sample", f"must be 1..65536, got {sample}")
    flt = _flag(args, "filter") or get_str(raw, "capture.filter", "") or None
    return CaptureOptions(
        interfaces=interfaces,
        filter=str(flt) if flt else None,
        promiscuous=not _flag(args, "no_promiscuous")
        and get_bool(raw, "capture.promiscuous", True),
        read=str(read) if read else None,
        write=str(_flag(args, "write")) if _flag(args, "write") else None,
        rotate_mb=rotate if isinstance(rotate, float) else None,
        max_files=max_files if isinstance(max_files, int) else None,
        speed=speed,
        sampling=not _flag(args, "no_sampling") and get_bool(raw, "capture.sampling", True),
        sample=sample
        if isinstance(sample, int)
        else get_int(raw, "capture.sample", 1, low=1, high=65536),
        max_flows=max_flows
        if isinstance(max_flows, int)
        else get_int(raw, "capture.max_flows", DEFAULT_MAX_FLOWS, low=1, high=50_000_000),
        idle_timeout=_opt_float(
            args,
            "idle_timeout",
            "--idle-timeout",
            get_float(raw, "capture.idle_timeout", DEFAULT_IDLE_TIMEOUT, low=0.0),
        ),
        active_timeout=_opt_float(
            args,
            "active_timeout",
            "--active-timeout",
            get_float(raw, "capture.active_timeout", DEFAULT_ACTIVE_TIMEOUT, low=0.0),
        ),
        ring_mb=_ring_mb(raw, len(interfaces)),
        helper=tuple(helper_cfg),
        launcher=get_str(raw, "capture.launcher", "/usr/local/libexec/netop-capture"),
        user=get_str(raw, "capture.user", "") or None,
        snaplen=snaplen
        if isinstance(snaplen, int)
        else get_int(raw, "capture.snaplen", MAX_SNAPLEN, low=64, high=MAX_SNAPLEN),
        interval=config.interval,
        flow_packets=get_int(
            raw, "capture.flow_packets", FLOW_PACKETS, low=0, high=MAX_FLOW_PACKETS
        ),
        flow_rings=get_int(raw, "capture.flow_rings", FLOW_RINGS, low=1, high=MAX_FLOW_RINGS),
    )


def capture_source_from_args(
    args: argparse.Namespace, config: Config, default_route: bool = True
) -> CaptureSource | None:
    """The capture source the flags ask for, or ``None`` when capture is not wanted.

    With neither ``-i`` nor ``-r`` the interface of the default route is used (when
    ``default_route``). Bad flags raise :class:`~netop.errors.ConfigError`.
    """
    from netop.sources.capture.source import CaptureSource, default_interface

    opts = options_from_args(args, config)
    if not opts.read and not opts.interfaces:
        if not default_route:
            return None
        iface = default_interface()
        if iface is None:
            return None
        opts = _replace_interfaces(opts, (iface,))
    return CaptureSource(opts)


def _replace_interfaces(opts: CaptureOptions, interfaces: tuple[str, ...]) -> CaptureOptions:
    from dataclasses import replace

    return replace(opts, interfaces=interfaces)
