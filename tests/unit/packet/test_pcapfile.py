"""pcap/pcapng reading in every flavour, writing with rotation, damaged files."""

from __future__ import annotations

import os
import stat
import struct
from pathlib import Path

import pytest
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether
from scapy.utils import wrpcap

from netop.packet.pcapfile import PcapError, PcapWriter, read_batches

FRAMES = [
    bytes(Ether() / IP(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=i, dport=53))
    for i in range(1, 6)
]


def _pcap(path: Path, order: str, nano: bool) -> None:
    magic = 0xA1B23C4D if nano else 0xA1B2C3D4
    with path.open("wb") as f:
        f.write(struct.pack(order + "IHHiIII", magic, 2, 4, 0, 0, 65535, 1))
        for i, frame in enumerate(FRAMES):
            frac = 250_000_000 if nano else 250_000
            f.write(struct.pack(order + "IIII", 1000 + i, frac, len(frame), len(frame)))
            f.write(frame)


@pytest.mark.parametrize("order", ["<", ">"])
@pytest.mark.parametrize("nano", [False, True])
def test_pcap_byte_orders_and_resolutions(tmp_path: Path, order: str, nano: bool) -> None:
    path = tmp_path / "x.pcap"
    _pcap(path, order, nano)
    batches = list(read_batches(str(path)))
    assert [lt for lt, _ in batches] == [1]
    packets = batches[0][1]
    assert [p[1] for p in packets] == FRAMES
    assert packets[2][0] == pytest.approx(1002.25)


def _block(btype: int, body: bytes) -> bytes:
    body += b"\x00" * (-len(body) % 4)
    return struct.pack("<II", btype, len(body) + 12) + body + struct.pack("<I", len(body) + 12)


def test_pcapng_with_several_interfaces(tmp_path: Path) -> None:
    raw_ip = bytes(IP(src="10.0.0.3", dst="10.0.0.4") / UDP(sport=9, dport=9))
    tsresol_ns = struct.pack("<HHB3x", 9, 1, 9) + struct.pack("<HH", 0, 0)
    ts_ns = 1_000_000_000_500_000_000  # 1e9 s + 0.5 s in nanoseconds
    blocks = [
        _block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1)),
        _block(1, struct.pack("<HHI", 1, 0, 65535)),
        _block(1, struct.pack("<HHI", 101, 0, 65535) + tsresol_ns),
        _block(
            6, struct.pack("<IIIII", 0, 0, 2_000_000, len(FRAMES[0]), len(FRAMES[0])) + FRAMES[0]
        ),
        _block(
            6,
            struct.pack("<IIIII", 1, ts_ns >> 32, ts_ns & 0xFFFFFFFF, len(raw_ip), len(raw_ip))
            + raw_ip,
        ),
        _block(3, struct.pack("<I", len(FRAMES[1])) + FRAMES[1]),
    ]
    path = tmp_path / "x.pcapng"
    path.write_bytes(b"".join(blocks))
    batches = list(read_batches(str(path)))
    assert [(lt, [p[1] for p in ps]) for lt, ps in batches] == [
        (1, [FRAMES[0]]),
        (101, [raw_ip]),
        (1, [FRAMES[1]]),
    ]
    assert batches[0][1][0][0] == pytest.approx(2.0)
    assert batches[1][1][0][0] == pytest.approx(1e9 + 0.5)


def test_damaged_pcapng_yields_the_good_blocks_first(tmp_path: Path) -> None:
    shb = _block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
    idb = _block(1, struct.pack("<HHI", 1, 0, 65535))
    epb = _block(6, struct.pack("<IIIII", 0, 0, 1, len(FRAMES[0]), len(FRAMES[0])) + FRAMES[0])
    path = tmp_path / "d.pcapng"
    path.write_bytes(shb + idb + epb + epb[:-6])
    seen: list[bytes] = []

    def consume() -> None:
        for _, packets in read_batches(str(path)):
            seen.extend(p[1] for p in packets)

    with pytest.raises(PcapError, match=f"damaged pcapng block at byte {len(shb + idb + epb)}"):
        consume()
    assert seen == [FRAMES[0]]


