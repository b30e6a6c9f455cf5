"""The contract between a source and the engine."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeAlias

from netop.model import (
    FlowBatch,
    FlowKey,
    InterfaceSample,
    NetEvent,
    PcapStatus,
    SourceStatus,
)

#: What a source hands to the engine.
SourceItem: TypeAlias = InterfaceSample | NetEvent | FlowBatch | SourceStatus
#: Thread-safe callback a background source uses to push items to the engine.
Emit: TypeAlias = Callable[[SourceItem], None]


class Source:
    """Base class of every source.

    A source either pushes items from its own thread, process or task through the
    ``emit`` callback given to :meth:`start`, or returns them from :meth:`poll`, which
    the engine calls once per tick on its own thread. Both are allowed; most sources
    use one. :meth:`poll` must be cheap: it runs inside the engine's tick.
    """

    #: Short name used in events and the header ("counters", "capture", "snmp"...).
    name: str = "source"
    #: Whether this source feeds the Flows pane (capture, flow collector).
    produces_flows: bool = False
    #: Whether this source plays back a recording: its flows live on the recording's
    #: clock (``FlowBatch.clock``) and the table keeps the flows that ended.
    replay: bool = False

    def start(self, emit: Emit) -> None:
        """Begin background work, if any. Called once before the first tick."""

    def poll(self, now: float) -> Iterable[SourceItem]:
        """Items available now; called once per tick."""
        return ()

    def watch_flow(self, flow: FlowKey | None) -> None:
        """Start (or, with ``None``, stop) sending the packets of one flow.

        ``flow`` is (proto, src, sport, dst, dport, vlan) as in the flow's record. A
        source that keeps packets answers with ``FlowBatch.watched``; others ignore it.
        Called from the engine's thread; must not block.
        """

    def write_pcap(self, path: str | None) -> bool:
        """Start writing the packets this source captures live to the pcap file ``path``
        (absolute; it ends the file written before), or with ``None`` stop writing.
        False when the source captures no packets live (a file, a collector). Must not
        block."""
        return False

    def pcap_status(self) -> PcapStatus | None:
        """The pcap file being written, if any (see :meth:`write_pcap`)."""
        return None

    def describe(self) -> str:
        """What this source watches, for the header (e.g. ``"eth0"``)."""
        return self.name

    def stop(self) -> None:
        """Stop background work and release resources. Must be idempotent."""
