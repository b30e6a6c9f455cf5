"""The numeric OIDs netop polls (no MIB files needed) and which ones each poll asks for.

Static columns (names, speeds, admin status) change rarely, so they are walked on the
first poll and then only now and then; the counters are walked on every poll. The
32-bit counters are walked only where they are needed: SNMPv1 (which cannot carry
Counter64) and agents where some interface lacks the 64-bit ``ifHC*`` columns.
"""

from __future__ import annotations

Oid = tuple[int, ...]


def _oid(text: str) -> Oid:
    return tuple(int(part) for part in text.split("."))


SYS_UPTIME = _oid("1.3.6.1.2.1.1.3.0")
SYS_NAME = _oid("1.3.6.1.2.1.1.5.0")
ENGINE_ID = _oid("1.3.6.1.6.3.10.2.1.1.0")
SCALARS: tuple[Oid, ...] = (SYS_UPTIME, SYS_NAME, ENGINE_ID)

_IF = "1.3.6.1.2.1.2.2.1."
_IFX = "1.3.6.1.2.1.31.1.1.1."

#: Column name -> OID of the column (the table entry plus the column number).
COLUMNS: dict[str, Oid] = {
    # static
    "descr": _oid(_IF + "2"),
    "type": _oid(_IF + "3"),
    "speed": _oid(_IF + "5"),
    "admin": _oid(_IF + "7"),
    "name": _oid(_IFX + "1"),
    "high_speed": _oid(_IFX + "15"),
    "alias": _oid(_IFX + "18"),
    # every poll
    "oper": _oid(_IF + "8"),
    "in_discards": _oid(_IF + "13"),
    "in_errors": _oid(_IF + "14"),
    "out_discards": _oid(_IF + "19"),
    "out_errors": _oid(_IF + "20"),
    "disc_time": _oid(_IFX + "19"),
    # 64-bit counters
    "hc_in_octets": _oid(_IFX + "6"),
    "hc_in_ucast": _oid(_IFX + "7"),
    "hc_in_mcast": _oid(_IFX + "8"),
    "hc_in_bcast": _oid(_IFX + "9"),
    "hc_out_octets": _oid(_IFX + "10"),
    "hc_out_ucast": _oid(_IFX + "11"),
    "hc_out_mcast": _oid(_IFX + "12"),
    "hc_out_bcast": _oid(_IFX + "13"),
    # 32-bit fallback
    "in_octets": _oid(_IF + "10"),
    "in_ucast": _oid(_IF + "11"),
    "in_nucast": _oid(_IF + "12"),
    "out_octets": _oid(_IF + "16"),
    "out_ucast": _oid(_IF + "17"),
    "out_nucast": _oid(_IF + "18"),
}

STATIC = ("descr", "type", "name", "alias", "speed", "high_speed", "admin")

#: ifType of a software loopback: its nominal speed (net-snmp says 10 Mbit/s) is fiction.
SOFTWARE_LOOPBACK = 24
DYNAMIC = ("oper", "in_discards", "in_errors", "out_discards", "out_errors", "disc_time")
HC = ("hc_in_octets", "hc_out_octets", "hc_in_ucast", "hc_in_mcast", "hc_in_bcast",
      "hc_out_ucast", "hc_out_mcast", "hc_out_bcast")  # fmt: skip
LOW = ("in_octets", "out_octets", "in_ucast", "in_nucast", "out_ucast", "out_nucast")

OPER_STATUS = {1: "up", 2: "down", 3: "testing", 4: "unknown", 5: "dormant",
               6: "notPresent", 7: "lowerLayerDown"}  # fmt: skip


def plan(version: str, static: bool, low: bool) -> tuple[str, ...]:
    """Column names for one poll: ``static`` adds the rarely changing columns, ``low``
    the 32-bit counters. SNMPv1 never asks for the 64-bit ones."""
    names: list[str] = list(STATIC) if static else []
    names += DYNAMIC
    if version != "1":
        names += HC
    if low or version == "1":
        names += LOW
    return tuple(names)