def test_scapy_written_file_reads_back(tmp_path: Path) -> None:
    path = tmp_path / "s.pcap"
    wrpcap(str(path), [Ether(f) for f in FRAMES])
    assert [p[1] for _, ps in read_batches(str(path)) for p in ps] == FRAMES


def test_truncated_file_yields_what_it_can_then_errors(tmp_path: Path) -> None:
    path = tmp_path / "t.pcap"
    _pcap(path, "<", False)
    path.write_bytes(path.read_bytes()[:-10])
    seen: list[bytes] = []

    def consume() -> None:
        for _, packets in read_batches(str(path)):
            seen.extend(p[1] for p in packets)

    with pytest.raises(PcapError, match="middle of a packet"):
        consume()
    assert seen == FRAMES[:4]


@pytest.mark.parametrize("content", [b"", b"hello world, not a capture", b"\xd4\xc3\xb2\xa1\x02"])
def test_not_a_capture_is_one_clear_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "bad.pcap"
    path.write_bytes(content)
    with pytest.raises(PcapError, match=str(path)):
        list(read_batches(str(path)))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(PcapError, match="No such file"):
        list(read_batches(str(tmp_path / "nope.pcap")))


def test_writer_rotates_like_tcpdump_with_mode_0600(tmp_path: Path) -> None:
    base = tmp_path / "cap.pcap"
    base.write_bytes(b"old")
    os.chmod(base, 0o644)
    writer = PcapWriter(str(base), 1, rotate_mb=0.001)  # 1000 bytes a file
    for i in range(40):
        writer.write(float(i), FRAMES[i % 5])
    writer.close()
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["cap.pcap", "cap.pcap1", "cap.pcap2"]
    total = 0
    for p in tmp_path.iterdir():
        assert stat.S_IMODE(p.stat().st_mode) == 0o600
        assert p.stat().st_size <= 1000
        total += sum(len(ps) for _, ps in read_batches(str(p)))
    assert total == 40


def test_writer_ring_of_w_files(tmp_path: Path) -> None:
    base = tmp_path / "ring"
    writer = PcapWriter(str(base), 1, rotate_mb=0.001, max_files=3)
    for i in range(100):
        writer.write(float(i), FRAMES[0])
    writer.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ring0", "ring1", "ring2"]


def test_writer_never_writes_through_a_symlink_or_into_others_files(tmp_path: Path) -> None:
    """The -w path a symlink, a hard link, a file of another user, a world-writable
    directory: each refused, and the file behind it untouched (issue #17)."""
    victim = tmp_path / "victim"
    victim.write_bytes(b"keep")
    (tmp_path / "link.pcap").symlink_to(victim)
    os.link(victim, tmp_path / "hard.pcap")
    other = tmp_path / "other.pcap"
    other.write_bytes(b"theirs")
    os.chown(other, 65534, 65534)
    for name in ("link.pcap", "hard.pcap", "other.pcap"):
        with pytest.raises(PcapError):
            PcapWriter(str(tmp_path / name), 1)
    open_dir = tmp_path / "open"
    open_dir.mkdir()
    open_dir.chmod(0o777)
    with pytest.raises(PcapError, match="sticky"):
        PcapWriter(str(open_dir / "cap.pcap"), 1)
    assert victim.read_bytes() == b"keep"
    assert other.read_bytes() == b"theirs"
    assert not (open_dir / "cap.pcap").exists()


def test_writer_ring_does_not_follow_a_symlink_planted_at_a_later_name(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_bytes(b"keep")
    (tmp_path / "ring1").symlink_to(victim)
    writer = PcapWriter(str(tmp_path / "ring"), 1, rotate_mb=0.001, max_files=3)
    def fill() -> None:
        for i in range(100):
            writer.write(float(i), FRAMES[0])

    with pytest.raises(PcapError):
        fill()
    writer.close()
    assert victim.read_bytes() == b"keep"
