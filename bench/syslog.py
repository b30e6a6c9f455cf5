"""Syslog and trap receive benchmark: netop against rsyslog on the same stream, same run.

    .venv/bin/python bench/syslog.py [--rate 20000] [--seconds 5] [--runs 3] [--tcp]
    .venv/bin/python bench/syslog.py --traps [--rate 5000]

A sender process sends numbered RFC 5424 messages (one in ten a known network message,
``%LINK-3-UPDOWN``/``%BGP-5-ADJCHANGE``, so the pattern table works too) over loopback
at ``--rate`` messages/s for ``--seconds``, once to ``netop syslog --json`` (the whole
path: receive, parse, match, engine, JSON out, read by this script) and once to
``rsyslogd`` (imudp/imptcp into a file, the same 16 MiB receive buffer), runs
interleaved. Reported per receiver: messages sent, received, loss, and the receiver's
CPU microseconds per message; the table gives the medians. ``--traps`` sends SNMPv2c
traps (built once, sequence number in a varbind) to ``netop traps`` alone: rsyslog does
not take traps and snmptrapd logs through a formatter that is not comparable.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SENDER = r"""
import socket, sys, time
proto, port, kind = sys.argv[1], int(sys.argv[2]), sys.argv[5]
rate, seconds = float(sys.argv[3]), float(sys.argv[4])
total = int(rate * seconds)
if kind == "trap":
    from netop.sources.snmp.ber import encode_oid, integer, tlv
    def message(n):
        vb = lambda oid, value: tlv(0x30, encode_oid(oid) + value)
        varbinds = tlv(0x30, vb((1,3,6,1,2,1,1,3,0), tlv(0x43, integer(n)[2:]))
                       + vb((1,3,6,1,6,3,1,1,4,1,0), encode_oid((1,3,6,1,4,1,99,0,1)))
                       + vb((1,3,6,1,4,1,99,1), integer(n)))
        pdu = tlv(0xA7, integer(n) + integer(0) + integer(0) + varbinds)
        return tlv(0x30, integer(1) + tlv(0x04, b"public") + pdu)
