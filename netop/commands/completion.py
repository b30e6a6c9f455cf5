"""``netop completion bash|zsh|fish``: a shell completion script made from the argparse
definitions, so that it always knows the commands and flags of this netop.

bash and zsh come from ``shtab`` (maintained, no runtime hooks: the script is static);
shtab has no fish output, so fish's ``complete`` lines are written here from the same
parser (a few lines: one per subcommand and per flag).
"""

from __future__ import annotations

import argparse
import shlex
import sys

from netop.config import Config

HELP = "print a shell completion script (bash, zsh or fish) for netop"
EXAMPLES = (
    "netop completion bash > ~/.local/share/bash-completion/completions/netop",
    "netop completion zsh > ~/.zfunc/_netop  # with fpath+=(~/.zfunc) in .zshrc",
    "netop completion fish > ~/.config/fish/completions/netop.fish",
)
SHELLS = ("bash", "zsh", "fish")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``SHELL``."""
    parser.add_argument("shell", choices=SHELLS, metavar="SHELL",
                        help="bash, zsh or fish")


def run(args: argparse.Namespace, config: Config) -> int:
    """Print the script for ``args.shell`` (``args.full_parser``: the CLI's factory)."""
    sys.stdout.write(script(args.full_parser(), args.shell))
    return 0


def script(parser: argparse.ArgumentParser, shell: str) -> str:
    """The completion script of ``parser`` (netop's full one) for ``shell``."""
    if shell == "fish":
        return _fish(parser)
    import shtab

    text: str = shtab.complete(parser, shell=shell)
    return text


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _fish_option(action: argparse.Action, condition: str) -> str | None:
    if not action.option_strings or action.help == argparse.SUPPRESS:
        return None
    parts = ["complete -c netop", f"-n {shlex.quote(condition)}"]
    for flag in action.option_strings:
        if flag.startswith("--"):
            parts.append(f"-l {flag[2:]}")
        elif len(flag) == 2:
            parts.append(f"-s {flag[1]}")
        else:
            parts.append(f"-o {flag[1:]}")
    if action.nargs != 0:
        parts.append("-r")
        if action.choices:
            parts.append("-a " + shlex.quote(" ".join(map(str, action.choices))))
    if action.help:
        parts.append("-d " + shlex.quote(str(action.help).split(";")[0][:80] % {
            "default": action.default}))
    return " ".join(parts)


def _fish(parser: argparse.ArgumentParser) -> str:
    lines = ["# fish completion for netop (netop completion fish)", "complete -c netop -f"]
    subs = _subparsers(parser)
    top = "__fish_use_subcommand"
    for name, sub in subs.items():
        lines.append(f"complete -c netop -n {top} -a {name} -d "
                     + shlex.quote((sub.description or "")[:80]))
    lines += filter(None, (_fish_option(a, top) for a in parser._actions))
    for name, sub in subs.items():
        condition = f"__fish_seen_subcommand_from {name}"
        lines += filter(None, (_fish_option(a, condition) for a in sub._actions))
    return "\n".join(lines) + "\n"
