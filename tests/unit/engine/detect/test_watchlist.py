"""Watchlist files: the plain formats as they are, reload on change, last good list kept."""

from __future__ import annotations

import os
from pathlib import Path

from netop.engine.detect.watchlist import PrefixSet, Watchlist, parse_list

FEODO = """\
################################################################
# abuse.ch Feodo Tracker Botnet C2 IP Blocklist                #
# Last updated: 2026-11-30 22:00:03 UTC                        #
################################################################
# DstIP
203.0.113.202
198.51.100.7
"""

DROP = """\
; Spamhaus DROP List 2026/11/30 - (c) 2026 The Spamhaus Project SLC
; Last-Modified: Sun, 30 Nov 2026 12:00:00 GMT
1.10.16.0/20 ; SBL256894
192.0.2.0/24 ; SBL999999
2001:db8:bad::/48 ; SBL1
"""


def test_feodo_and_spamhaus_formats_read_as_they_are() -> None:
    feodo, drop = parse_list(FEODO), parse_list(DROP)
    assert (len(feodo.networks), feodo.bad_lines) == (2, 0)
    assert (len(drop.networks), drop.bad_lines) == (3, 0)
    prefixes = PrefixSet(feodo.networks + drop.networks)
    assert "203.0.113.202" in prefixes
    assert "203.0.113.203" not in prefixes
    assert "1.10.16.1" in prefixes
    assert "1.10.31.255" in prefixes
    assert "1.10.32.0" not in prefixes
    assert "2001:db8:bad::1" in prefixes
    assert "2001:db8:bae::1" not in prefixes
    assert "not an address" not in prefixes


def test_overlapping_prefixes_merge() -> None:
    nets = parse_list("10.0.0.0/8\n10.1.0.0/16\n11.0.0.0/8\n").networks
    prefixes = PrefixSet(nets)
    assert "10.200.0.1" in prefixes
    assert "11.255.255.255" in prefixes
    assert "12.0.0.0" not in prefixes
    assert len(prefixes) == 3


def test_prefix_edges_and_host_bits() -> None:
    prefixes = PrefixSet(parse_list("10.0.254.0/23\n10.2.0.0/15\n192.0.2.77/24\n").networks)
    assert "10.0.253.255" not in prefixes
    assert "10.0.254.0" in prefixes
    assert "10.0.255.255" in prefixes
    assert "10.1.0.0" not in prefixes
    assert "10.3.255.255" in prefixes  # a /15: two whole /16 blocks
    assert "10.4.0.0" not in prefixes
    assert "192.0.2.0" in prefixes  # host bits set: the /24 it names, as ipaddress does
    assert "192.0.3.0" not in prefixes


def test_bad_lines_are_counted_and_shown(tmp_path: Path) -> None:
    path = tmp_path / "list.txt"
    path.write_text("203.0.113.1\nnot-an-ip\n300.1.1.1\n10.0.0.0/33\n")
    watch = Watchlist([str(path)])
    assert watch.poll()
    (status,) = watch.statuses()
    assert status.entries == 1
    assert "3 lines not an address" in status.error
    assert "'not-an-ip'" in status.describe(0.0)


def test_reload_on_change_and_last_good_list_kept(tmp_path: Path) -> None:
    path = tmp_path / "feodo.txt"
    path.write_text("203.0.113.1\n")
    watch = Watchlist([str(path)])
    watch.poll()
    assert "203.0.113.1" in watch.prefixes
    assert not watch.poll()  # unchanged: not read again
    path.write_text("203.0.113.2\n")
    os.utime(path, (1, 1))  # a new mtime even within the file system's granularity
    assert watch.poll()
    assert "203.0.113.2" in watch.prefixes
    assert "203.0.113.1" not in watch.prefixes
    path.write_text("# emptied by a failed download\n")
    os.utime(path, (2, 2))
    assert not watch.poll()
    assert "203.0.113.2" in watch.prefixes  # the last good list stays
    assert "keeping the last good list" in watch.statuses()[0].error
    path.unlink()
    watch.poll()
    assert "203.0.113.2" in watch.prefixes
    assert "No such file" in watch.statuses()[0].describe(10.0)


def test_missing_file_is_a_status_not_an_error(tmp_path: Path) -> None:
    watch = Watchlist([str(tmp_path / "absent.txt")])
    watch.poll()
    assert watch.statuses()[0].describe(0.0).startswith("watchlist absent.txt: not loaded")
