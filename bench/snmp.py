"""SNMP polling benchmark: netop vs snmpbulkwalk vs prometheus-snmp-exporter.

    .venv/bin/python bench/snmp.py [--polls 10] [--fleet 100] [--skip-big]

Agents (all on 127.0.0.1, started here and ended by PID): a private net-snmp snmpd
(4 interfaces) and snmpsim serving the IF-MIB part of two real recordings from
snmpsim-data: juniper-mx960 (61 interfaces) and h3c LSQ1WCMD0 (1317 interfaces).

Per device, one poll of one target (steady state: after a first poll that learns names):
* netop: ``Poller.poll`` (sysUpTime/sysName/engineID GET + the column-parallel GETBULK
  walk of the per-poll columns); wall time and this process's CPU.
* snmpbulkwalk: one process per column of the same set (-Cr25), wall time and the
  children's CPU.
* snmpd-v3: the same agent over SNMPv3 authPriv (SHA/AES-128): netop, pysnmp (the same
  GET and column-parallel GETBULK walk, ``lookupMib=False``) and the exporter;
  snmpd-v3-des: SHA/DES, netop and pysnmp.
* prometheus-snmp-exporter: one scrape walking the same columns (a module written
  here), wall time and the exporter's CPU (from /proc).
CPU is the mean over the polls (the kernel counts process CPU in 10 ms ticks, too
coarse for one poll of a small agent); wall time the median. CPU per value divides by
the values the poll returned. ``--fleet N`` also polls N
targets of the 46-interface paloalto recording concurrently, as a 10 s cycle would.
The agents' own CPU is not counted for anyone.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from netop.sources.snmp import mib  # noqa: E402
from netop.sources.snmp.poller import Poller  # noqa: E402
from netop.sources.snmp.targets import Secret, SnmpTarget  # noqa: E402
from tests.integration.snmp.agents import (  # noqa: E402
    COMMUNITY,
    USERS,
    Snmpd,
    Snmpsim,
    free_udp_port,
)
from tests.integration.snmp.recordings import RECORDINGS, write_recordings  # noqa: E402

V3_USER = "netop-priv"  # SHA / AES-128
V3_DES_USER = "netop-des"  # SHA / DES
RECORDINGS.setdefault("paloalto-pa-5000", "network/firewall/paloalto-pa-5000.snmprec.bz2")


def proc_cpu(pid: int) -> float:
    """CPU seconds (user + system) of a process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def steady_columns(version: str = "2c") -> list[str]:
    return list(mib.plan(version, static=False, low=False))


def bench_netop(target: SnmpTarget, polls: int) -> dict[str, float]:
    async def main() -> dict[str, float]:
        poller = Poller([target])
        await poller.open()
        walls, cpus, values = [], [], 0
        try:
            await poller.poll(0)  # learns names and speeds, discovers v3
            for _ in range(polls):
                c0, t0 = time.process_time(), time.perf_counter()
                await poller.poll(0)
                walls.append(time.perf_counter() - t0)
                cpus.append(time.process_time() - c0)
            tracker = poller.trackers[0]
            values = tracker.interfaces * len(steady_columns(target.version)) + 3
        finally:
            poller.close()
        return {"wall": statistics.median(walls), "cpu": sum(cpus) / len(cpus),
                "values": values}  # fmt: skip

    return asyncio.run(main())


def bench_pysnmp(target: SnmpTarget, polls: int) -> dict[str, float]:
    """pysnmp doing netop's poll: the scalars GET, then the columns walked in parallel."""
    from pysnmp.hlapi.v3arch.asyncio import (
        ContextData,
        ObjectIdentity,
        ObjectType,
        SnmpEngine,
        UdpTransportTarget,
        UsmUserData,
        bulk_cmd,
        get_cmd,
        usmAesCfb128Protocol,
        usmDESPrivProtocol,
        usmHMACSHAAuthProtocol,
    )  # fmt: skip

    assert target.auth_key is not None
    assert target.priv_key is not None
    usm = UsmUserData(target.user, target.auth_key.reveal(), target.priv_key.reveal(),
                      authProtocol=usmHMACSHAAuthProtocol,
                      privProtocol=usmDESPrivProtocol if target.priv_protocol == "des"
                      else usmAesCfb128Protocol)  # fmt: skip
    columns = [mib.COLUMNS[name] for name in steady_columns("3")]

    async def one(engine: Any, transport: Any) -> int:
        scalars = [ObjectType(ObjectIdentity(".".join(map(str, o)))) for o in mib.SCALARS]
        ei, _, _, vbs = await get_cmd(engine, usm, transport, ContextData(), *scalars,
                                      lookupMib=False)  # fmt: skip
        assert not ei, ei
        values = len(vbs)
        at = {col: col for col in columns}
        while at:
            cols = list(at)
            objs = [ObjectType(ObjectIdentity(".".join(map(str, at[c])))) for c in cols]
            ei, _, _, vbs = await bulk_cmd(engine, usm, transport, ContextData(), 0, 25, *objs,
                                           lookupMib=False)  # fmt: skip
            assert not ei, ei
            for n, (name, _) in enumerate(vbs):
                col, oid = cols[n % len(cols)], tuple(name)
                if col not in at:
                    continue
                if oid[: len(col)] != col:
                    del at[col]  # past the column (or endOfMibView)
                else:
                    at[col] = oid
                    values += 1
            for col in cols[len(vbs):]:
                at.pop(col, None)
        return values

    async def main() -> dict[str, float]:
        engine = SnmpEngine()
        transport = await UdpTransportTarget.create(("127.0.0.1", target.port), timeout=10,
                                                    retries=0)  # fmt: skip
        walls, cpus, values = [], [], 0
        try:
            await one(engine, transport)  # discovery
            for _ in range(polls):
                c0, t0 = time.process_time(), time.perf_counter()
                values = await one(engine, transport)
                walls.append(time.perf_counter() - t0)
                cpus.append(time.process_time() - c0)
        finally:
            engine.close_dispatcher()
        return {"wall": statistics.median(walls), "cpu": sum(cpus) / len(cpus),
                "values": values}  # fmt: skip

    return asyncio.run(main())


