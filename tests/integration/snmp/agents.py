"""Real SNMP agents for the tests: net-snmp ``snmpd`` and snmpsim, on 127.0.0.1 only.

Each agent gets its own config, free port and persistent directory, and is ended by
its PID. ``restart()`` keeps the persistent directory (same engine ID, a real reboot);
``restart(new_engine=True)`` starts from an empty one (a new engine ID).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

USERS = {
    # user: (auth protocol, auth key, priv protocol, priv key)
    "netop-auth": ("SHA", "netop-auth-pass", None, None),
    "netop-priv": ("SHA", "netop-auth-pass", "AES", "netop-priv-pass"),
    "netop-p256": ("SHA-256", "netop-auth-pass", "AES-256", "netop-priv-pass"),
    "netop-des": ("SHA", "netop-auth-pass", "DES", "netop-priv-pass"),
    "netop-md5des": ("MD5", "netop-auth-pass", "DES", "netop-priv-pass"),
}
COMMUNITY = "netop-public"


def free_udp_port() -> int:
    """A UDP port on 127.0.0.1 that nothing is bound to right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _port_bound(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def _wait_bound(port: int, proc: subprocess.Popen[bytes], seconds: float, log: Path,
                netns: str | None = None) -> None:  # fmt: skip
    from tests.ready import listening

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            text = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"agent exited with {proc.returncode}: {text}")
        if listening(netns, port, udp=True) if netns else _port_bound(port):
            return
        time.sleep(0.05)
    raise RuntimeError(f"agent did not bind 127.0.0.1:{port} within {seconds} s")


def _end(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


class Snmpd:
    """A private net-snmp agent with a v1/v2c community and its v3 users (:data:`USERS`);
    on the loopback of network namespace ``netns`` when given (``ip netns exec``, which
    execs: the process is snmpd itself), else on this one's."""

    def __init__(self, workdir: Path, netns: str | None = None) -> None:
        if shutil.which("snmpd") is None:
            pytest.skip("net-snmp snmpd is not installed (apt-get install snmpd)")
        self.workdir = workdir
        self.port = free_udp_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.generation = 0
        self.netns = netns
        self._prefix = ["ip", "netns", "exec", netns] if netns else []

    @property
    def persistent(self) -> Path:
        return self.workdir / f"persist{self.generation}"

    def _write_config(self) -> Path:
        self.persistent.mkdir(parents=True, exist_ok=True)
        lines = [
            f"[snmp] persistentDir {self.persistent}",
            f"agentaddress udp:127.0.0.1:{self.port}",
            f"rocommunity {COMMUNITY} 127.0.0.1",
        ]
        for user, (auth, akey, priv, pkey) in USERS.items():
            create = f'createUser {user} {auth} "{akey}"'
            if priv:
                create += f' {priv} "{pkey}"'
            lines += [create, f"rouser {user} {'priv' if priv else 'auth'}"]
        lines += ["createUser netop-noauth", "rouser netop-noauth noauth"]
        conf = self.workdir / "snmpd.conf"
        conf.write_text("\n".join(lines) + "\n")
        return conf

    def start(self) -> Snmpd:
        conf = self._write_config()
        log = self.workdir / "snmpd.log"
        env = dict(os.environ, MIBS="", MIBDIRS=str(self.workdir))
        self.proc = subprocess.Popen(
            # -C skips the system's config files, so the persistent one (engine ID,
            # boots, users) is named explicitly: that is what makes a restart a reboot.
            [*self._prefix, "snmpd", "-f", "-Lf", str(log), "-C", "-c",
             f"{conf},{self.persistent}/snmpd.conf", "-p", str(self.workdir / "snmpd.pid")],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            env=env,
        )  # fmt: skip
        _wait_bound(self.port, self.proc, 10.0, log, self.netns)
        return self

    def stop(self) -> None:
        _end(self.proc)
        self.proc = None

    def uptime_ticks(self) -> int:
        """The agent's sysUpTime.0 in hundredths of a second, read with net-snmp's snmpget."""
        done = subprocess.run(
            [*self._prefix, "snmpget", "-v2c", "-c", COMMUNITY, "-Oqvt", f"127.0.0.1:{self.port}",
             "1.3.6.1.2.1.1.3.0"],
            capture_output=True, text=True, timeout=10, env=dict(os.environ, MIBS=""),
        )  # fmt: skip
        return int(done.stdout.strip()) if done.returncode == 0 else 0

    def restart(self, new_engine: bool = False) -> None:
        self.stop()
        if new_engine:
            self.generation += 1
        self.start()


class Snmpsim:
    """snmpsim's command responder serving a data directory of .snmprec files."""

    def __init__(self, workdir: Path, data_dir: Path) -> None:
        exe = Path(sys.executable).with_name("snmpsim-command-responder")
        if not exe.exists():
            pytest.skip("snmpsim is not installed (pip install snmpsim)")
        self.exe = exe
        self.workdir = workdir
        self.data_dir = data_dir
        self.port = free_udp_port()
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, seconds: float = 60.0) -> Snmpsim:
        log = self.workdir / "snmpsim.log"
        env = dict(os.environ, SNMPSIM_ALLOW_ROOT="true")
        cache = self.workdir / "cache"
        cache.mkdir(exist_ok=True)
        with log.open("wb") as out:
            self.proc = subprocess.Popen(
                [str(self.exe), f"--data-dir={self.data_dir}", f"--cache-dir={cache}",
                 f"--agent-udpv4-endpoint=127.0.0.1:{self.port}"],
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, env=env,
            )  # fmt: skip
        _wait_bound(self.port, self.proc, seconds, log)
        return self

    def stop(self) -> None:
        _end(self.proc)
        self.proc = None
