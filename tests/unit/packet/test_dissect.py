"""Packets decoded layer by layer for the detail screen; hostile bytes stay text."""

from __future__ import annotations

from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Ether

from netop.model import PacketSample
from netop.packet.dissect import dissect


def test_layers_in_order_with_fields() -> None:
    frame = bytes(Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
                  / IP(src="10.0.0.1", dst="10.0.0.2", ttl=7)
                  / TCP(sport=40000, dport=443, flags="S", seq=1000))
    lines = dissect(PacketSample(1_700_000_000.5, 1, frame, len(frame)))
    assert lines[0].endswith(f"→ {len(frame)} bytes on the wire ({len(frame)} kept)")
    assert lines[1].strip().startswith("Ethernet: dst=02:00:00:00:00:02")
    assert "src=10.0.0.1" in lines[2]
    assert "ttl=7" in lines[2]
    assert lines[3].strip().startswith("TCP:")
    assert "flags=S" in lines[3]
    assert [len(line) - len(line.lstrip()) for line in lines[1:]] == [2, 4, 6]


def test_raw_ip_and_reverse_direction() -> None:
    packet = bytes(IPv6(src="fd00::1", dst="fd00::2") / UDP(sport=53, dport=5353) / b"hi")
    lines = dissect(PacketSample(0.0, 101, packet, len(packet), reverse=True))
    assert " ← " in lines[0]
    assert lines[1].strip().startswith("IPv6:")
    assert lines[-1].strip() == "Payload: 2 bytes  hi"


def test_hostile_payload_is_shown_as_inert_text() -> None:
    payload = b"\x1b]0;owned\x07[red]x[/]\x1b[2J\r\nEvil"
    # Not port 53 (scapy's default): once any test has loaded scapy's DNS layer, that
    # payload would be decoded as DNS instead of shown.
    frame = bytes(Ether() / IP() / UDP(sport=40000, dport=9999) / payload)
    text = "\n".join(dissect(PacketSample(0.0, 1, frame, len(frame))))
    assert "\x1b" not in text
    assert "\x07" not in text
    assert "\r" not in text
    assert "[red]x[/]" in text  # printable text stays as typed; the view shows it as Text


def test_garbage_never_raises() -> None:
    for data in (b"", b"\x00", b"\xff" * 13, b"\x45" + b"\x00" * 30):
        lines = dissect(PacketSample(0.0, 1, data, len(data)))
        assert lines[0].endswith(f"bytes on the wire ({len(data)} kept)")
