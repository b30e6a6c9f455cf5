"""The detail screen of one flow: its full record, rate history, process and packets.

Everything shown that came from the network (names, decoded packet fields) is put on
screen as plain :class:`rich.text.Text`, never parsed as markup.
"""

from __future__ import annotations

import socket
import time
from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Sparkline, Static

from netop.engine.engine import WATCHED_PACKETS
from netop.engine.flowview import ORIENTED
from netop.format import endpoint, human_age, human_bytes, human_count, human_rate
from netop.model import (
    FlowFields,
    FlowKey,
    FlowPackets,
    FlowRow,
    PacketSample,
    Snapshot,
    proto_name,
    tcp_flags_text,
)
from netop.packet.dissect import dissect
from netop.packet.pcapfile import PcapError
from netop.packet.savepackets import MAX_SAVED, save_name, save_packets
from netop.ui.appfacts import app_rows
from netop.ui.kpi import detail_rows
from netop.ui.widgets.sparkline import spark_text

#: What the packets section says until a capture source provides packets for the flow.
NO_PACKETS = ("No packets kept for this flow: packets are kept only for flows captured "
              "live or read from a file (not for exported NetFlow/IPFIX/sFlow records).")
NO_PACKETS_YET = "Waiting for this flow's packets…"


def _rtt_line(watched: FlowPackets) -> str:
    parts = []
    if watched.syn_rtt is not None:
        parts.append(f"SYN → SYN/ACK {watched.syn_rtt * 1000:.3f} ms")
    if watched.handshake_rtt is not None:
        parts.append(f"SYN → ACK {watched.handshake_rtt * 1000:.3f} ms")
    return "TCP handshake: " + ", ".join(parts)


def _count_line(total: int, first: int, kept: int) -> str:
    """``N packets``, and which of them are shown when not all (``first`` < 0: all)."""
    text = f"{total} packet" + ("" if total == 1 else "s")
    if first >= 0:
        text += f"; the first {first} and the last {kept - first} shown"
    return text


def _when(ts: float) -> str:
    if not ts:
        return "—"
    try:
        when = time.localtime(ts)
    except (OverflowError, OSError, ValueError):  # an exporter may send any 64-bit time
        return f"{ts:g} (not a date)"
    return time.strftime("%Y-%m-%d %H:%M:%S", when) + f".{int(ts % 1 * 1000):03d}"


def _ifname(index: int | None, r: FlowFields) -> str:
    """An ifIndex as shown: with this host's interface name for a live capture (an
    exporter's ifIndex names one of its own interfaces: only the number)."""
    if index is None:
        return "—"
    if r.source == "capture":
        try:
            return f"{index} ({socket.if_indextoname(index)})"
        except OSError:
            pass
    return str(index)


def record_table(row: FlowRow, now: float, bits: bool) -> Table:
    """The flow's record as a two-column table of plain text."""
    r = row.record
    table = Table(box=None, show_header=False, padding=(0, 2), expand=False)
    table.add_column(style="bold", no_wrap=True)
    table.add_column()

    def add(label: str, value: str) -> None:
        table.add_row(label, Text(value))

    if row.label:
        add("group", row.label)
        add("flows", human_count(row.flows))
    else:
        add("protocol", proto_name(r.proto))
        add("source", endpoint(r.src, r.sport, r.proto)
            + (f"  ({row.src_name})" if row.src_name else ""))
        add("destination", endpoint(r.dst, r.dport, r.proto)
            + (f"  ({row.dst_name})" if row.dst_name else ""))
        if r.proto in (1, 58):
            add("icmp type/code", f"{r.dport >> 8}/{r.dport & 0xFF}")
        add("vlan", "—" if r.vlan is None else str(r.vlan))
    rates = (human_rate(row.rate_bps, bits), human_rate(row.rate_rev_bps, bits))
    sums = (f"{r.bytes} ({human_bytes(r.bytes)})  /  "
            f"{r.bytes_rev} ({human_bytes(r.bytes_rev)})")
    if row.label and row.key.split("|", 1)[0] in ORIENTED:
        # A process or user row: its sums are what this host sent and received.
        add("sent ↑  /  received ↓", "  /  ".join(rates))
        add("average 10 s", human_rate(row.avg_bps, bits))
        add("bytes sent  /  received", sums)
    else:
        add("rate →  /  ←", "  /  ".join(rates))
        add("average 10 s", human_rate(row.avg_bps, bits))
        add("packets →  /  ←", f"{r.packets}  /  {r.packets_rev}")
        add("bytes →  /  ←", sums)
    add("first seen", _when(r.first))
    add("last seen", f"{_when(r.last)}  ({human_age(now - r.last)} ago)")
    add("duration", human_age(r.last - r.first))
    if not row.label:
        if r.proto == 6:
            add("tcp flags", tcp_flags_text(r.tcp_flags) or "—")
            add("state", row.state or "—")
        add("process", row.process or "—")
        if row.process_note:
            add("", row.process_note)
        if row.process:
            add("it sent  /  received", _sent_received(row, bits))
        add("source of record", r.source + (f" from {r.exporter}" if r.exporter else ""))
        if r.in_if is not None or r.out_if is not None:
            add("interface in / out", f"{_ifname(r.in_if, r)}  /  {_ifname(r.out_if, r)}")
        add("sampling", "exact" if r.sampling <= 1 else f"1 in {r.sampling} (counts scaled)")
        for label, value in detail_rows(r):
            add(label, value)
        for label, value in app_rows(r):
            add(label, value)
    return table


