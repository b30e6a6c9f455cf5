"""NetFlow v9 / IPFIX templates: one compiled decoder per data template layout.

A data template is compiled once into a ``struct.Struct`` that unpacks only the fields
netop uses (others become pad bytes) and one generated function, :attr:`Template.aggregate`,
that decodes a set body and merges every record straight into a flow table keyed by
:data:`~netop.sources.collector.records.FlowKey` (no tuple or object per record). That
keeps the per-record work inside C (``iter_unpack``) plus one key build, which is what
lets a Python collector decode over a million records per second. Templates with
variable-length fields get the same function over rows from a per-record parser
instead of ``iter_unpack``. The generated source is built only from integers and fixed
names, never from text received off the network.
"""

from __future__ import annotations

import contextlib
import re
import struct
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

from netop.sources.collector import fastpath
from netop.sources.collector.records import FlowTable

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
#: ifIndex of the flow's interfaces; the physical ones stand in when 10/14 are absent.
IE_INGRESS_IF, IE_EGRESS_IF, IE_INGRESS_PHYS_IF, IE_EGRESS_PHYS_IF = 10, 14, 252, 253
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
     IE_ICMP_TYPE6, IE_ICMP_CODE6, IE_INGRESS_IF, IE_EGRESS_IF, IE_INGRESS_PHYS_IF,
     IE_EGRESS_PHYS_IF, *_TIME_IES}
)  # fmt: skip
_ADDR_IES = {IE_SRC4: 4, IE_DST4: 4, IE_SRC6: 16, IE_DST6: 16}
_INT_CODES = {1: "B", 2: "H", 4: "I", 8: "Q"}
_FIELD_NAME = re.compile(r"\bv[0-9]")  # an unpacked field in a generated expression
_NTP_EPOCH = 2208988800

#: Set body -> sums merged into a flow table: (body, export_ms, uptime_ms, sampling,
#: table, room for new keys) -> (room left, records that found no room, records).
#: A fixed-length template's body must hold whole records (callers cut the padding).
Aggregate: TypeAlias = Callable[
    [bytes | memoryview, float, float | None, int, FlowTable, int],
    tuple[int, int, int],
]


@dataclass(slots=True, eq=False)
class Template:
    """A compiled data or options template (hashed by identity)."""

    template_id: int
    fields: tuple[FieldSpec, ...]
    scope_count: int = 0
    options: bool = False
    min_length: int = 0
    fixed_length: int | None = None
    struct: struct.Struct | None = None
    picks: tuple[tuple[int, int, str], ...] = ()  # (field index, ie, struct code)
    aggregate: Aggregate | None = None
    has_uptime: bool = False
    #: The records' times depend on the export time (delta fields, or no time field).
    uses_export_time: bool = True
    seen: float = 0.0
    #: False for a definition not compiled yet: compiling waits for the first data
    #: set that needs it (templates without data, a cheap flood, cost no compiling).
    ready: bool = True

    def rows(self, body: bytes | memoryview) -> Iterable[tuple[Any, ...]]:
        """The used fields of every whole record in ``body`` (trailing padding ignored)."""
        if self.struct is not None and self.fixed_length:
            usable = len(body) - len(body) % self.fixed_length
            return self.struct.iter_unpack(body[:usable])
        return _varlen_rows(self, body)


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
        slow = _time_exprs({ie: f"v{n}" for n, (_, ie, _) in enumerate(picks)})["slow"]
        tpl.uses_export_time = "E" in "".join(slow)
        tpl.aggregate, tpl.has_uptime = _make_aggregate(picks, tpl)
        native = fastpath.load() if tpl.fixed_length else None
        if native is not None:
            # The C layout calls the Python function for inputs outside its domain.
            with contextlib.suppress(ValueError, OverflowError):
                tpl.aggregate = native.Layout(c_layout(tpl), tpl.aggregate)
        if any(pen == REVERSE_PEN and ie in _REVERSIBLE for ie, _, pen in fields):
            reverse = compile_template(template_id, reverse_fields(fields))
            assert tpl.aggregate is not None
            assert reverse.aggregate is not None
            tpl.aggregate = _biflow(tpl.aggregate, reverse.aggregate)
    return tpl