else:
    texts = ["%LINK-3-UPDOWN: Interface Gi0/{}, changed state to down",
             "%BGP-5-ADJCHANGE: neighbor 192.0.2.{} Down Peer closed the session"]
    def message(n):
        text = texts[n // 10 % 2].format(n % 48) if n % 10 == 0 else f"session for u{n}"
        stamp = "2026-11-30T12:00:00.000Z"
        body = f"<189>1 {stamp} edge1 bench {n} ID{n % 7} - bench {n} {text}".encode()
        return body if proto == "udp" else b"%d %s" % (len(body), body)
if proto == "udp":
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    send = lambda data: sock.sendto(data, ("127.0.0.1", port))
else:
    sock = socket.create_connection(("127.0.0.1", port))
    send = sock.sendall
start = time.monotonic()
sent = 0
for n in range(total):
    if rate and n % 100 == 0:
        wait = start + n / rate - time.monotonic()
        if wait > 0:
            time.sleep(wait)
    try:
        send(message(n))
        sent += 1
    except OSError:
        pass
sock.close()
print(sent, time.monotonic() - start)
"""

RSYSLOG_CONF = """
global(workDirectory="{work}")
module(load="imudp")
module(load="imptcp")
input(type="imudp" address="127.0.0.1" port="{port}" rcvbufSize="16m")
input(type="imptcp" address="127.0.0.1" port="{port}")
template(name="raw" type="string" string="%msg%\\n")
action(type="omfile" file="{out}" template="raw")
"""


def free_port() -> int:
    with socket.socket() as tcp, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        tcp.bind(("127.0.0.1", 0))
        port: int = tcp.getsockname()[1]
        udp.bind(("127.0.0.1", port))
        return port


def _lines_with(path: Path, marker: bytes) -> int:
    """Lines of ``path`` holding ``marker`` (one event per line)."""
    return sum(1 for line in path.read_bytes().splitlines() if marker in line)


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a live process (/proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


#: Niceness of the sender and both receivers alike (``--nice``; negative needs root).
NICE = [0]


def _nice() -> None:
    if NICE[0]:
        os.nice(NICE[0])


def send(proto: str, port: int, rate: float, seconds: float, kind: str) -> int:
    out = subprocess.run([sys.executable, "-c", SENDER, proto, str(port), str(rate),
                          str(seconds), kind], capture_output=True, text=True, check=True,
                         timeout=seconds * 10 + 60, cwd=ROOT, preexec_fn=_nice)  # fmt: skip
    return int(out.stdout.split()[0])


def run_netop(command: str, proto: str, rate: float, seconds: float) -> dict[str, float]:
    port = free_port()
    with tempfile.TemporaryDirectory() as work:
        out = Path(work) / "events.jsonl"
        with out.open("w") as sink:
            proc = subprocess.Popen([sys.executable, "-m", "netop", command, "--listen",
                                     f"127.0.0.1:{port}", "--json"], cwd=ROOT, stdout=sink,
                                    stderr=subprocess.PIPE, text=True,
                                    preexec_fn=_nice)  # fmt: skip
        assert proc.stderr is not None
        line = proc.stderr.readline()  # "listening on ...": ready
        assert "listening" in line, line
        marker = b"1.3.6.1.4.1.99.0.1" if command == "traps" else b"bench: bench "
        cpu0 = cpu_seconds(proc.pid)
        sent = send(proto, port, rate, seconds, "trap" if command == "traps" else "syslog")
        deadline = time.monotonic() + 20  # drain: bounded wait until nothing more comes
        last, count = -1, 0
        while count != last and time.monotonic() < deadline:
            last = count
            time.sleep(0.5)
            count = _lines_with(out, marker)
        cpu = cpu_seconds(proc.pid) - cpu0
        proc.send_signal(signal.SIGINT)  # prints what it still holds, then its counters
        _, err = proc.communicate(timeout=20)
        count = _lines_with(out, marker)
    print(f"  netop: {err.strip().splitlines()[-1] if err.strip() else ''}", flush=True)
    return {"sent": sent, "received": count, "cpu_us": cpu * 1e6 / max(1, count)}


def run_rsyslog(proto: str, rate: float, seconds: float) -> dict[str, float]:
    port = free_port()
    with tempfile.TemporaryDirectory() as work:
        out = Path(work) / "out.log"
        conf = Path(work) / "rsyslog.conf"
        conf.write_text(RSYSLOG_CONF.format(work=work, port=port, out=out))
        proc = subprocess.Popen(["rsyslogd", "-n", "-f", str(conf), "-i",
                                 str(Path(work) / "pid")],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                preexec_fn=_nice)  # fmt: skip
        try:
            deadline = time.monotonic() + 10  # ready: a probe reaches its file (bounded)
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
                while not (out.exists() and out.stat().st_size):
                    assert time.monotonic() < deadline, "rsyslogd did not start"
                    probe.sendto(b"<13>1 - - - - - - probe", ("127.0.0.1", port))
                    time.sleep(0.05)
            cpu0 = cpu_seconds(proc.pid)
            sent = send(proto, port, rate, seconds, "syslog")
            deadline = time.monotonic() + 10
            last, count = -1, 0
            while count != last and time.monotonic() < deadline:
                last = count
                time.sleep(0.5)
                count = out.read_bytes().count(b"bench ")
            cpu = cpu_seconds(proc.pid) - cpu0
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    return {"sent": sent, "received": count, "cpu_us": cpu * 1e6 / max(1, count)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rate", type=float, default=None, help="messages/s (0: flat out)")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--tcp", action="store_true", help="syslog over TCP (octet counting)")
    parser.add_argument("--traps", action="store_true", help="SNMPv2c traps to netop traps")
    parser.add_argument("--nice", type=int, default=0,
                        help="niceness of sender and receivers alike (-10 shields them from "
                        "other load; needs root)")
    args = parser.parse_args()
    NICE[0] = args.nice
    rate = args.rate if args.rate is not None else (5000.0 if args.traps else 20000.0)
    proto = "tcp" if args.tcp else "udp"
    peers = ["netop"] if args.traps or not shutil.which("rsyslogd") else ["netop", "rsyslog"]
    results: dict[str, list[dict[str, float]]] = {p: [] for p in peers}
    for run in range(args.runs):
        for peer in peers if run % 2 == 0 else reversed(peers):
            if peer == "netop":
                got = run_netop("traps" if args.traps else "syslog", proto, rate, args.seconds)
            else:
                got = run_rsyslog(proto, rate, args.seconds)
            results[peer].append(got)
            print(f"run {run + 1} {peer:8} sent {got['sent']:.0f} received "
                  f"{got['received']:.0f} cpu {got['cpu_us']:.1f} us/msg", flush=True)
    what = "traps" if args.traps else f"syslog/{proto}"
    print(f"\n{what} at {rate:,.0f} msgs/s for {args.seconds:.0f} s, median of {args.runs} runs")
    print(f"{'receiver':10}{'sent':>10}{'received':>10}{'loss %':>8}{'msgs/s':>10}{'us/msg':>8}")
    for peer, rows in results.items():
        sent = statistics.median(r["sent"] for r in rows)
        received = statistics.median(r["received"] for r in rows)
        cpu = statistics.median(r["cpu_us"] for r in rows)
        loss = 100.0 * (1 - received / sent) if sent else 0.0
        print(f"{peer:10}{sent:>10.0f}{received:>10.0f}{loss:>8.2f}"
              f"{received / args.seconds:>10,.0f}{cpu:>8.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
