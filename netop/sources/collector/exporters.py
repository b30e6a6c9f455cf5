"""Per-exporter state: counters, sequence tracking, templates and buffered data.

Everything an exporter can make the collector keep is bounded here, per exporter and
in total (spoofed sources must not multiply a per-exporter limit): templates (count,
fields, bytes, compiles per second), data sets waiting for a template (bytes and
items), observation domains and sFlow interfaces. Every refusal is counted in
:attr:`Shared.drops` so that the status line and the JSON stats show it.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from netop.model import Severity
from netop.sources.collector.templates import FieldSpec, Template, compile_template

#: A sequence jump larger than this is an exporter restart or reordering, not loss.
MAX_PLAUSIBLE_GAP = 1 << 20
#: What one buffered data set costs beyond its body (Pending object, bytes header,
#: index entries; measured with tracemalloc at ~370 bytes for tiny sets of random
#: templates): counted against the byte budget so that empty or 1-byte sets cannot
#: buffer millions of objects.
PENDING_OVERHEAD = 384
#: Estimated bytes of one stored template: the per-exporter entry plus a share of the
#: compiled code, and the field list.
TEMPLATE_OVERHEAD = 1024
TEMPLATE_FIELD_BYTES = 64
#: Names of the counted drops, in the order the summary lists them.
DROP_NAMES = (
    "templates", "template_fields", "templates_per_datagram", "template_bytes",
    "compile_budget", "pending", "empty_sets", "domains", "exporters_evicted",
    "exporters_expired", "interfaces",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds on what exporters can make the collector keep and spend; defaults suit
    a busy router, not an attacker."""

    max_templates: int = 512
    template_lifetime: float = 1800.0
    max_pending_bytes: int = 1 << 20
    pending_lifetime: float = 60.0
    max_exporters: int = 4096
    max_pending_total: int = 64 << 20
    #: Real templates have tens of fields; 16,000 would cost 1.35 MB each.
    max_template_fields: int = 256
    max_templates_per_datagram: int = 64
    max_template_bytes: int = 1 << 20
    max_template_bytes_total: int = 64 << 20
    #: Compiling a new layout costs ~0.7 ms; identical layouts come from a shared cache.
    compiles_per_second: int = 16
    compiles_total_per_second: int = 64
    template_cache: int = 1024
    max_pending_items: int = 1024
    max_pending_items_total: int = 65536
    max_domains: int = 256
    #: Exporters silent this long are forgotten (with their templates and interfaces).
    exporter_lifetime: float = 3600.0
    max_interfaces: int = 2048
    max_interfaces_total: int = 16384


