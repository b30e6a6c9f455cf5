"""Help texts of the flags several commands share: one text per flag, so that a flag
means the same wherever it is given (``%(default)s`` shows each command's default)."""

from __future__ import annotations

JSON_HELP = "one JSON object per line (the design's record shapes), for jq"
COUNT_HELP = "print N rounds of records, then exit (0 = until interrupted; default %(default)s)"
DURATION_HELP = (
    "stop after S seconds, counted from the 'capture attached' or 'listening on' line "
    "(default: until Ctrl-C, like tcpdump)"
)
NO_NAMES_HELP = (
    "no reverse DNS or service names: bare addresses and ports (n toggles it in the TUI)"
)


def examples(*lines: str) -> str:
    """An ``examples:`` epilog for ``--help``: one command per line, a comment after #."""
    return "examples:\n" + "\n".join(f"  {line}" for line in lines)
