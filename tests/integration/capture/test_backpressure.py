"""A starved engine must not hoard capture batches: the combined soak (bench/soak_all.py)
found that while other processes had the CPU, every batch the capture child sent waited
in the engine's inbox until the next tick, and a 30 s stall took the engine from 110 to
245 MiB. A consumer that polls (the engine, once a tick) now gets at most
``MAX_UNTAKEN`` batches between two polls; past that the source stops reading the
child, whose ring then fills and the kernel counts the drops, as for any slow reader.

The child runs as the TUI starts it, inside a namespace the test made.
"""

from __future__ import annotations

import queue
import time

import pytest

from netop.model import FlowBatch, NetEvent
from netop.sources.base import SourceItem
from netop.sources.capture.options import CaptureOptions
from netop.sources.capture.source import MAX_UNTAKEN, CaptureSource
from tests.netns import veth_pair

pytestmark = pytest.mark.netns


def _take(items: queue.SimpleQueue[SourceItem], until: float) -> list[SourceItem]:
    got: list[SourceItem] = []
    while (left := until - time.monotonic()) > 0:
        try:
            got.append(items.get(timeout=left))
        except queue.Empty:
            break
    return got


def test_batches_wait_in_the_child_not_in_memory_while_the_consumer_does_not_poll(
    launcher: str,
) -> None:
    with veth_pair() as pair:
        items: queue.SimpleQueue[SourceItem] = queue.SimpleQueue()
        source = CaptureSource(CaptureOptions(
            interfaces=(pair.if_a,), helper=("ip", "netns", "exec", pair.ns_a),
            launcher=launcher, sampling=False))  # fmt: skip
        source.start(items.put)
        try:
            deadline = time.monotonic() + 15
            while not any(isinstance(i, FlowBatch) and i.stats for i in _take(items, deadline)):
                assert time.monotonic() < deadline, "no batch from the capture child"
            source.poll(time.time())  # a polling consumer (the engine), which then stalls
            # The child sends a batch a second; a stall of MAX_UNTAKEN + 4 s would have
            # brought MAX_UNTAKEN + 4 of them (it did before the bound).
            stalled = _take(items, time.monotonic() + MAX_UNTAKEN + 4)
            batches = [i for i in stalled if isinstance(i, FlowBatch)]
            assert len(batches) <= MAX_UNTAKEN, f"{len(batches)} batches handed over unpolled"
            # Polling again lets the waiting batches through (bounded wait).
            source.poll(time.time())
            resumed = _take(items, time.monotonic() + 5)
            assert any(isinstance(i, FlowBatch) for i in resumed)
            assert not any(isinstance(i, NetEvent) and "damaged" in i.message
                           for i in stalled + resumed)  # fmt: skip
        finally:
            source.stop()