class Shared:
    """What all exporters share: the global budgets, the compiled-layout cache and
    the drop counters."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.pending_bytes = 0
        self.pending_items = 0
        self.template_bytes = 0
        self.interfaces = 0
        self.compiled = 0
        self.drops: dict[str, int] = dict.fromkeys(DROP_NAMES, 0)
        self._cache: OrderedDict[tuple[Any, ...], Template] = OrderedDict()
        self._tokens = float(limits.compiles_total_per_second)
        self._tokens_at = 0.0

    def drop(self, name: str, count: int = 1) -> None:
        """Count ``count`` items refused by the limit ``name``."""
        self.drops[name] += count

    def cached(self, fields: tuple[FieldSpec, ...], scope: int, options: bool) -> Template | None:
        """The compiled layout of a field list when the cache has it (no compiling)."""
        key = (fields, scope, options)
        tpl = self._cache.get(key)
        if tpl is not None:
            self._cache.move_to_end(key)
        return tpl

    def layout(
        self,
        fields: tuple[FieldSpec, ...],
        scope: int,
        options: bool,
        now: float,
        exporter_budget: Callable[[], bool],
    ) -> Template | None:
        """The compiled layout of a field list: from the LRU cache, or compiled when
        both the exporter's and the global compile budget allow (else None, counted).

        Compiling is a pure function of (fields, scope, options), so exporters share
        the result; each stores its own shallow copy with its template id and times.
        """
        key = (fields, scope, options)
        tpl = self._cache.get(key)
        if tpl is not None:
            self._cache.move_to_end(key)
            return tpl
        rate = self.limits.compiles_total_per_second
        # max(0, ...): a wall clock stepped back must not drain the bucket.
        self._tokens = min(float(rate), self._tokens + max(0.0, now - self._tokens_at) * rate)
        self._tokens_at = now
        if self._tokens < 1 or not exporter_budget():
            self.drop("compile_budget")
            return None
        self._tokens -= 1
        tpl = compile_template(0, fields, scope_count=scope, options=options)
        self.compiled += 1
        self._cache[key] = tpl
        while len(self._cache) > self.limits.template_cache:
            self._cache.popitem(last=False)
        return tpl


def template_cost(fields: tuple[FieldSpec, ...]) -> int:
    """Estimated bytes one stored template costs."""
    return TEMPLATE_OVERHEAD + TEMPLATE_FIELD_BYTES * len(fields)


@dataclass(slots=True, eq=False)
class Pending:
    """A data set that arrived before its template."""

    key: tuple[int, int, int]  # (version, domain, template id)
    body: bytes
    export_ms: float
    uptime_ms: float | None
    arrived: float
    done: bool = False

    @property
    def cost(self) -> int:
        """Bytes counted against the pending budgets."""
        return len(self.body) + PENDING_OVERHEAD


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
    template_bytes: int = 0
    sampling: dict[tuple[int, int], int] = field(default_factory=dict)
    init_ms: dict[int, float] = field(default_factory=dict)
    #: Buffered data sets by template key, and all of them oldest first (entries taken
    #: by a template stay there, marked done, until they reach the front).
    pending: dict[tuple[int, int, int], list[Pending]] = field(default_factory=dict)
    pending_order: deque[Pending] = field(default_factory=deque)
    pending_bytes: int = 0
    pending_items: int = 0
    budget: Shared = field(default_factory=lambda: Shared(Limits()))
    pending_dropped: int = 0
    templates_refused: int = 0
    #: Templates defined by the datagram being decoded (bounded per datagram).
    datagram_templates: int = 0
    compile_tokens: float = -1.0
    compile_at: float = 0.0
    seq_next: dict[tuple[str, int], tuple[int, tuple[int, ...]]] = field(default_factory=dict)
    sflow_sources: dict[tuple[int, int], tuple[int, int]] = field(default_factory=dict)
    interfaces: set[str] = field(default_factory=set)
    events: list[tuple[Severity, str]] = field(default_factory=list)
    clock_skew: int = 0
    """Records whose end lay in the future when they arrived (the exporter's clock is
    ahead of ours, or its export time is wrong)."""
    clock_ahead: float = 0.0
    """The furthest into the future one of its records was dated, seconds."""

    def note(self, severity: Severity, message: str) -> None:
        """Queue an event for the next tick (bounded: a flood keeps only the first)."""
        if len(self.events) < 64:
            self.events.append((severity, message))

    def compile_allowed(self, now: float, limits: Limits) -> bool:
        """Spend one of this exporter's compiles for this second (token bucket)."""
        rate = limits.compiles_per_second
        if self.compile_tokens < 0:
            self.compile_tokens = float(rate)
        else:
            self.compile_tokens = min(
                float(rate), self.compile_tokens + max(0.0, now - self.compile_at) * rate
            )
        self.compile_at = now
        if self.compile_tokens < 1:
            return False
        self.compile_tokens -= 1
        return True

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
        if previous is not None and (
            seq == (previous[0] + previous[1][0]) & 0xFFFFFFFF
            # softflowd's IPFIX reading (this message's count): no gap either.
            or (advance >= 0 and seq == (previous[0] + advance) & 0xFFFFFFFF)
        ):
            self.seq_next[key] = (seq, advances)  # the common case: no gap
            return
        if previous is None and len(self.seq_next) >= self.budget.limits.max_domains:
            self.budget.drop("domains")
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

    def template_room(self, key: tuple[int, int, int], fields: tuple[FieldSpec, ...],
                      limits: Limits) -> bool:  # fmt: skip
        """Whether a new or changed template fits every limit (checked before compiling)."""
        shared = self.budget
        if len(fields) > limits.max_template_fields:
            shared.drop("template_fields")
            return False
        old = self.templates.get(key)
        if old is None:
            if len(self.templates) >= limits.max_templates:
                self.templates_refused += 1
                shared.drop("templates")
                return False
            domains = {k[1] for k in self.templates}
            if key[1] not in domains and len(domains) >= limits.max_domains:
                shared.drop("domains")
                return False
        growth = template_cost(fields) - (template_cost(old.fields) if old else 0)
        if growth > 0 and (
            self.template_bytes + growth > limits.max_template_bytes
            or shared.template_bytes + growth > limits.max_template_bytes_total
        ):
            shared.drop("template_bytes")
            return False
        return True

    def store_template(
        self, key: tuple[int, int, int], tpl: Template, now: float, limits: Limits
    ) -> bool:
        """Add or replace a template; refuses new ones beyond the per-exporter limits."""
        old = self.templates.get(key)
        if old is not None and old.fields == tpl.fields and old.scope_count == tpl.scope_count:
            old.seen = now  # a periodic resend: keep the compiled one
            return True
        if not self.template_room(key, tpl.fields, limits):
            return False
        tpl.seen = now
        if old is not None:
            self._forget_template(old)
        self.templates[key] = tpl
        cost = template_cost(tpl.fields)
        self.template_bytes += cost
        self.budget.template_bytes += cost
        return True

    def _forget_template(self, tpl: Template) -> None:
        cost = template_cost(tpl.fields)
        self.template_bytes -= cost
        self.budget.template_bytes -= cost

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
            self._forget_template(self.templates.pop(key))
        return len(doomed)

    def expire(self, now: float, limits: Limits) -> None:
        """Drop templates past their lifetime and buffered data past its wait."""
        stale = [k for k, t in self.templates.items() if now - t.seen > limits.template_lifetime]
        for key in stale:
            self._forget_template(self.templates.pop(key))
            self.note(Severity.INFO, f"exporter {self.address}: template {key[2]} expired")
        order = self.pending_order
        while order and (order[0].done or now - order[0].arrived > limits.pending_lifetime):
            item = order.popleft()
            if not item.done:
                self._unbuffer(item)
                self.pending_dropped += 1
                self.budget.drop("pending")

    def release(self) -> None:
        """Return everything this exporter holds to the shared budgets (it is forgotten)."""
        for tpl in self.templates.values():
            self._forget_template(tpl)
        self.templates.clear()
        for item in self.pending_order:
            if not item.done:
                self._unbuffer(item)
        self.pending_order.clear()
        self.pending.clear()
        self.budget.interfaces -= len(self.interfaces)
        self.interfaces.clear()

    def _unbuffer(self, item: Pending) -> None:
        """Remove a buffered set from the index and the budgets."""
        item.done = True
        same = self.pending.get(item.key)
        if same is not None:
            same.remove(item)
            if not same:
                del self.pending[item.key]
        cost = item.cost
        self.pending_bytes -= cost
        self.pending_items -= 1
        self.budget.pending_bytes -= cost
        self.budget.pending_items -= 1

    def buffer(self, item: Pending, limits: Limits) -> None:
        """Keep a data set until its template arrives, oldest dropped first when full.

        Empty sets carry no records and are dropped (counted) instead.
        """
        shared = self.budget
        if not item.body:
            shared.drop("empty_sets")
            return
        cost = item.cost
        if (
            cost > limits.max_pending_bytes
            or shared.pending_bytes + cost > limits.max_pending_total
            or shared.pending_items >= limits.max_pending_items_total
        ):
            self.pending_dropped += 1
            shared.drop("pending")
            return
        self.pending.setdefault(item.key, []).append(item)
        self.pending_order.append(item)
        self.pending_bytes += cost
        self.pending_items += 1
        shared.pending_bytes += cost
        shared.pending_items += 1
        order = self.pending_order
        while order and (
            self.pending_bytes > limits.max_pending_bytes
            or self.pending_items > limits.max_pending_items
        ):
            dropped = order.popleft()
            if not dropped.done:
                self._unbuffer(dropped)
                self.pending_dropped += 1
                shared.drop("pending")
        if len(order) > 2 * self.pending_items + 64:
            self.pending_order = deque(p for p in order if not p.done)

    def take_pending(self, key: tuple[int, int, int]) -> list[Pending]:
        """Remove and return buffered data sets waiting for template ``key``."""
        ready = self.pending.pop(key, None)
        if not ready:
            return []
        for item in ready:
            item.done = True
        cost = sum(item.cost for item in ready)
        self.pending_bytes -= cost
        self.pending_items -= len(ready)
        self.budget.pending_bytes -= cost
        self.budget.pending_items -= len(ready)
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
            "clock_skew": self.clock_skew,
            "clock_ahead_s": round(self.clock_ahead, 1),
            "pending": self.pending_items,
            "last_seen": self.last_seen,
        }