#: RFC 5103: a biflow's reverse counters are the forward elements under this PEN.
REVERSE_PEN = 29305
#: Elements whose reverse twin (under REVERSE_PEN) counts the other direction.
_REVERSIBLE = frozenset({IE_BYTES, IE_PACKETS, IE_TOTAL_BYTES, IE_TOTAL_PACKETS, IE_FLAGS})
#: Marks a field the reverse reading skips (any enterprise number but REVERSE_PEN).
_UNUSED_PEN = 1
#: Elements that trade places when a biflow is read the other way round.
_SWAPPED = {IE_SRC4: IE_DST4, IE_DST4: IE_SRC4, IE_SRC6: IE_DST6, IE_DST6: IE_SRC6,
            IE_SPORT: IE_DPORT, IE_DPORT: IE_SPORT, IE_INGRESS_IF: IE_EGRESS_IF,
            IE_EGRESS_IF: IE_INGRESS_IF, IE_INGRESS_PHYS_IF: IE_EGRESS_PHYS_IF,
            IE_EGRESS_PHYS_IF: IE_INGRESS_PHYS_IF}  # fmt: skip


def reverse_fields(fields: Sequence[FieldSpec]) -> tuple[FieldSpec, ...]:
    """An RFC 5103 biflow template read as its reverse direction: addresses, ports and
    interfaces swapped, the reverse counters as the counters, the forward ones unused
    (an enterprise number marks a field unused; the layout stays the same)."""
    out: list[FieldSpec] = []
    for ie, length, pen in fields:
        if ie in _REVERSIBLE and pen in (0, REVERSE_PEN):
            out.append((ie, length, 0 if pen else _UNUSED_PEN))
        elif pen == 0:
            out.append((_SWAPPED.get(ie, ie), length, 0))
        else:
            out.append((ie, length, pen))
    return tuple(out)


def _biflow(forward: Aggregate, reverse: Aggregate) -> Aggregate:
    """Decode each biflow record as two: the forward direction, then the reverse one
    (when it carried packets; an ICMP request's reverse is its reply type)."""
    from netop.packet.decode import reverse_ports

    def aggregate(body: bytes | memoryview, export_ms: float, uptime: float | None,
                  sampling: int, table: FlowTable, room: int) -> tuple[int, int, int]:
        room, over, records = forward(body, export_ms, uptime, sampling, table, room)
        # One datagram's records at most: bounded by the body.
        back: FlowTable = {}
        reverse(body, export_ms, uptime, sampling, back, records + 1)
        for key, sums in back.items():
            if not sums[0]:
                continue
            proto = key[0]
            if proto in (1, 58) and isinstance(key[2], int):
                # Read backwards the request's type*256+code landed in sport.
                key = (proto, key[1], 0, key[3], reverse_ports(proto, 0, key[2])[1], *key[5:])
            mine = table.get(key)
            if mine is None:
                if room > 0:
                    table[key] = sums
                    room -= 1
                else:
                    over += 1
                continue
            mine[0] += sums[0]
            mine[1] += sums[1]
            mine[2] = min(mine[2], sums[2])
            mine[3] = max(mine[3], sums[3])
            mine[4] |= sums[4]
        return room, over, records

    return aggregate


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


def _expressions(picks: Sequence[tuple[int, int, str]], tpl: Template) -> dict[str, Any]:
    """Python expressions for each canonical field, over unpacked names v0, v1, ..."""
    names: dict[int, str] = {}
    lengths: dict[int, int] = {}
    for slot, (index, ie, code) in enumerate(picks):
        name = f"v{slot}"
        if code == "s" and ie not in _ADDR_IES:
            name = f"_int(v{slot}, 'big')"
        names.setdefault(ie, name)
        lengths.setdefault(ie, tpl.fields[index][1])
    unpack = ", ".join(f"v{slot}" for slot in range(len(picks)))

    def pick(*ies: int, default: str = "0") -> str:
        return next((names[ie] for ie in ies if ie in names), default)

    proto = pick(IE_PROTO)
    sport, dport = pick(IE_SPORT), pick(IE_DPORT)
    icmp = pick(IE_ICMP4, IE_ICMP6, default="")
    if not icmp:
        t, c = pick(IE_ICMP_TYPE4, IE_ICMP_TYPE6, default=""), pick(IE_ICMP_CODE4, IE_ICMP_CODE6)
        icmp = f"({t} * 256 + {c})" if t else ""
    if icmp and dport == "0":
        dport = f"({icmp} if {proto} in (1, 58) else 0)"
    elif icmp:
        dport = f"(({icmp} or {dport}) if {proto} in (1, 58) else {dport})"
    vlan_name = pick(IE_VLAN, IE_DOT1Q_VLAN, default="")
    flags = pick(IE_FLAGS)
    if lengths.get(IE_FLAGS, 1) > 1:
        flags = f"({flags} & 255)"
    times = _time_exprs(names)
    # ifIndex 0 (no interface) stays 0 in the key: the drain makes it null, once a flow.
    in_if = pick(IE_INGRESS_IF, IE_INGRESS_PHYS_IF, default="None")
    out_if = pick(IE_EGRESS_IF, IE_EGRESS_PHYS_IF, default="None")
    return {
        "target": f"({unpack},)" if picks else "_",
        "key": (f"{proto}, {pick(IE_SRC4, IE_SRC6, default=repr(b''))}, {sport}, "
                f"{pick(IE_DST4, IE_DST6, default=repr(b''))}, {dport}, "
                + (f"({vlan_name} & 4095 or None)" if vlan_name else "None")
                + f", {in_if}, {out_if}"),
        "packets": pick(IE_PACKETS, IE_TOTAL_PACKETS),
        "octets": pick(IE_BYTES, IE_TOTAL_BYTES),
        "flags": flags,
        "times": times,
        "uses_uptime": times["fast"] != times["slow"],
    }  # fmt: skip


