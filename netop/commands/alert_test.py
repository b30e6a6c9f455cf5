"""``netop alert-test``: one synthetic alert through every configured action.

The seed's "test alerting" practice: prints, per ``[[alerts.actions]]`` entry,
``delivered`` or the reason it was not (with the webhook's retries), so that a broken
pager is found before the night it is needed. Exit 0 when all delivered, 1 otherwise.
"""

from __future__ import annotations

import argparse
import socket
import time

from netop.config import Config
from netop.engine.detect.detector import community_id
from netop.engine.detect.settings import alert_settings
from netop.errors import NetopError
from netop.model import Alert, AlertSeverity, FlowKey
from netop.outputs.actions import deliver

HELP = "send one synthetic alert through every configured action; print what happened"
EXAMPLES = (
    "netop alert-test                              # the actions of the default config",
    "netop alert-test --config /etc/netop/config.toml",
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``netop alert-test`` takes only the common flags (``--config``)."""


def synthetic_alert(now: float) -> Alert:
    """A test alert, marked as such, with a flow behind it (documentation addresses)."""
    flow = FlowKey(6, "192.0.2.10", 40000, "203.0.113.202", 443)
    return Alert(ts=now, kind="test", severity=AlertSeverity.CRITICAL,
                 entity=socket.gethostname() or "netop",
                 message="netop alert-test: a synthetic alert, nothing is wrong",
                 value=1.0, unit="", flow=flow, community_id=community_id(flow),
                 first=now)


def run(args: argparse.Namespace, config: Config) -> int:
    """Deliver to each action in turn; one line each."""
    actions = alert_settings(config.raw).actions
    if not actions:
        where = config.path or "the config file"
        raise NetopError(f"no [[alerts.actions]] in {where}: nothing to test")
    alert = synthetic_alert(time.time())
    failed = 0
    for action in actions:
        why = deliver(action, alert)
        if why is None:
            print(f"{action.name}: delivered", flush=True)
        else:
            failed += 1
            print(f"{action.name}: not delivered: {why}", flush=True)
    return 1 if failed else 0
