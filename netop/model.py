"""Plain, immutable records shared by sources, the engine and the views.

Nothing here does I/O or imports Textual. Sources produce these records, the engine
turns them into a :class:`Snapshot` once per tick, and views only read snapshots.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

#: Protocol numbers that have a name in the flow record; any other is its number as text.
PROTO_NAMES: dict[int, str] = {1: "icmp", 6: "tcp", 17: "udp", 58: "icmpv6"}

#: TCP flag letters in the order tcpdump and nfdump print them (bit 0 = FIN).
TCP_FLAG_LETTERS = "FSRPAUEC"


def proto_name(proto: int) -> str:
    """The flow record's ``proto`` text: a name for the common ones, else the number."""
    return PROTO_NAMES.get(proto, str(proto))


def tcp_flags_text(flags: int) -> str:
    """Letters of the TCP flags set in ``flags`` (e.g. ``0x12`` gives ``"SA"``)."""
    if 0 <= flags < 256:
        return _FLAG_TEXTS[flags]  # once per flow record printed: a table, not a loop
    return "".join(letter for bit, letter in enumerate(TCP_FLAG_LETTERS) if flags >> bit & 1)


_FLAG_TEXTS = tuple("".join(letter for bit, letter in enumerate(TCP_FLAG_LETTERS)
                            if flags >> bit & 1) for flags in range(256))


def iface_label(origin: str, name: str) -> str:
    """Name shown on screen: the bare name for local, ``target:name`` for remote ones."""
    if origin == "local":
        return name
    return f"{origin.split(':', 1)[-1]}:{name}"


class Severity(enum.IntEnum):
    """How much an event matters; the event log colours by it."""

    INFO = 0
    WARNING = 1
    ERROR = 2


@dataclass(frozen=True, slots=True)
class NetEvent:
    """One line of the event log."""

    ts: float
    severity: Severity
    source: str
    message: str
    #: What happened, for pushed events ("syslog", "link_down", "bgp_neighbor", "trap"...).
    kind: str = ""
    #: The device that pushed it (its SNMP target name when polled, else its address).
    sender: str = ""
    #: The interface it is about, when known (the name, or "ifIndex N").
    interface: str = ""
    #: Structured fields (syslog structured data, trap varbinds, parsed pattern groups).
    details: tuple[tuple[str, str], ...] = ()
    #: The Interfaces row it is about, as (origin, name) (``Enter`` on the event goes there).
    row: tuple[str, str] | None = None
    #: The flow it is about (``Enter`` on the event filters the Flows pane to it).
    flow: FlowKey | None = None

    def to_json(self) -> dict[str, Any]:
        """The event as a JSON-ready dict (pushed events add kind, sender, interface
        and details)."""
        out: dict[str, Any] = {
            "ts": self.ts,
            "severity": self.severity.name.lower(),
            "source": self.source,
            "message": self.message,
        }
        if self.kind:
            out.update(kind=self.kind, sender=self.sender, interface=self.interface or None,
                       details=dict(self.details))
        return out


class FlowKey(NamedTuple):
    """A flow's identity within one source: the first six fields of a
    :class:`FlowRecord`, in the same order (``record[:6]``)."""

    proto: int
    src: str
    sport: int
    dst: str
    dport: int
    vlan: int | None = None


#: DNS response codes by number (RFC 1035, 2136, 8490): the names the KPIs and the filter
#: language use.
DNS_RCODES = ("NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED", "YXDOMAIN",
              "YXRRSET", "NXRRSET", "NOTAUTH", "NOTZONE", "DSOTYPENI")  # fmt: skip


