"""The detail screen of one interface (bmon's details): a taller rate graph, every
counter it has, the kernel's full statistics, the NIC driver's own (``ethtool -S``) and
the qdiscs' drops and backlog (``tc -s``). The engine reads the last three on its tick
while this screen is open; the screen only shows snapshots."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from netop.engine.reconcile_snmp import compare
from netop.format import human_age, human_bytes, human_count, human_rate
from netop.model import InterfaceRate, InterfaceSample, NicDetail, Snapshot

#: Lines of each direction's graph.
GRAPH_ROWS = 6

#: Counters where drops and damage show up, flagged when not zero.
TROUBLE = ("rx_missed_errors", "rx_fifo_errors", "rx_crc_errors", "rx_frame_errors",
           "rx_over_errors", "rx_dropped", "tx_dropped", "rx_errors", "tx_errors",
           "tx_fifo_errors", "tx_carrier_errors", "collisions", "drops", "backlog")

_EIGHTHS = " ▁▂▃▄▅▆▇█"


def graph_lines(values: Sequence[float], width: int, rows: int = GRAPH_ROWS) -> list[str]:
    """``values`` (the last ``width``) as a bar graph ``rows`` lines tall, top line
    first, scaled to their maximum, right-aligned; a non-zero value shows at least
    an eighth of a line."""
    tail = list(values[-width:]) if width > 0 else []
    peak = max(tail, default=0.0)
    lines = []
    for line in range(rows - 1, -1, -1):
        cells = []
        for v in tail:
            eighths = 0 if peak <= 0 or v <= 0 else max(1, round(v / peak * rows * 8))
            fill = min(8, max(0, eighths - line * 8))
            cells.append(_EIGHTHS[fill])
        lines.append("".join(cells).rjust(width))
    return lines


def _stats_table(stats: dict[str, int], columns: int = 3) -> Table:
    """Name/value pairs in ``columns`` column pairs, trouble counters flagged."""
    table = Table(box=None, show_header=False, padding=(0, 1), expand=False)
    for _ in range(columns):
        table.add_column(no_wrap=True)
        table.add_column(justify="right", no_wrap=True)
    items = list(stats.items())
    per = -(-len(items) // columns) if items else 0
    for i in range(per):
        cells: list[Text] = []
        for c in range(columns):
            j = c * per + i
            if j < len(items):
                name, value = items[j]
                bad = value and any(name.endswith(t) for t in TROUBLE)
                style = "bold red" if bad else ""
                cells += [Text(name, style=style), Text(human_count(value), style=style)]
            else:
                cells += [Text(""), Text("")]
        table.add_row(*cells)
    return table


def _qdisc_lines(nic: NicDetail) -> Text:
    """One line per qdisc (``tc -s``'s numbers), drops and backlog flagged when not 0."""
    if not nic.qdiscs:
        return Text(nic.qdisc_note or "no qdisc")
    text = Text()
    for i, q in enumerate(nic.qdiscs):
        if i:
            text.append("\n")

        def number(key: str, q: dict[str, object] = q) -> int | None:
            value = q.get(key)
            return value if isinstance(value, int) else None

        text.append(f"{q.get('kind', '?')} {q.get('handle', '')} {q.get('parent', '')}",
                    style="bold")
        text.append(f"  {human_bytes(number('bytes'))} {human_count(number('packets'))} pkts")
        for key, label in (("drops", "drops"), ("overlimits", "overlimits"),
                           ("requeues", "requeues"), ("backlog", "backlog")):
            value = number(key)
            shown = human_bytes(value) if key == "backlog" else human_count(value)
            bad = key in ("drops", "backlog") and bool(value)
            text.append("  ")
            text.append(f"{label} {shown}", style="bold red" if bad else "")
        text.append(f" ({human_count(number('qlen'))} pkts)")
    return text


def as_sample(rate: InterfaceRate) -> InterfaceSample:
    """The cumulative counters a rate row carries, as a sample (for reconciling)."""
    c = rate.counters
    return InterfaceSample(rate.origin, rate.name, rate.ts, rx_bytes=c.get("rx_bytes"),
                           tx_bytes=c.get("tx_bytes"), rx_packets=c.get("rx_packets"),
                           tx_packets=c.get("tx_packets"), speed_bps=rate.speed_bps)  # fmt: skip


def _sum(sample: InterfaceSample, a: str, b: str) -> int:
    return (getattr(sample, a) or 0) + (getattr(sample, b) or 0)


def reconcile_text(start: dict[tuple[str, str], InterfaceSample], local: InterfaceRate,
                   others: Sequence[InterfaceRate], now: float) -> Text:  # fmt: skip
    """The kernel's counts since ``start`` beside each SNMP agent's of the same name, the
    difference in % and the reasons (``start`` takes each source's first reading)."""
    for rate in (local, *others):
        start.setdefault(rate.key, as_sample(rate))
    if not others:
        return Text(f"No SNMP agent polled here reports an interface named {local.name} "
                    "(--snmp TARGET); `netop reconcile -i IFACE` also compares the capture.")
    first, last = start[local.key], as_sample(local)
    k_bytes = _sum(last, "rx_bytes", "tx_bytes") - _sum(first, "rx_bytes", "tx_bytes")
    k_packets = _sum(last, "rx_packets", "tx_packets") - _sum(first, "rx_packets", "tx_packets")
    text = Text(f"since this screen opened ({human_age(max(0.0, now - first.ts))}): kernel "
                f"{human_bytes(k_bytes)}, {human_count(k_packets)} packets (in + out)")
    for rate in others:
        fields, reasons = compare(start[rate.key], as_sample(rate), k_packets, k_bytes, now,
                                  1.0, whole_run=True)  # fmt: skip

        def pct(v: float | None) -> str:
            return "—" if v is None else f"{v:+.2f} %"

        text.append(f"\n{rate.origin} {rate.name}: ", style="bold")
        text.append(f"{human_bytes(fields['snmp_bytes'])} ({pct(fields['snmp_diff_bytes_pct'])}), "
                    f"{human_count(fields['snmp_packets'])} packets "
                    f"({pct(fields['snmp_diff_packets_pct'])})")
        for why in reasons:
            text.append(f"\n  · {why}")
    return text


class InterfaceDetailScreen(Screen[None]):
    """One interface in depth; follows the snapshots; escape goes back."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,backspace", "back", "Back"),
    ]

    DEFAULT_CSS = """
    InterfaceDetailScreen { background: $background; }
    InterfaceDetailScreen > VerticalScroll { padding: 0 1; }
    InterfaceDetailScreen .section { color: $primary; text-style: bold; margin-top: 1; }
    InterfaceDetailScreen #rx-graph { color: $netop-rx; }
    InterfaceDetailScreen #tx-graph { color: $netop-tx; }
    """

    def __init__(self, rate: InterfaceRate, bits: bool) -> None:
        super().__init__()
        self.rate = rate
        self.bits = bits
        self.nic: NicDetail | None = None
        self.local = rate.origin == "local" and rate.name != "all"
        self._reconcile_start: dict[tuple[str, str], InterfaceSample] = {}

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(id="heading", classes="section")
            yield Static(id="rx-title")
            yield Static(id="rx-graph")
            yield Static(id="tx-title")
            yield Static(id="tx-graph")
            yield Static("Counters", classes="section")
            yield Static(id="counters")
            if self.local:
                yield Static("Kernel statistics (/sys/class/net/…/statistics)",
                             classes="section")
                yield Static(Text("reading…"), id="kernel")
                yield Static("NIC statistics (ethtool -S)", classes="section")
                yield Static(Text("reading…"), id="nic")
                yield Static("Queueing disciplines (tc -s qdisc)", classes="section")
                yield Static(Text("reading…"), id="qdisc")
                yield Static("Do the numbers agree? Kernel and SNMP counters",
                             classes="section")
                yield Static(Text("waiting for the next tick…"), id="reconcile")
        yield Footer()

    def on_mount(self) -> None:
        """Draw what the row had."""
        self._draw()

    def on_resize(self) -> None:
        """The graphs take the screen's width."""
        self._draw()

    def follow(self, snapshot: Snapshot) -> None:
        """Update from a new snapshot (the interface may have gone: keep the last)."""
        found = snapshot.total if self.rate.name == "all" and self.rate.origin == "local" \
            else next((r for r in snapshot.interfaces if r.key == self.rate.key), None)
        if found is not None:
            self.rate = found
        if snapshot.nic is not None and snapshot.nic.name == self.rate.name:
            self.nic = snapshot.nic
        if self.local:
            others = [r for r in snapshot.interfaces
                      if r.name == self.rate.name and r.origin.startswith("snmp:")]
            self.query_one("#reconcile", Static).update(reconcile_text(
                self._reconcile_start, self.rate, others, snapshot.ts))
        self._draw()

    def _draw(self) -> None:
        r = self.rate
        # One column per sample, as much history as fits beside the padding and the
        # scrollbar (the app's size: the screen's own is not laid out at mount).
        width = max(10, self.app.size.width - 4)
        link = "?" if r.oper_up is None else ("up" if r.oper_up else "DOWN")
        speed = human_rate(r.speed_bps, True) if r.speed_bps else "speed unknown"
        self.query_one("#heading", Static).update(
            Text(f"Interface {r.label} ({r.origin}) · link {link} · {speed}"))
        seconds = len(r.rx_history)
        for side, history, now in (("rx", r.rx_history, r.rx_bps),
                                   ("tx", r.tx_history, r.tx_bps)):
            peak = max(history, default=0.0)
            arrow = "↓ RX" if side == "rx" else "↑ TX"
            self.query_one(f"#{side}-title", Static).update(Text(
                f"{arrow} {human_rate(now, self.bits)}  peak {human_rate(peak, self.bits)}"
                f"  (last {seconds} samples)"))
            self.query_one(f"#{side}-graph", Static).update(Text(
                "\n".join(graph_lines(history, min(width, len(history)))),
                no_wrap=True, overflow="crop"))
        pairs = max(1, min(4, width // 38))  # name/value pairs side by side
        counters = {k: v for k, v in r.counters.items() if v is not None}
        self.query_one("#counters", Static).update(
            _stats_table(counters, pairs) if counters else Text("no counters"))
        if not self.local:
            return
        nic = self.nic
        if nic is None:
            return
        self.query_one("#kernel", Static).update(
            _stats_table(nic.kernel, pairs) if nic.kernel else Text("none"))
        self.query_one("#nic", Static).update(
            _stats_table(nic.nic, pairs) if nic.nic else Text(nic.nic_note or "none"))
        self.query_one("#qdisc", Static).update(_qdisc_lines(nic))

    def action_back(self) -> None:
        """Back to the main screen."""
        self.dismiss(None)
