"""Drill-down filters: the filter text that selects "this host", "this port", "this
process", "this conversation", or the member flows of a group row.

termshark's "apply as filter" for flows: the TUI turns the selected row into one of
these expressions and narrows the filter in force with it, so the filter box shows
exactly what is applied and the user can edit it like any typed filter.
"""

from __future__ import annotations

import re
from collections.abc import Hashable
from typing import cast

from netop.model import FlowKey, proto_name

#: Protocols whose flows have ports (the others' "port" is an ICMP type/code or 0).
_PORTED = (6, 17, 132)

#: Protocols the filter language names by a keyword (the others: ``proto N``).
_PROTO_WORDS = ("tcp", "udp", "icmp", "icmpv6", "sctp")


def quote(value: str) -> str:
    """``filter_grammar.quote``, loaded on first use: a run that makes no drill-down
    filter (``netop flows -r`` without ``--filter``) never loads the filter's parser."""
    from netop.engine.filter_grammar import quote as grammar_quote

    return grammar_quote(value)


def host_filter(address: str) -> str:
    """Flows from or to ``address``."""
    return f"host {quote(address)}"


def port_filter(proto: int, port: int) -> str:
    """Flows of ``proto`` to or from ``port`` (just the protocol when it has no ports)."""
    name = proto_name(proto)
    if name not in _PROTO_WORDS:
        name = f"proto {proto}"
    if proto not in _PORTED or not port:
        return name
    return f"{name} port {port}"


def process_filter(process: str) -> str:
    """Flows of the process shown as ``process`` (empty when it is not known)."""
    return f"process {quote(process)}" if process and process != "—" else ""


_PID = re.compile(r" \(\d+\)")

#: How the two local ends of a flow between local processes are joined (``flowview``).
ENDS = " → "


def program_of(process: str) -> str:
    """A process label without its PIDs: ``python3 (4242)`` is ``python3``, and
    ``iperf3 (1) → iperf3 (2)`` is ``iperf3 → iperf3`` (the process view groups by it,
    so every ``python3`` is one row)."""
    return _PID.sub("", process)


def program_filter(program: str) -> str:
    """Flows of every process of ``program`` (a :func:`program_of` text): each named end
    with any PID (empty for ``—``, the flows without a known process)."""
    if not program or program == "—":
        return ""
    ends = [end if end == "—" else f"{end} (*)" for end in program.split(ENDS)]
    return process_filter(ENDS.join(ends))


def user_filter(user: str) -> str:
    """Flows of the processes of ``user`` (a login name or uid; empty for ``—``, and
    for the pairs of a flow between two users' processes, which no filter selects)."""
    if not user or user == "—" or ENDS in user:
        return ""
    return f"user {quote(user)}"


def conversation_filter(a: str, b: str) -> str:
    """Flows between the two hosts ``a`` and ``b`` (either direction)."""
    return f"host {quote(a)} and host {quote(b)}"


def flow_filter(flow: FlowKey) -> str:
    """Just the flow ``flow`` (as recorded: its src is the side that opened it)."""
    proto, src, sport, dst, dport, _vlan = flow
    name = proto_name(proto)
    base = name if name in _PROTO_WORDS else f"proto {proto}"
    ends = f"src host {quote(src)} and dst host {quote(dst)}"
    if proto in _PORTED:
        ends += f" and src port {sport} and dst port {dport}"
    return f"{base} and {ends}"


def narrow(current: str, clause: str) -> str:
    """``current`` and ``clause``: the filter in force narrowed by a drill-down (the
    clause alone when nothing is in force, ``current`` when it already says that)."""
    current = current.strip()
    if not current or current == clause:
        return clause
    if current.endswith(f"and {clause}"):
        return current
    return f"({current}) and {clause}"


def members_filter(mode: str, key: Hashable) -> str:
    """The filter that selects the member flows of a group of aggregation ``mode``
    (``flowview``'s group keys), empty when no filter can."""
    if mode == "remote":
        return host_filter(cast(str, key))
    if mode == "process":
        return program_filter(cast(str, key))
    if mode == "user":
        return user_filter(cast(str, key))
    if mode == "port":
        dport, proto = cast(tuple[int, int], key)
        base = port_filter(proto, 0)
        return f"{base} and dst port {dport}" if proto in _PORTED else base
    if mode == "protocol":
        return port_filter(cast(int, key), 0)
    return ""
