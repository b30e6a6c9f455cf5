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
    """Print the page (``args.full_parser``: the CLI's parser factory)."""
    sys.stdout.write(page(args.full_parser()))
    return 0


def page(parser: argparse.ArgumentParser) -> str:
    """The man page of ``parser`` (netop's full one), in roff, with an EXAMPLES section
    gathered from every command's ``--help`` examples."""
    from argparse_manpage.manpage import Manpage

    examples = [_examples_of(parser)]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            examples += [_examples_of(sub) for sub in action.choices.values()]
    parser.epilog = None  # the examples get a section of their own, unfilled
    data = {
        "prog": "netop",
        "version": __version__,
        "project_name": "netop",
        "manual_title": "netop manual",
        "description": parser.description,
        "url": None,
    }
    lines = [".SH EXAMPLES", ".nf"]
    for block in filter(None, examples):
        lines += [*map(_roff, block), ""]
    return str(Manpage(parser, _data=data)) + "\n".join([*lines, ".fi", ""])


def _examples_of(parser: argparse.ArgumentParser) -> list[str]:
    """The lines of a parser's ``examples:`` epilog (see ``flags.examples``)."""
    epilog = parser.epilog or ""
    if not epilog.startswith("examples:"):
        return []
    return [line.strip() for line in epilog.splitlines()[1:] if line.strip()]


def _roff(line: str) -> str:
    text = line.replace("\\", "\\e").replace("-", "\\-")
    return "\\&" + text if text.startswith((".", "'")) else text