def bench_bulkwalk(port: int, community: str, polls: int) -> dict[str, float]:
    oids = [".".join(map(str, mib.COLUMNS[name])) for name in steady_columns()]
    walls, cpus, values = [], [], 0
    for _ in range(polls):
        c0, t0 = children_cpu(), time.perf_counter()
        out = []
        for oid in oids:
            out.append(subprocess.run(
                ["snmpbulkwalk", "-v2c", "-c", community, "-Cr25", "-On", "-t", "5",
                 f"127.0.0.1:{port}", oid],
                capture_output=True, text=True, check=False, env=dict(os.environ, MIBS=""),
            ).stdout)  # fmt: skip
        walls.append(time.perf_counter() - t0)
        cpus.append(children_cpu() - c0)
        values = sum(text.count("\n") for text in out)
    return {"wall": statistics.median(walls), "cpu": sum(cpus) / len(cpus), "values": values}


def exporter_config(path: Path, communities: list[str]) -> None:
    metrics = []
    for name in steady_columns():
        oid = ".".join(map(str, mib.COLUMNS[name]))
        kind = "gauge" if name == "oper" else "counter"
        metrics.append(f"  - name: {name}\n    oid: {oid}\n    type: {kind}\n"
                       "    indexes:\n    - labelname: ifIndex\n      type: gauge\n")  # fmt: skip
    walk = "".join(f"  - {'.'.join(map(str, mib.COLUMNS[n]))}\n" for n in steady_columns())
    modules = []
    for community in communities:
        modules.append(f"{community}:\n  walk:\n{walk}  version: 2\n  max_repetitions: 25\n"
                       f"  retries: 0\n  timeout: 10s\n  auth:\n    community: {community}\n"
                       "  metrics:\n" + "".join(metrics))  # fmt: skip
    user, (_, auth_key, _, priv_key) = V3_USER, USERS[V3_USER]
    modules.append(f"v3:\n  walk:\n{walk}  version: 3\n  max_repetitions: 25\n"
                   f"  retries: 0\n  timeout: 10s\n  auth:\n    username: {user}\n"
                   "    security_level: authPriv\n    auth_protocol: SHA\n"
                   f"    password: {auth_key}\n    priv_protocol: AES\n"
                   f"    priv_password: {priv_key}\n  metrics:\n" + "".join(metrics))  # fmt: skip
    path.write_text("".join(modules))
    path.chmod(0o600)


def bench_exporter(pid: int, web: int, port: int, module: str, polls: int) -> dict[str, float]:
    url = f"http://127.0.0.1:{web}/snmp?target=127.0.0.1:{port}&module={module}"
    walls, cpus, values = [], [], 0
    urllib.request.urlopen(url, timeout=60).read()
    for _ in range(polls):
        c0, t0 = proc_cpu(pid), time.perf_counter()
        body = urllib.request.urlopen(url, timeout=60).read().decode()
        walls.append(time.perf_counter() - t0)
        cpus.append(proc_cpu(pid) - c0)
        values = sum(1 for line in body.splitlines() if line and not line.startswith("#")
                     and not line.startswith("snmp_scrape"))  # fmt: skip
    return {"wall": statistics.median(walls), "cpu": sum(cpus) / len(cpus), "values": values}


