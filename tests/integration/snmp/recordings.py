"""snmpsim data for the tests: real device recordings and counters that move.

The recordings come from the ``snmpsim-data`` package. Only the system group and the
IF-MIB tables are kept (the rest is what netop never asks for, and makes snmpsim
index for tens of seconds). ``moving_counters`` writes a small agent of its own whose
counters grow at known rates through snmpsim's ``numeric`` variation, one of them a
Counter32 that wraps a few seconds after the simulator starts.
"""

from __future__ import annotations

import bz2
from pathlib import Path

import pytest

#: community (file name) -> path inside snmpsim_data/data
RECORDINGS = {
    "cisco-c3750": "network/switch/cisco-c3750.snmprec.bz2",
    "juniper-mx960": "network/router/juniper-mx960-13-3r9-13.snmprec.bz2",
    "ruijie-n18010": "network/router/ruijie-n18010.snmprec.bz2",
    "cisco-unmarked-0": "network/router/cisco-unmarked-0.snmprec.bz2",
    "h3c-lsq1wcmd0": "network/switch/h3c-comware-lsq1wcmd0-2509p61.snmprec.bz2",
}
_KEEP = ("1.3.6.1.2.1.1.", "1.3.6.1.2.1.2.", "1.3.6.1.2.1.31.")

# Rates the moving agent's counters grow at, in octets per second.
#: ifInOctets.1, a Counter32 on a port of capped ifSpeed (4.29 Gbit/s): at 4 Gbit/s
#: it wraps every 8.6 s, wherever the test starts in the cycle.
WRAP32_RATE = 500_000_000
HC64_RATE = 1_250_000  # ifHCInOctets.2
HC64_OUT_RATE = 625_000


def recordings_root() -> Path:
    try:
        import snmpsim_data
    except ImportError:
        pytest.skip("snmpsim-data is not installed (pip install snmpsim-data)")
    return Path(snmpsim_data.__file__).parent / "data"


def write_recordings(data_dir: Path, names: tuple[str, ...] = tuple(RECORDINGS)) -> None:
    """The IF-MIB part of each named recording, as ``<name>.snmprec``."""
    root = recordings_root()
    for name in names:
        source = root / RECORDINGS[name]
        if not source.exists():
            pytest.skip(f"recording {source} is missing from snmpsim-data")
        with bz2.open(source, "rt", encoding="utf-8", errors="replace") as lines:
            kept = [line for line in lines if line.startswith(_KEEP)]
        (data_dir / f"{name}.snmprec").write_text("".join(kept))


def _oid_key(line: str) -> tuple[int, ...]:
    return tuple(int(p) for p in line.split("|", 1)[0].split("."))


def write_moving_counters(data_dir: Path, community: str = "moving") -> None:
    """An agent with two ports: ``wrap32`` (32-bit only) and ``hc64`` (64-bit)."""
    numeric = "numeric|wrap=1,rate={rate},initial={initial},max={max}"
    c32 = numeric.format(rate="{}", initial="{}", max=2**32)
    c64 = numeric.format(rate="{}", initial="{}", max=2**64)
    lines = [
        "1.3.6.1.2.1.1.3.0|67:numeric|rate=100,initial=0",
        "1.3.6.1.2.1.1.5.0|4|moving-agent",
        "1.3.6.1.2.1.2.2.1.2.1|4|wrap32",
        "1.3.6.1.2.1.2.2.1.2.2|4|hc64",
        "1.3.6.1.2.1.2.2.1.5.1|66|4294967295",
        "1.3.6.1.2.1.2.2.1.5.2|66|4294967295",
        "1.3.6.1.2.1.2.2.1.8.1|2|1",
        "1.3.6.1.2.1.2.2.1.8.2|2|1",
        f"1.3.6.1.2.1.2.2.1.10.1|65:{c32.format(WRAP32_RATE, 0)}",
        "1.3.6.1.2.1.2.2.1.11.1|65:numeric|rate=100,initial=0",
        "1.3.6.1.2.1.2.2.1.16.1|65:numeric|rate=1000,initial=0",
        "1.3.6.1.2.1.2.2.1.17.1|65:numeric|rate=10,initial=0",
        "1.3.6.1.2.1.31.1.1.1.1.2|4|hc64",
        f"1.3.6.1.2.1.31.1.1.1.6.2|70:{c64.format(HC64_RATE, 2**40)}",
        "1.3.6.1.2.1.31.1.1.1.7.2|70:numeric|rate=1000,initial=0",
        f"1.3.6.1.2.1.31.1.1.1.10.2|70:{c64.format(HC64_OUT_RATE, 2**41)}",
        "1.3.6.1.2.1.31.1.1.1.11.2|70:numeric|rate=500,initial=0",
        "1.3.6.1.2.1.31.1.1.1.15.2|66|1000",
    ]
    lines.sort(key=_oid_key)
    (data_dir / f"{community}.snmprec").write_text("\n".join(lines) + "\n")
