"""``SnmpSource``: the poller on its own thread, pushing items to the engine.

The poller's asyncio loop runs in a daemon thread so that SNMP never touches the UI's
event loop; items go out through the engine's thread-safe ``emit``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from netop.config import Config
from netop.model import NetEvent, Severity
from netop.sources.base import Emit, Source
from netop.sources.snmp.targets import SnmpTarget, TargetSet, parse_target_spec, targets_from_config

if TYPE_CHECKING:
    from netop.sources.snmp.poller import Poller

SNMP_HELP = (
    "poll an SNMP agent: v2c:COMMUNITY@HOST[:PORT], v1:COMMUNITY@HOST[:PORT] or "
    "v3:USER@HOST[:PORT][/AUTH[/PRIV]] with keys from $NETOP_SNMP_AUTH_KEY / "
    "$NETOP_SNMP_PRIV_KEY (or *_FILE); repeatable; NAME=... names it (two communities "
    "on one agent). A community on the command line is "
    "visible to every user (ps): prefer v2c:@HOST with the community in "
    "$NETOP_SNMP_COMMUNITY_FILE (a file only you can write) or $NETOP_SNMP_COMMUNITY"
)

class SnmpSource(Source):
    """Polls SNMP targets in a background thread; emits samples, events and status."""

    name = "snmp"

    def __init__(self, targets: Sequence[SnmpTarget], warnings: Sequence[str] = ()) -> None:
        self.targets = tuple(targets)
        self.warnings = tuple(warnings)
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._poller: Poller | None = None

    def start(self, emit: Emit) -> None:
        """Start the polling thread (once)."""
        if self._thread is not None:
            return
        for warning in self.warnings:
            emit(NetEvent(time.time(), Severity.WARNING, "snmp", warning))
        self._thread = threading.Thread(
            target=self._main, args=(emit,), name="netop-snmp", daemon=True
        )
        self._thread.start()
        self._ready.wait(timeout=5.0)

    def _main(self, emit: Emit) -> None:
        try:
            asyncio.run(self._run(emit))
        except Exception as exc:  # the worker must never die silently
            emit(
                NetEvent(
                    time.time(),
                    Severity.ERROR,
                    "snmp",
                    f"SNMP poller stopped: {type(exc).__name__}: {exc}",
                )
            )
        finally:
            self._ready.set()

    async def _run(self, emit: Emit) -> None:
        from netop.sources.snmp.poller import Poller

        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        self._ready.set()
        poller = Poller(self.targets)
        self._poller = poller
        await poller.open()
        try:
            await poller.run(emit, self._stop)
        finally:
            poller.close()

    def interface_name(self, address: str, index: int) -> str | None:
        """The row name of interface ``index`` of the target at ``address`` (a trap's
        sender), when that target is polled and the interface known; any thread."""
        poller = self._poller
        if poller is None:
            return None
        for tracker in list(poller.trackers):
            if tracker.target.host == address:
                return tracker.interface_name(index)
        return None

    def describe(self) -> str:
        """The targets, for the header."""
        return "snmp " + ", ".join(t.name for t in self.targets)

    def stop(self) -> None:
        """Stop polling and wait (briefly) for the thread to end. Idempotent."""
        loop, stop, thread = self._loop, self._stop, self._thread
        if loop is not None and stop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(stop.set)
        if thread is not None:
            thread.join(timeout=5.0)
        self._thread = None


def add_snmp_arguments(parser: argparse.ArgumentParser) -> None:
    """``--snmp TARGET`` (repeatable), for the TUI."""
    parser.add_argument("--snmp", action="append", default=None, metavar="TARGET", help=SNMP_HELP)


def load_targets(specs: Sequence[str], config: Config, interval: float | None = None) -> TargetSet:
    """Targets of the config file plus those named on the command line."""
    from_file = targets_from_config(config)
    targets = list(from_file.targets)
    warnings = list(from_file.warnings)
    for spec in specs:
        parsed = parse_target_spec(spec, interval=interval)
        targets.extend(parsed.targets)
        warnings.extend(parsed.warnings)
    names = [t.name for t in targets]
    for target in targets:
        if names.count(target.name) > 1:
            from netop.errors import ConfigError

            raise ConfigError("--snmp", f"target {target.name!r} is given twice; two "
                              "communities or users on one agent need a name each: "
                              "NAME=v2c:...@HOST (or name in [[snmp.targets]])")
    return TargetSet(tuple(targets), tuple(warnings))


def snmp_source_from_args(args: argparse.Namespace, config: Config) -> SnmpSource | None:
    """The SNMP source for the TUI, or None when no target is configured."""
    found = load_targets(getattr(args, "snmp", None) or (), config)
    if not found.targets:
        return None
    return SnmpSource(found.targets, found.warnings)
