"""What consumes every snapshot after the engine built it: the recorder, the
Prometheus endpoint, flow export, alert actions.

A sink is handed each snapshot on the engine's thread, right after :meth:`Engine.tick`
built it, whichever view (the TUI or a headless command) asked for the tick. It must
return at once: anything slow (disk, network, a child process) happens on the sink's
own thread behind a bounded queue, so that a stuck receiver never delays a tick.
"""

from __future__ import annotations

from typing import Protocol

from netop.model import Snapshot


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
