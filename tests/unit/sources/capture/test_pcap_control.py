"""The ``pcap`` control line (parent -> child) and the ``writing`` message (child ->
parent) of the TUI's ``W``; the child's PcapOutput that acts on them."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from netop.sources.capture.child import parse_control
from netop.sources.capture.messages import ChildConfig, Message, Writing, decode, encode, pcap_line
from netop.sources.capture.pcapout import PcapOutput


def test_pcap_lines_parse_in_order_and_a_relative_path_is_dropped() -> None:
    got = parse_control(pcap_line("/tmp/a.pcap") + b'pcap "relative.pcap"\npcap {bad\n'
                        + pcap_line(None) + b'pcap "/x')
    assert got.pcaps == ["/tmp/a.pcap", None]
    assert got.rest == b'pcap "/x'
    assert not got.stop


def test_writing_message_round_trips() -> None:
    message = Writing("/tmp/a.pcap", 1234, "")
    assert decode(encode(message)[4:]) == message


def test_output_starts_reports_and_stops(tmp_path: Path) -> None:
    sent: list[Message] = []
    out = PcapOutput(ChildConfig(interfaces=["lo"]), sent.append, who="nobody")
    path = str(tmp_path / "a.pcap")
    out.start(path)
    assert out.writer is not None
    assert sent[-1] == Writing(path, 24, "")  # the pcap header
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    out.stop()
    assert out.writer is None
    assert sent[-1] == Writing("", 0, "")
    out.start(str(tmp_path / "missing" / "b.pcap"))
    assert out.writer is None
    last = sent[-1]
    assert isinstance(last, Writing)
    assert last.path == ""
    assert "b.pcap" in last.error
    assert "written as nobody" in last.error


def test_a_w_file_is_what_w_stops_and_playback_refuses(tmp_path: Path) -> None:
    from netop.sources.capture.options import CaptureOptions
    from netop.sources.capture.source import CaptureSource

    live = CaptureSource(CaptureOptions(interfaces=("lo",), write="rel.pcap"))
    status = live.pcap_status()
    assert status is not None
    assert status.path == os.path.abspath("rel.pcap")
    assert status.pending  # until the child says it opened it
    assert live.write_pcap(None)  # not running yet: queued for the child
    assert live.pcap_status() is None
    played = CaptureSource(CaptureOptions(read=str(tmp_path / "f.pcap")))
    assert not played.write_pcap(str(tmp_path / "x.pcap"))
    assert played.pcap_status() is None
