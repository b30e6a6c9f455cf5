"""What every push receiver (syslog, traps) checks before it does any work on a message.

Anyone can send a UDP datagram, with any source address: a receiver bound beyond
loopback accepts only the senders it is told to (an allow-list, on by default there),
and each sender gets a token bucket so that one chatty or hostile box cannot starve
the others or the display. The map of buckets is bounded: a spoofed flood from
millions of addresses recycles the oldest buckets instead of growing.
"""

from __future__ import annotations

import argparse
import ipaddress
from collections import OrderedDict
from collections.abc import Iterable, Sequence

from netop.config import Config
from netop.errors import ConfigError

#: Senders whose buckets are remembered at once.
MAX_SENDERS = 4096
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(items: Iterable[str], key: str) -> tuple[IPNetwork, ...]:
    """Addresses or CIDR networks; ConfigError naming ``key`` for a bad one."""
    out = []
    for item in items:
        if not isinstance(item, str):
            raise ConfigError(key, "must be a list of addresses or networks")
        try:
            out.append(ipaddress.ip_network(item.strip(), strict=False))
        except ValueError:
            raise ConfigError(key, f"not an address or network: {item!r}") from None
    return tuple(out)


def is_loopback(host: str) -> bool:
    """Whether a listen address only hears this host."""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def default_allow(listens: Sequence[tuple[str, int]], allow: Sequence[IPNetwork],
                  known: Iterable[str]) -> tuple[tuple[IPNetwork, ...], str | None]:  # fmt: skip
    """The allow-list in force, and a warning when it was made up here.

    Bound to loopback only: everything (only this host can send). Bound beyond it with
    no allow-list: loopback and the ``known`` senders (the polled SNMP targets) only,
    said once in a warning; an explicit ``0.0.0.0/0`` opens it to all.
    """
    if allow or all(is_loopback(host) for host, _ in listens):
        return tuple(allow), None
    nets: list[IPNetwork] = [ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1")]
    for host in known:
        try:
            nets.append(ipaddress.ip_network(host))
        except ValueError:
            continue  # a name, not an address: it cannot be matched to a datagram
    shown = ", ".join(str(n) for n in nets)
    return tuple(nets), (f"listening beyond loopback with no allow-list: accepting only "
                         f"{shown}; give --allow NETWORK (0.0.0.0/0 for all)")


class SenderGuard:
    """Allow-list and per-sender rate limit. Not thread-safe: one receive thread."""

    def __init__(self, allow: Sequence[IPNetwork] = (), rate: float = 50_000.0,
                 burst: float | None = None) -> None:  # fmt: skip
        self.networks = tuple(allow)
        self.rate = rate
        self.burst = burst if burst is not None else max(rate, 1.0)
        self._buckets: OrderedDict[str, list[float]] = OrderedDict()
        self._allowed: dict[str, bool] = {}
        self.refused = 0
        self.rate_limited = 0

    def admit(self, sender: str, now: float) -> bool:
        """Whether one message from ``sender`` may be processed now (else counted)."""
        if self.networks:
            ok = self._allowed.get(sender)
            if ok is None:
                ok = self._check(sender)
                if len(self._allowed) >= MAX_SENDERS:
                    self._allowed.clear()
                self._allowed[sender] = ok
            if not ok:
                self.refused += 1
                return False
        bucket = self._buckets.get(sender)
        if bucket is None:
            if len(self._buckets) >= MAX_SENDERS:
                self._buckets.popitem(last=False)
            bucket = self._buckets[sender] = [self.burst, now]
        else:
            self._buckets.move_to_end(sender)
            tokens, last = bucket
            bucket[0] = min(self.burst, tokens + (now - last) * self.rate)
            bucket[1] = now
        if bucket[0] < 1.0:
            self.rate_limited += 1
            return False
        bucket[0] -= 1.0
        return True

    def _check(self, sender: str) -> bool:
        try:
            address = ipaddress.ip_address(sender)
        except ValueError:
            return False
        return any(address in net for net in self.networks)


def known_senders(config: Config, args: argparse.Namespace | None = None) -> dict[str, str]:
    """Address -> SNMP target name of every polled target given by address (config
    and ``--snmp``): a sender that is also polled is shown by its target name."""
    from netop.sources.snmp.source import load_targets

    specs = getattr(args, "snmp", None) or []
    try:
        targets = load_targets(specs, config).targets
    except Exception:  # the SNMP source reports its own errors
        return {}
    return {t.host: t.name for t in targets}
