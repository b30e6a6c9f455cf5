"""The command-line flags of the outputs, shared by the TUI and the headless commands."""

from __future__ import annotations

import argparse


def add_output_arguments(parser: argparse.ArgumentParser, flows: bool = True) -> None:
    """``--prometheus`` and (``flows``: where flows are seen) ``--export-ipfix`` and
    ``--export-netflow9``."""
    g = parser.add_argument_group("outputs")
    g.add_argument(
        "--prometheus", metavar="[HOST:]PORT",
        help="serve Prometheus /metrics here (default host 127.0.0.1; config [prometheus])",
    )  # fmt: skip
    if not flows:
        return
    g.add_argument(
        "--export-ipfix", metavar="HOST:PORT",
        help="export every flow as it ends as IPFIX (RFC 7011, RFC 5103 biflows) over UDP "
        "(default port 4739; timeouts --idle-timeout/--active-timeout; config [export])",
    )  # fmt: skip
    g.add_argument(
        "--export-netflow9", metavar="HOST:PORT",
        help="the same as NetFlow v9, one record per direction (default port 2055)",
    )  # fmt: skip
