"""``netop traps``: receive SNMP traps and informs (v1, v2c, v3) and print the events."""

from __future__ import annotations

import argparse

from netop.commands.push import add_listen_arguments, run_push
from netop.config import Config
from netop.sources.push.guard import known_senders
from netop.sources.traps.source import build_trap_source

HELP = "receive SNMP traps and informs and print each notification as an event"

EXAMPLES = (
    "netop traps --json                         # 127.0.0.1:162",
    "netop traps --listen 1162 --json           # v1/v2c traps and informs on 127.0.0.1:1162",
    "netop traps --listen 0.0.0.0:162 --snmp core=v2c:public@192.0.2.1   # ifIndex named",
    "snmptrap -v 2c -c public 127.0.0.1:1162 '' 1.3.6.1.6.3.1.1.5.3   # try it: linkDown",
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``netop traps``."""
    add_listen_arguments(parser, "SNMP traps and informs (UDP)", 162)


def run(args: argparse.Namespace, config: Config) -> int:
    """Listen; print every notification as an event until ``--duration``; exit 0."""
    listen = args.listen or ["127.0.0.1:162"]
    source = build_trap_source(config, listen, args.allow, flag="--listen",
                               allow_flag="--allow", max_events=None,
                               names=known_senders(config, args))  # fmt: skip
    assert source is not None
    return run_push(args, config, source, source.server.flush, source.summary)
