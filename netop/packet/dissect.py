"""One captured packet decoded layer by layer, like Wireshark's tree, for the detail screen.

scapy does the decoding: it knows far more protocols than netop's fast-path decoder and
this runs for a handful of packets a user looks at, never on the capture path. scapy is
imported on first use (it costs about a third of a second). Every field value comes from
the network, so each line is passed through :func:`~netop.text.safe_text`.
"""

from __future__ import annotations

import time
from typing import Any

from netop.model import PacketSample
from netop.text import safe_text

#: Fields shown per layer at most (the rest are rarely what a person looks for).
MAX_FIELDS = 10
#: Payload bytes previewed as text.
PREVIEW = 48

_SKIP_FIELDS = {"chksum", "options", "len", "ihl", "dataofs", "reserved", "urgptr",
                "tc", "fl", "plen", "version"}


def _first_layer(linktype: int, data: bytes) -> Any:
    from scapy.layers.inet import IP
    from scapy.layers.inet6 import IPv6
    from scapy.layers.l2 import CookedLinux, CookedLinuxV2, Ether, Loopback

    if linktype == 1:
        return Ether(data)
    if linktype == 113:
        return CookedLinux(data)
    if linktype == 276:
        return CookedLinuxV2(data)
    if linktype in (0, 108):
        return Loopback(data)
    if data[:1] and data[0] >> 4 == 6:
        return IPv6(data)
    return IP(data)


def _field_text(layer: Any, name: str, value: Any) -> str:
    try:
        shown = layer.get_field(name).i2repr(layer, value)
    except Exception:  # a field scapy cannot print: show it raw
        shown = repr(value)
    return f"{name}={shown}"


def _payload_line(data: bytes) -> str:
    preview = "".join(chr(b) if 32 <= b < 127 else "." for b in data[:PREVIEW])
    more = "…" if len(data) > PREVIEW else ""
    return f"Payload: {len(data)} bytes  {preview}{more}"


def dissect(sample: PacketSample) -> list[str]:
    """The packet as lines: a summary line, then one line per layer (indented)."""
    micros = int(sample.ts % 1 * 1e6)
    stamp = time.strftime("%H:%M:%S", time.localtime(sample.ts)) + f".{micros:06d}"
    arrow = "←" if sample.reverse else "→"
    head = f"{stamp} {arrow} {sample.wirelen} bytes on the wire ({len(sample.data)} kept)"
    lines = [head]
    try:
        layer = _first_layer(sample.linktype, sample.data)
    except Exception as exc:  # scapy is robust, but this is hostile input
        return [head, f"  (could not decode: {safe_text(exc, 80)})"]
    depth = 1
    while layer is not None and depth < 12:
        name = type(layer).__name__
        if name in ("Raw", "Padding"):
            lines.append("  " * depth + safe_text(_payload_line(bytes(layer.load)), 200))
            break
        if name == "NoPayload":
            break
        fields = [_field_text(layer, f.name, layer.getfieldval(f.name))
                  for f in layer.fields_desc if f.name not in _SKIP_FIELDS][:MAX_FIELDS]
        lines.append("  " * depth + safe_text(f"{layer.name}: {', '.join(fields)}", 300))
        layer = layer.payload if layer.payload else None
        depth += 1
    return lines
