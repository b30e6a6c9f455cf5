"""Hostile exporters: every kind of state they can make the collector keep is bounded,
costs bounded CPU, and every limit hit is counted."""

from __future__ import annotations

import random
import struct
import time

from netop.sources.collector.decoder import Collector
from netop.sources.collector.exporters import Limits
from tests.integration.collector import hostile
from tests.unit.sources.collector import builders as b

EXP = "192.0.2.1"


def test_template_flood_costs_little_cpu_and_is_counted() -> None:
    c = Collector()
    data = hostile.many_templates(random.Random(1), size=16_000)  # ~1,300 templates
    start = time.process_time()
    c.feed_many([(data, EXP)], 1.0)
    spent = time.process_time() - start
    assert spent < 0.25, f"{spent:.2f} s of CPU for one datagram of templates"
    drops = c.drops()
    assert drops["templates_per_datagram"] >= 1
    assert len(c.exporters[EXP].templates) <= c.limits.max_templates_per_datagram


def _used_layouts(rng: random.Random, count: int) -> bytes:
    """``count`` templates of new layouts, each with a data set that uses it."""
    sets = []
    for n in range(count):
        fields = [(8, 4), (12, 4), (rng.randrange(100, 500), 4)]
        sets += [b.ipfix_template_set(300 + n, fields), b.data_set(300 + n, b"\1" * 12)]
    return b.ipfix(*sets)


def test_compiles_are_budgeted_per_exporter_and_in_total() -> None:
    limits = Limits(compiles_per_second=5, compiles_total_per_second=12)
    c = Collector(limits=limits)
    rng = random.Random(2)
    for i in range(10):  # ten exporters, each a datagram of new layouts in use
        c.feed(_used_layouts(rng, 20), f"198.51.100.{i}", 1.0)
    assert c.shared.compiled <= 12
    assert c.drops()["compile_budget"] > 0
    assert max(sum(t.ready for t in s.templates.values()) for s in c.exporters.values()) <= 5


def test_templates_no_data_uses_are_never_compiled() -> None:
    c = Collector()
    for i in range(20):
        c.feed(hostile.many_templates(random.Random(i), size=4000), f"198.51.100.{i}", 1.0)
    assert c.shared.compiled == 0


def test_data_held_back_by_the_compile_budget_is_decoded_later() -> None:
    c = Collector(limits=Limits(compiles_per_second=1, compiles_total_per_second=1))
    rec = b.v4_record("10.0.0.1", "10.0.0.2", 1, 2)
    other = b.ipfix(b.ipfix_template_set(400, [(8, 4), (12, 4), (7, 2), (11, 2), (4, 1)]),
                    b.data_set(400, b"\1" * 13))  # fmt: skip
    c.feed(other, "198.51.100.1", 1.0)  # spends the one compile of this second
    c.feed(b.ipfix(b.ipfix_template_set(300, b.V4_TEMPLATE), b.data_set(300, rec)), EXP, 1.0)
    assert c.exporters[EXP].pending_items == 1
    c.housekeeping(3.0)  # the budget refilled: compiled, and the waiting set decoded
    assert c.exporters[EXP].pending_items == 0
    assert c.exporters[EXP].records == 1
    assert sum(r.packets for r in c.flows.drain()["ipfix"]) == 3


def test_template_with_too_many_fields_is_refused_before_compiling() -> None:
    c = Collector()
    c.feed(hostile.huge_template(random.Random(3)), EXP, 1.0)
    assert c.shared.compiled == 0
    assert not c.exporters[EXP].templates
    assert c.drops()["template_fields"] == 1


def test_template_bytes_are_bounded_per_exporter_and_in_total() -> None:
    limits = Limits(max_template_bytes=20_000, max_template_bytes_total=50_000)
    c = Collector(limits=limits)
    fields = [(8, 4), (12, 4)] + [(i, 4) for i in range(100, 200)]
    for n in range(40):
        msg = b.ipfix(b.ipfix_template_set(300 + n, fields))
        c.feed(msg, f"198.51.100.{n % 8}", 1.0)
    for state in c.exporters.values():
        assert state.template_bytes <= 20_000
    assert c.shared.template_bytes <= 50_000
    assert c.drops()["template_bytes"] > 0


def test_empty_data_sets_are_not_buffered() -> None:
    c = Collector()
    c.feed(hostile.empty_sets(random.Random(4)), EXP, 1.0)
    state = c.exporters[EXP]
    assert state.pending_items == 0
    assert c.drops()["empty_sets"] > 10_000


def test_buffered_sets_are_bounded_in_count_with_per_item_overhead() -> None:
    limits = Limits(max_pending_items=100)
    c = Collector(limits=limits)
    rng = random.Random(5)
    for i in range(20):
        c.feed(hostile.small_pending_sets(rng), f"198.51.100.{i}", 1.0)
    for state in c.exporters.values():
        assert state.pending_items <= 100
        # 1-byte bodies still cost their overhead against the byte budget.
        assert state.pending_bytes >= state.pending_items * 100
    assert c.shared.pending_items <= limits.max_pending_items_total
    assert c.drops()["pending"] > 0


def test_pending_sets_are_found_by_template_key() -> None:
    c = Collector()
    rec = b.v4_record("10.0.0.1", "10.0.0.2", 1, 2)
    for tid in range(300, 340):
        c.feed(b.ipfix(b.data_set(tid, rec)), EXP, 1.0)
    c.flows.drain()
    got = b.flows(c, b.ipfix(b.ipfix_template_set(305, b.V4_TEMPLATE)), EXP, 2.0)
    assert len(got) == 1
    state = c.exporters[EXP]
    assert state.pending_items == 39
    assert (10, 1, 305) not in state.pending


