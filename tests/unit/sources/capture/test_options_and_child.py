"""Capture flags/config, kernel filter programs, the adaptive sampler, child messages."""

from __future__ import annotations

import argparse
import marshal
from pathlib import Path

import pytest
from scapy.layers.inet import IP, TCP
from scapy.layers.l2 import Ether

from netop.config import Config
from netop.errors import ConfigError
from netop.packet.bpf import ACCEPT_ALL, FilterError, compile_filter, with_sampling
from netop.packet.decode import LINKTYPE_LINUX_SLL
from netop.packet.pcapfile import PcapWriter, read_batches
from netop.sources.capture.child import AdaptiveSampler, write_block
from netop.sources.capture.messages import Batch, Event, Fatal, Ready, decode, encode
from netop.sources.capture.options import add_capture_arguments, options_from_args
from tests.unit.sources.capture.test_fastpath import _tpacket_block


def _opts(argv: list[str], raw: dict[str, object] | None = None):  # type: ignore[no-untyped-def]
    parser = argparse.ArgumentParser()
    add_capture_arguments(parser)
    return options_from_args(parser.parse_args(argv), Config(raw=raw or {}))


def test_flags_override_config() -> None:
    raw = {
        "capture": {"interfaces": ["eth9"], "idle_timeout": 30.0, "max_flows": 500, "filter": "udp"}
    }
    o = _opts([], raw)
    assert (o.interfaces, o.idle_timeout, o.max_flows, o.filter) == (("eth9",), 30.0, 500, "udp")
    o = _opts(
        ["-i", "a", "-i", "b", "--idle-timeout", "5", "-p", "--no-sampling", "-f", "tcp"], raw
    )
    assert (o.interfaces, o.idle_timeout, o.promiscuous, o.sampling, o.filter) == (
        ("a", "b"),
        5.0,
        False,
        False,
        "tcp",
    )


@pytest.mark.parametrize(
    ("argv", "raw", "key"),
    [
        (["--speed", "0"], None, "--speed"),
        (["--speed", "warp"], None, "--speed"),
        (["-C", "5"], None, "-C/-W"),
        (["-w", "x", "-W", "0"], None, "-W"),
        (["--max-flows", "0"], None, "--max-flows"),
        (["--sample", "0"], None, "--sample"),
        ([], {"capture": {"interfaces": "eth0"}}, "capture.interfaces"),
        ([], {"capture": {"idle_timeout": "soon"}}, "capture.idle_timeout"),
        ([], {"capture": {"ring_mb": 0}}, "capture.ring_mb"),
        ([], {"capture": {"flow_packets": 65}}, "capture.flow_packets"),
        ([], {"capture": {"flow_rings": 0}}, "capture.flow_rings"),
        ([], {"capture": {"helper": "sudo"}}, "capture.helper"),
        ([], {"capture": []}, "capture"),
        (["-r", "f", "-w", "out"], None, "-w"),
    ],
)
def test_bad_values_name_their_key(
    argv: list[str], raw: dict[str, object] | None, key: str
) -> None:
    with pytest.raises(ConfigError) as err:
        _opts(argv, raw)
    assert err.value.key == key


def test_helper_prefix_from_config() -> None:
    assert _opts([], {"capture": {"helper": ["sudo", "-n"]}}).helper == ("sudo", "-n")


def test_ring_starts_full_size_unless_asked() -> None:
    """Re-making a ring loses packets the kernel cannot count: a small start is opt-in."""


def test_speed_max_means_no_pacing() -> None:
    assert _opts(["-r", "f", "--speed", "max"]).speed is None
    assert _opts(["-r", "f", "--speed", "4"]).speed == 4.0


def test_filter_compiles_and_sampling_prefix_wraps_it() -> None:
    program = compile_filter("tcp port 443")
    assert program[-1][0] == 0x06
    assert len(program) > 4
    sampled = with_sampling(program, 16)
    assert sampled[4:] == program
    assert sampled[1] == (0x94, 0, 0, 16)  # A %= 16
    assert with_sampling(program, 1) == program
    assert compile_filter("") == ACCEPT_ALL


@pytest.mark.parametrize("bad", ["tcp port banana", "ether host 1:2:3:4:5:6", "((("])
def test_bad_filter_is_one_clear_error(bad: str) -> None:
    with pytest.raises(FilterError, match="bad filter") as err:
        compile_filter(bad)
    assert "\n" not in str(err.value)


def test_sampler_doubles_on_persistent_drops_and_relaxes() -> None:
    s = AdaptiveSampler(enabled=True)
    assert s.observe(1000, 50) is None  # one bad tick is not a trend
    assert s.observe(1000, 50) == 2
    assert s.observe(1000, 50) is None
    assert s.observe(1000, 50) == 4
    changes = [s.observe(1000, 0) for _ in range(10)]
    assert changes[-1] == 2
    assert changes[:-1] == [None] * 9
    off = AdaptiveSampler(enabled=False)
    assert [off.observe(10, 10) for _ in range(5)] == [None] * 5


def test_child_messages_are_plain_marshal_frames() -> None:
    row = (6, "10.0.0.1", 1, "10.0.0.2", 2, None, 1, 40, 0, 0, 1.0, 1.0, 2, "capture", None, 1,
           3, None)  # fmt: skip
    frame = encode(Batch([row], {}, None))
    size = int.from_bytes(frame[:4], "little")
    assert size == len(frame) - 4
    assert marshal.loads(frame[4:])[0] == "batch"
    for message in (Batch([row], {"packets": 1}, None), Ready(["lo"]), Event(1, "x"), Fatal("y")):
        assert decode(encode(message)[4:]) == message
        assert type(decode(encode(message)[4:])) is type(message)


@pytest.mark.parametrize(
    "body",
    [b"", b"\x00junk", marshal.dumps(("batch", [])), marshal.dumps(("nope", 1)), marshal.dumps(3)],
)
def test_damaged_child_messages_are_refused(body: bytes) -> None:
    with pytest.raises(ValueError, match="not a marshal frame|not a message|unknown message"):
        decode(body)


def test_written_file_holds_loopback_packets_once(tmp_path: Path) -> None:
    # lo's OUTGOING copy of a packet is not written: Wireshark would call it a retransmission.
    frame = bytes(Ether() / IP(src="127.0.0.1", dst="127.0.0.1") / TCP(sport=1, dport=2))
    other = bytes(Ether() / IP(src="10.0.0.1", dst="10.0.0.2") / TCP(sport=1, dport=2))
    frames: list[tuple[bytes, int | None]] = [(frame, None), (frame, None), (other, None)]
    block = _tpacket_block(frames, [(1, 4), (1, 0), (2, 4)])
    path = tmp_path / "out.pcap"
    writer = PcapWriter(str(path), LINKTYPE_LINUX_SLL)
    write_block(writer, block, len(frames), 1)
    writer.close()
    got = [(pkt[0:2], pkt[16:]) for _lt, pkts in read_batches(str(path)) for _ts, pkt, _wl in pkts]
    assert got == [(b"\x00\x00", frame[14:]), (b"\x00\x04", other[14:])]
