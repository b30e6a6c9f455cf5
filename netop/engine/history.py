"""Bounded per-interface rate histories for the sparklines."""

from __future__ import annotations

from collections import deque


class RateHistory:
    """The last ``length`` rx/tx rates (bits/s) of each interface, oldest first."""

    def __init__(self, length: int) -> None:
        self.length = max(2, length)
        self._rx: dict[tuple[str, str], deque[float]] = {}
        self._tx: dict[tuple[str, str], deque[float]] = {}

    def add(self, key: tuple[str, str], rx_bps: float | None, tx_bps: float | None) -> None:
        """Append one tick; an unknown rate (reset, first sample) counts as 0."""
        if key not in self._rx:
            self._rx[key] = deque(maxlen=self.length)
            self._tx[key] = deque(maxlen=self.length)
        self._rx[key].append(rx_bps or 0.0)
        self._tx[key].append(tx_bps or 0.0)

    def get(self, key: tuple[str, str]) -> tuple[tuple[float, ...], tuple[float, ...]]:
        """The rx and tx histories of ``key`` (empty when unknown)."""
        rx = self._rx.get(key)
        tx = self._tx.get(key)
        return (tuple(rx) if rx else (), tuple(tx) if tx else ())

    def forget(self, key: tuple[str, str]) -> None:
        """Drop an interface that is gone."""
        self._rx.pop(key, None)
        self._tx.pop(key, None)

    def __len__(self) -> int:
        return len(self._rx)
