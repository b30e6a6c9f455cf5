"""The Textual application: lays out the panes, applies snapshots, handles keys.

The engine ticks on a thread of its own and posts one coalescing :class:`SnapshotReady`
per tick; the app only reads snapshots. While paused it keeps the newest snapshot and
shows it on resume, so nothing is lost but the frames in between.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from dataclasses import replace
from typing import ClassVar

from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Container
from textual.css.scalar import Scalar
from textual.driver import Driver
from textual.events import Resize
from textual.widgets import Footer, Static

from netop.config import Config
from netop.engine.drill import (
    conversation_filter,
    host_filter,
    narrow,
    port_filter,
    process_filter,
)
from netop.engine.playback import Playback, PlaybackState, SnapshotProvider, parse_goto
from netop.model import (
    AGGREGATIONS,
    FLOW_SORT_KEYS,
    AlertSeverity,
    FlowRow,
    NetEvent,
    Severity,
    Snapshot,
    ViewSpec,
)
from netop.signals import ENDING_SIGNALS
from netop.text import safe_text
from netop.ui.alerts import AlertsScreen
from netop.ui.detail import FlowDetailScreen
from netop.ui.filterbar import FilterBar
from netop.ui.gotobar import GotoBar
from netop.ui.header import HeaderBar
from netop.ui.help import HelpScreen
from netop.ui.ifdetail import InterfaceDetailScreen
from netop.ui.kpi import KpiGrouping, KpiScreen
from netop.ui.layout import PaneRows, pane_heights
from netop.ui.messages import SnapshotReady
from netop.ui.panes.counters import CountersPane
from netop.ui.panes.events import EventsPane
from netop.ui.panes.exporters import ExportersPane
from netop.ui.panes.flows import FlowsPane
from netop.ui.panes.interfaces import GROUP, InterfacesPane
from netop.ui.pcapbar import PcapBar, default_pcap_name
from netop.ui.themes import NETOP_VARIABLES, ThemeSet, load_themes
from netop.ui.totalsbar import TotalsBar
from netop.ui.widgets.linetable import LineTable

#: Width from which Interfaces and Counters sit side by side.
WIDE_COLUMNS = 150

#: Drill-downs remembered for backspace.
DRILL_DEPTH = 20

#: The smallest screen that still answers "who talks to whom, how fast": below it the
#: panes are replaced by a message saying so (cut to pieces they only mislead).
MIN_WIDTH, MIN_HEIGHT = 60, 15


def too_small_text(width: int, height: int) -> str:
    """What the screen says below :data:`MIN_WIDTH` x :data:`MIN_HEIGHT`."""
    return (f"terminal too small: {width}x{height}\n"
            f"netop needs at least {MIN_WIDTH}x{MIN_HEIGHT}\n(q quits)")


class NetopApp(App[None]):
    """netop's TUI."""

    CSS_PATH = "netop.tcss"
    TITLE = "netop"
    ENABLE_COMMAND_PALETTE = False

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit"),
        # Ctrl-C quits as in every monitor (Textual's default only says to press ctrl+q);
        # priority, so it also quits from the filter box.
        Binding("ctrl+c", "quit", "Quit", show=False, priority=True),
        Binding("question_mark", "help", "Help", key_display="?"),
        Binding("space", "toggle_pause", "Pause"),
        Binding("slash", "filter", "Filter", key_display="/"),
        Binding("s", "next_sort", "Sort"),
        Binding("a", "next_aggregation", "Group"),
        Binding("n", "toggle_names", "Names"),
        Binding("S", "reverse_sort", "Reverse", show=False),
        Binding("b", "toggle_bits", "Bits/Bytes"),
        Binding("i", "toggle_idle", "Idle"),
        Binding("c", "toggle_groups", "Fold", show=False),
        Binding("t", "next_theme", "Theme"),
        Binding("h", "drill('host')", "Host", show=False),
        Binding("p", "drill('port')", "Port", show=False),
        Binding("P", "drill('process')", "Process", show=False),
        Binding("C", "drill('conversation')", "Conversation", show=False),
        Binding("backspace", "drill_back", "Back", show=False),
        Binding("o", "toggle_iface_order", "Order", show=False),
        Binding("T", "toggle_totals", "Totals", show=False),
        Binding("B", "toggle_bars", "Bars", show=False),
        Binding("W", "write_pcap", "Write pcap", show=False),
        # Playback (netop replay, -r FILE): shown only there (check_action).
        Binding("left_square_bracket", "step(-1)", "Back", key_display="["),
        Binding("right_square_bracket", "step(1)", "Step", key_display="]"),
        Binding("minus", "speed(False)", "Slower", key_display="-"),
        Binding("plus", "speed(True)", "Faster", key_display="+"),
        Binding("g", "goto", "Go to"),
        Binding("K", "kpis", "KPIs"),
        Binding("exclamation_mark", "alerts", "Alerts", key_display="!"),
        Binding("tab", "focus_next", "Next pane", show=False),
        Binding("shift+tab", "focus_previous", "Previous pane", show=False),
    ]

    def __init__(
        self,
        engine: SnapshotProvider,
        config: Config,
        themes: ThemeSet | None = None,
        run_engine: bool = True,
        playback: Playback | None = None,
    ) -> None:
        """``engine``: where snapshots come from (the live engine, or a recording's
        player); ``playback``: what the playback keys steer, when something plays."""
        super().__init__()
        self.engine = engine
        self.playback = playback
        self.config = config
        self.themes = themes or load_themes()
        self.run_engine = run_engine
        self.bits = True
        self.hide_idle = config.hide_idle
        self.paused = False
        self.latest: Snapshot | None = None
        self.shown: Snapshot | None = None
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None
        #: The views a drill-down left, newest last; backspace returns to them.
        self.drill_stack: list[ViewSpec] = []
        self.exit_signal: int | None = None
        """The signal that ended the app (SIGTERM, SIGHUP, SIGINT), if one did."""
        self.themes.check(config.theme)

    def get_theme_variable_defaults(self) -> dict[str, str]:
        """Defaults so the stylesheet also parses under Textual's built-in themes."""
        return {name: "ansi_default" for name in NETOP_VARIABLES} | {
            "netop-rx": "#5FC4E8", "netop-tx": "#C89BE8", "netop-dim": "#808080",
            "netop-cursor": "#3A4A5A"}

    def compose(self) -> ComposeResult:
        yield HeaderBar()
        with Container(id="body"):
            with Container(id="top"):
                yield InterfacesPane()
                yield CountersPane()
            yield FlowsPane()
            yield ExportersPane()
            yield EventsPane()
        yield Static("", id="too-small")
        yield TotalsBar()
        yield FilterBar()
        yield GotoBar()
        yield PcapBar()
        yield Footer()

    def get_driver_class(self) -> type[Driver]:
        """Textual's driver, except on Linux: one that survives a hung-up terminal."""
        driver = super().get_driver_class()
        from textual.drivers.linux_driver import LinuxDriver

        if driver is LinuxDriver:
            from netop.ui.driver import HangupSafeLinuxDriver

            return HangupSafeLinuxDriver
        return driver

    def on_mount(self) -> None:
        """Register the themes, pick one, start the engine's ticker."""
        for theme in self.themes.themes:
            self.register_theme(theme)
        self.theme = self.config.theme
        interfaces = self.query_one(InterfacesPane)
        interfaces.watched = self.engine.named_interfaces
        interfaces.focus()
        self._layout_for(self.size.width, self.size.height)
        if self.run_engine:
            self._handle_signals()
            # Paint the first frame before sources spend time starting (a capture child,
            # SNMP sessions): a person sees the screen at once, the numbers a tick later.
            self.call_after_refresh(self._start_engine)

    def _start_engine(self) -> None:
        self.engine.start()
        self._ticker = threading.Thread(target=self._tick_loop, name="netop-engine",
                                        daemon=True)
        self._ticker.start()

    def _handle_signals(self) -> None:
        """End the app through its normal exit on TERM, HUP and INT, so that Textual
        restores the terminal and on_unmount ends the capture child (the default for
        TERM and HUP is to die at once, leaving both behind). The handlers stay until
        the event loop closes, so a second signal during shutdown changes nothing."""
        if threading.current_thread() is not threading.main_thread():
            return
        loop = asyncio.get_running_loop()
        for sig in ENDING_SIGNALS:
            loop.add_signal_handler(sig, self._end_by_signal, sig)

    def _end_by_signal(self, signum: int) -> None:
        if self.exit_signal is None:
            self.exit_signal = signum
            self.exit()

    def on_unmount(self) -> None:
        """Stop the ticker and the sources."""
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join(timeout=2)
        if self.run_engine:
            self.engine.stop()

    def _tick_loop(self) -> None:
        interval = self.engine.config.interval
        deadline = time.monotonic()
        while not self._stop.is_set():
            try:
                snapshot = self.engine.tick()
            except Exception as exc:  # the UI must survive an engine bug
                self.engine.emit(NetEvent(time.time(), Severity.ERROR, "engine",
                                          f"tick failed: {exc!r}"))
            else:
                self.post_message(SnapshotReady(snapshot))
            deadline += interval
            delay = deadline - time.monotonic()
            if delay < 0:  # fell behind (suspended laptop, busy box): don't catch up
                deadline = time.monotonic()
                delay = 0
            self._stop.wait(delay)

    # -- snapshots --------------------------------------------------------------------

    def on_snapshot_ready(self, message: SnapshotReady) -> None:
        """Keep the newest snapshot; show it unless paused."""
        self.apply_snapshot(message.snapshot)

    def apply_snapshot(self, snapshot: Snapshot) -> None:
        """Show ``snapshot`` (tests call this directly with fixed snapshots)."""
        self.latest = snapshot
        self.query_one(TotalsBar).count(snapshot)
        if not self.paused:
            self._render(snapshot)

    def _render(self, snapshot: Snapshot) -> None:
        self.shown = snapshot
        # A screen just pushed has no widgets yet (its on_mount draws): the next tick.
        if isinstance(self.screen, FlowDetailScreen | InterfaceDetailScreen | KpiScreen
                      | AlertsScreen) and self.screen.is_mounted:
            self.screen.follow(snapshot)
        self._notify_alerts(snapshot)
        with self.batch_update():
            self.query_one(HeaderBar).show(snapshot, self.bits, self.paused,
                                           self._playback_state())
            interfaces = self.query_one(InterfacesPane)
            interfaces.show(snapshot, self.bits, self.hide_idle)
            self.query_one(CountersPane).show(snapshot, interfaces.hidden, interfaces.collapsed,
                                              interfaces.by_rate, interfaces.watched)
            self.query_one(ExportersPane).show(snapshot)
            self.query_one(FlowsPane).show(snapshot, self.bits)
            self.query_one(EventsPane).show(snapshot)
            self.query_one(TotalsBar).show(snapshot, self.bits)
            self._fit_heights()

    def _notify_alerts(self, snapshot: Snapshot) -> None:
        """A toast for each alert that fired (a few at most per tick)."""
        for alert in snapshot.new_alerts[:3]:
            critical = alert.severity >= AlertSeverity.CRITICAL
            self.notify(safe_text(alert.message, 200), title=f"{alert.kind} (! lists alerts)",
                        severity="error" if critical else "warning", timeout=8, markup=False)

    def action_alerts(self) -> None:
        """The Alerts screen; choosing an alert filters the flows to those behind it."""

        def chosen(filter_text: str | None) -> None:
            if filter_text:
                self._set_view(filter_text=filter_text)
                self.query_one(FlowsPane).focus()

        self.push_screen(AlertsScreen(self.shown, self.engine.acknowledge),
                         callback=chosen)

    def _rerender(self) -> None:
        if self.shown is not None:
            self._render(self.shown)
        else:
            self.query_one(HeaderBar).show(None, self.bits, self.paused,
                                           self._playback_state())

    # -- layout -----------------------------------------------------------------------

    def on_resize(self, event: Resize) -> None:
        """Side by side on wide screens, stacked on narrow ones, a message on tiny ones."""
        self._layout_for(event.size.width, event.size.height)

    def _fit_heights(self) -> None:
        """Give each small pane its rows (netop.ui.layout), Flows the rest."""
        screen = self.screen_stack[0] if self.screen_stack else self.screen
        body = screen.query_one("#body").size.height
        if body <= 0:
            return
        exporters = screen.query_one(ExportersPane)
        rows = PaneRows(
            interfaces=len(screen.query_one(InterfacesPane).rows),
            counters=len(screen.query_one(CountersPane).rows),
            flows=len(screen.query_one(FlowsPane).rows),
            events=len(screen.query_one(EventsPane).rows),
            exporters=len(exporters.rows) if exporters.has_class("-active") else -1,
        )
        heights = pane_heights(body, rows, screen.has_class("-wide"))
        for pane, lines in ((InterfacesPane, heights.interfaces),
                            (CountersPane, heights.counters),
                            (EventsPane, heights.events),
                            (ExportersPane, heights.exporters)):
            widget = screen.query_one(pane)
            if widget.styles.height != Scalar.from_number(lines):
                widget.styles.height = lines

    def _layout_for(self, width: int, height: int) -> None:
        screen = self.screen_stack[0] if self.screen_stack else self.screen
        screen.set_class(width >= WIDE_COLUMNS, "-wide")
        tiny = width < MIN_WIDTH or height < MIN_HEIGHT
        screen.set_class(tiny, "-tiny")
        if tiny:
            screen.query_one("#too-small", Static).update(too_small_text(width, height))
        self.call_after_refresh(self._fit_heights)

    # -- actions ----------------------------------------------------------------------

    def action_kpis(self) -> None:
        """KPIs per remote host / service; the engine aggregates only while it is open."""
        screen = KpiScreen()
        self.engine.kpi_by = screen.by
        self.push_screen(screen, callback=lambda _: setattr(self.engine, "kpi_by", None))
        if self.shown is not None:
            self.call_after_refresh(screen.follow, self.shown)

    def on_kpi_grouping(self, message: KpiGrouping) -> None:
        """The KPI screen switched between per host and per service."""
        self.engine.kpi_by = message.by

    def action_help(self) -> None:
        """Show every key binding."""
        self.push_screen(HelpScreen())

    def action_toggle_pause(self) -> None:
        """Freeze or resume the display; collection goes on either way. In playback,
        pause the playing itself (the file or recording stops being read)."""
        if self.playback is not None:
            self.playback.toggle_pause()
            self._show_position()
            return
        self.paused = not self.paused
        if not self.paused and self.latest is not None:
            self._render(self.latest)
        else:
            self.query_one(HeaderBar).show(self.shown, self.bits, self.paused,
                                           self._playback_state())

    # -- playback ---------------------------------------------------------------------

    def _playback_state(self) -> PlaybackState | None:
        return self.playback.state() if self.playback is not None else None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The playback keys exist only while something plays back."""
        if action in ("step", "speed", "goto"):
            return self.playback is not None
        return True

    def _show_position(self) -> None:
        """Show the snapshot at the playback position now, not at the next tick."""
        current = self.playback.current() if self.playback is not None else None
        if current is not None:
            self.apply_snapshot(current)
        else:
            self._rerender()

    def action_step(self, ticks: int) -> None:
        """Pause and step one interval forward or back."""
        if self.playback is not None:
            self.playback.step(ticks)
            self._show_position()

    def action_speed(self, faster: bool) -> None:
        """Play faster or slower."""
        if self.playback is not None:
            self.playback.change_speed(faster)
            self._rerender()

    def action_goto(self) -> None:
        """Ask for a time or percentage to go to."""
        playback = self.playback
        if playback is not None:
            self.query_one(GotoBar).open("", lambda text: parse_goto(text, playback.state()))

    def on_goto_bar_chosen(self, message: GotoBar.Chosen) -> None:
        """Go to the chosen time."""
        if self.playback is not None:
            self.playback.seek(message.ts)
            self._show_position()
        self.query_one(FlowsPane).focus()

    def on_goto_bar_cancelled(self, message: GotoBar.Cancelled) -> None:
        """Back to the flows."""
        self.query_one(FlowsPane).focus()

    # -- writing the capture to a pcap -----------------------------------------------

    def action_write_pcap(self) -> None:
        """Ask for a file and write the live capture to it; pressed again, stop."""
        write = getattr(self.engine, "write_pcap", None)
        status = getattr(self.engine, "pcap_status", None)
        if self.playback is not None or not callable(write) or not callable(status):
            self.notify("W writes the live capture to a pcap; this is a playback "
                        "(the flow details' w saves a flow's packets)", timeout=4)
            return
        current = status()
        if current is not None:
            write(None)
            self.notify(safe_text(f"pcap {os.path.basename(current.path)} closed"),
                        timeout=3, markup=False)
            return
        self.query_one(PcapBar).open(default_pcap_name())

    def on_pcap_bar_chosen(self, message: PcapBar.Chosen) -> None:
        """Start writing there (the header shows it once the capture process has)."""
        write = getattr(self.engine, "write_pcap", None)
        if callable(write) and write(message.path):
            self.notify(safe_text(f"pcap {message.path}: starting · W stops"),
                        timeout=3, markup=False)
        else:
            self.notify("no live packet capture to write (start netop with -i IFACE)",
                        severity="warning", timeout=4)
        self.query_one(FlowsPane).focus()

    def on_pcap_bar_cancelled(self, message: PcapBar.Cancelled) -> None:
        """Back to the flows."""
        self.query_one(FlowsPane).focus()

    def action_toggle_bits(self) -> None:
        """Show rates in bits or bytes per second."""
        self.bits = not self.bits
        self._rerender()

    def action_toggle_groups(self) -> None:
        """Collapse every remote group (SNMP targets, sFlow exporters), or expand them all."""
        pane = self.query_one(InterfacesPane)
        remote = {r.origin for r in (self.shown.interfaces if self.shown else ())
                  if r.origin != "local"}
        pane.collapsed = set() if remote <= pane.collapsed else remote
        self._rerender()

    def action_toggle_idle(self) -> None:
        """Hide or show interfaces without traffic."""
        self.hide_idle = not self.hide_idle
        self._rerender()

    def _set_view(self, **changes: object) -> None:
        """Swap in a new ViewSpec; the engine applies it at its next tick."""
        spec = replace(self.engine.view_spec, **changes)  # type: ignore[arg-type]
        self.engine.view_spec = spec
        self.query_one(FlowsPane).show_spec(spec)
        if self.playback is not None:  # a recording has the rows at hand: show at once
            self._show_position()

    def action_next_sort(self) -> None:
        """Sort the flows by the next column."""
        keys = FLOW_SORT_KEYS
        current = self.engine.view_spec.sort
        self._set_view(sort=keys[(keys.index(current) + 1) % len(keys)] if current in keys
                       else keys[0])

    def action_reverse_sort(self) -> None:
        """Reverse the flow sort order."""
        self._set_view(descending=not self.engine.view_spec.descending)

    def action_next_aggregation(self) -> None:
        """Group the flows by the next key: connection → remote host → process → port →
        protocol. Sort and filter stay."""
        current = self.engine.view_spec.aggregate
        index = AGGREGATIONS.index(current) if current in AGGREGATIONS else -1
        self._set_view(aggregate=AGGREGATIONS[(index + 1) % len(AGGREGATIONS)])

    def action_toggle_names(self) -> None:
        """Show host and service names, or bare addresses and ports."""
        self._set_view(names=not self.engine.view_spec.names)
        self._rerender()

    def on_line_table_row_chosen(self, message: LineTable.RowChosen) -> None:
        """Enter on a flow opens its detail screen; on a group header it folds the group."""
        if isinstance(message.table, InterfacesPane) and message.key.startswith(GROUP):
            message.table.toggle(message.key.removeprefix(GROUP))
            self._rerender()
            return
        if isinstance(message.table, InterfacesPane):
            self._open_interface(message.key)
            return
        if isinstance(message.table, EventsPane):
            event = message.table.event(message.key)
            if event is not None:
                self._go_to_event(event)
            return
        if not isinstance(message.table, FlowsPane):
            return
        row = message.table.latest.get(message.key)
        if row is None:
            return
        if row.label:  # a group: expand it into its member flows
            self._expand(row)
            return
        if not row.label:  # a single flow: ask its source for its packets
            r = row.record
            self._set_view(watch=(r.proto, r.src, r.sport, r.dst, r.dport, r.vlan))
        shown = self.shown
        now = (shown.flows.now or shown.ts) if shown is not None else None
        self.push_screen(FlowDetailScreen(row, self.bits, now),
                         callback=lambda _: self._set_view(watch=None))

    def _go_to_event(self, event: NetEvent) -> None:
        """Enter on an event: its interface's row gets the cursor and the focus; a flow's
        event filters the Flows pane to that flow (backspace: back)."""
        from netop.ui.eventjump import flow_clause, interface_row

        shown = self.shown
        key = interface_row(event, shown.interfaces if shown is not None else ())
        interfaces = self.query_one(InterfacesPane)
        if key is not None and not interfaces.move_to(key):
            origin = key.split("\0", 1)[0]
            if origin in interfaces.collapsed:  # inside a folded group: unfold it first
                interfaces.toggle(origin)
                self._rerender()
            if not interfaces.move_to(key):
                key = None
        clause = flow_clause(event)
        if clause:
            self._drill_to(clause, aggregate="connection")
            self.query_one(FlowsPane).focus()
        elif key is not None:
            interfaces.focus()
        else:
            self.notify("this event is about no interface or flow shown here", timeout=2)

    # -- drill-down -------------------------------------------------------------------

    def _selected_flow(self) -> FlowRow | None:
        pane = self.query_one(FlowsPane)
        return pane.latest.get(pane.cursor_key) if pane.cursor_key is not None else None

    def _drill_to(self, clause: str, **changes: object) -> None:
        """Narrow the filter in force with ``clause`` (and apply ``changes``), keeping
        the view left on the stack for backspace."""
        spec = self.engine.view_spec
        self.drill_stack.append(spec)
        del self.drill_stack[:-DRILL_DEPTH]
        self._set_view(filter_text=narrow(spec.filter_text, clause), **changes)
        self.notify(f"{self.engine.view_spec.filter_text} · backspace: back", timeout=3)

    def action_drill(self, what: str) -> None:
        """Filter to the selected flow's host, port, process or conversation."""
        row = self._selected_flow()
        if row is None:
            self.notify("no flow selected", severity="warning", timeout=2)
            return
        if row.label:
            clause = row.members
        else:
            r = row.record
            remote = row.remote or r.dst
            clause = {
                "host": host_filter(remote),
                "port": port_filter(r.proto, r.dport),
                "process": process_filter(row.process),
                "conversation": conversation_filter(r.src, r.dst),
            }[what]
        if not clause:
            self.notify(f"no {what} to filter on for this row", severity="warning",
                        timeout=2)
            return
        self._drill_to(clause)

    def _expand(self, row: FlowRow) -> None:
        """A group row opens into its member flows (backspace returns to the groups)."""
        if not row.members:
            self.notify("this group's flows cannot be selected by a filter",
                        severity="warning", timeout=2)
            return
        self._drill_to(row.members, aggregate="connection")

    def action_drill_back(self) -> None:
        """Back to the view before the last drill-down."""
        if not self.drill_stack:
            self.notify("no drill-down to go back from", timeout=2)
            return
        spec = self.drill_stack.pop()
        self._set_view(filter_text=spec.filter_text, aggregate=spec.aggregate)

    def action_toggle_totals(self) -> None:
        """The flows' rate columns show totals (bytes each way) or rates (iftop's T)."""
        pane = self.query_one(FlowsPane)
        pane.totals = not pane.totals
        pane.refit()
        self._rerender()

    def action_toggle_bars(self) -> None:
        """iftop's scale bars behind the flow rows, with a ruler, or none."""
        pane = self.query_one(FlowsPane)
        pane.bars = not pane.bars
        pane.refit()

    def action_toggle_iface_order(self) -> None:
        """Interfaces busiest first (watched ones on top) or by name."""
        pane = self.query_one(InterfacesPane)
        pane.by_rate = not pane.by_rate
        self._rerender()

    def _open_interface(self, key: str) -> None:
        """Enter on an interface row: its detail screen; the engine reads its NIC and
        qdisc counters while the screen is open (local interfaces only)."""
        shown = self.shown
        if shown is None:
            return
        origin, _, name = key.partition("\0")
        rate = shown.total if (origin, name) == ("local", "all") else next(
            (r for r in shown.interfaces if r.key == (origin, name)), None)
        if rate is None:
            return
        if origin == "local" and name != "all":
            self.engine.nic_detail = name

        def closed(_: None) -> None:
            self.engine.nic_detail = None

        self.push_screen(InterfaceDetailScreen(rate, self.bits), callback=closed)

    def action_filter(self) -> None:
        """Open the filter box with the filter in force."""
        self.query_one(FilterBar).open(self.engine.view_spec.filter_text)

    def on_filter_bar_applied(self, message: FilterBar.Applied) -> None:
        """A valid filter was entered: apply it to all flows from the next tick."""
        self._set_view(filter_text=message.text)
        self.query_one(FlowsPane).focus()

    def on_filter_bar_cancelled(self, message: FilterBar.Cancelled) -> None:
        """Back to the flows, filter unchanged."""
        self.query_one(FlowsPane).focus()

    def on_line_table_header_clicked(self, message: LineTable.HeaderClicked) -> None:
        """Clicking a flow column header sorts by it (again: reverses)."""
        sort = FlowsPane.SORT_BY_COLUMN.get(message.column)
        if not isinstance(message.table, FlowsPane) or sort is None:
            return
        if sort == self.engine.view_spec.sort:
            self.action_reverse_sort()
        else:
            self._set_view(sort=sort)

    def action_next_theme(self) -> None:
        """Switch to the next theme."""
        self.theme = self.themes.after(self.theme)
        self.notify(f"theme: {self.theme}", timeout=2)