class FlowKpi(NamedTuple):
    """Passive KPIs of one flow, as seen from its ``src`` (``retrans`` src->dst).

    Times are milliseconds. ``None`` where the flow gives nothing to measure (no
    handshake seen, not DNS, not UDP...), never a made-up 0. Definitions (tshark and
    Zeek as referees) are in ``netop/native/kpi.h`` and the README.
    """

    rtt_ms: float | None = None
    rtt_server_ms: float | None = None
    rtt_client_ms: float | None = None
    ack_rtt_ms: float | None = None
    retrans: int | None = None
    retrans_rev: int | None = None
    ooo: int | None = None
    ooo_rev: int | None = None
    conn_state: str | None = None
    ttfb_ms: float | None = None
    dns_queries: int | None = None
    dns_answers: int | None = None
    dns_ms: float | None = None
    dns_rcodes: dict[str, int] | None = None
    jitter_ms: float | None = None

    def swapped(self) -> FlowKpi:
        """The same KPIs seen from the other side (the per-direction counts swap)."""
        return self._replace(retrans=self.retrans_rev, retrans_rev=self.retrans,
                             ooo=self.ooo_rev, ooo_rev=self.ooo)


#: Zeek conn_state words of a connection that succeeded / failed (the KPI groups'
#: success %; the KPI baselines' outcomes).
SUCCESS_STATES = frozenset({"SF", "S1", "S2", "S3"})
FAILURE_STATES = frozenset({"S0", "REJ", "SH", "SHR", "RSTO", "RSTR", "RSTOS0", "RSTRH"})

#: The KPI keys of the flow record, in their order (``null`` when not measurable).
KPI_KEYS: tuple[str, ...] = FlowKpi._fields


def retrans_pct(kpi: FlowKpi | None, packets: int) -> float | None:
    """Retransmissions both ways in % of the flow's packets; None when not TCP-measured."""
    if kpi is None or kpi.retrans is None or kpi.retrans_rev is None or packets <= 0:
        return None
    return 100.0 * (kpi.retrans + kpi.retrans_rev) / packets


#: DNS query types by number, as ``dns_qtype`` shows them (others: ``TYPE<n>``, RFC 3597).
DNS_QTYPES = {1: "A", 2: "NS", 5: "CNAME", 6: "SOA", 12: "PTR", 15: "MX", 16: "TXT",
              28: "AAAA", 33: "SRV", 35: "NAPTR", 43: "DS", 48: "DNSKEY", 64: "SVCB",
              65: "HTTPS", 255: "ANY"}  # fmt: skip


class AppFacts(NamedTuple):
    """What a flow's first payload packets say at the application layer (``app.h``).

    ``app`` is ``"http"``, ``"tls"`` or ``"dns"``; the other fields are ``None`` when
    not seen. Text is printable ASCII as the capture path cut it (bounded), still
    network-derived: views pass it through :func:`netop.text.safe_text`.
    """

    app: str
    sni: str | None = None
    alpn: tuple[str, ...] | None = None
    http_host: str | None = None
    http_request: str | None = None
    dns_qname: str | None = None
    dns_qtype: str | None = None
    dns_rcode: str | None = None
    dns_records: tuple[str, ...] | None = None

    @classmethod
    def from_row(cls, row: tuple[Any, ...]) -> AppFacts:
        """The facts from the capture table's ``(app, name, text, qtype, rcode)``."""
        app, name, text, qtype, rcode = row
        items = tuple(text.split(",")) if text else None
        if app == "tls":
            return cls(app, sni=name, alpn=items)
        if app == "http":
            return cls(app, http_host=name, http_request=text)
        qt = None if qtype is None else DNS_QTYPES.get(qtype, f"TYPE{qtype}")
        rc = None if rcode is None else (
            DNS_RCODES[rcode] if rcode < len(DNS_RCODES) else f"RCODE{rcode}")
        return cls(app, dns_qname=name, dns_qtype=qt, dns_rcode=rc,
                   dns_records=None if items is None else tuple(_canonical(i) for i in items))

    def merged(self, new: AppFacts) -> AppFacts:
        """These facts updated with a later interval's: what it saw replaces."""
        return AppFacts._make(o if n is None else n for o, n in zip(self, new, strict=True))

    def as_json(self) -> dict[str, Any]:
        """The facts' keys of the flow record (lists for the lists)."""
        out = self._asdict()
        for key in ("alpn", "dns_records"):
            if out[key] is not None:
                out[key] = list(out[key])
        return out


def _canonical(answer: str) -> str:
    """An IPv6 answer as the C path wrote it (8 groups) in its compressed form."""
    if answer.count(":") == 7:
        import ipaddress

        try:
            return ipaddress.IPv6Address(answer).compressed
        except ValueError:
            return answer
    return answer


