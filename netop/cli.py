"""The ``netop`` command line: parse arguments, load the config, dispatch a subcommand.

The TUI is the default; ``ifaces``, ``flows``, ``snmp`` and ``collect`` are headless
subcommands that print JSON lines. Each lives in ``netop/commands/<name>.py`` and
exposes ``HELP``, ``add_arguments(parser)`` and ``run(args, config) -> int``.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import signal
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import NoReturn

from netop import __version__
from netop.errors import NetopError

#: Headless subcommands, each a module of ``netop.commands``.
SUBCOMMANDS: tuple[str, ...] = (
    "ifaces",
    "flows",
    "snmp",
    "collect",
    "kpis",
    "reconcile",
    "alerts",
    "alert-test",
    "syslog",
    "traps",
    "record",
    "replay",
    "report",
    "install-capture",
    "config",
    "completion",
    "manpage",
)


def _load(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(f"netop.commands.{name.replace('-', '_')}")
    except ModuleNotFoundError as exc:
        if exc.name == f"netop.commands.{name.replace('-', '_')}":
            return None  # not built yet
        raise


#: ``netop --help``'s examples (each subcommand has its own ``EXAMPLES``).
EXAMPLES = (
    "netop                                  # every interface, capture on the default route's",
    "netop -i eth0 -f 'tcp port 443'        # one interface, a BPF capture filter",
    "netop -r trace.pcap --speed max        # play a capture file",
    "netop --snmp v2c:@192.0.2.1 --collect 2055   # SNMP agent and flow exports beside",
)


class NetopParser(argparse.ArgumentParser):
    """An argument parser whose errors are one line (``netop flows: --top: ...``, exit 2)
    instead of a usage block: the rule for every bad input."""

    def error(self, message: str) -> NoReturn:
        message = message.removeprefix("argument ")
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


class _HelpFormatter(argparse.HelpFormatter):
    """Examples keep their lines (commands with aligned comments); the rest is wrapped."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if text.startswith("examples:"):
            return "".join(indent + line for line in text.splitlines(keepends=True))
        return super()._fill_text(text, width, indent)


def _help_formatter(prog: str) -> argparse.HelpFormatter:
    return _HelpFormatter(prog, max_help_position=32)


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The full argument parser: TUI options at the top, one sub-parser per command.

    ``only``: the parser for that subcommand alone (no TUI options, the other
    subcommands not loaded): what ``netop COMMAND ...`` needs, without importing every
    source the TUI and the other commands use.
    """
    from netop.commands.flags import examples

    parser = NetopParser(
        prog="netop",
        description="Live network monitor: flows, interfaces, drops/errors, SNMP, flow export.",
        epilog=examples(*EXAMPLES),
        formatter_class=_help_formatter,
    )
    parser.add_argument("--version", action="version", version=f"netop {__version__}")
    add_common_arguments(parser)
    if only is None:
        from netop.commands.tui import add_arguments as add_tui_arguments

        add_tui_arguments(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=NetopParser)
    for name in SUBCOMMANDS if only is None else (only,):
        module = _load(name)
        if module is None:
            continue
        lines = getattr(module, "EXAMPLES", ())
        child = sub.add_parser(name, help=module.HELP, description=module.HELP,
                               epilog=examples(*lines) if lines else None,
                               formatter_class=_help_formatter)
        add_common_arguments(child, suppress=True)
        module.add_arguments(child)
    return parser


def _subcommand(argv: Sequence[str]) -> str | None:
    """The subcommand ``argv`` names, when it comes first (after the common options);
    ``None`` for the TUI, help and anything else (the full parser decides those)."""
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg in ("--config", "--interval"):
            i += 2
        elif arg.startswith(("--config=", "--interval=")):
            i += 1
        else:
            return arg if arg in SUBCOMMANDS else None
    return None


def add_common_arguments(parser: argparse.ArgumentParser, suppress: bool = False) -> None:
    """Options every command takes, before or after the subcommand name.

    On a sub-parser they default to ``SUPPRESS`` so that they don't overwrite a value
    given before the subcommand (an argparse quirk).
    """
    default = argparse.SUPPRESS if suppress else None
    parser.add_argument(
        "--config",
        metavar="FILE",
        default=default,
        help="TOML config file (default: $XDG_CONFIG_HOME/netop/config.toml)",
    )
    parser.add_argument(
        "--interval",
        type=float,
        metavar="SECONDS",
        default=default,
        help="seconds per tick (default 1.0)",
    )




def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``netop`` console script; returns the exit status."""
    from netop import signals

    previous = signals.install()
    try:
        return _run(argv)
    except KeyboardInterrupt as exc:  # Ctrl-C, SIGTERM, SIGHUP: see netop.signals
        return signals.exit_status(exc)
    except OSError as exc:
        if exc.errno != errno.EIO:
            raise
        # The terminal hung up (a closed SSH session) while netop wrote its last lines:
        # nothing can be shown any more, and a traceback would only hit the same wall.
        return signals.exit_status(signals.Interrupted(signal.SIGHUP))
    finally:
        signals.restore(previous)


def _run(argv: Sequence[str] | None) -> int:
    from netop.config import load_config

    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(only=_subcommand(argv))
    args = parser.parse_args(argv)
    # For the commands that describe the command line itself (manpage, completion):
    # commands sit below the CLI and may not import it.
    args.full_parser = build_parser
    try:
        config = load_config(args.config, overrides=args)
        if config.raw:
            from netop.commands.config_keys import config_warnings

            for warning in config_warnings(config.raw):
                print(f"netop: warning: config: {warning}", file=sys.stderr)
        if args.command is None:
            from netop.commands.tui import run as run_tui

            return run_tui(args, config)
        module = _load(args.command)
        assert module is not None
        status: int = module.run(args, config)
        return status
    except NetopError as exc:
        print(f"netop: {exc}", file=sys.stderr)
        return exc.exit_code
    except BrokenPipeError:
        # `netop ... | head` closes the pipe early; that is not an error.
        sys.stderr.close()
        return 0
