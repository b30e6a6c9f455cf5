"""Per-exporter state: counters, sequence tracking, templates and buffered data.

Everything an exporter can make the collector keep is bounded here: the number of
templates, the bytes of data sets waiting for a template, and how long they wait.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

from netop.model import Severity
from netop.sources.collector.templates import Template

#: A sequence jump larger than this is an exporter restart or reordering, not loss.
MAX_PLAUSIBLE_GAP = 1 << 20


@dataclass(frozen=True, slots=True)
class Limits:
    """Per-exporter bounds; defaults suit a busy router, not an attacker."""

    max_templates: int = 512
    template_lifetime: float = 1800.0
    max_pending_bytes: int = 1 << 20
    pending_lifetime: float = 60.0
    max_exporters: int = 4096
    max_pending_total: int = 64 << 20


class PendingBudget:
    """Bytes buffered for missing templates across all exporters (spoofed sources
    must not multiply the per-exporter limit)."""

    __slots__ = ("used",)

    def __init__(self) -> None:
        self.used = 0


@dataclass(slots=True)
class Pending:
    """A data set that arrived before its template."""

    key: tuple[int, int, int]  # (version, domain, template id)
    body: bytes
    export_ms: float
    uptime_ms: float | None
    arrived: float


@dataclass(slots=True)
class ExporterState:
    """What the collector knows about one exporter address."""

    address: str
    protocol: str = ""
    datagrams: int = 0
    records: int = 0
    malformed: int = 0
    seq_lost: int = 0
    seq_resets: int = 0
    first_seen: float = 0.0
    last_seen: float = 0.0
    templates: dict[tuple[int, int, int], Template] = field(default_factory=dict)
    sampling: dict[tuple[int, int], int] = field(default_factory=dict)
    init_ms: dict[int, float] = field(default_factory=dict)
    pending: deque[Pending] = field(default_factory=deque)
    pending_bytes: int = 0
    budget: PendingBudget = field(default_factory=PendingBudget)
    pending_dropped: int = 0
    templates_refused: int = 0
    seq_next: dict[tuple[str, int], tuple[int, tuple[int, ...]]] = field(default_factory=dict)
    sflow_sources: dict[tuple[int, int], tuple[int, int]] = field(default_factory=dict)
    events: list[tuple[Severity, str]] = field(default_factory=list)

    def note(self, severity: Severity, message: str) -> None:
        """Queue an event for the next tick (bounded: a flood keeps only the first)."""
        if len(self.events) < 64:
            self.events.append((severity, message))

    def check_sequence(
        self, stream: str, domain: int, seq: int, advance: int, alt_advance: int | None = None
    ) -> None:
        """Count a gap between the expected and received sequence number of a stream.

        ``advance`` is how far this datagram moves the sequence (records for v5 and
        IPFIX, 1 for v9 and sFlow datagrams); a negative advance means "unknown", and
        the next datagram is then not checked. Some exporters (softflowd's IPFIX) send
        the count *after* the message instead of before it, or leave options records
        out of it: a sequence that fits either reading is not a loss.
        """
        key = (stream, domain)
        advances = (advance,) if alt_advance is None else (advance, alt_advance)
        previous = self.seq_next.get(key)
        if previous is not None and seq == (previous[0] + previous[1][0]) & 0xFFFFFFFF:
            self.seq_next[key] = (seq, advances)  # the common case: no gap
            return
        if previous is not None:
            last, last_advances = previous
            fits = {(last + a) & 0xFFFFFFFF for a in (*last_advances, *advances) if a >= 0}
            if fits and seq not in fits and last_advances[0] >= 0:
                gap = (seq - last - last_advances[0]) & 0xFFFFFFFF
                if gap < MAX_PLAUSIBLE_GAP:
                    self.seq_lost += gap
                    self.note(
                        Severity.WARNING,
                        f"exporter {self.address}: {gap} {stream} sequence numbers lost "
                        f"(domain {domain})",
                    )
                else:
                    self.seq_resets += 1
        self.seq_next[key] = (seq, advances)

    def store_template(
        self, key: tuple[int, int, int], tpl: Template, now: float, limits: Limits
    ) -> bool:
        """Add or replace a template; refuses new ones beyond the per-exporter limit."""
        old = self.templates.get(key)
        if old is None and len(self.templates) >= limits.max_templates:
            self.templates_refused += 1
            return False
        tpl.seen = now
        if old is not None and old.fields == tpl.fields and old.scope_count == tpl.scope_count:
            old.seen = now  # a periodic resend: keep the compiled one
            return True
        self.templates[key] = tpl
        return True

    def withdraw(self, version: int, domain: int, template_id: int, options: bool) -> int:
        """Remove one template, or all (of a kind) when ``template_id`` is 2 or 3."""
        if template_id in (2, 3):
            doomed = [
                k
                for k, t in self.templates.items()
                if k[0] == version and k[1] == domain and t.options == options
            ]
        else:
            doomed = (
                [(version, domain, template_id)]
                if (version, domain, template_id) in self.templates
                else []
            )
        for key in doomed:
            del self.templates[key]
        return len(doomed)

    def expire(self, now: float, limits: Limits) -> None:
        """Drop templates past their lifetime and buffered data past its wait."""
        stale = [k for k, t in self.templates.items() if now - t.seen > limits.template_lifetime]
        for key in stale:
            del self.templates[key]
            self.note(Severity.INFO, f"exporter {self.address}: template {key[2]} expired")
        while self.pending and now - self.pending[0].arrived > limits.pending_lifetime:
            dropped = self.pending.popleft()
            self.pending_bytes -= len(dropped.body)
            self.budget.used -= len(dropped.body)
            self.pending_dropped += 1

    def buffer(self, item: Pending, limits: Limits) -> None:
        """Keep a data set until its template arrives, oldest dropped first when full."""
        size = len(item.body)
        if size > limits.max_pending_bytes or self.budget.used + size > limits.max_pending_total:
            self.pending_dropped += 1
            return
        self.pending.append(item)
        self.pending_bytes += size
        self.budget.used += size
        while self.pending_bytes > limits.max_pending_bytes:
            dropped = self.pending.popleft()
            self.pending_bytes -= len(dropped.body)
            self.budget.used -= len(dropped.body)
            self.pending_dropped += 1

    def take_pending(self, key: tuple[int, int, int]) -> list[Pending]:
        """Remove and return buffered data sets waiting for template ``key``."""
        if not self.pending:
            return []
        ready = [p for p in self.pending if p.key == key]
        if ready:
            self.pending = deque(p for p in self.pending if p.key != key)
            released = sum(len(p.body) for p in ready)
            self.pending_bytes -= released
            self.budget.used -= released
        return ready

    def row(self, rates: tuple[float, float]) -> dict[str, Any]:
        """The Exporters view row (JSON-ready)."""
        return {
            "exporter": self.address,
            "protocol": self.protocol,
            "datagrams_s": round(rates[0], 1),
            "records_s": round(rates[1], 1),
            "datagrams": self.datagrams,
            "records": self.records,
            "templates": len(self.templates),
            "seq_lost": self.seq_lost,
            "malformed": self.malformed,
            "pending": len(self.pending),
            "last_seen": self.last_seen,
        }
