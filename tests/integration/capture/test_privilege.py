"""Capture rights stay in the capture child and leave it once its sockets are open.

Each test is an attack a security review reproduced against a real netop process
(issue #17): code planted in the current directory, a hostile config, a symlink at
the ``-w`` path, a child that kept root or its capabilities, a UI holding capture
rights. Only loopback and namespaces made here carry traffic.
"""

from __future__ import annotations

import json
import marshal
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.netns import veth_pair
from tests.ready import Watched, start_watched, wait_for_port, wait_until

ROOT = Path(__file__).resolve().parents[3]

#: The parent itself started isolated, so that only the capture child's own start
#: decides whether the current directory is imported (as with the `netop` script).
_NETOP = [
    sys.executable,
    "-I",
    "-c",
    f"import sys; sys.path.insert(0, {str(ROOT)!r}); from netop.cli import main; "
    "sys.exit(main())",
]


def _children(pid: int) -> list[int]:
    """Child processes of ``pid``, whichever of its threads started them."""
    kids: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            kids += [int(p) for p in (task / "children").read_text().split()]
        except OSError:
            continue
    return kids


def _status(pid: int) -> dict[str, str]:
    with open(f"/proc/{pid}/status") as handle:
        return dict(line.rstrip("\n").split(":\t", 1) for line in handle if ":\t" in line)


@pytest.fixture
def root_dir() -> Iterator[Path]:
    """A root-owned 0755 directory (the users' side of these tests can read it)."""
    path = Path(tempfile.mkdtemp(prefix="netop-priv-", dir="/tmp"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _flows(cwd: Path, *args: str, env: dict[str, str] | None = None) -> Watched:
    return start_watched(
        [*_NETOP, "flows", "--json", *args], cwd=cwd, env={**os.environ, **(env or {})}
    )


def test_json_py_in_the_current_directory_is_not_run_by_the_capture_child(
    root_dir: Path,
) -> None:
    marker = root_dir / "pwned"
    # Writes the marker, then hands over the real json so that netop would run on.
    (root_dir / "json.py").write_text(
        f"open({str(marker)!r}, 'w').write('ran')\n"
        "import importlib, sys\n"
        "del sys.modules['json']\n"
        f"sys.path[:] = [p for p in sys.path if p not in ('', {str(root_dir)!r})]\n"
        "sys.modules['json'] = importlib.import_module('json')\n"
    )
    netop = _flows(root_dir, "-i", "lo", "--duration", "1")
    try:
        stdout, stderr = netop.communicate(timeout=30)
    finally:
        netop.kill()
    assert not marker.exists(), "a json.py in the cwd ran inside the capture child"
    assert netop.returncode == 0, stderr
    assert "capture attached on lo" in stderr


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"interfaces": ["../../../etc/passwd"]}, "interfaces"),
        ({"interfaces": ["lo"], "ring_mb": 10**9}, "ring_mb"),
        ({"interfaces": ["lo"], "snaplen": -1}, "snaplen"),
        ({"interfaces": ["lo"], "write": "relative.pcap"}, "write"),
        ({"interfaces": ["lo"], "exec": "rm -rf /"}, "unknown key"),
    ],
)
def test_child_rejects_a_hostile_config(change: dict[str, object], reason: str) -> None:
    from netop.sources.capture.entry import bootstrap

    config = {"interfaces": ["lo"], "ring_mb": 1, **change}
    done = subprocess.run(
        [sys.executable, "-I", "-c", bootstrap()],
        input=json.dumps(config).encode() + b"\n",
        capture_output=True,
        cwd="/",
        timeout=30,
    )
    assert done.returncode == 2, done.stderr
    kind, text = marshal.loads(done.stdout[4:])
    assert kind == "fatal"
    assert text.startswith("capture config: " + reason)
    assert b"Traceback" not in done.stderr


def test_write_through_a_symlink_leaves_the_root_file_untouched(root_dir: Path) -> None:
    victim = root_dir / "shadow"
    victim.write_text("root's data\n")
    victim.chmod(0o600)
    out = root_dir / "out"
    out.mkdir(mode=0o1777)
    out.chmod(0o1777)
    (out / "cap.pcap").symlink_to(victim)
    netop = _flows(root_dir, "-i", "lo", "--duration", "1", "-w", str(out / "cap.pcap"))
    try:
        netop.communicate(timeout=30)
    finally:
        netop.kill()
    assert victim.read_bytes() == b"root's data\n"
    assert victim.stat().st_uid == 0
    assert (out / "cap.pcap").is_symlink()