def rtt_note(row: FlowRow) -> str:
    """The line under the RTT sparkline: its range and the handshake RTT beside it."""
    rtts = row.rtt_history
    kpi = row.record.kpi
    handshake = (f"handshake RTT {kpi.rtt_ms:.3f} ms" if kpi is not None
                 and kpi.rtt_ms is not None else "no handshake seen")  # fmt: skip
    if not rtts:
        return f"(no ack RTT sample yet)  {handshake}"
    ticks = f"{len(rtts)} tick" + ("" if len(rtts) == 1 else "s")
    return (f"now {rtts[-1]:.3f} ms  min {min(rtts):.3f}  max {max(rtts):.3f}  over "
            f"{ticks}   {handshake}")


class FlowDetailScreen(Screen[None]):
    """Details of one flow (or group); follows it live; escape goes back."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,backspace", "back", "Back"),
        Binding("w", "save_packets", "Save pcap"),
    ]

    DEFAULT_CSS = """
    FlowDetailScreen { background: $background; }
    FlowDetailScreen > VerticalScroll { padding: 0 1; }
    FlowDetailScreen .section { color: $primary; text-style: bold; margin-top: 1; }
    FlowDetailScreen #history { color: $netop-tx; height: 1; }
    FlowDetailScreen #rtt-spark { height: 1; width: 1fr; }
    FlowDetailScreen #rtt-spark > .sparkline--max-color { color: $warning; }
    FlowDetailScreen #rtt-spark > .sparkline--min-color { color: $success; }
    FlowDetailScreen #packets { color: $foreground; }
    """

    def __init__(self, row: FlowRow, bits: bool, now: float | None = None) -> None:
        super().__init__()
        self.row = row
        self.bits = bits
        #: The time of the snapshot the row came from (file time on playback).
        self.now = time.time() if now is None else now
        self.gone = False
        self.packets: FlowPackets | None = None
        self._decoded: dict[tuple[float, int, int], list[str]] = {}
        self._shown_packets: tuple[PacketSample, ...] = ()
        #: Every packet seen while the screen is open (bounded), for ``w``.
        self._held: dict[tuple[float, int, int, bool], PacketSample] = {}

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(Text(self._heading()), classes="section", id="heading")
            yield Static(id="record")
            yield Static("Rate history", classes="section")
            yield Static(id="history")
            if self.row.record.proto == 6 and not self.row.label:
                yield Static("RTT history (ack RTT per tick: median of the flow's last "
                             "16 samples)", classes="section")
                yield Sparkline([], id="rtt-spark")
                yield Static(id="rtt-note")
            yield Static("Packets", classes="section")
            live = self.row.record.source == "capture" and not self.row.label
            yield Static(Text(NO_PACKETS_YET if live else NO_PACKETS), id="packets")
        yield Footer()

    def on_mount(self) -> None:
        """Draw the first state."""
        self._draw(self.now)

    def _heading(self) -> str:
        r = self.row.record
        if self.row.label:
            flows = self.row.flows
            return f"{self.row.label} — {flows} flow" + ("" if flows == 1 else "s")
        return (f"{proto_name(r.proto)}  {endpoint(r.src, r.sport, r.proto)} → "
                f"{endpoint(r.dst, r.dport, r.proto)}")

    def _draw(self, now: float) -> None:
        self.query_one("#record", Static).update(record_table(self.row, now, self.bits))
        width = max(10, self.size.width - 4)
        history = self.row.history
        peak = max(history, default=0.0)
        line = spark_text(history, width) if history else "(no history yet)"
        note = f"  peak {human_rate(peak, self.bits)}" if history else ""
        gone = "  — the flow has left the table (expired or filtered out)" if self.gone else ""
        self.query_one("#history", Static).update(Text(line + note + gone))
        if self.row.record.proto == 6 and not self.row.label:
            self._draw_rtt()

    def _draw_rtt(self) -> None:
        rtts = self.row.rtt_history
        spark = self.query_one("#rtt-spark", Sparkline)
        spark.data = list(rtts) if len(rtts) > 1 else []
        spark.display = len(rtts) > 1
        self.query_one("#rtt-note", Static).update(Text(rtt_note(self.row)))

    def follow(self, snapshot: Snapshot) -> None:
        """Update from a new snapshot; the flow may have gone (keep the last state)."""
        row = next((r for r in snapshot.flows.rows if r.key == self.row.key), None)
        self.gone = row is None
        if row is not None:
            self.row = row
        self.now = snapshot.flows.now or snapshot.ts
        self._draw(self.now)
        watched = snapshot.flows.watched
        if watched is not None and watched.packets != self._shown_packets:
            self.packets = watched
            self._shown_packets = watched.packets
            self._hold(watched)
            self._decode(watched)

    def _hold(self, watched: FlowPackets) -> None:
        """Keep the packets for ``w``: a file's replace what came before, a live
        capture's (new since the last batch) add to them; the newest win at the bound."""
        if watched.total is not None:
            self._held.clear()
        for sample in watched.packets:
            self._held[(sample.ts, sample.wirelen, len(sample.data), sample.reverse)] = sample
        while len(self._held) > MAX_SAVED:
            del self._held[next(iter(self._held))]

    def action_save_packets(self) -> None:
        """Save the packets held so far to a new pcap in the current directory (0600)."""
        if not self._held:
            self.notify("no packets of this flow to save yet", severity="warning")
            return
        r = self.row.record
        name = save_name(FlowKey(r.proto, r.src, r.sport, r.dst, r.dport, r.vlan), time.time())
        try:
            written, skipped = save_packets(name, self._held.values())
        except (PcapError, OSError) as exc:
            self.notify(f"not saved: {exc}", severity="error")
            return
        note = f" ({skipped} of another link type left out)" if skipped else ""
        self.notify(f"saved {written} packets to {name}{note}")

    @work(thread=True, exclusive=True, group="dissect")
    def _decode(self, watched: FlowPackets) -> None:
        """Decode new packets off the UI thread (scapy is slow to import and to parse)."""
        lines: list[str] = []
        packets = watched.packets
        total = watched.total
        # A whole file's flow: its first and last packets (newest first), a gap between.
        gap_at = len(packets) // 2 if total is not None and total > len(packets) else -1
        if total is not None:
            lines.append(_count_line(total, gap_at, len(packets)))
        if watched.handshake_rtt is not None or watched.syn_rtt is not None:
            lines.append(_rtt_line(watched))
        for i in range(len(packets) - 1, -1, -1):  # newest first
            sample = packets[i]
            key = (sample.ts, sample.wirelen, len(sample.data))
            if key not in self._decoded:
                self._decoded[key] = dissect(sample)
            lines.extend(self._decoded[key])
            if i == gap_at:
                lines.append(f"… {(total or 0) - len(packets)} packets not shown …")
        if len(self._decoded) > 4 * WATCHED_PACKETS:
            self._decoded.clear()
        text = "\n".join(lines) if lines else NO_PACKETS_YET
        self.app.call_from_thread(self._show_packets, text)

    def _show_packets(self, text: str) -> None:
        self.query_one("#packets", Static).update(Text(text))

    def action_back(self) -> None:
        """Back to the main screen, cursor where it was."""
        self.dismiss(None)


def _sent_received(row: FlowRow, bits: bool) -> str:
    """A local process's flow from its side (nethogs' columns): what it sent and
    received, rate and bytes. The end that is not ``row.remote`` is this host's; a flow
    between two local processes is seen from its first (``client → server``)."""
    r = row.record
    inbound = bool(row.remote) and row.remote == r.src and r.src != r.dst
    sent, received = (row.rate_rev_bps, row.rate_bps) if inbound else (
        row.rate_bps, row.rate_rev_bps)
    sent_bytes, received_bytes = (r.bytes_rev, r.bytes) if inbound else (r.bytes, r.bytes_rev)
    return (f"{human_rate(sent, bits)} ({human_bytes(sent_bytes)})  /  "
            f"{human_rate(received, bits)} ({human_bytes(received_bytes)})")
