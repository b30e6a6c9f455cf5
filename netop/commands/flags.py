"""Help texts of the flags several commands share: one text per flag, so that a flag
means the same wherever it is given (``%(default)s`` shows each command's default)."""

from __future__ import annotations

JSON_HELP = "one JSON object per line (the design's record shapes), for jq"
COUNT_HELP = "print N rounds of records, then exit (0 = until interrupted; default %(default)s)"
DURATION_HELP = (
    "stop after S seconds, counted from the 'capture attached' or 'listening on' line "
    "(default: until Ctrl-C, like tcpdump)"
)
LISTEN_HELP = (
    "address to receive on (repeatable; HOST defaults to 127.0.0.1, port 0 picks a free "
    "one; the default ports are in the examples)"
)
ALLOW_HELP = (
    "accept only from these sender networks (CIDR, comma-separated, repeatable; overrides "
    "the config's allow list); others are refused and counted"
)
NO_NAMES_HELP = (
    "no reverse DNS or service names: bare addresses and ports (n toggles it in the TUI)"
)
NO_ACTIONS_HELP = (
    "print alerts only: do not send them to the configured [[alerts.actions]] "
    "(command, webhook, syslog)"
)


def examples(*lines: str) -> str:
    """An ``examples:`` epilog for ``--help``: one command per line, a comment after #."""
    return "examples:\n" + "\n".join(f"  {line}" for line in lines)