#: The application-layer keys of the flow record, in their order (``null`` when not seen).
APP_KEYS: tuple[str, ...] = AppFacts._fields


class FlowRecord(NamedTuple):
    """A bidirectional flow in the shape of the design's JSON contract.

    The one flow shape: the capture child ships these fields as plain tuples in this
    order, the collector builds them, the flow table merges them as deltas and the
    views read them. A named tuple, not a dataclass: building one is ~10x cheaper, and
    100k flows move in a busy tick. ``record[:6]`` is its :class:`FlowKey`.

    ``bytes`` are layer-3 octets (IP header plus payload). ``src`` is the side that
    opened the flow. For ICMP, ``sport`` is 0 and ``dport`` is ``type * 256 + code``.
    ``tcp_flags`` is the union of flags seen, as a bit mask (bit 0 = FIN).
    ``in_if``/``out_if``: the ifIndex the src->dst packets entered/left by (NetFlow,
    IPFIX, sFlow records; for captured flows the capture interface's ifindex, by
    packet direction), ``None`` when unknown.
    """

    proto: int
    src: str
    sport: int
    dst: str
    dport: int
    vlan: int | None = None
    packets: int = 0
    bytes: int = 0
    packets_rev: int = 0
    bytes_rev: int = 0
    first: float = 0.0
    last: float = 0.0
    tcp_flags: int = 0
    source: str = "capture"
    exporter: str | None = None
    sampling: int = 1
    in_if: int | None = None
    out_if: int | None = None
    kpi: FlowKpi | None = None
    app: AppFacts | None = None

    @property
    def key(self) -> FlowKey:
        """The flow's :class:`FlowKey` (proto, src, sport, dst, dport, vlan)."""
        return FlowKey(*self[:6])

    def to_json(self) -> dict[str, Any]:
        """The record exactly as ``netop flows --json`` prints it."""
        return flow_json(self)


class FlowFields(Protocol):
    """What every flow-shaped value can be read for: a :class:`FlowRecord`, and the
    flow table's live entries, which carry the same fields under the same names."""

    @property
    def proto(self) -> int: ...
    @property
    def src(self) -> str: ...
    @property
    def sport(self) -> int: ...
    @property
    def dst(self) -> str: ...
    @property
    def dport(self) -> int: ...
    @property
    def vlan(self) -> int | None: ...
    @property
    def packets(self) -> int: ...
    @property
    def bytes(self) -> int: ...
    @property
    def packets_rev(self) -> int: ...
    @property
    def bytes_rev(self) -> int: ...
    @property
    def first(self) -> float: ...
    @property
    def last(self) -> float: ...
    @property
    def tcp_flags(self) -> int: ...
    @property
    def source(self) -> str: ...
    @property
    def exporter(self) -> str | None: ...
    @property
    def sampling(self) -> int: ...
    @property
    def in_if(self) -> int | None: ...
    @property
    def out_if(self) -> int | None: ...
    @property
    def kpi(self) -> FlowKpi | None: ...
    @property
    def app(self) -> AppFacts | None: ...


_NO_KPI = dict.fromkeys(KPI_KEYS)
_NO_APP = dict.fromkeys(APP_KEYS)


def flow_json(r: FlowFields) -> dict[str, Any]:
    """A flow as ``netop flows --json`` prints it."""
    return {
        "proto": proto_name(r.proto),
        "src": r.src,
        "sport": r.sport,
        "dst": r.dst,
        "dport": r.dport,
        "vlan": r.vlan,
        "packets": r.packets,
        "bytes": r.bytes,
        "packets_rev": r.packets_rev,
        "bytes_rev": r.bytes_rev,
        "first": r.first,
        "last": r.last,
        "tcp_flags": tcp_flags_text(r.tcp_flags),
        "source": r.source,
        "exporter": r.exporter,
        "sampling": r.sampling,
        "in_if": r.in_if,
        "out_if": r.out_if,
        **(_NO_KPI if r.kpi is None else r.kpi._asdict()),
        **(_NO_APP if r.app is None else r.app.as_json()),
    }


