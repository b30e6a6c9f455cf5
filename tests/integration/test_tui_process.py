"""The TUI as a process in a pseudo-terminal: how it ends, and how it refuses bad input.

A monitor is ended with Ctrl-C, ``kill PID`` or a closed SSH session as often as with
``q``. Each must restore the terminal (alternate screen off, mouse tracking off, cursor
shown) and end the capture child; a signal gives the shell's status 128 + N.
"""

from __future__ import annotations

import os
import pty
import select
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.ptyproc import NETOP, PtyNetop, children, cmdline, state

ALT_SCREEN_ON = b"\x1b[?1049h"
RESETS = {
    "alternate screen off": b"\x1b[?1049l",
    "mouse tracking off": b"\x1b[?1000l",
    "any-event mouse off": b"\x1b[?1003l",
    "cursor shown": b"\x1b[?25h",
}


def _capture_child(pid: int, timeout: float) -> int | None:
    """The PID of netop's capture child once it runs (bounded wait)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for child in children(pid):
            if "netop.sources.capture.child" in cmdline(child):
                return child
        time.sleep(0.05)
    return None


@pytest.mark.skipif(os.geteuid() != 0, reason="capturing on lo needs CAP_NET_RAW (CI is root)")
@pytest.mark.parametrize(
    ("how", "status"),
    [("SIGTERM", 143), ("SIGHUP", 129), ("SIGINT", 130), ("ctrl+c", 0), ("q", 0)],
)
def test_tui_ends_cleanly(how: str, status: int) -> None:
    tui = PtyNetop(["-i", "lo", "--interval", "0.5", "-n"])
    try:
        assert tui.read_until(ALT_SCREEN_ON, timeout=30), bytes(tui.output[-500:])
        child = _capture_child(tui.proc.pid, timeout=30)
        assert child is not None, "the capture child never started"
        opened = len(tui.output)
        if how.startswith("SIG"):
            tui.proc.send_signal(getattr(signal, how))
        else:
            os.write(tui.master, b"\x03" if how == "ctrl+c" else b"q")
        assert tui.wait(timeout=20) == status
        after = bytes(tui.output[opened:])
        missing = [name for name, seq in RESETS.items() if seq not in after]
        assert not missing, f"terminal not restored: {missing}"
        assert b"Traceback" not in tui.output
        assert state(child) is None, f"capture child {child} left behind: {state(child)}"
    finally:
        tui.close()


@pytest.mark.skipif(os.geteuid() != 0, reason="capturing on lo needs CAP_NET_RAW (CI is root)")
def test_tui_ends_when_the_terminal_hangs_up() -> None:
    """A closed SSH session: the pty goes away, the kernel sends SIGHUP to the session."""
    tui = PtyNetop(["-i", "lo", "--interval", "0.5", "-n"])
    try:
        assert tui.read_until(ALT_SCREEN_ON, timeout=30)
        _hang_up_ends_cleanly(tui)
    finally:
        tui.close()


def _hang_up_ends_cleanly(run: PtyNetop) -> None:
    """Close the pty under a running netop: status 129, capture child gone."""
    child = _capture_child(run.proc.pid, timeout=30)
    assert child is not None
    os.close(run.master)
    try:
        code = run.proc.wait(timeout=20)
    finally:
        run.master = os.open("/dev/null", os.O_RDONLY)  # for close()
    assert code == 129
    assert state(child) is None, f"capture child {child} left behind: {state(child)}"


def _bad_input_cases(tmp: Path) -> dict[str, list[str]]:
    text = tmp / "notes.txt"
    text.write_text("not a capture\n")
    pcap = Path(__file__).resolve().parents[3] / "shared/data/pcap/traffic"
    some_pcap = next(iter(sorted(pcap.glob("*.pcap*"))), None) if pcap.is_dir() else None
    cases = {
        "missing file": ["-r", str(tmp / "nope.pcap")],
        "a directory": ["-r", str(tmp)],
        "not a pcap": ["-r", str(text)],
        "unknown interface": ["-i", "netop-nosuch0"],
        "bad BPF": ["-i", "lo", "-f", "tcp port"],
    }
    if some_pcap is not None:
        cases["bad BPF on a file"] = ["-r", str(some_pcap), "-f", "port nosuchservice"]
    return cases


@pytest.mark.parametrize(
    "case", ["missing file", "a directory", "not a pcap", "unknown interface", "bad BPF",
             "bad BPF on a file"])
def test_bad_capture_input_ends_before_the_screen_opens(case: str, tmp_path: Path) -> None:
    cases = _bad_input_cases(tmp_path)
    if case not in cases:
        pytest.skip("../shared/data/pcap/traffic is absent")
    master, slave = pty.openpty()
    try:
        done = subprocess.run(  # noqa: S603 - our own program
            [*NETOP, "-n", *cases[case]], stdin=slave, stdout=slave, stderr=subprocess.PIPE,
            timeout=30, env=dict(os.environ, TERM="xterm-256color"),
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"{case}: the TUI started instead of refusing the input")
    finally:
        os.close(slave)
    os.set_blocking(master, False)
    try:
        stdout = os.read(master, 65536)
    except OSError:
        stdout = b""
    os.close(master)
    err = done.stderr.decode(errors="replace")
    assert done.returncode == 2, err
    assert len(err.splitlines()) == 1, err
    assert err.startswith("netop: "), err
    assert "Traceback" not in err
    assert "\x1b" not in err
    assert b"\x1b" not in stdout, "the screen was opened"


HEADLESS = {
    # command, and what it says when it runs (stream, text)
    "ifaces": (["ifaces", "--count", "0", "--interval", "0.2"], "stdout", ""),
    "flows": (["flows", "-i", "lo"], "child", ""),
    "snmp": (["snmp", "v2c:public@127.0.0.1:9", "--interval", "0.5"], "stderr", "netop:"),
    "collect": (["collect", "--listen", "127.0.0.1:0"], "stderr", "listening on"),
}


def _wait_ready(proc: subprocess.Popen[str], how: str, text: str, timeout: float) -> int | None:
    """Block until the command runs; for ``flows`` return its capture child's PID."""
    if how == "child":
        return _capture_child(proc.pid, timeout)
    stream = proc.stdout if how == "stdout" else proc.stderr
    assert stream is not None
    os.set_blocking(stream.fileno(), False)
    seen = ""
    deadline = time.monotonic() + timeout
    while not (seen and text in seen):
        ready, _, _ = select.select([stream], [], [], 0.2)
        if ready:
            seen += stream.read() or ""
        if time.monotonic() > deadline or proc.poll() is not None:
            pytest.fail(f"never ready: {seen!r}")
    return None


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP],
                         ids=["TERM", "INT", "HUP"])