def _uptime_variants(
    x: dict[str, Any], emit: Callable[[tuple[str, str], str], list[str]]
) -> list[str]:
    """Function body choosing the time expressions once per call, not per record."""
    times = x["times"]
    if not x["uses_uptime"]:
        return emit(times["slow"], "    ")
    # Without a known boot time the export time is the best estimate there is.
    lines = ["    if U is None:", *emit(("E / 1000", "E / 1000"), "        ")]
    # Past 2^26 ms (18.6 h) of uptime no exported flow can straddle a wrap of the
    # 32-bit uptime, so plain "boot time + uptime" is exact and much cheaper.
    lines += ["    U = int(U)", "    B = E - U", "    if U >= 67108864:"]
    lines += emit(times["fast"], "        ")
    return [*lines, "    T = U + 2147483648", *emit(times["slow"], "    ")]


def _compile(lines: list[str], name: str, tpl: Template) -> Any:
    namespace: dict[str, Any] = {"_int": int.from_bytes, "_NTP": _NTP_EPOCH}
    if tpl.struct is not None:
        namespace["_iter"] = tpl.struct.iter_unpack
    else:
        namespace["_iter"] = lambda body: _varlen_rows(tpl, body)
    exec("\n".join(lines), namespace)  # noqa: S102 - source built from integers only
    return namespace[name]


def _make_aggregate(
    picks: Sequence[tuple[int, int, str]], tpl: Template
) -> tuple[Aggregate, bool]:
    """Generate decode-and-merge for one template layout: no tuple per record.

    Also returns whether the records' times depend on the exporter's sysUptime.
    """
    x = _expressions(picks, tpl)
    if tpl.fixed_length:
        count = f"len(body) // {tpl.fixed_length}"
        rows = "_iter(body)"
    else:
        count = "len(rows)"
        rows = "rows"

    def emit(first_last: tuple[str, str], indent: str) -> list[str]:
        first, last = first_last
        out: list[str] = []
        # Times that depend on no field (export time, or none) are computed once a call.
        per_record = [f"f = {first}", f"l = {last}" if last != first else "l = f"]
        if not _FIELD_NAME.search(first + last):
            out += [f"{indent}{line}" for line in per_record]
            per_record = []
        for cond, mult in (("if S == 1:", ""), ("else:", " * S")):
            i = indent + "    "
            packets, octets = f"{x['packets']}{mult}", f"{x['octets']}{mult}"
            out += [
                f"{indent}{cond}",
                f"{i}for {x['target']} in {rows}:",
                f"{i}    k = ({x['key']})",
                *(f"{i}    {line}" for line in per_record),
                f"{i}    e = get(k)",
                f"{i}    if e is None:",
                f"{i}        if room > 0:",
                f"{i}            table[k] = [{packets}, {octets}, f, l, {x['flags']}]",
                f"{i}            room -= 1",
                f"{i}        else:",
                f"{i}            over += 1",
                f"{i}        continue",
                f"{i}    e[0] += {packets}",
                f"{i}    e[1] += {octets}",
                f"{i}    if f < e[2]:",
                f"{i}        e[2] = f",
                f"{i}    if l > e[3]:",
                f"{i}        e[3] = l",
                f"{i}    e[4] |= {x['flags']}",
            ]
        return [*out, f"{indent}return room, over, {count}"]

    lines = ["def aggregate(body, E, U, S, table, room):", "    get = table.get", "    over = 0"]
    if not tpl.fixed_length:
        lines.append("    rows = _iter(body)")
    lines += _uptime_variants(x, emit)
    aggregate: Aggregate = _compile(lines, "aggregate", tpl)
    return aggregate, bool(x["uses_uptime"])