@dataclass(frozen=True, slots=True)
class InterfaceSample:
    """Cumulative counters of one interface as read at one moment.

    Any counter may be ``None`` where the source cannot tell. ``counter_bits`` is the
    width of the byte and packet counters (64 for Linux and SNMP ``ifHC*``, 32 for
    SNMP ``ifIn/OutOctets``); the engine uses it to tell a wrap from a reset.
    ``discontinuity`` is set by a source that knows the counters restarted (an SNMP
    agent reboot, a new engine ID): the engine then gives no rate for that interval.
    """

    origin: str
    name: str
    ts: float
    rx_bytes: int | None = None
    tx_bytes: int | None = None
    rx_packets: int | None = None
    tx_packets: int | None = None
    rx_drops: int | None = None
    tx_drops: int | None = None
    rx_errors: int | None = None
    tx_errors: int | None = None
    collisions: int | None = None
    speed_bps: int | None = None
    oper_up: bool | None = None
    counter_bits: int = 64
    discontinuity: str | None = None
    max_gap: float | None = None
    """Seconds within which the source sends this interface's next sample (an SNMP
    target's poll interval); with none for twice that long its rate is stale. ``None``:
    no promise (local counters come every tick; sFlow counter samples when the agent
    pleases)."""
    discontinuity_said: bool = False
    """The source already said the discontinuity once for the whole device (an agent
    restart): no event per interface for it, only no rate this interval."""
    qdisc_drops: int | None = None
    """Packets the root egress qdisc dropped (cumulative, 32 bits wide: the kernel's
    counter), which never reach ``tx_drops``; local interfaces only. Its interval's
    delta is the rate's ``qdisc_drops`` (not in :data:`COUNTER_FIELDS`: recordings leave
    it out)."""

    @property
    def key(self) -> tuple[str, str]:
        """Identity of the interface across samples: ``(origin, name)``."""
        return (self.origin, self.name)


#: Names of the cumulative counters an :class:`InterfaceSample` carries.
COUNTER_FIELDS: tuple[str, ...] = (
    "rx_bytes",
    "tx_bytes",
    "rx_packets",
    "tx_packets",
    "rx_drops",
    "tx_drops",
    "rx_errors",
    "tx_errors",
    "collisions",
)


@dataclass(frozen=True, slots=True)
class InterfaceRate:
    """One interface over one tick: rates, per-interval deltas and history.

    Rates are ``None`` for an interval where they cannot be trusted (first sample,
    counter reset). ``rx_history``/``tx_history`` hold bits per second, oldest first,
    for the sparklines.
    """

    origin: str
    name: str
    ts: float
    rx_bps: float | None
    tx_bps: float | None
    rx_pps: float | None
    tx_pps: float | None
    deltas: dict[str, int | None]
    counters: dict[str, int | None]
    speed_bps: int | None
    oper_up: bool | None
    rx_history: tuple[float, ...] = ()
    tx_history: tuple[float, ...] = ()
    stale_for: float | None = None
    """Seconds since the last sample when that is too long ago (its source stopped
    answering): the rates and link state are then ``None``, not the last known ones."""
    qdisc_drops: int | None = None
    """Packets the root egress qdisc dropped in the interval (never in ``deltas``'
    ``tx_drops``: see :attr:`InterfaceSample.qdisc_drops`); not recorded."""

    @property
    def key(self) -> tuple[str, str]:
        """Identity of the interface: ``(origin, name)``."""
        return (self.origin, self.name)

    @property
    def label(self) -> str:
        """Name shown on screen: the bare name for local, ``target:name`` otherwise."""
        return iface_label(self.origin, self.name)

    @property
    def util_rx(self) -> float | None:
        """Receive utilisation in percent of link speed, ``None`` when unknown."""
        return _util(self.rx_bps, self.speed_bps)

    @property
    def util_tx(self) -> float | None:
        """Transmit utilisation in percent of link speed, ``None`` when unknown."""
        return _util(self.tx_bps, self.speed_bps)

    def to_json(self) -> dict[str, Any]:
        """The interface record of the design's JSON contract."""
        record: dict[str, Any] = {
            "ts": self.ts,
            "iface": self.name,
            "origin": self.origin,
            "rx_bps": self.rx_bps,
            "tx_bps": self.tx_bps,
            "rx_pps": self.rx_pps,
            "tx_pps": self.tx_pps,
            "rx_drops": self.deltas.get("rx_drops"),
            "tx_drops": self.deltas.get("tx_drops"),
            "rx_errors": self.deltas.get("rx_errors"),
            "tx_errors": self.deltas.get("tx_errors"),
            "collisions": self.deltas.get("collisions"),
            "counters": dict(self.counters),
            "speed_bps": self.speed_bps,
            "util_rx": self.util_rx,
            "util_tx": self.util_tx,
            "oper_up": self.oper_up,
        }
        return record


