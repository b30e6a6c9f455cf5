"""NetFlow v9 / IPFIX templates: compiled record decoders and the bounded template cache.

A data template is compiled once, when it arrives, into a ``struct.Struct`` that
unpacks only the fields netop uses (others become pad bytes) and a small generated
function that turns the unpacked rows into canonical :data:`RawFlow` tuples in one
list comprehension. That keeps the per-record work inside C (``iter_unpack``) plus one
tuple build, which is what lets a Python collector decode over a million records per
second. The generated source is built only from integers and fixed names, never from
text received off the network. Templates with variable-length fields fall back to a
per-record parser that produces the same rows.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias

from netop.sources.collector.records import RawFlow

#: One field specifier: (information element id, length, enterprise number or 0).
FieldSpec: TypeAlias = tuple[int, int, int]
VARLEN = 65535

# Information elements (IANA IPFIX registry; v9 uses the same numbers for these).
IE_BYTES, IE_PACKETS, IE_PROTO, IE_FLAGS, IE_SPORT, IE_SRC4 = 1, 2, 4, 6, 7, 8
IE_DPORT, IE_DST4, IE_LAST_UP, IE_FIRST_UP, IE_SRC6, IE_DST6 = 11, 12, 21, 22, 27, 28
IE_ICMP4, IE_ICMP6, IE_VLAN, IE_DOT1Q_VLAN = 32, 139, 58, 243
IE_TOTAL_BYTES, IE_TOTAL_PACKETS = 85, 86
IE_ICMP_TYPE4, IE_ICMP_CODE4, IE_ICMP_TYPE6, IE_ICMP_CODE6 = 176, 177, 178, 179
IE_SAMPLING_INTERVAL, IE_SAMPLER_RANDOM_INTERVAL = 34, 50
IE_SAMPLING_PACKET_INTERVAL, IE_SAMPLING_PACKET_SPACE = 305, 306
IE_SAMPLING_SIZE, IE_SAMPLING_POPULATION = 309, 310
IE_SYSTEM_INIT_MS = 160
#: Absolute time elements: id -> (is_start, kind).
_TIME_IES: dict[int, tuple[bool, str]] = {
    22: (True, "uptime"), 21: (False, "uptime"),
    150: (True, "sec"), 151: (False, "sec"),
    152: (True, "ms"), 153: (False, "ms"),
    154: (True, "ntp"), 155: (False, "ntp"),
    156: (True, "ntp"), 157: (False, "ntp"),
    158: (True, "delta_us"), 159: (False, "delta_us"),
}  # fmt: skip
_TIME_RANK = {"ms": 0, "ntp": 1, "sec": 2, "uptime": 3, "delta_us": 4}
_NUMERIC_IES = frozenset(
    {IE_BYTES, IE_PACKETS, IE_PROTO, IE_FLAGS, IE_SPORT, IE_DPORT, IE_ICMP4, IE_ICMP6,
     IE_VLAN, IE_DOT1Q_VLAN, IE_TOTAL_BYTES, IE_TOTAL_PACKETS, IE_ICMP_TYPE4, IE_ICMP_CODE4,
     IE_ICMP_TYPE6, IE_ICMP_CODE6, *_TIME_IES}
)  # fmt: skip
_ADDR_IES = {IE_SRC4: 4, IE_DST4: 4, IE_SRC6: 16, IE_DST6: 16}
_INT_CODES = {1: "B", 2: "H", 4: "I", 8: "Q"}
_NTP_EPOCH = 2208988800

#: Rows -> records: (rows, export_ms, uptime_ms or None, sampling) -> list of RawFlow.
Converter: TypeAlias = Callable[
    [Iterable[tuple[Any, ...]], float, float | None, int], list[RawFlow]
]


@dataclass(slots=True)
class Template:
    """A compiled data or options template."""

    template_id: int
    fields: tuple[FieldSpec, ...]
    scope_count: int = 0
    options: bool = False
    min_length: int = 0
    fixed_length: int | None = None
    struct: struct.Struct | None = None
    picks: tuple[tuple[int, int, str], ...] = ()  # (field index, ie, struct code)
    convert: Converter | None = None
    has_uptime: bool = False
    seen: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    def rows(self, body: bytes | memoryview) -> Iterable[tuple[Any, ...]]:
        """The used fields of every whole record in ``body`` (trailing padding ignored)."""
        if self.struct is not None and self.fixed_length:
            usable = len(body) - len(body) % self.fixed_length
            return self.struct.iter_unpack(body[:usable])
        return _varlen_rows(self, body)

    def count_records(self, body: bytes | memoryview) -> int:
        """How many records a set body holds (fixed-length templates only, else -1)."""
        if self.fixed_length:
            return len(body) // self.fixed_length
        return -1


def compile_template(
    template_id: int, fields: Sequence[FieldSpec], scope_count: int = 0, options: bool = False
) -> Template:
    """Build the decoder for one template record (never raises for any field list)."""
    fields = tuple(fields)
    fixed = all(length != VARLEN for _, length, _ in fields)
    min_length = sum(0 if length == VARLEN else length for _, length, _ in fields)
    min_length += sum(1 for _, length, _ in fields if length == VARLEN)
    tpl = Template(template_id, fields, scope_count, options, min_length)
    fmt = ["!"]
    picks: list[tuple[int, int, str]] = []
    used: set[tuple[int, int]] = set()
    for index, (ie, length, pen) in enumerate(fields):
        # Only the first occurrence of an element is used: a template repeating one
        # element thousands of times must not make a huge generated function.
        code = None if (ie, pen) in used else _code_for(ie, length, pen, options)
        if code is None:
            if length != VARLEN:
                fmt.append(f"{length}x")
            continue
        used.add((ie, pen))
        picks.append((index, ie, code))
        fmt.append(code if code in "BHIQ" else f"{length}s")
    tpl.picks = tuple(picks)
    if fixed and min_length > 0:
        tpl.fixed_length = min_length
        tpl.struct = struct.Struct("".join(fmt))
    if not options:
        tpl.convert, tpl.has_uptime = _make_converter(picks)
    return tpl


def _code_for(ie: int, length: int, pen: int, options: bool) -> str | None:
    if pen or length == VARLEN or length == 0:
        return None
    if options:
        return _INT_CODES.get(length, "s") if length <= 8 else None
    if ie in _ADDR_IES:
        return "s" if length == _ADDR_IES[ie] else None
    if ie in _NUMERIC_IES and length <= 8:
        return _INT_CODES.get(length, "s")
    return None


def _varlen_rows(tpl: Template, body: bytes | memoryview) -> list[tuple[Any, ...]]:
    """Parse records field by field; stops at the first record that does not fit."""
    data = bytes(body)
    wanted = {index: code for index, _, code in tpl.picks}
    rows: list[tuple[Any, ...]] = []
    pos, end = 0, len(data)
    while end - pos >= tpl.min_length and tpl.min_length > 0:
        row: list[Any] = []
        for index, (_, length, _) in enumerate(tpl.fields):
            if length == VARLEN:
                if pos >= end:
                    return rows
                length, pos = data[pos], pos + 1
                if length == 255:
                    if pos + 2 > end:
                        return rows
                    length, pos = int.from_bytes(data[pos : pos + 2], "big"), pos + 2
            if pos + length > end:
                return rows
            code = wanted.get(index)
            if code is not None:
                chunk = data[pos : pos + length]
                row.append(chunk if code == "s" else int.from_bytes(chunk, "big"))
            pos += length
        rows.append(tuple(row))
    return rows


def _make_converter(picks: Sequence[tuple[int, int, str]]) -> tuple[Converter, bool]:
    """Generate the rows -> RawFlow converter for one template layout."""
    names: dict[int, str] = {}
    for slot, (_, ie, code) in enumerate(picks):
        name = f"v{slot}"
        if code == "s" and ie not in _ADDR_IES:
            name = f"_int(v{slot}, 'big')"
        names.setdefault(ie, name)
    unpack = ", ".join(f"v{slot}" for slot in range(len(picks)))
    target = f"({unpack},)" if picks else "_"

    def pick(*ies: int, default: str = "0") -> str:
        return next((names[ie] for ie in ies if ie in names), default)

    src = pick(IE_SRC4, IE_SRC6, default="b''")
    dst = pick(IE_DST4, IE_DST6, default="b''")
    proto = pick(IE_PROTO)
    sport, dport = pick(IE_SPORT), pick(IE_DPORT)
    icmp = pick(IE_ICMP4, IE_ICMP6, default="")
    if not icmp:
        t, c = pick(IE_ICMP_TYPE4, IE_ICMP_TYPE6, default=""), pick(IE_ICMP_CODE4, IE_ICMP_CODE6)
        icmp = f"({t} * 256 + {c})" if t else ""
    if icmp:
        dport = f"(({icmp} or {dport}) if {proto} in (1, 58) else {dport})"
    vlan = f"({pick(IE_VLAN, IE_DOT1Q_VLAN)} & 4095 or None)"
    packets, octets = pick(IE_PACKETS, IE_TOTAL_PACKETS), pick(IE_BYTES, IE_TOTAL_BYTES)
    flags = f"({pick(IE_FLAGS)} & 255)"
    first, last, uses_uptime = _time_exprs(names)
    body = (
        f"({proto}, {src}, {sport}, {dst}, {dport}, {vlan}, {packets}{{m}}, {octets}{{m}}, "
        "{first}, {last}, " + flags + f") for {target} in rows"
    )
    lines = ["def convert(rows, E, U, S):"]
    if uses_uptime:
        # Uptime-relative times without a known boot time: the export time is the
        # best estimate there is.
        now = body.format(m=" * S", first="E / 1000", last="E / 1000")
        lines += ["    if U is None:", f"        return [{now}]", "    U = int(U)"]
    lines += [
        "    if S == 1:",
        "        return [" + body.format(m="", first=first, last=last) + "]",
        "    return [" + body.format(m=" * S", first=first, last=last) + "]",
    ]
    namespace: dict[str, Any] = {"_int": int.from_bytes, "_NTP": _NTP_EPOCH}
    exec("\n".join(lines), namespace)  # noqa: S102 - source built from integers only
    converter: Converter = namespace["convert"]
    return converter, uses_uptime


def _time_exprs(names: dict[int, str]) -> tuple[str, str, bool]:
    """Expressions for first/last epoch seconds from the best time fields present."""
    best: dict[bool, tuple[int, str, str]] = {}
    for ie, (is_start, kind) in _TIME_IES.items():
        if ie in names:
            rank = _TIME_RANK[kind]
            if is_start not in best or rank < best[is_start][0]:
                best[is_start] = (rank, kind, names[ie])
    exprs: dict[bool, str] = {}
    uses_uptime = False
    for is_start in (True, False):
        if is_start not in best:
            continue
        _, kind, name = best[is_start]
        if kind == "uptime":
            # Signed 32-bit distance from "now" in sysUptime ms survives uptime wrap.
            exprs[is_start] = f"(E - ((U - {name} + 2147483648) & 4294967295) + 2147483648) / 1000"
            uses_uptime = True
        elif kind == "ms":
            exprs[is_start] = f"{name} / 1000"
        elif kind == "sec":
            exprs[is_start] = f"{name} * 1.0"
        elif kind == "ntp":
            exprs[is_start] = f"(({name} >> 32) - _NTP + ({name} & 4294967295) / 4294967296)"
        else:
            exprs[is_start] = f"(E / 1000 - {name} / 1e6)"
    first = exprs.get(True, exprs.get(False, "E / 1000"))
    last = exprs.get(False, first)
    return first, last, uses_uptime


def options_values(tpl: Template, body: bytes | memoryview) -> list[dict[int, int | bytes]]:
    """Options data records as {information element: value} (scope fields included)."""
    out: list[dict[int, int | bytes]] = []
    for row in tpl.rows(body):
        out.append({ie: value for (_, ie, _), value in zip(tpl.picks, row, strict=False)})
    return out


def sampling_from_options(values: dict[int, int | bytes]) -> int | None:
    """A sampling rate (1 in N) from one options record, or None when it carries none."""

    def num(ie: int) -> int | None:
        value = values.get(ie)
        if isinstance(value, bytes):
            return int.from_bytes(value, "big") if value else None
        return value

    for ie in (IE_SAMPLING_INTERVAL, IE_SAMPLER_RANDOM_INTERVAL):
        rate = num(ie)
        if rate:
            return max(1, min(rate, 1 << 30))
    interval, space = num(IE_SAMPLING_PACKET_INTERVAL), num(IE_SAMPLING_PACKET_SPACE)
    if interval:
        return max(1, min((interval + (space or 0)) // interval, 1 << 30))
    size, population = num(IE_SAMPLING_SIZE), num(IE_SAMPLING_POPULATION)
    if size and population:
        return max(1, min(population // size, 1 << 30))
    return None
