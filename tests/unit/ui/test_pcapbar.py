"""What the ``W`` prompt accepts as a pcap file name, and the header's indicator."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from netop.model import PcapStatus
from netop.ui.header import pcap_text
from netop.ui.pcapbar import default_pcap_name, pcap_path


def test_default_name_is_new_each_second_in_the_current_directory() -> None:
    assert re.fullmatch(r"netop-\d{8}-\d{6}\.pcap", default_pcap_name())


def test_relative_names_are_made_absolute(tmp_path: Path) -> None:
    assert pcap_path(" cap.pcap ", str(tmp_path)) == str(tmp_path / "cap.pcap")


@pytest.mark.parametrize(("name", "reason"), [
    ("", "type a file name"),
    ("no/x.pcap", "no such directory"),
    ("old.pcap", "exists"),
    (".", "is a directory"),
    ("x" * 2000, "not a usable file name"),
])  # fmt: skip
def test_unwritable_names_say_why(tmp_path: Path, name: str, reason: str) -> None:
    (tmp_path / "old.pcap").write_bytes(b"")
    with pytest.raises(ValueError, match=reason):
        pcap_path(name, str(tmp_path))


def test_indicator() -> None:
    assert pcap_text(PcapStatus("/var/tmp/cap.pcap", 12_345_678)) == "● PCAP cap.pcap 12.3MB"
    assert pcap_text(PcapStatus("/var/tmp/cap.pcap", pending=True)) == "● PCAP cap.pcap …"