def _util(bps: float | None, speed: int | None) -> float | None:
    if bps is None or not speed:
        return None
    return 100.0 * bps / speed


class FlowRow(NamedTuple):
    """One row of the Flows pane, already chosen (filtered, sorted, top-N) by the engine.

    A named tuple, not a frozen dataclass: a summary makes one per flow, and a frozen
    dataclass's ``__init__`` (one ``object.__setattr__`` per field) cost 4 µs a row.
    """

    key: str
    record: FlowRecord
    """The flow; for an aggregated row, the group's sums (its label as ``src``)."""
    rate_bps: float = 0.0
    rate_rev_bps: float = 0.0
    avg_bps: float = 0.0
    state: str = ""
    process: str = ""
    """``name (pid)`` of the local process (``client → server`` when both ends are
    local), or ``""`` when unknown."""
    process_note: str = ""
    """Who owns it (``user``) or why it cannot be known."""
    src_name: str = ""
    dst_name: str = ""
    label: str = ""
    """For aggregated rows: the group (remote host, process, port, protocol)."""
    flows: int = 1
    """For aggregated rows: how many flows the row sums."""
    history: tuple[float, ...] = ()
    """Recent rates (bits/s, both ways), oldest first, while the flow is on screen."""
    remote: str = ""
    """The flow's end that is not this host (its destination when neither is): the host
    of the ``remote`` aggregation and of the TUI's drill to "this host"."""
    members: str = ""
    """For aggregated rows: the filter that selects its member flows (empty: none can)."""
    service: str = ""
    """The destination port's service name (``/etc/services``) while names are shown."""
    rtt_history: tuple[float, ...] = ()
    """The flow's ack RTT (ms, the median of its last 16 samples) once per tick while it
    is on screen and has one, oldest first: the detail screen's RTT sparkline."""
    avg2_bps: float | None = None
    avg40_bps: float | None = None
    """A flow's mean rates over the last 2 s and 40 s, from its own rates whether or not
    its row was shown; ``None`` for a group (its Avg 2s / 40s come from ``history``)."""


#: Sort keys of the Flows pane, each a column of the pane and of ``--sort``.
FLOW_SORT_KEYS: tuple[str, ...] = (
    "rate", "avg", "bytes", "packets", "age", "proto", "src", "dst", "process",
)

#: Ways to group the Flows pane, in the order ``a`` cycles them.
AGGREGATIONS: tuple[str, ...] = ("connection", "remote", "process", "user", "port",
                                  "protocol")


@dataclass(frozen=True, slots=True)
class ViewSpec:
    """What the user asked the Flows pane to show; the engine applies it each tick.

    The UI swaps in a new value (an atomic reference change); it never sorts rows itself.
    """

    sort: str = "rate"
    descending: bool = True
    filter_text: str = ""
    top_n: int = 200
    aggregate: str = "connection"
    names: bool = True
    watch: FlowKey | None = None
    """The flow whose packets the detail screen shows."""


@dataclass(frozen=True, slots=True)
class FlowsView:
    """What the Flows pane shows: the top rows and why it may be empty."""

    rows: tuple[FlowRow, ...] = ()
    total_flows: int = 0
    matched_flows: int = 0
    status: str = ""
    spec: ViewSpec = field(default_factory=ViewSpec)
    now: float = 0.0
    """The flows' clock (packet time when a file is replayed), for ages."""
    watched: FlowPackets | None = None
    """The last packets of ``spec.watch`` (when a source keeps packets)."""
    losses: str = ""
    """What the bounds cost so far (flows evicted, packets refused or mended), or ""."""


