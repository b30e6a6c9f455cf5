"""``netop install-capture``: install the capture entry point
(see :mod:`netop.sources.capture.entry`)."""

from __future__ import annotations

import argparse
import sys

from netop.config import Config

HELP = "install the capture launcher (run as root once): only it gets capture rights"
EXAMPLES = (
    "sudo .venv/bin/netop install-capture --file-caps --group netop   # no sudo afterwards",
    "sudo .venv/bin/netop install-capture     # then a sudoers line and capture.helper",
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``--target``, ``--file-caps``, ``--group``."""
    from netop.sources.capture.entry import LAUNCHER

    parser.add_argument("--target", default=LAUNCHER, help=f"where (default {LAUNCHER})")
    parser.add_argument(
        "--file-caps",
        action="store_true",
        help="give the launcher itself cap_net_raw,cap_net_admin (no sudo needed)",
    )
    parser.add_argument("--python", help="interpreter the launcher runs (default: this one)")
    parser.add_argument("--group", help="only members of GROUP may run it (mode 0750)")


def run(args: argparse.Namespace, config: Config) -> int:
    """Build and install; print where and how to grant it."""
    from netop.sources.capture.entry import install

    target = install(args.target, file_caps=args.file_caps, group=args.group, python=args.python)
    print(f"installed {target}", file=sys.stdout)
    if not args.file_caps:
        print(
            f"grant it with a sudoers line (visudo -f /etc/sudoers.d/netop):\n"
            f"  %netop ALL=(root) NOPASSWD: {target} \"\"\n"
            'and set [capture] helper = ["sudo", "-n"]'
        )
    return 0
