"""Whom the capture child becomes, and which configs it accepts (issue #17)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from netop.sources.capture.messages import ConfigRejected, validate_config
from netop.sources.capture.privileges import PrivilegeError, target_user


def test_invoker_wins_and_capture_user_cannot_name_someone_else() -> None:
    assert target_user({"SUDO_UID": "65534", "SUDO_GID": "65534"}, None) == (65534, 65534)
    assert target_user({"DOAS_USER": "nobody"}, None)[0] == 65534
    assert target_user({"PKEXEC_UID": "65534"}, None)[0] == 65534
    assert target_user({"SUDO_UID": "65534"}, "nobody")[0] == 65534
    # a sudoers rule for the launcher must not let its caller become root or anyone else
    with pytest.raises(PrivilegeError):
        target_user({"SUDO_UID": "65534"}, "root")
    with pytest.raises(PrivilegeError):
        target_user({"SUDO_UID": "x"}, None)


def test_root_without_an_invoker_becomes_nobody_or_capture_user() -> None:
    assert target_user({}, None)[0] == 65534
    assert target_user({}, "daemon")[0] != 0


@pytest.mark.parametrize(
    "bad",
    [
        [],
        {"interfaces": []},
        {"interfaces": ["eth0; rm -rf /"]},
        {"interfaces": ["a" * 16]},
        {"interfaces": [".."]},
        {"interfaces": ["lo"], "ring_mb": 0},
        {"interfaces": ["lo"], "ring_mb": True},
        {"interfaces": ["lo"], "snaplen": 10**9},
        {"interfaces": ["lo"], "sample": 0},
        {"interfaces": ["lo"], "interval": 0},
        {"interfaces": ["lo"], "write": "x.pcap"},
        {"interfaces": ["lo"], "write": "/tmp/a\0b"},
        {"interfaces": ["lo"], "max_files": -1},
        {"interfaces": ["lo"], "flow_packets": 10**6},
        {"interfaces": ["lo"], "flow_rings": 0},
        {"interfaces": ["lo"], "package": "/tmp/evil"},
    ],
)
def test_hostile_configs_are_rejected(bad: Any) -> None:
    with pytest.raises(ConfigRejected):
        validate_config(bad)


def test_what_the_parent_sends_is_accepted() -> None:
    from netop.sources.capture.options import CaptureOptions
    from netop.sources.capture.source import CaptureSource

    config = CaptureSource(CaptureOptions(interfaces=("lo", "eth0"), write="x.pcap",
                                          flow_packets=4, flow_rings=8))  # fmt: skip
    sent = config._child_config()
    assert validate_config(json.loads(sent.to_line())) == sent
    assert sent.interfaces == ["lo", "eth0"]
    assert sent.flow_packets == 0  # a headless command opens no flow detail
    config.flow_details = True  # the TUI
    assert (config._child_config().flow_packets, sent.flow_rings) == (4, 8)


def test_a_helper_runs_only_the_launcher_with_no_arguments() -> None:
    """sudo (or any helper) is given the fixed launcher, never an interpreter and a
    package path it would import as root."""
    from netop.sources.capture.entry import child_command

    assert child_command(("sudo", "-n"), "/usr/local/libexec/netop-capture") == [
        "sudo",
        "-n",
        "/usr/local/libexec/netop-capture",
    ]


def test_child_environment_keeps_only_the_invoker() -> None:
    from netop.sources.capture.entry import child_environment

    env = child_environment(
        {"PYTHONPATH": "/tmp/evil", "LD_PRELOAD": "/tmp/evil.so", "SUDO_UID": "1000", "HOME": "/h"}
    )
    assert env == {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8", "SUDO_UID": "1000"}


def test_install_refuses_code_others_could_change(tmp_path: Path) -> None:
    from netop.errors import NetopError
    from netop.sources.capture.entry import _check_owned_by_root

    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    with pytest.raises(NetopError, match="not group/world-writable"):
        _check_owned_by_root(str(shared))
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "python").write_bytes(b"")
    os.chown(mine, 65534, 65534)  # root's file in a user's directory: it can be swapped
    with pytest.raises(NetopError, match="owned by root"):
        _check_owned_by_root(str(mine / "python"))


def test_the_launcher_imports_from_the_directory_that_holds_netop() -> None:
    """The installed launcher bakes this path in; one level off and the child cannot
    import netop at all (it broke when the capture code moved into netop/sources/)."""
    import netop
    from netop.sources.capture import entry

    root = Path(entry.package_root())
    assert (root / "netop" / "__init__.py").is_file()
    assert root / "netop" == Path(netop.__file__).resolve().parent