def test_root_child_writes_as_nobody_not_root_by_default(root_dir: Path) -> None:
    out = root_dir / "out"
    out.mkdir()
    out.chmod(0o1777)
    netop = _flows(root_dir, "-i", "lo", "--duration", "1", "-w", str(out / "cap.pcap"))
    try:
        _stdout, stderr = netop.communicate(timeout=30)
    finally:
        netop.kill()
    assert netop.returncode == 0, stderr
    assert (out / "cap.pcap").stat().st_uid == 65534


@pytest.mark.parametrize(
    "invoker", [{"DOAS_USER": "nobody"}, {"PKEXEC_UID": "65534"}, {"SUDO_UID": "65534"}]
)
def test_child_is_the_invoking_user_with_no_capabilities(
    root_dir: Path, invoker: dict[str, str]
) -> None:
    netop = _flows(root_dir, "-i", "lo", "--duration", "30", env=invoker)
    try:
        netop.stderr.wait_for("netop: capture attached on ", timeout=30)
        kid = wait_until(lambda: _children(netop.proc.pid), 10, "capture child")[0]
        status = _status(kid)
    finally:
        netop.kill()
    assert status["Uid"].split() == ["65534"] * 4
    assert status["Gid"].split()[0] == "65534"
    assert int(status["CapEff"], 16) == 0
    assert int(status["CapPrm"], 16) == 0
    assert status["NoNewPrivs"].strip() == "1"


def _python_for_nobody() -> str:
    """This interpreter if nobody may run it (a pyenv under /root is out of reach), else
    the system's python3 of the same version."""
    for python in (sys.executable, f"/usr/bin/python{sys.version_info[0]}.{sys.version_info[1]}"):
        ok = subprocess.run(
            ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
             "/bin/sh", "-c", f"exec {python} -c pass"],
            capture_output=True, timeout=30,
        )  # fmt: skip
        if ok.returncode == 0:
            return python
    pytest.skip("no python3 that the user nobody may run")


def test_ordinary_user_captures_through_the_installed_launcher(root_dir: Path) -> None:
    """nobody runs netop; only the launcher, installed here with file capabilities,
    holds capture rights: the UI has none, the child drops them after opening."""
    if shutil.which("setcap") is None or shutil.which("curl") is None:
        pytest.skip("setcap and curl are needed (apt-get install libcap2-bin curl)")
    from netop.sources.capture.entry import install

    launcher = install(
        str(root_dir / "libexec" / "netop-capture"), file_caps=True, python=_python_for_nobody()
    )
    config = root_dir / "netop.toml"
    config.write_text(f'[capture]\nlauncher = "{launcher}"\n')
    config.chmod(0o644)
    with veth_pair() as pair:
        server = subprocess.Popen(
            pair.run_b(sys.executable, "-m", "http.server", "--bind", pair.addr_b, "8093"),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd="/",
        )
        netop = start_watched(
            pair.run_a(
                "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                "--inh-caps=-all", "--reset-env",
                *_NETOP, "--config", str(config), "flows", "--json",
                "-i", pair.if_a, "--duration", "30",
            ),
            cwd="/",
        )
        try:
            wait_for_port(8093, pair.ns_b, proc=server)
            netop.stderr.wait_for("netop: capture attached on ", timeout=30)
            ui = _status(netop.proc.pid)
            # ip netns exec execs setpriv, which execs python: the UI is our child
            kid = wait_until(lambda: _children(netop.proc.pid), 10, "capture child")[0]
            child = _status(kid)
            subprocess.run(
                pair.run_a("curl", "-s", "-o", "/dev/null", "--max-time", "2",
                           f"http://{pair.addr_b}:8093/"),
                check=True,
                timeout=10,
            )
            netop.proc.send_signal(2)
            stdout, stderr = netop.communicate(timeout=30)
        finally:
            netop.kill()
            server.terminate()
            server.wait(timeout=10)
    assert ui["Uid"].split()[0] == "65534"
    assert int(ui["CapEff"], 16) == 0
    assert int(ui["CapPrm"], 16) == 0
    assert child["Uid"].split()[0] == "65534"
    assert int(child["CapEff"], 16) == 0
    assert child["NoNewPrivs"].strip() == "1"
    assert any(json.loads(line)["dport"] == 8093 for line in stdout.splitlines()), stderr
