"""The TUI's flow table honours --max-flows, --idle-timeout and --active-timeout."""

from __future__ import annotations

from netop.cli import build_parser
from netop.commands.tui import build_engine
from netop.config import Config


def test_the_tuis_engine_takes_the_three_flow_table_flags() -> None:
    args = build_parser().parse_args(
        ["-n", "--max-flows", "1234", "--idle-timeout", "3", "--active-timeout", "70"])
    engine = build_engine(args, Config(), [])
    table = engine.flow_table
    assert (table.max_flows, table.idle_timeout, table.active_timeout) == (1234, 3.0, 70.0)


def test_the_config_file_sets_them_when_no_flag_does() -> None:
    args = build_parser().parse_args(["-n"])
    config = Config(raw={"capture": {"max_flows": 99, "idle_timeout": 1.5,
                                     "active_timeout": 0.0}})
    table = build_engine(args, config, []).flow_table
    assert (table.max_flows, table.idle_timeout, table.active_timeout) == (99, 1.5, 0.0)