@pytest.mark.parametrize("command", list(HEADLESS))
def test_headless_commands_end_cleanly_on_signals(command: str, sig: signal.Signals) -> None:
    args, how, text = HEADLESS[command]
    if command == "flows" and os.geteuid() != 0:
        pytest.skip("capturing on lo needs CAP_NET_RAW (CI is root)")
    proc = subprocess.Popen(  # noqa: S603 - our own program
        [*NETOP, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        child = _wait_ready(proc, how, text, timeout=30)
        if how == "child":
            assert child is not None, "the capture child never started"
        proc.send_signal(sig)
        code = proc.wait(timeout=20)
        err = proc.stderr.read() if proc.stderr else ""
        assert "Traceback" not in err, err
        # flows -i is stopped by a signal as tcpdump is: it prints the flows, exit 0
        assert code == (0 if command == "flows" else 128 + sig), err
        if child is not None:
            assert state(child) is None, f"capture child {child} left behind"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=5)


@pytest.mark.skipif(os.geteuid() != 0, reason="capturing on lo needs CAP_NET_RAW (CI is root)")
def test_flows_i_ends_cleanly_when_the_terminal_hangs_up() -> None:
    """The flows it prints at the end meet a dead terminal: status 129, no traceback."""
    run = PtyNetop(["flows", "-i", "lo"])
    try:
        _hang_up_ends_cleanly(run)
    finally:
        run.close()
