"""What NetFlow v9 and IPFIX share: data sets decoded by template, options, buffering.

Decoders merge records into an :class:`Output` as they go, so that records decoded
before a datagram turns out to be malformed are kept, and raise :class:`Malformed` for
structure that cannot be trusted any further.
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeAlias

from netop.model import Severity
from netop.sources.collector.exporters import ExporterState, Limits, Pending
from netop.sources.collector.records import FlowAggregator, FlowKey, FlowTable, Sums, merge
from netop.sources.collector.templates import (
    IE_SYSTEM_INIT_MS,
    FieldSpec,
    Template,
    options_values,
    sampling_from_options,
)

TemplateKey: TypeAlias = tuple[int, int, int]


class Malformed(Exception):
    """The datagram breaks its protocol's structure; the rest of it is ignored."""


class Output:
    """Where the decoders of one datagram put its records: the sink's flow tables.

    Records are merged straight into the sink's table of this datagram's exporter and
    sampling rate (no object per record): :meth:`table` gives the table, decoders keep
    :attr:`room` and :attr:`overflow` current and :attr:`merged` counts the records;
    :meth:`commit` tells the sink once per datagram.
    """

    __slots__ = ("sink", "source", "exporter", "merged", "overflow", "room", "_tables", "deferred")

    def __init__(self, sink: FlowAggregator, source: str, exporter: str | None) -> None:
        self.sink = sink
        self.source = source
        self.exporter = exporter
        self.merged = 0
        self.overflow = 0
        self.room = sink.room
        self._tables: dict[int, FlowTable] = {}
        #: Data set bodies to merge in one call per (template, time context, sampling)
        #: at the end of a burst of datagrams (see Collector.feed_many).
        self.deferred: dict[tuple[Any, ...], list[bytes]] | None = None

    def table(self, sampling: int) -> FlowTable:
        """The sink's table for this datagram's exporter at ``sampling``."""
        table = self._tables.get(sampling)
        if table is None:
            table = self._tables[sampling] = self.sink.table(self.source, self.exporter, sampling)
        return table

    def add(self, sampling: int, key: FlowKey, sums: Sums) -> None:
        """Merge one record decoded without a template (sFlow)."""
        room = merge(self.table(sampling), key, sums, self.room)
        if room < 0:
            self.overflow += 1
        else:
            self.room = room
            self.merged += 1

    def commit(self) -> None:
        """Tell the sink how many keys the decoders added."""
        if self._tables:
            self.sink.commit(self.room, self.overflow)


#: Past this sysUptime (ms) only the boot time (export time - uptime) matters.
_WRAP_SAFE_UPTIME = 67108864


def uptime_time_context(export_ms: float, uptime_ms: float | None) -> tuple[float, float | None]:
    """(export_ms, uptime_ms) normalised so that data sets whose sysUptime-relative
    records get the same times share one key (and one merge call): past the wrap-safe
    uptime only the boot time (export time - uptime) matters."""
    if uptime_ms is not None and uptime_ms >= _WRAP_SAFE_UPTIME:
        return export_ms - uptime_ms + _WRAP_SAFE_UPTIME, float(_WRAP_SAFE_UPTIME)
    return export_ms, uptime_ms


def time_context(
    tpl: Template, export_ms: float, uptime_ms: float | None
) -> tuple[float, float | None]:
    """The (export_ms, uptime_ms) a template's records depend on (see above)."""
    if tpl.has_uptime:
        return uptime_time_context(export_ms, uptime_ms)
    if tpl.uses_export_time:
        return export_ms, None
    return 0.0, None


def data_set(
    tpl: Template,
    data: bytes | memoryview,
    start: int,
    end: int,
    export_ms: float,
    uptime_ms: float | None,
    sampling: int,
    out: Output,
) -> int:
    """Decode the data set ``data[start:end]`` of a compiled data template into
    ``out``; returns its record count. The one decode path of v9 and IPFIX data.

    With ``out.deferred`` a fixed-length set is only queued, to be merged with the
    burst's other sets of the same template and time context in one call.
    """
    aggregate, length = tpl.aggregate, tpl.fixed_length
    assert aggregate is not None
    if length:
        end -= (end - start) % length  # trailing padding
        deferred = out.deferred
        if deferred is not None:
            group = (tpl, time_context(tpl, export_ms, uptime_ms), sampling,
                     out.source, out.exporter)  # fmt: skip
            bodies = deferred.get(group)
            if bodies is None:
                deferred[group] = [data[start:end]]  # type: ignore[list-item]
            else:
                bodies.append(data[start:end])  # type: ignore[arg-type]
            count = (end - start) // length
            out.merged += count
            return count
    table = out.table(sampling)
    out.room, over, count = aggregate(data[start:end], export_ms, uptime_ms, sampling, table,
                                      out.room)  # fmt: skip
    out.overflow += over
    out.merged += count - over
    return count


