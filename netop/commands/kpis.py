"""``netop kpis``: latency, loss and failures per remote host or service, passively.

The pipeline of ``netop flows`` (capture source of ``-r``/``-i``, one engine); at the end
the engine's flow table is aggregated by :func:`netop.engine.kpis.kpi_groups` and printed
one group per line (``--json``: one object per line).
"""

from __future__ import annotations

import argparse
import sys

from netop.commands.flags import DURATION_HELP, JSON_HELP
from netop.commands.flows import _live, _read
from netop.commands.output import json_line, kpi_header, kpi_row
from netop.commands.pipeline import build_engine, build_sources
from netop.config import Config
from netop.engine.kpis import KPI_GROUPINGS, kpi_groups
from netop.errors import ConfigError, NetopError
from netop.sources.capture.options import add_capture_arguments, options_from_args

HELP = "KPIs (RTT, retransmissions, success, TTFB, DNS) per remote host or service"
EXAMPLES = (
    "netop kpis -r trace.pcap --json               # per remote host, one record each",
    "netop kpis -r trace.pcap --by service         # per protocol/port, as a table",
    "netop kpis -i eth0 --duration 60 --by service --json",
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags of ``netop kpis``."""
    add_capture_arguments(parser)
    parser.add_argument("--duration", type=float, metavar="S", help=DURATION_HELP)
    parser.add_argument("--by", default="host", metavar="KEY",
                        help=f"group by {' or '.join(KPI_GROUPINGS)} (default host: the "
                        "responder's address; service: protocol/port)")
    parser.add_argument("--json", action="store_true", help=JSON_HELP)


def run(args: argparse.Namespace, config: Config) -> int:
    """Collect, aggregate, print; a damaged file is reported at the end."""
    if args.by not in KPI_GROUPINGS:
        raise ConfigError("--by", f"unknown key {args.by!r}; one of {', '.join(KPI_GROUPINGS)}")
    if args.duration is not None and args.duration <= 0:
        raise ConfigError("--duration", f"must be positive, got {args.duration}")
    opts = options_from_args(args, config)
    sources = build_sources(args, config, kinds=("capture",))
    if not sources:
        raise NetopError("no interface to capture on: give -i IFACE or -r FILE")
    engine = build_engine(args, config, sources, keep_ended=True, enrich=False)
    error = _read(engine, opts.read, opts.filter).error if opts.read else _live(args, engine)
    engine.enrichment.stop()
    table = engine.flow_table
    groups = kpi_groups([*table.entries(), *table.ended()], args.by)
    if error is not None and not groups:
        raise error
    out = sys.stdout
    if args.json:
        out.write("".join(json_line(g.to_json()) + "\n" for g in groups))
    else:
        out.write(kpi_header() + "\n" + "".join(kpi_row(g) + "\n" for g in groups))
    out.flush()
    if error is not None:
        raise error
    return 0
