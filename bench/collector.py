"""Flow collector benchmark: netop vs nfcapd on the same replayed export streams.

    .venv/bin/python bench/collector.py [--seconds 5] [--runs 3] [--rate 0] [--python] [--nice -10]

For each stream (softflowd NetFlow v5, v9 and IPFIX datagrams from
../shared/data/flows beside the repository) a sender process replays the datagrams in a loop over
loopback as fast as it can (or at ``--rate`` datagrams/s), rewriting sequence numbers
so that the receiver sees one long, gap-free export. The same sender feeds netop's
collector (a child process running CollectorServer and draining FlowRecords once a
second, as the engine does) and then nfcapd. Reported per run: records sent, records
decoded, loss, decoded records/s and receiver CPU µs per record; the table gives the
median of the runs. ``--offline`` also times the decoder alone (no sockets).
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import resource
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.shared_data import shared_path  # noqa: E402  (after the path is set)

FLOWS = shared_path("data", "flows")
STREAMS = {"v5": "softflowd-5.pcap", "v9": "softflowd-9.pcap", "ipfix": "softflowd-10.pcap"}
ALL_STREAMS = "v5,v9,ipfix,ipfix-full"


def load(stream: str) -> list[bytes]:
    """The export datagrams of one stream (UDP payloads, in order).

    ``ipfix-full`` is softflowd's IPFIX template message followed by messages that
    each carry one full data set (30 records of template 1024), the way routers fill
    datagrams; softflowd itself sends ~2.7 records per set.
    """
    from tests.unit.sources.collector.exports import datagrams

    if stream != "ipfix-full":
        return [data for _, data, _ in datagrams(FLOWS / STREAMS[stream])]
    source = [data for _, data, _ in datagrams(FLOWS / STREAMS["ipfix"])]
    records = []
    for data in source[1:]:
        pos = 16
        while pos + 4 <= len(data):
            set_id, length = struct.unpack_from("!HH", data, pos)
            if set_id == 1024:
                records += [data[p : p + 42] for p in range(pos + 4, pos + length - 41, 42)]
            pos += max(length, 4)
    out = [source[0]]
    for i in range(0, len(records) - 29, 30):
        body = b"".join(records[i : i + 30])
        header = struct.pack("!HHII", 10, 20 + len(body), *struct.unpack_from("!II", source[1], 4))
        out.append(header + struct.pack("!I", 0) + struct.pack("!HH", 1024, 4 + len(body)) + body)
    return out


def sequence_plan(stream: str, dgrams: list[bytes]) -> list[tuple[int, int]]:
    """Per datagram: (offset of its sequence field, how much it advances the sequence)."""
    from netop.sources.collector.decoder import Collector

    c = Collector()
    plan = []
    for data in dgrams:
        n = _records_in(c, data)
        if stream == "v5":
            plan.append((16, struct.unpack_from("!H", data, 2)[0]))
        elif stream == "v9":
            plan.append((12, 1))
        else:
            plan.append((8, n))
    return plan


def _records_in(collector: Any, data: bytes) -> int:
    """The flow records one datagram holds, as the collector decodes them."""
    before = collector.records
    collector.feed(data, "x", 0.0)
    collector.flows.drain()
    return int(collector.records - before)


def sender(stream: str, port: int, seconds: float, rate: float, out: Path) -> None:
    """Replay the stream for ``seconds``; write {"datagrams", "records"} to ``out``."""
    dgrams = [bytearray(d) for d in load(stream)]
    plan = sequence_plan(stream, [bytes(d) for d in dgrams])
    from netop.sources.collector.decoder import Collector

    decoder = Collector()
    counts = [_records_in(decoder, bytes(d)) for d in dgrams]
    # Templates travel in the first datagram only: keep it first, then loop the rest.
    first, loop = 0, list(range(1, len(dgrams))) or [0]
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.connect(("127.0.0.1", port))
    seq = 0
    sent = records = 0
    pack = struct.pack_into
    end = time.perf_counter() + seconds
    gap = 1.0 / rate if rate else 0.0
    next_send = time.perf_counter()

    def send(i: int) -> None:
        nonlocal seq, sent, records
        offset, advance = plan[i]
        if stream == "v9":
            pack("!I", dgrams[i], offset, seq & 0xFFFFFFFF)
            seq += 1
        elif stream.startswith("ipfix"):
            # softflowd numbers IPFIX messages by the records *including* this one.
            seq += advance
            pack("!I", dgrams[i], offset, seq & 0xFFFFFFFF)
        else:
            pack("!I", dgrams[i], offset, seq & 0xFFFFFFFF)
            seq += advance
        try:
            sock.send(dgrams[i])
        except OSError:
            return
        sent += 1
        records += counts[i]

    send(first)
    while True:
        for i in loop:
            send(i)
        if gap:
            next_send += gap * len(loop)
            delay = next_send - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
        if time.perf_counter() >= end:
            break
    out.write_text(json.dumps({"datagrams": sent, "records": records}))


def serve(port: int, seconds: float, mode: str = "single") -> None:
    """netop's collector: receive for ``seconds``, then report decoded records and CPU.

    ``single`` is CollectorServer (one thread drains the socket in bursts and decodes
    each burst); ``threads`` is the alternative measured against it: a receive thread
    that only enqueues (queue bounded like the socket buffer) and a decode thread.
    """
    from netop.sources.collector.decoder import Collector
    from netop.sources.collector.server import CollectorServer

    collector = Collector()
    server = CollectorServer([("127.0.0.1", port)], collector)
    stop = threading.Event()
    threads: list[threading.Thread] = []
    if mode == "single":
        server.start()
    else:
        queue: collections.deque[tuple[bytes, str]] = collections.deque()
        sock = server.listeners[0].sock
        sock.setblocking(True)
        sock.settimeout(0.2)
        counts = {"in": 0, "out": 0}  # bytes; each written by one thread
        limit = server.listeners[0].rcvbuf  # the same bound as the kernel buffer

        def receive() -> None:
            buffer = bytearray(65535)
            while not stop.is_set():
                try:
                    size, peer = sock.recvfrom_into(buffer)
                except (TimeoutError, OSError):
                    continue
                if counts["in"] - counts["out"] > limit:
                    continue  # full: dropped, as the kernel would
                queue.append((bytes(buffer[:size]), peer[0]))
                counts["in"] += size

        def decode() -> None:
            while not stop.is_set():
                if not queue:
                    time.sleep(0.002)
                    continue
                burst = [queue.popleft() for _ in range(min(len(queue), 4096))]
                counts["out"] += sum(len(data) for data, _ in burst)
                with server.lock:
                    collector.feed_many(burst, time.time())

        threads = [threading.Thread(target=receive), threading.Thread(target=decode)]
        for thread in threads:
            thread.start()
    print("ready", flush=True)
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        time.sleep(1.0)
        with server.lock:
            collector.flows.drain()
    drops = server.kernel_drops()
    stop.set()  # both designs stop decoding at the end of the window
    for thread in threads:
        thread.join()
    server.stop()
    with server.lock:
        collector.flows.drain()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({"records": collector.records, "datagrams": collector.datagrams,
                      "kernel_drops": drops, "cpu": usage.ru_utime + usage.ru_stime}))  # fmt: skip


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _send(stream: str, port: int, seconds: float, rate: float) -> dict[str, int]:
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as handle:
        out = Path(handle.name)
    try:
        subprocess.run([sys.executable, __file__, "--send", stream, "--port", str(port),
                        "--seconds", str(seconds), "--rate", str(rate), "--out", str(out)],
                       check=True, timeout=seconds + 60, preexec_fn=_niced)  # fmt: skip
        result: dict[str, int] = json.loads(out.read_text())
        return result
    finally:
        out.unlink(missing_ok=True)


#: Scheduling niceness of the sender and the receivers (netop and nfcapd alike), so
#: that other load on the machine takes less of their CPU; 0 leaves it alone.
NICE = 0


def _niced() -> None:
    if NICE:
        os.setpriority(os.PRIO_PROCESS, 0, NICE)


def run_netop(
    stream: str, seconds: float, rate: float, mode: str = "single", pure: bool = False
) -> dict[str, float]:
    port = _free_port()
    env = dict(os.environ)
    env.pop("NETOP_PURE_PYTHON", None)
    if pure:
        env["NETOP_PURE_PYTHON"] = "1"  # the generated Python decoders, not the C layouts
    proc = subprocess.Popen([sys.executable, __file__, "--serve", "--port", str(port),
                             "--seconds", str(seconds + 2), "--mode", mode],
                            stdout=subprocess.PIPE, text=True, cwd=ROOT, env=env,
                            preexec_fn=_niced)  # fmt: skip
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    sent = _send(stream, port, seconds, rate)
    out, _ = proc.communicate(timeout=seconds + 30)
    got = json.loads(out.strip().splitlines()[-1])
    return _row(sent, got["records"], got["cpu"], seconds)


def run_nfcapd(stream: str, seconds: float, rate: float) -> dict[str, float] | None:
    nfcapd, nfdump = shutil.which("nfcapd"), shutil.which("nfdump")
    if nfcapd is None or nfdump is None:
        return None
    port = _free_port()
    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.Popen([nfcapd, "-w", tmp, "-b", "127.0.0.1", "-p", str(port),
                                 "-t", "3600", "-B", str(32 << 20)], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, preexec_fn=_niced)  # fmt: skip
        time.sleep(0.5)
        start_cpu = _proc_cpu(proc.pid)
        sent = _send(stream, port, seconds, rate)
        time.sleep(0.5)
        cpu = _proc_cpu(proc.pid) - start_cpu
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        stat = subprocess.run([nfdump, "-R", tmp, "-I"], capture_output=True, text=True,
                              check=False).stdout  # fmt: skip
    flows = 0
    for line in stat.splitlines():
        if line.startswith("Flows:"):
            flows = int(line.split()[1])
    return _row(sent, flows, cpu, seconds)


def _proc_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _row(sent: dict[str, int], decoded: int, cpu: float, seconds: float) -> dict[str, float]:
    loss = 1 - decoded / sent["records"] if sent["records"] else 0.0
    return {"sent": sent["records"], "decoded": decoded, "loss_pct": 100 * loss,
            "rec_per_s": decoded / seconds,
            "cpu_us_per_rec": 1e6 * cpu / max(decoded, 1)}  # fmt: skip


def offline(stream: str, seconds: float = 2.0) -> dict[str, float]:
    """The decoder alone: datagrams fed to Collector.feed in a loop, flows drained 1/s."""
    from netop.sources.collector.decoder import Collector

    dgrams = load(stream)
    c = Collector()
    c.feed(dgrams[0], "127.0.0.1", 0.0)
    loop = dgrams[1:] or dgrams
    start = time.process_time()
    n = 0
    burst = [(d, "127.0.0.1") for d in loop] * max(1, 1000 // len(loop))
    while time.process_time() - start < seconds:
        c.feed_many(burst, 0.0)
        n += 1
        if n % 200 == 0:
            c.flows.drain()
    c.flows.drain()
    cpu = time.process_time() - start
    return {"rec_per_s": c.records / cpu, "dgram_per_s": c.datagrams / cpu,
            "cpu_us_per_rec": 1e6 * cpu / c.records}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--rate", type=float, default=0.0, help="datagrams/s (0 = flat out)")
    parser.add_argument("--streams", default=ALL_STREAMS)
    parser.add_argument("--offline", action="store_true")
    parser.add_argument("--mode", default="single", help="netop server design: single | split")
    parser.add_argument(
        "--python",
        action="store_true",
        help="also run netop with its pure-Python decoders (NETOP_PURE_PYTHON=1)",
    )
    parser.add_argument(
        "--nice", type=int, default=0, help="niceness of sender and receivers, e.g. -10 (root)"
    )
    parser.add_argument(
        "--compare-modes",
        action="store_true",
        help="also run netop with the split receive/decode threads",
    )
    parser.add_argument("--send", help=argparse.SUPPRESS)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.send:
        sender(args.send, args.port, args.seconds, args.rate, Path(args.out))
        return
    if args.serve:
        serve(args.port, args.seconds, args.mode)
        return
    if not FLOWS.exists():
        sys.exit(f"{FLOWS} not present: the benchmark replays its softflowd captures")
    global NICE
    NICE = args.nice
    streams = args.streams.split(",")
    if args.offline:
        for stream in streams:
            runs = [offline(stream) for _ in range(args.runs)]
            med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
            print(
                f"offline {stream:6} {med['rec_per_s'] / 1e6:6.2f} M rec/s "
                f"{med['dgram_per_s'] / 1e3:7.1f} k dgram/s {med['cpu_us_per_rec']:.3f} µs/rec"
            )
    print(f"{'stream':11}{'collector':12}{'sent M':>9}{'decoded M':>11}{'loss %':>8}"
          f"{'M rec/s':>9}{'CPU µs/rec':>12}")  # fmt: skip
    for stream in streams:
        runners: list[tuple[str, Any]] = [("netop", run_netop), ("nfcapd", run_nfcapd)]
        if args.compare_modes:
            runners.insert(1, ("netop-2thr", lambda *a: run_netop(*a, mode="threads")))
        if args.python:
            runners.insert(1, ("netop-py", lambda *a: run_netop(*a, pure=True)))
        # Runs alternate between the receivers, so that a change in the machine's load
        # during the benchmark falls on all of them alike.
        results: dict[str, list[dict[str, float]]] = {name: [] for name, _ in runners}
        for _ in range(args.runs):
            for name, fn in runners:
                row = fn(stream, args.seconds, args.rate)
                if row:
                    results[name].append(row)
        for name, _ in runners:
            runs = results[name]
            if not runs:
                print(f"{stream:7}{name:10} (not installed)")
                continue
            med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
            print(
                f"{stream:11}{name:12}{med['sent'] / 1e6:9.2f}{med['decoded'] / 1e6:11.2f}"
                f"{med['loss_pct']:8.1f}{med['rec_per_s'] / 1e6:9.2f}"
                f"{med['cpu_us_per_rec']:12.3f}   loss % per run: "
                + " ".join(f"{r['loss_pct']:.1f}" for r in runs),
                flush=True,
            )


if __name__ == "__main__":
    main()