def bench_fleet(port: int, community: str, n: int, rounds: int) -> dict[str, float]:
    base = SnmpTarget(name="t", host="127.0.0.1", port=port, community=Secret(community),
                      timeout=10.0, retries=0)  # fmt: skip
    targets = [replace(base, name=f"t{i}") for i in range(n)]

    async def main() -> dict[str, float]:
        poller = Poller(targets)
        await poller.open()
        try:
            await poller.poll_all()
            walls, cpus = [], []
            for _ in range(rounds):
                c0, t0 = time.process_time(), time.perf_counter()
                items = await poller.poll_all()
                walls.append(time.perf_counter() - t0)
                cpus.append(time.process_time() - c0)
            ifaces = sum(t.interfaces for t in poller.trackers)
            assert all(t.reachable for t in poller.trackers), [i for i in items][-1]
        finally:
            poller.close()
        cpu = statistics.median(cpus)
        return {"wall": statistics.median(walls), "cpu": cpu, "ifaces": ifaces,
                "core_pct_at_10s": 100 * cpu / 10.0}  # fmt: skip

    return asyncio.run(main())


def row(device: str, ifaces: str, tool: str, r: dict[str, float]) -> str:
    per_value = 1e6 * r["cpu"] / r["values"] if r.get("values") else float("nan")
    return (f"| {device} | {ifaces} | {tool} | {r['wall'] * 1000:.1f} | {r['cpu'] * 1000:.1f} "
            f"| {int(r.get('values', 0))} | {per_value:.1f} |")  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--polls", type=int, default=10)
    parser.add_argument("--fleet", type=int, default=100)
    parser.add_argument("--skip-big", action="store_true", help="leave out the 1317-port device")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="netop-bench-snmp-"))
    devices = [("juniper-mx960", "61")] + ([] if args.skip_big else [("h3c-lsq1wcmd0", "1317")])
    data = work / "data"
    data.mkdir()
    write_recordings(data, tuple(d for d, _ in devices) + ("paloalto-pa-5000",))
    snmpd = Snmpd(work).start()
    sim = Snmpsim(work, data).start(seconds=300)
    web = free_udp_port()
    conf = work / "snmp.yml"
    exporter_config(conf, [COMMUNITY] + [d for d, _ in devices])
    exporter = None
    if shutil.which("prometheus-snmp-exporter"):
        exporter = subprocess.Popen(
            ["prometheus-snmp-exporter", f"--config.file={conf}",
             f"--web.listen-address=127.0.0.1:{web}", "--log.level=warn"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        time.sleep(1.0)
    else:
        print("prometheus-snmp-exporter not installed: its rows are left out", file=sys.stderr)
    lines = ["| device | ifaces | tool | wall ms | CPU ms | values | CPU µs/value |",
             "|---|---|---|---|---|---|---|"]  # fmt: skip
    results: dict[str, Any] = {}
    try:
        v3 = SnmpTarget(name="snmpd-v3", host="127.0.0.1", port=snmpd.port, version="3",
                        user=V3_USER, auth_protocol="sha", auth_key=Secret(USERS[V3_USER][1]),
                        priv_protocol="aes", priv_key=Secret(USERS[V3_USER][3]),
                        timeout=10.0, retries=0)  # fmt: skip
        v3_des = replace(v3, name="snmpd-v3-des", user=V3_DES_USER, priv_protocol="des")
        agents = [("snmpd", "4", snmpd.port, COMMUNITY)] + [(d, n, sim.port, d) for d, n in devices]
        v3_agents = [("snmpd-v3", "4", snmpd.port, ""), ("snmpd-v3-des", "4", snmpd.port, "")]
        for device, ifaces, port, community in agents + v3_agents:
            polls = args.polls if ifaces != "1317" else max(3, args.polls // 3)
            target = (v3 if device == "snmpd-v3" else v3_des) if not community else SnmpTarget(
                name=device, host="127.0.0.1", port=port, community=Secret(community),
                timeout=10.0, retries=0)  # fmt: skip
            module = community or "v3"
            runs = [("netop", bench_netop, (target, polls))]
            if community:  # v3 keys stay off command lines, even test ones
                runs.append(("snmpbulkwalk", bench_bulkwalk, (port, community, polls)))
            else:
                runs.append(("pysnmp", bench_pysnmp, (target, polls)))
            if exporter is not None and device != "snmpd-v3-des":  # its v3 module: AES
                runs.append(("snmp_exporter", bench_exporter,
                             (exporter.pid, web, port, module, polls)))  # fmt: skip
            for tool, fn, fn_args in runs:
                r = fn(*fn_args)  # type: ignore[operator]
                results[f"{device}/{tool}"] = r
                lines.append(row(device, ifaces, tool, r))
                print(lines[-1], flush=True)
        if args.fleet:
            r = bench_fleet(sim.port, "paloalto-pa-5000", args.fleet, 3)
            results["fleet"] = r
            lines.append(f"\nfleet: {args.fleet} targets x {r['ifaces'] // args.fleet} ifaces: "
                         f"wall {r['wall']:.2f} s, netop CPU {r['cpu']:.2f} s per cycle = "
                         f"{r['core_pct_at_10s']:.1f} % of a core at a 10 s interval")  # fmt: skip
    finally:
        if exporter is not None:
            exporter.terminate()
            exporter.wait(timeout=10)
        sim.stop()
        snmpd.stop()
    print("\n".join(lines))
    out = ROOT / "bench" / "results" / f"snmp-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