def decode_data_set(
    state: ExporterState,
    key: TemplateKey,
    body: bytes | memoryview,
    export_ms: float,
    uptime_ms: float | None,
    now: float,
    limits: Limits,
    out: Output,
) -> int:
    """Decode one data set; buffer it when its template is unknown.

    Returns the number of data records, or -1 when it cannot be known yet.
    """
    tpl = state.templates.get(key)
    if tpl is not None and not tpl.ready:
        tpl = compile_stored(state, key, tpl, now, limits)  # retried by housekeeping
    if tpl is None:
        if not body:
            state.budget.drop("empty_sets")  # nothing to wait for
        else:
            state.buffer(Pending(key, bytes(body), export_ms, uptime_ms, now), limits)
        return -1
    if tpl.options:
        return _apply_options(state, key, tpl, body)
    sampling = state.sampling.get(key[:2], 1)
    return data_set(tpl, body, 0, len(body), export_ms, uptime_ms, sampling, out)


def _apply_options(
    state: ExporterState, key: TemplateKey, tpl: Template, body: bytes | memoryview
) -> int:
    count = 0
    for values in options_values(tpl, body):
        count += 1
        rate = sampling_from_options(values)
        if rate is not None and state.sampling.get(key[:2]) != rate:
            state.sampling[key[:2]] = rate
            if rate != 1:
                state.note(
                    Severity.INFO,
                    f"exporter {state.address}: sampling 1:{rate} (domain {key[1]})",
                )
        init = values.get(IE_SYSTEM_INIT_MS)
        if isinstance(init, int) and init:
            state.init_ms[key[1]] = float(init)
    return count


def define_template(
    state: ExporterState,
    key: TemplateKey,
    fields: tuple[FieldSpec, ...],
    scope: int,
    options: bool,
    now: float,
    limits: Limits,
    out: Output,
) -> None:
    """Handle one template record: renew a resend, else check every limit and store
    it: compiled from the shared cache, or as a definition compiled (within the
    budgets) when the first data set needs it.

    Exporters resend templates every few datagrams; recompiling each time would cost
    more than decoding the data. Compiling is what costs (~0.7 ms a layout), so it
    waits for data: a flood of templates that no data uses compiles nothing.
    """
    tpl = state.templates.get(key)
    if tpl is not None and tpl.fields == fields and tpl.scope_count == scope:
        tpl.seen = now
        return
    state.datagram_templates += 1
    if not state.template_room(key, fields, limits):
        state.note(Severity.WARNING, f"exporter {state.address}: template limit reached")
        return
    layout = state.budget.cached(fields, scope, options)
    if layout is None:
        tpl = Template(key[2], fields, scope, options, ready=False)
    else:
        tpl = dataclasses.replace(layout, template_id=key[2])
    template_arrived(state, key, tpl, now, limits, out)


def compile_stored(
    state: ExporterState, key: TemplateKey, tpl: Template, now: float, limits: Limits
) -> Template | None:
    """Compile a stored definition within the budgets; None (counted) when spent."""
    layout = state.budget.layout(
        tpl.fields, tpl.scope_count, tpl.options, now, lambda: state.compile_allowed(now, limits)
    )
    if layout is None:
        state.note(Severity.WARNING, f"exporter {state.address}: template compile budget spent")
        return None
    ready = dataclasses.replace(layout, template_id=tpl.template_id, seen=tpl.seen)
    state.templates[key] = ready  # the same fields: the same counted bytes
    return ready


def template_budget_spent(state: ExporterState, limits: Limits) -> bool:
    """True (and counted) when this datagram already defined its share of templates."""
    if state.datagram_templates < limits.max_templates_per_datagram:
        return False
    state.budget.drop("templates_per_datagram")
    return True


def too_many_fields(state: ExporterState, count: int, limits: Limits) -> bool:
    """True (and counted) for a template longer than any real one."""
    if count <= limits.max_template_fields:
        return False
    state.budget.drop("template_fields")
    return True


def template_arrived(
    state: ExporterState,
    key: TemplateKey,
    tpl: Template,
    now: float,
    limits: Limits,
    out: Output,
) -> None:
    """Store a template and decode any data that was waiting for it."""
    if not state.store_template(key, tpl, now, limits):
        state.note(Severity.WARNING, f"exporter {state.address}: template limit reached")
        return
    release_pending(state, key, now, limits, out)


def release_pending(
    state: ExporterState, key: TemplateKey, now: float, limits: Limits, out: Output
) -> None:
    """Decode the data sets that were waiting for template ``key``."""
    for item in state.take_pending(key):
        uptime = item.uptime_ms
        if uptime is None and key[0] == 10 and key[1] in state.init_ms:
            uptime = item.export_ms - state.init_ms[key[1]]
        decode_data_set(state, key, item.body, item.export_ms, uptime, now, limits, out)


def withdrawn(state: ExporterState, version: int, domain: int, tid: int, options: bool) -> None:
    """Handle a withdrawal (IPFIX field count 0) and report it."""
    removed = state.withdraw(version, domain, tid, options)
    if removed:
        what = "all templates" if tid in (2, 3) else f"template {tid}"
        state.note(Severity.INFO, f"exporter {state.address}: {what} withdrawn (domain {domain})")