def _time_exprs(names: dict[int, str]) -> dict[str, tuple[str, str]]:
    """first/last expressions from the best time fields present: "fast" assumes no
    uptime wrap, "slow" handles it (they are equal when no uptime field is used)."""
    best: dict[bool, tuple[int, str, str]] = {}
    for ie, (is_start, kind) in _TIME_IES.items():
        if ie in names:
            rank = _TIME_RANK[kind]
            if is_start not in best or rank < best[is_start][0]:
                best[is_start] = (rank, kind, names[ie])
    fast: dict[bool, str] = {}
    slow: dict[bool, str] = {}
    for is_start in (True, False):
        if is_start not in best:
            continue
        _, kind, name = best[is_start]
        if kind == "uptime":
            # The signed 32-bit distance from "now" in sysUptime ms survives a wrap.
            # For U < 2^31 that is B + v, less 2^32 for a v from before the last wrap.
            slow[is_start] = f"((B + {name}) if {name} <= T else (B - 4294967296 + {name})) * 0.001"
            fast[is_start] = f"(B + {name}) * 0.001"
            continue
        if kind == "ms":
            expr = f"{name} * 0.001"
        elif kind == "sec":
            expr = f"{name} * 1.0"
        elif kind == "ntp":
            expr = f"(({name} >> 32) - _NTP + ({name} & 4294967295) / 4294967296)"
        else:
            expr = f"(E / 1000 - {name} / 1e6)"
        fast[is_start] = slow[is_start] = expr
    out: dict[str, tuple[str, str]] = {}
    for label, exprs in (("fast", fast), ("slow", slow)):
        first = exprs.get(True, exprs.get(False, "E / 1000"))
        out[label] = (first, exprs.get(False, first))
    return out


#: Roles of the C layout, in its order: the information elements that fill each one,
#: first present first (as ``_expressions`` picks them).
_C_ROLES: tuple[tuple[int, ...], ...] = (
    (IE_PROTO,), (IE_SRC4, IE_SRC6), (IE_DST4, IE_DST6), (IE_SPORT,), (IE_DPORT,),
    (IE_ICMP4, IE_ICMP6), (IE_ICMP_TYPE4, IE_ICMP_TYPE6), (IE_ICMP_CODE4, IE_ICMP_CODE6),
    (IE_VLAN, IE_DOT1Q_VLAN), (IE_FLAGS,), (IE_INGRESS_IF, IE_INGRESS_PHYS_IF),
    (IE_EGRESS_IF, IE_EGRESS_PHYS_IF), (IE_PACKETS, IE_TOTAL_PACKETS),
    (IE_BYTES, IE_TOTAL_BYTES),
)  # fmt: skip
_C_TIME_KINDS = {"ms": 1, "ntp": 2, "sec": 3, "uptime": 4, "delta_us": 5}


def c_layout(tpl: Template) -> tuple[int, ...]:
    """The flat description ``_fastcoll.Layout`` takes for a fixed-length data template:
    record length, (offset, length) per role (0, 0 when absent), the time kinds of
    first and last (0: the export time), and how dport is chosen. It encodes the same
    choices as :func:`_expressions`, which the differential tests hold it to."""
    assert tpl.fixed_length
    offsets, pos = [], 0
    for _, length, _ in tpl.fields:
        offsets.append(pos)
        pos += length
    at: dict[int, tuple[int, int]] = {}
    for index, ie, _ in tpl.picks:
        at.setdefault(ie, (offsets[index], tpl.fields[index][1]))

    def pick(ies: tuple[int, ...]) -> tuple[int, int]:
        return next((at[ie] for ie in ies if ie in at), (0, 0))

    roles = [pick(ies) for ies in _C_ROLES]
    icmp, icmp_type, dport = roles[5], roles[6], roles[4]
    if icmp[1]:
        roles[6] = roles[7] = (0, 0)  # the combined element wins over type and code
    elif not icmp_type[1]:
        roles[7] = (0, 0)  # a code without a type is no ICMP field
    mode = 0 if not (icmp[1] or icmp_type[1]) else (2 if dport[1] else 1)
    best: dict[bool, tuple[int, str, int]] = {}
    for ie, (is_start, kind) in _TIME_IES.items():
        if ie in at and (is_start not in best or _TIME_RANK[kind] < best[is_start][0]):
            best[is_start] = (_TIME_RANK[kind], kind, ie)
    first = best.get(True, best.get(False))
    last = best.get(False, first)
    times: list[int] = []
    kinds: list[int] = []
    for chosen in (first, last):
        times += at[chosen[2]] if chosen else (0, 0)
        kinds.append(_C_TIME_KINDS[chosen[1]] if chosen else 0)
    flat = [value for role in roles for value in role]
    return (tpl.fixed_length, *flat, *times, *kinds, mode)


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