def test_sequence_domains_per_exporter_are_bounded() -> None:
    c = Collector(limits=Limits(max_domains=16))
    rng = random.Random(6)
    for _ in range(500):
        c.feed(hostile.random_domain(rng), EXP, 1.0)
    state = c.exporters[EXP]
    assert len(state.seq_next) <= 16
    assert len({k[1] for k in state.templates}) <= 16
    assert c.drops()["domains"] > 0


def test_full_exporter_table_evicts_the_least_recent_not_the_newcomer() -> None:
    c = Collector(limits=Limits(max_exporters=64))
    tpl = b.ipfix(b.ipfix_template_set(300, b.V4_TEMPLATE))
    rec = b.ipfix(b.data_set(300, b.v4_record("10.0.0.1", "10.0.0.2", 1, 2)))
    c.feed(tpl, "10.0.0.9", 1.0)
    for i in range(1000):  # spoofed sources fill the table
        c.feed(b.ipfix(), f"198.51.{i // 250}.{i % 250}", 2.0 + i / 1000)
        if i % 50 == 0:
            c.feed(rec, "10.0.0.9", 2.0 + i / 1000)  # the real exporter keeps talking
    assert len(c.exporters) <= 64
    assert "10.0.0.9" in c.exporters  # still known, templates and all
    assert c.exporters["10.0.0.9"].records == 20
    c.feed(b.ipfix(), "203.0.113.5", 5.0)
    assert "203.0.113.5" in c.exporters  # a newcomer is never refused for hours
    assert c.drops()["exporters_evicted"] > 0
    assert c.refused == 0


def test_idle_exporters_expire() -> None:
    c = Collector(limits=Limits(exporter_lifetime=100.0))
    c.feed(b.ipfix(), "198.51.100.1", 1.0)
    c.feed(b.ipfix(), "198.51.100.2", 90.0)
    c.housekeeping(150.0)
    assert list(c.exporters) == ["198.51.100.2"]
    assert c.drops()["exporters_expired"] == 1


def test_sflow_interfaces_are_capped_per_exporter_and_in_total() -> None:
    c = Collector(limits=Limits(max_interfaces=50, max_interfaces_total=120))
    rng = random.Random(7)
    for i in range(5):
        for _ in range(3):
            c.feed(hostile.sflow_counters(rng, samples=40), f"198.51.100.{i}", 1.0)
    samples = c.take_interfaces()
    per: dict[str, set[str]] = {}
    for s in samples:
        per.setdefault(s.origin, set()).add(s.name)
    assert all(len(names) <= 50 for names in per.values())
    assert sum(len(names) for names in per.values()) <= 120
    assert c.drops()["interfaces"] > 0
    # Interfaces of a silent exporter are forgotten with it.
    c.housekeeping(1.0 + c.limits.exporter_lifetime + 1)
    assert c.shared.interfaces == 0


def test_v9_template_caps_per_datagram_and_fields() -> None:
    c = Collector()
    many = b"".join(b.v9_template_set(300 + n, [(8, 4), (12, 4), (n + 1, 4)])[4:]
                    for n in range(100))  # fmt: skip
    c.feed(b.v9(struct.pack("!HH", 0, 4 + len(many)) + many), EXP, 1.0)
    assert len(c.exporters[EXP].templates) == 64
    assert c.drops()["templates_per_datagram"] == 1
    # A too-long template is skipped; the next one in the same FlowSet still counts.
    long_one = b.v9_template_set(500, [(8, 4)] * 300)[4:]
    short = b.v9_template_set(501, b.V4_TEMPLATE)[4:]
    body = long_one + short
    c.feed(b.v9(struct.pack("!HH", 0, 4 + len(body)) + body, seq=1), EXP, 2.0)
    assert (9, 1, 501) in c.exporters[EXP].templates
    assert (9, 1, 500) not in c.exporters[EXP].templates
    assert c.drops()["template_fields"] == 1


def test_identical_layouts_are_compiled_once_for_all_exporters() -> None:
    c = Collector()
    rec = b.v4_record("10.0.0.1", "10.0.0.2", 1, 2)
    msg = b.ipfix(b.ipfix_template_set(300, b.V4_TEMPLATE), b.data_set(300, rec))
    for i in range(50):
        c.feed(msg, f"198.51.100.{i}", 1.0)
    assert c.shared.compiled == 1
    structs = {id(s.templates[(10, 1, 300)].struct) for s in c.exporters.values()}
    assert len(structs) == 1
    # The shared compiled layout still decodes each exporter's own data.
    c.flows.drain()
    got = b.flows(c, b.ipfix(b.data_set(300, rec)), "198.51.100.7", 2.0)
    assert len(got) == 1
    assert c.exporters["198.51.100.7"].records == 2  # one from the loop above, one now


def test_a_flood_of_new_exporters_is_one_summary_event_not_thousands() -> None:
    c = Collector()
    for i in range(500):
        c.feed(b.ipfix(), f"198.51.{i // 250}.{i % 250}", 1.0)
    messages = [e.message for e in c.housekeeping(2.0)]
    assert len(messages) <= 21
    assert messages[-1] == "480 more new exporters (not listed one by one)"
