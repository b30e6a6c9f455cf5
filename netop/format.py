"""Numbers and times as people read them: SI prefixes, bits or bytes, short ages."""

from __future__ import annotations

_PREFIXES = ("", "k", "M", "G", "T", "P")


def si(value: float, digits: int = 3) -> str:
    """``value`` with an SI prefix and about ``digits`` significant digits: 1234 → 1.23k."""
    magnitude = abs(value)
    index = 0
    while magnitude >= 999.5 and index < len(_PREFIXES) - 1:
        magnitude /= 1000.0
        value /= 1000.0
        index += 1
    if index == 0 and float(value).is_integer():
        return f"{int(value)}"
    decimals = max(0, digits - len(str(int(abs(value)))))
    return f"{value:.{decimals}f}{_PREFIXES[index]}"


def human_rate(bps: float | None, bits: bool = True) -> str:
    """A rate given in bits/s, shown as bits/s or bytes/s: ``1.23 Mb/s``, ``154 kB/s``."""
    if bps is None:
        return "—"
    if bits:
        return f"{si(bps)}b/s"
    return f"{si(bps / 8.0)}B/s"


def human_count(value: int | float | None) -> str:
    """A count with an SI prefix, ``—`` when unknown."""
    if value is None:
        return "—"
    return si(value)


def human_bytes(value: int | None) -> str:
    """A byte count: ``1.23MB``."""
    if value is None:
        return "—"
    return f"{si(value)}B"


def human_age(seconds: float) -> str:
    """A duration in the largest sensible unit: ``42s``, ``3m05s``, ``2h10m``."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    if seconds < 86400:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 86400}d{seconds % 86400 // 3600:02d}h"


def endpoint(addr: str, port: int, proto: int, name: str = "", icmp_type: bool = False) -> str:
    """``addr:port`` (``[v6]:port``, or ``name:port``); without ports just the address.

    ``icmp_type``: an ICMP flow's "port" (type*256+code, as NetFlow has it) is shown on
    its destination as ``addr type T/C``.
    """
    host = name or addr
    if proto in (1, 58):
        return f"{host} type {port >> 8}/{port & 0xFF}" if icmp_type and port else host
    if proto not in (6, 17, 132) or not port:
        return host
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
