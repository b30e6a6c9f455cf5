"""``netop COMMAND ...`` builds only that command's parser; anything else the full one."""

from __future__ import annotations

import pytest

from netop.cli import _subcommand, build_parser


@pytest.mark.parametrize(
    ("argv", "command"),
    [
        (["flows", "-r", "x.pcap"], "flows"),
        (["--config", "c.toml", "snmp", "v2c:x@h"], "snmp"),
        (["--interval=2", "ifaces"], "ifaces"),
        (["--interval", "2", "--config=c", "collect"], "collect"),
        (["-i", "lo"], None),  # the TUI
        (["-n", "flows"], None),  # a TUI flag first: the full parser decides
        (["--help"], None),
        ([], None),
    ],
)
def test_the_subcommand_named_first(argv: list[str], command: str | None) -> None:
    assert _subcommand(argv) == command


def test_a_subcommand_parser_parses_as_the_full_one() -> None:
    argv = ["--interval", "2", "flows", "-r", "x.pcap", "--sort", "rate", "--reverse"]
    alone, full = build_parser(only="flows").parse_args(argv), build_parser().parse_args(argv)
    for name in ("command", "read", "sort", "reverse", "interval", "flow_filter", "top"):
        assert getattr(alone, name) == getattr(full, name), name
