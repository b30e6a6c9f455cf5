"""The interface detail's readings, from this machine's real loopback (no mocks)."""

from __future__ import annotations

from netop.sources.nicstats import NicReader, ethtool_stats, qdisc_stats, sysfs_stats


def test_the_kernel_statistics_of_lo_have_the_drop_counters() -> None:
    stats = sysfs_stats("lo")
    for name in ("rx_bytes", "rx_missed_errors", "rx_fifo_errors", "rx_crc_errors",
                 "rx_frame_errors", "tx_dropped"):
        assert isinstance(stats[name], int), name


def test_the_qdisc_of_lo_comes_from_tc_json() -> None:
    qdiscs, note = qdisc_stats("lo")
    assert note == ""
    assert qdiscs[0]["parent"] == "root"
    assert isinstance(qdiscs[0]["kind"], str)
    assert isinstance(qdiscs[0]["drops"], int)
    assert isinstance(qdiscs[0]["backlog"], int)


def test_a_missing_interface_says_why_instead_of_raising() -> None:
    assert sysfs_stats("netop-nosuch0") == {}
    stats, note = ethtool_stats("netop-nosuch0")
    assert stats == {}
    assert "No such device" in note
    qdiscs, note = qdisc_stats("netop-nosuch0")
    assert qdiscs == ()
    assert "netop-nosuch0" in note


def test_lo_has_no_driver_statistics_and_the_reader_says_so() -> None:
    detail = NicReader("lo").read(1.0)
    assert detail.nic == {}
    assert detail.nic_note
    assert detail.kernel["rx_packets"] >= 0