@dataclass(frozen=True, slots=True)
class Totals:
    """Sums over all local interfaces for the header and the "all" row."""

    rx_bps: float = 0.0
    tx_bps: float = 0.0
    rx_pps: float = 0.0
    tx_pps: float = 0.0
    drops: int = 0
    errors: int = 0


@dataclass(frozen=True, slots=True)
class NicDetail:
    """One local interface's deeper counters, read while its detail screen is open
    (``netop.sources.nicstats``): cumulative values as the kernel and driver keep them."""

    name: str
    ts: float
    kernel: dict[str, int] = field(default_factory=dict)
    """``/sys/class/net/NAME/statistics``: every counter the kernel keeps."""
    nic: dict[str, int] = field(default_factory=dict)
    """The driver's own statistics (``ethtool -S``)."""
    nic_note: str = ""
    """Why ``nic`` is empty, when it is."""
    qdiscs: tuple[dict[str, Any], ...] = ()
    """Each qdisc: kind, handle, parent, bytes, packets, drops, overlimits, requeues,
    backlog, qlen (``tc -s -j qdisc``)."""
    qdisc_note: str = ""
    """Why ``qdiscs`` is empty, when it is."""


@dataclass(frozen=True, slots=True)
class PcapStatus:
    """The pcap file the live capture is written to, for the header."""

    path: str
    """Absolute; ``""`` when nothing is written (then ``error`` says why it stopped)."""
    bytes: int = 0
    """Written so far, pcap headers included."""
    error: str = ""
    """Why the file could not be opened or written (``""``: fine)."""
    pending: bool = False
    """Asked for, not yet confirmed by the capture process."""


