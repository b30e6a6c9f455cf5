"""``netop manpage``: the man page, made from the argparse definitions (argparse-manpage),
so that it lists exactly the commands and flags of this netop."""

from __future__ import annotations

import argparse
import sys

from netop import __version__
from netop.config import Config

HELP = "print netop's man page (roff), made from its command-line definitions"
EXAMPLES = (
    "netop manpage | man -l -                  # read it",
    "netop manpage > ~/.local/share/man/man1/netop.1",
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """No options."""


def run(args: argparse.Namespace, config: Config) -> int:
    """Print the page."""
    sys.stdout.write(page())
    return 0


def page() -> str:
    """The man page of the full parser, in roff."""
    from argparse_manpage.manpage import Manpage

    from netop.cli import build_parser

    parser = build_parser()
    parser.epilog = None  # the examples get a section of their own, unfilled
    data = {
        "prog": "netop",
        "version": __version__,
        "project_name": "netop",
        "manual_title": "netop manual",
        "description": parser.description,
        "url": None,
    }
    return str(Manpage(parser, _data=data)) + _examples()


def _roff(line: str) -> str:
    text = line.replace("\\", "\\e").replace("-", "\\-")
    return "\\&" + text if text.startswith((".", "'")) else text


def _examples() -> str:
    """An EXAMPLES section: every command's ``--help`` examples, lines kept as they are."""
    from netop import cli

    lines = [".SH EXAMPLES", ".nf", *map(_roff, cli.EXAMPLES)]
    for name in cli.SUBCOMMANDS:
        module = cli._load(name)
        examples: tuple[str, ...] = getattr(module, "EXAMPLES", ()) if module else ()
        if examples:
            lines += ["", *map(_roff, examples)]
    return "\n".join([*lines, ".fi", ""])
