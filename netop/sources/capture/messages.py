"""What the capture child and its parent say to each other, typed, in one place.

Parent -> child, on the child's stdin: first one line of JSON, the :class:`ChildConfig`
(checked field by field: it may come from a less privileged caller, through sudo or the
capture launcher), then control lines: :func:`watch_line`, :func:`pcap_line` and :data:`STOP`.

Child -> parent, on its stdout: :class:`Ready`, :class:`Batch`, :class:`Event`,
:class:`Writing` and :class:`Fatal`, each ``marshal``-encoded as ``(kind, *fields)``
(plain data only) and prefixed with its length as a little-endian u32.

The child stays small (see ``tests/unit/sources/capture/test_child_imports.py``): this
module imports neither the model nor dataclasses, only named tuples.
"""

from __future__ import annotations

import json
import marshal
import struct
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple

from netop.packet.pcapfile import MAX_SNAPLEN

if TYPE_CHECKING:
    from netop.model import FlowKey
    from netop.sources.capture.aggregate import Row
    from netop.sources.capture.watch import WatchedWire

_LEN = struct.Struct("<I")
#: A config line longer than this is refused.
MAX_CONFIG_BYTES = 65536
#: The control line that asks the child for its last batch.
STOP = b"stop\n"


class Ready(NamedTuple):
    """The rings are open and filtered: packets from now on are counted."""

    interfaces: list[str]


class Batch(NamedTuple):
    """One tick: flow rows (a FlowRecord's fields in its order), cumulative counters
    (``packets``, ``kernel_drops``, ``sampling``...; empty for a mid-tick batch sent
    because the aggregator filled up) and the watched flow's new packets."""

    rows: list[Row]
    stats: dict[str, int]
    watched: WatchedWire | None


class Event(NamedTuple):
    """A line for the event log; ``severity`` is a :class:`netop.model.Severity` value."""

    severity: int
    text: str


class Fatal(NamedTuple):
    """Why the child cannot capture; it exits after sending this."""

    text: str


class Writing(NamedTuple):
    """The pcap file the child writes the capture to: its path (``""``: none), the
    bytes written so far and, when opening or writing it failed, why (``""``: fine).
    Sent when writing starts or stops and every tick while it writes."""

    path: str
    bytes: int
    error: str


Message = Ready | Batch | Event | Writing | Fatal
_KINDS: dict[str, type[Ready] | type[Batch] | type[Event] | type[Writing] | type[Fatal]] = {
    "ready": Ready,
    "batch": Batch,
    "event": Event,
    "writing": Writing,
    "fatal": Fatal,
}
_NAMES = {cls: name for name, cls in _KINDS.items()}


def encode(message: Message) -> bytes:
    """One framed message."""
    body = marshal.dumps((_NAMES[type(message)], *message))
    return _LEN.pack(len(body)) + body


def decode(body: bytes) -> Message:
    """The message of one frame's body; ``ValueError`` when it is damaged."""
    try:
        data = marshal.loads(body)
    except (EOFError, ValueError, TypeError):
        raise ValueError("not a marshal frame") from None
    if not isinstance(data, tuple) or not data or not isinstance(data[0], str):
        raise ValueError("not a message")
    cls = _KINDS.get(data[0])
    if cls is None or len(data) - 1 != len(cls._fields):
        raise ValueError(f"unknown message {str(data[0])[:20]!r}")
    return cls(*data[1:])


def watch_line(flow: FlowKey | None) -> bytes:
    """The control line that starts (or, with ``None``, stops) watching one flow."""
    return b"watch " + json.dumps(flow).encode() + b"\n"


def pcap_line(path: str | None) -> bytes:
    """The control line that starts writing the capture to the pcap file ``path`` (an
    absolute path) or, with ``None``, stops writing."""
    return b"pcap " + json.dumps(path).encode() + b"\n"


def parse_pcap_path(value: Any) -> str | None:
    """The path of a ``pcap`` control line's JSON value (``None``: stop); ``ValueError``
    for anything the parent could not have sent."""
    if value is None:
        return None
    if not _path(value):
        raise ValueError("pcap path must be an absolute path")
    return str(value)


