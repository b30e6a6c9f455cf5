"""Known network messages in syslog text, turned into structured events.

Each :class:`Pattern` is a regular expression with named groups; the groups become the
event's details, and ``interface``, ``state``, ``neighbor`` and ``ifindex`` have a
meaning: an interface up/down message becomes a ``link_down``/``link_up`` event about
that interface, a routing neighbour going out of its working state an error.

Users add their own in the config (checked before the built-in ones)::

    [[syslog.patterns]]
    name = "fw-deny"                     # shown in details as "pattern"
    match = 'DENY (?P<src>\\S+)'         # Python regular expression, searched
    kind = "firewall"                    # the event's kind
    severity = "warning"                 # optional: info, warning or error
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from netop.errors import ConfigError
from netop.model import Severity

#: Neighbour states that mean the adjacency works (anything else is trouble).
_UP_STATES = {"up", "established", "full", "2way"}
_DOWN_WORDS = ("down", "disabled", "administratively down")
_SEVERITY_NAMES = {"info": Severity.INFO, "warning": Severity.WARNING, "error": Severity.ERROR}
MAX_USER_PATTERNS = 256


@dataclass(frozen=True, slots=True)
class Pattern:
    """One known message: ``regex`` searched only in texts containing ``hint``."""

    name: str
    regex: re.Pattern[str]
    kind: str
    hint: str = ""
    severity: Severity | None = None


@dataclass(frozen=True, slots=True)
class Match:
    """What a pattern made of one message."""

    pattern: str
    kind: str
    severity: Severity | None
    interface: str
    fields: tuple[tuple[str, str], ...]


def _p(name: str, kind: str, hint: str, regex: str) -> Pattern:
    return Pattern(name, re.compile(regex), kind, hint)


#: The built-in table. ``link`` patterns become link_up/link_down by their ``state``.
BUILTIN: tuple[Pattern, ...] = (
    _p("cisco-link", "link", "UPDOWN",
       r"%LINK-\d-UPDOWN: Interface (?P<interface>[^,\s]+), changed state to "
       r"(?P<state>administratively down|up|down)"),
    _p("cisco-lineproto", "link", "UPDOWN",
       r"%LINEPROTO-\d-UPDOWN: Line protocol on Interface (?P<interface>[^,\s]+), "
       r"changed state to (?P<state>up|down)"),
    _p("juniper-link", "link", "SNMP_TRAP_LINK_",
       r"SNMP_TRAP_LINK_(?P<state>DOWN|UP): ifIndex (?P<ifindex>\d+)"
       r"(?:, ifAdminStatus (?P<admin>\w+)\(\d+\))?(?:, ifOperStatus (?P<oper>\w+)\(\d+\))?"
       r"(?:, ifName (?P<interface>[^\s,]+))?"),
    _p("linux-link", "link", "ink is ",
       r"(?P<interface>[\w.@-]+):? (?:NIC )?[Ll]ink is (?P<state>[Uu]p|[Dd]own)"),
    _p("linux-bond", "link", "link status definitely",
       r"link status definitely (?P<state>up|down) for interface (?P<interface>[\w.@-]+)"),
    _p("linux-carrier", "link", "link becomes ready",
       r"\(NETDEV_CHANGE\): (?P<interface>[\w.@-]+): link becomes (?P<state>ready)"),
    _p("cisco-bgp", "bgp_neighbor", "BGP-5-ADJCHANGE",
       r"%BGP-5-ADJCHANGE: neighbor (?P<neighbor>\S+)(?: vpn vrf (?P<vrf>\S+))? "
       r"(?P<state>Up|Down)\s*(?P<reason>.*)"),
    _p("juniper-bgp-state", "bgp_neighbor", "BGP_",
       r"BGP_NEIGHBOR_STATE_CHANGED: BGP peer (?P<neighbor>\S+).*? changed state from "
       r"(?P<from>\w+) to (?P<state>\w+)(?: \(event (?P<reason>\w+)\))?"),
    _p("juniper-bgp", "bgp", "BGP_",
       r"(?P<tag>BGP_[A-Z_]+): (?:.*?peer (?P<neighbor>[\d.:a-fA-F]+))?"),
    _p("cisco-ospf", "ospf_neighbor", "OSPF-5-ADJCHG",
       r"%OSPF-5-ADJCHG: Process (?P<process>\d+), Nbr (?P<neighbor>\S+) on "
       r"(?P<interface>\S+) from (?P<from>[\w-]+) to (?P<state>[\w-]+?),? (?P<reason>.*)"),
    _p("cisco-config", "config_change", "CONFIG_I",
       r"%SYS-5-CONFIG_I: Configured from (?P<by>.+)"),
    _p("juniper-commit", "config_change", "UI_COMMIT",
       r"UI_COMMIT(?:_COMPLETED)?: (?:User '(?P<user>[^']+)' requested '(?P<action>[^']+)')?"),
)


class PatternTable:
    """User patterns first, then the built-in ones; the first that matches wins."""

    def __init__(self, user: Sequence[Pattern] = (), builtin: bool = True) -> None:
        self.patterns = tuple(user) + (BUILTIN if builtin else ())

    def match(self, text: str) -> Match | None:
        """The structured reading of ``text``, or None when no pattern knows it."""
        for pattern in self.patterns:
            if pattern.hint and pattern.hint not in text:
                continue
            found = pattern.regex.search(text)
            if found is None:
                continue
            fields = {k: v for k, v in found.groupdict().items() if v}
            return _result(pattern, fields)
        return None


def _result(pattern: Pattern, fields: dict[str, str]) -> Match:
    kind, severity = pattern.kind, pattern.severity
    state = fields.get("state", "").lower()
    if kind == "link":
        down = state.startswith(_DOWN_WORDS)
        kind = "link_down" if down else "link_up"
        severity = severity or (Severity.ERROR if down else Severity.INFO)
    elif kind.endswith("_neighbor") and state:
        severity = severity or (Severity.INFO if state in _UP_STATES else Severity.ERROR)
    elif kind == "config_change":
        severity = severity or Severity.WARNING
    interface = fields.get("interface", "")
    if not interface and "ifindex" in fields:
        interface = f"ifIndex {fields['ifindex']}"
    return Match(pattern.name, kind, severity, interface, tuple(sorted(fields.items())))


def user_patterns(raw: Any, key: str = "syslog.patterns") -> list[Pattern]:
    """``[[syslog.patterns]]`` tables to patterns; ConfigError naming the bad key."""
    if raw is None:
        return []
    if not isinstance(raw, list) or len(raw) > MAX_USER_PATTERNS:
        raise ConfigError(key, f"must be a list of at most {MAX_USER_PATTERNS} tables")
    out = []
    for number, table in enumerate(raw):
        where = f"{key}[{number}]"
        if not isinstance(table, Mapping):
            raise ConfigError(where, "must be a table with name, match and kind")
        unknown = set(table) - {"name", "match", "kind", "severity"}
        if unknown:
            raise ConfigError(f"{where}.{sorted(unknown)[0]}", "unknown key")
        text = table.get("match")
        if not isinstance(text, str) or not text:
            raise ConfigError(f"{where}.match", "is required (a regular expression)")
        try:
            regex = re.compile(text)
        except re.error as exc:
            raise ConfigError(f"{where}.match", f"not a regular expression: {exc}") from None
        kind = table.get("kind", "syslog")
        name = table.get("name", f"user-{number}")
        if not isinstance(kind, str) or not re.fullmatch(r"[a-z][a-z0-9_]{0,31}", kind):
            raise ConfigError(f"{where}.kind", "must be a lower-case word (a-z, 0-9, _)")
        if not isinstance(name, str):
            raise ConfigError(f"{where}.name", "must be a string")
        severity = table.get("severity")
        if severity is not None and severity not in _SEVERITY_NAMES:
            raise ConfigError(f"{where}.severity", "must be info, warning or error")
        out.append(Pattern(name, regex, kind, "",
                           _SEVERITY_NAMES[severity] if severity else None))
    return out
