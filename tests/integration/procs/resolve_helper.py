"""Run netop's ProcessResolver where this script runs (a namespace, another user).

    python resolve_helper.py '[[proto, local_ip, local_port, remote_ip, remote_port], ...]'

Prints one JSON object per lookup: {"pid", "name", "user"} or {"reason"}.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from netop.enrich.procs import ProcessInfo, ProcessResolver  # noqa: E402


def main() -> int:
    resolver = ProcessResolver()
    resolver.refresh()
    resolver.refresh()  # the second pass walks fds for sockets the first one wanted
    for proto, local_ip, local_port, remote_ip, remote_port in json.loads(sys.argv[1]):
        found = resolver.lookup(proto, local_ip, local_port, remote_ip, remote_port)
        if isinstance(found, ProcessInfo):
            print(json.dumps({"pid": found.pid, "name": found.name, "user": found.user}))
        else:
            print(json.dumps({"reason": found.reason}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
