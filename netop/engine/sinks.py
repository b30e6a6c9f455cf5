"""What consumes every snapshot after the engine built it: the recorder, the
Prometheus endpoint, flow export, alert actions.

A sink is handed each snapshot on the engine's thread, right after :meth:`Engine.tick`
built it, whichever view (the TUI or a headless command) asked for the tick. It must
return at once: anything slow (disk, network, a child process) happens on the sink's
own thread behind a bounded queue, so that a stuck receiver never delays a tick.

Flows as they end. A sink that also has ``flows_ended(records, forced)``
(:class:`FlowSink`) is handed, on the same thread, every flow the engine's flow table
ends: on its idle/active timeout each tick, as a file is played (``Engine.play``), and
at the end of the run (``Engine.close_sinks``, ``forced``: ended by the run's end, not
a timeout). The engine then keeps expired flows for it (``keep_expired``); a flow that
ends, is taken up again and ends again is handed out with only what came since. This
is the one mechanism: the flow exporter uses it; a recorder may too.

A sink may also fill ``notices`` (a list of ``(Severity, text)``) in ``start``: the
engine logs them as events (the TUI's log) and headless commands print them on stderr
(``pipeline.announce_sinks``): where /metrics is served, a warning about exposure.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from netop.model import FlowRecord, Snapshot


class SnapshotSink(Protocol):
    """Consumes snapshots; built by ``netop.commands.pipeline.build_sinks``."""

    #: Names the sink in events ("record", "prometheus", ...).
    name: str

    def start(self) -> None:
        """Open files, bind ports, start the sink's own thread (called once)."""

    def consume(self, snapshot: Snapshot) -> None:
        """Take one snapshot; must not block."""

    def close(self) -> None:
        """Flush and release everything; safe to call twice."""


class FlowSink(SnapshotSink, Protocol):
    """A sink that also takes the flows the engine ends (see the module's text)."""

    def flows_ended(self, records: Sequence[FlowRecord], forced: bool) -> None:
        """Take flows that ended (cumulative records); must not block."""