@dataclass(frozen=True, slots=True)
class RecordingStatus:
    """What the recorder says about its file, for the header and the Interfaces pane."""

    path: str
    bytes: int = 0
    """The file's size with its write-ahead log."""
    dropped: int = 0
    """Ticks lost because the writer was behind (its queue full)."""
    error: str | None = None
    eta: Mapping[tuple[str, str], str] = field(default_factory=dict)
    """Per interface key, the capacity ETA (``80% 3w``) where the recording's trend
    allows one (as ``netop report``: ≥ 7 days, R² ≥ 0.5); refreshed in the background."""


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Everything the views need for one tick. Immutable; safe to share across threads."""

    ts: float
    seq: int
    hostname: str
    watching: str
    interval: float
    interfaces: tuple[InterfaceRate, ...] = ()
    total: InterfaceRate | None = None
    totals: Totals = field(default_factory=Totals)
    events: tuple[NetEvent, ...] = ()
    """The most recent events, oldest first (a bounded tail of the log)."""
    events_total: int = 0
    """Events ever logged; a view that saw ``n`` shows the last ``events_total - n``."""
    flows: FlowsView = field(default_factory=FlowsView)
    status: tuple[str, ...] = ()
    sources: tuple[SourceStatus, ...] = ()
    """The latest status of each source that reports one (SNMP targets, exporters...)."""
    flow_stats: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    """Per flow source, its latest cumulative counters (``FlowBatch.stats``: the
    capture's ``packets``, ``kernel_drops``, ``sampling``...), for the outputs."""
    tick_seconds: float = 0.0
    """How long the engine took to build this snapshot (CPU of one tick, wall time)."""
    nic: NicDetail | None = None
    """The deeper counters of the interface whose detail screen is open (``nic_detail``
    of the engine), else ``None``."""
    kpis: tuple[KpiGroup, ...] = ()
    """KPIs per remote host or service (``Engine.kpi_by``; empty while nobody asks)."""
    service_kpis: tuple[KpiGroup, ...] = ()
    """KPIs per service for the outputs that ask for them (``/metrics``), refreshed every
    :data:`netop.engine.engine.SERVICE_KPI_SECONDS`; empty when none asks."""
    alerts: tuple[Alert, ...] = ()
    """Active and recent alerts (deduplicated: one per kind and entity), newest first."""
    alerts_total: int = 0
    """Alerts ever fired (a deduplicated repeat counts once)."""
    new_alerts: tuple[Alert, ...] = ()
    """Alerts that fired in this tick: what the actions and ``netop alerts`` send."""
    detect_status: tuple[str, ...] = ()
    """Detection's own state for the views: learning periods, watchlist size and age."""
    flow_interval: float = 0.0
    """For a capture file played back: the file's seconds this tick played (a speed, a
    step); the rates and the Avg columns count those. 0: live, the interval."""
    flow_history: tuple[float, ...] = ()
    """For a played file with no interface to total: the flows' total rate (bits/s,
    both ways) per tick, oldest first; the totals line averages it."""
    recording: RecordingStatus | None = None
    """The file this run records into (``--record``), as its recorder last said; None
    when nothing is recorded. Not itself recorded."""
    pcap: PcapStatus | None = None
    """The pcap file the live capture is written to (``-w``, the TUI's ``W``), as the
    capture process last said; None when nothing is written. Not itself recorded."""


@dataclass(frozen=True, slots=True)
class KpiGroup:
    """The KPIs of one remote host or service (``netop kpis --json``, one per line)."""

    key: str
    flows: int
    success_pct: float | None
    rtt_ms_p50: float | None
    rtt_ms_p95: float | None
    retrans_pct: float | None
    ttfb_ms_p50: float | None
    ttfb_ms_p95: float | None
    dns_ms_p50: float | None
    dns_failures: int | None

    def to_json(self) -> dict[str, Any]:
        """The record as ``netop kpis --json`` prints it."""
        return {
            "key": self.key, "flows": self.flows, "success_pct": self.success_pct,
            "rtt_ms_p50": self.rtt_ms_p50, "rtt_ms_p95": self.rtt_ms_p95,
            "retrans_pct": self.retrans_pct, "ttfb_ms_p50": self.ttfb_ms_p50,
            "ttfb_ms_p95": self.ttfb_ms_p95, "dns_ms_p50": self.dns_ms_p50,
            "dns_failures": self.dns_failures,
        }  # fmt: skip


@dataclass(frozen=True, slots=True)
class PacketSample:
    """One captured packet of a watched flow, for the detail screen (bounded snap length)."""

    ts: float
    linktype: int
    data: bytes
    wirelen: int
    reverse: bool = False
    """True when it went dst → src."""


@dataclass(frozen=True, slots=True)
class FlowPackets:
    """Packets of the flow the user is looking at, from the capture source.

    ``flow`` names it in the flow's own direction. ``handshake_rtt`` is SYN → SYN/ACK →
    ACK time in seconds when the capture saw the handshake (``None`` otherwise);
    ``syn_rtt`` the SYN → SYN/ACK part.
    """

    flow: FlowKey
    packets: tuple[PacketSample, ...] = ()
    handshake_rtt: float | None = None
    syn_rtt: float | None = None
    total: int | None = None
    """How many packets the flow has had, when the source knows them all (a capture
    file): then ``packets`` replace those sent before and, when ``total`` exceeds their
    number, hold the flow's first half and last half of them. ``None``: live, new
    packets since the last batch."""


@dataclass(frozen=True, slots=True)
class FlowBatch:
    """Flow deltas from one source for one tick: what moved since the previous batch.

    Each record counts only the packets and bytes seen since the last batch of the
    same source; ``first``/``last`` bound them. The engine merges batches into its
    flow table keyed by (proto, src, sport, dst, dport, vlan, source, exporter).
    ``stats`` carries the source's counters, cumulative since it started; the engine
    reads its losses there (``overflow``: packets of new flows dropped, ``bad_time``:
    impossible timestamps) for the Flows pane's ``losses``.
    """

    source: str
    records: tuple[FlowRecord, ...] = ()
    stats: dict[str, int] = field(default_factory=dict)
    watched: FlowPackets | None = None
    """New packets of the watched flow since the last batch (see ``Source.watch_flow``)."""
    clock: float | None = None
    """The source's own time at the end of this batch: the file's time when a capture
    file is played back (``None``: live, the wall clock is the time)."""


@dataclass(frozen=True, slots=True)
class SourceStatus:
    """A source's own status for the views: a one-line summary and optional table rows.

    Used for the capture line in the header (drops, sampling rate), the SNMP target
    status lines and the Exporters view. The engine keeps the latest per ``source``.
    ``rows`` are plain dicts of JSON-ready values (e.g. one per exporter or target).
    """

    source: str
    summary: str
    rows: tuple[dict[str, Any], ...] = ()
    ts: float = 0.0


class TargetRow(NamedTuple):
    """An SNMP target's row of the ``snmp`` status, as the views read it."""

    name: str
    reachable: bool | None
    last_error: str | None
    last_latency_ms: float | None
    availability_pct: float | None

    @classmethod
    def of(cls, row: Mapping[str, Any]) -> TargetRow:
        """The typed view of one of ``SourceStatus.rows``."""
        return cls(str(row.get("name", "")), row.get("reachable"), row.get("last_error"),
                   row.get("last_latency_ms"), row.get("availability_pct"))


class ExporterRow(NamedTuple):
    """A flow exporter's row of the ``collector`` status, as the views read it."""

    exporter: str
    protocol: str
    datagrams_s: float
    records_s: float
    templates: int
    seq_lost: int
    malformed: int
    last_seen: float
    """Wall time of its last datagram (0: never)."""
    records: int

    @classmethod
    def of(cls, row: Mapping[str, Any]) -> ExporterRow:
        """The typed view of one of ``SourceStatus.rows``."""
        return cls(str(row.get("exporter", "?")), str(row.get("protocol", "?")),
                   float(row.get("datagrams_s") or 0), float(row.get("records_s") or 0),
                   int(row.get("templates") or 0), int(row.get("seq_lost") or 0),
                   int(row.get("malformed") or 0), float(row.get("last_seen") or 0),
                   int(row.get("records") or 0))


def target_row(origin: str, statuses: Iterable[SourceStatus]) -> TargetRow | None:
    """The SNMP target row of an interface origin (``snmp:NAME``), if there is one."""
    kind, _, name = origin.partition(":")
    if kind != "snmp":
        return None
    for status in statuses:
        if status.source == "snmp":
            for row in status.rows:
                if row.get("name") == name:
                    return TargetRow.of(row)
    return None


class AlertSeverity(enum.IntEnum):
    """How urgent an alert is; actions send those at or above their ``min_severity``."""

    INFO = 0
    WARNING = 1
    CRITICAL = 2

    @classmethod
    def parse(cls, text: str) -> AlertSeverity | None:
        """The severity named ``text`` ("info", "warning", "critical"), or None."""
        return cls.__members__.get(text.upper())


@dataclass(frozen=True, slots=True)
class Alert:
    """One alert: what fired (``kind``), about what (``entity``), how far from normal.

    ``value``/``baseline``/``band`` are in the kind's own unit (``unit``: "bit/s",
    "SYN/s", "hosts"...); ``baseline``/``band`` are ``None`` for fixed thresholds.
    ``flow`` is the flow behind it, when one is. Deduplicated: while it lasts one alert
    per (kind, entity) is kept, ``first``/``ts`` its first and last firing, ``count``
    how many times it fired.
    """

    ts: float
    kind: str
    severity: AlertSeverity
    entity: str
    message: str
    value: float | None = None
    baseline: float | None = None
    band: float | None = None
    unit: str = ""
    flow: FlowKey | None = None
    community_id: str | None = None
    first: float = 0.0
    count: int = 1
    acked: bool = False
    active: bool = True

    @property
    def key(self) -> tuple[str, str]:
        """Identity for deduplication: ``(kind, entity)``."""
        return (self.kind, self.entity)

    def to_json(self) -> dict[str, Any]:
        """The design's alert record (``netop alerts --json``, the actions' payload)."""
        flow = self.flow
        return {
            "ts": self.ts,
            "kind": self.kind,
            "severity": self.severity.name.lower(),
            "entity": self.entity,
            "value": self.value,
            "baseline": self.baseline,
            "band": self.band,
            "unit": self.unit,
            "proto": proto_name(flow.proto) if flow else None,
            "src": flow.src if flow else None,
            "sport": flow.sport if flow else None,
            "dst": flow.dst if flow else None,
            "dport": flow.dport if flow else None,
            "community_id": self.community_id,
            "message": self.message,
            "first": self.first or self.ts,
            "count": self.count,
        }
