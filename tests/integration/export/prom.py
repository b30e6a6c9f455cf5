"""A real Prometheus server (Debian's ``prometheus``) for the tests: own config and data
directory, listening on 127.0.0.1 (in a namespace the test made, when given), ended by
its PID."""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import urllib.parse
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from tests.ready import wait_for_port, wait_until

PORT = 9090


class Prometheus:
    """Queries the server over its HTTP API (from inside its namespace)."""

    def __init__(self, netns: str | None, port: int) -> None:
        self.netns, self.port = netns, port

    def get(self, path: str, **params: str) -> Any:
        """A GET on the API, as JSON (run with curl inside the namespace)."""
        url = f"http://127.0.0.1:{self.port}{path}"
        if params:
            url += "?" + urllib.parse.urlencode(params)
        cmd = ["curl", "-sf", "--max-time", "10", url]
        if self.netns:
            cmd = ["ip", "netns", "exec", self.netns, *cmd]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=20)
        assert done.returncode == 0, f"{url}: curl exit {done.returncode} {done.stderr}"
        return json.loads(done.stdout) if done.stdout.startswith("{") else done.stdout

    def query(self, expr: str, at: float | None = None) -> list[dict[str, Any]]:
        """An instant query's result vector (or matrix for a range selector)."""
        params = {"query": expr}
        if at is not None:
            params["time"] = f"{at:.3f}"
        answer = self.get("/api/v1/query", **params)
        assert answer["status"] == "success", answer
        return list(answer["data"]["result"])


@contextlib.contextmanager
def prometheus(tmp: Path, targets: Sequence[str], netns: str | None = None,
               port: int = PORT) -> Iterator[Prometheus]:  # fmt: skip
    """Prometheus scraping ``targets`` (host:port) every second."""
    binary = shutil.which("prometheus")
    if binary is None or shutil.which("curl") is None:
        pytest.skip("prometheus or curl is not installed (Debian packages prometheus, curl)")
    config = tmp / "prometheus.yml"
    config.write_text(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n"
        "scrape_configs:\n  - job_name: netop\n    static_configs:\n"
        f"      - targets: {json.dumps(list(targets))}\n"
    )
    cmd = [binary, f"--config.file={config}", f"--storage.tsdb.path={tmp / 'data'}",
           f"--web.listen-address=127.0.0.1:{port}"]  # fmt: skip
    if netns:
        cmd = ["ip", "netns", "exec", netns, *cmd]
    log = (tmp / "prometheus.log").open("w")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for_port(port, netns=netns, proc=proc, timeout=30)
        server = Prometheus(netns, port)
        wait_until(lambda: "Ready" in server.get("/-/ready"), 30, "prometheus ready")
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log.close()