class ChildConfig(NamedTuple):
    """The child's whole configuration; the parent fills every field."""

    interfaces: list[str]
    filter: str | None = None
    promiscuous: bool = True
    ring_mb: int = 16
    sampling: bool = True
    sample: int = 1
    interval: float = 1.0
    max_flows: int = 1_000_000
    write: str | None = None
    rotate_mb: float | None = None
    max_files: int | None = None
    snaplen: int = MAX_SNAPLEN
    user: str | None = None
    flow_packets: int = 16
    flow_rings: int = 2048

    def to_line(self) -> bytes:
        """The config line the child reads first."""
        return json.dumps(self._asdict()).encode() + b"\n"


class ConfigRejected(ValueError):
    """The child's configuration is not one the parent could have sent."""


_IFNAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.:@-")


def _int_in(low: int, high: int) -> Callable[[Any], bool]:
    return lambda v: type(v) is int and low <= v <= high


def _num_in(low: float, high: float) -> Callable[[Any], bool]:
    return lambda v: type(v) in (int, float) and low <= v <= high


def _ifname(v: Any) -> bool:
    return (
        isinstance(v, str)
        and 1 <= len(v) <= 15
        and v not in (".", "..")
        and set(v) <= _IFNAME_CHARS
    )


def _path(v: Any) -> bool:
    return isinstance(v, str) and v.startswith("/") and "\0" not in v and len(v) < 4096


#: A check for each field, with what it must be; anything else, or a value out of range,
#: ends the child before it opens a socket.
_CHECKS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "interfaces": (
        lambda v: isinstance(v, list) and 1 <= len(v) <= 64 and all(map(_ifname, v)),
        "1..64 interface names (letters, digits, _.:@-, at most 15 characters)",
    ),
    "filter": (lambda v: v is None or (isinstance(v, str) and len(v) <= 8192), "text"),
    "promiscuous": (lambda v: type(v) is bool, "true or false"),
    "ring_mb": (_int_in(1, 1024), "1..1024"),
    "sampling": (lambda v: type(v) is bool, "true or false"),
    "sample": (_int_in(1, 65536), "1..65536"),
    "interval": (_num_in(0.05, 3600), "0.05..3600 seconds"),
    "max_flows": (_int_in(1, 50_000_000), "1..50000000"),
    "write": (lambda v: v is None or _path(v), "an absolute path"),
    "rotate_mb": (lambda v: v is None or _num_in(0.001, 1e6)(v), "0.001..1000000"),
    "max_files": (lambda v: v is None or _int_in(1, 100_000)(v), "1..100000"),
    "snaplen": (_int_in(64, MAX_SNAPLEN), f"64..{MAX_SNAPLEN}"),
    "user": (
        lambda v: v is None or (isinstance(v, str) and 0 < len(v) <= 64 and v.isprintable()),
        "a user name",
    ),
    "flow_packets": (_int_in(0, 64), "0..64"),
    "flow_rings": (_int_in(1, 16384), "1..16384"),
}
assert tuple(_CHECKS) == ChildConfig._fields


def validate_config(config: Any) -> ChildConfig:
    """The :class:`ChildConfig` of a parsed config line, else :class:`ConfigRejected`
    naming the first bad key. ``interfaces`` is required; other fields default."""
    if not isinstance(config, dict):
        raise ConfigRejected("capture config must be a JSON object")
    for key in config:
        if key not in _CHECKS:
            raise ConfigRejected(f"capture config: unknown key {str(key)[:40]!r}")
    if "interfaces" not in config:
        raise ConfigRejected("capture config: interfaces is missing")
    for key, value in config.items():
        check, what = _CHECKS[key]
        if not check(value):
            raise ConfigRejected(f"capture config: {key} must be {what}")
    return ChildConfig(**config)


def parse_config(line: bytes) -> ChildConfig:
    """:func:`validate_config` of one line of JSON."""
    try:
        return validate_config(json.loads(line))
    except ConfigRejected:
        raise
    except (ValueError, RecursionError):
        raise ConfigRejected("capture config: not valid JSON") from None
