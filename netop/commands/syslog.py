"""``netop syslog``: receive syslog (RFC 5424/3164, UDP and TCP) and print the events."""

from __future__ import annotations

import argparse

from netop.commands.push import add_listen_arguments, run_push
from netop.config import Config
from netop.sources.push.guard import known_senders
from netop.sources.syslog.source import build_syslog_source

HELP = "receive syslog over UDP and TCP and print each message as an event"

EXAMPLES = (
    "netop syslog --json                        # UDP and TCP on 127.0.0.1:514",
    "netop syslog --listen 5514 --duration 60   # an unprivileged port",
    "netop syslog --listen 0.0.0.0:514 --allow 192.0.2.0/24   # routers on a LAN",
    "logger --server 127.0.0.1 --port 5514 --rfc5424 hello   # try it",
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``netop syslog``."""
    add_listen_arguments(parser, "syslog (UDP and TCP)", 514)


def run(args: argparse.Namespace, config: Config) -> int:
    """Listen; print every message as an event until ``--duration``; exit 0."""
    listen = args.listen or ["127.0.0.1:514"]
    source = build_syslog_source(config, listen, args.allow, flag="--listen",
                                 allow_flag="--allow", max_events=None,
                                 names=known_senders(config, args))  # fmt: skip
    assert source is not None
    return run_push(args, config, source, source.server.flush, source.summary)
