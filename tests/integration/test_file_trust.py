"""Files netop trusts (config, SNMP key files, themes, TOML) against a real `netop`
process: other users' or writable files are refused in one line with exit 2, root
does not read a sudo user's config folder, and hostile TOML values never trace back.
"""

from __future__ import annotations

import os
import pwd
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
NOBODY = pwd.getpwnam("nobody").pw_uid


def netop(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "HOME": "/root"}
    return subprocess.run([sys.executable, "-m", "netop", *args], capture_output=True,
                          text=True, timeout=30, cwd=REPO, env={**base, **env})  # fmt: skip


def one_line_exit_2(done: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    for fragment in fragments:
        assert fragment in done.stderr


@pytest.fixture(autouse=True)
def _root_only() -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to chown files to nobody")


def private(path: Path, text: str, mode: int = 0o600) -> Path:
    path.write_text(text)
    path.chmod(mode)
    return path


@pytest.mark.parametrize(
    ("owner", "mode", "fragment"),
    [(NOBODY, 0o644, f"owned by uid {NOBODY}"), (0, 0o646, "writable by other users"),
     (0, 0o664, "writable by its group")],
    ids=["owned-by-nobody", "world-writable", "group-writable"],
)  # fmt: skip
def test_an_untrusted_config_file_is_refused(
    tmp_path: Path, owner: int, mode: int, fragment: str
) -> None:
    marker = tmp_path / "helper-ran"
    config = private(tmp_path / "config.toml",
                     f'[capture]\nhelper = "/bin/touch {marker}"\n', mode)  # fmt: skip
    os.chown(config, owner, -1)
    one_line_exit_2(netop("--config", str(config), "snmp"), str(config), fragment)
    assert not marker.exists()
    # The same file, root's own and private, is read (and finds no SNMP target).
    os.chown(config, 0, -1)
    config.chmod(0o600)
    one_line_exit_2(netop("--config", str(config), "snmp"), "no SNMP target")


def test_the_default_config_under_xdg_is_checked_too(tmp_path: Path) -> None:
    folder = tmp_path / "netop"
    folder.mkdir()
    config = private(folder / "config.toml", "interval = 2\n", 0o666)
    one_line_exit_2(netop("snmp", XDG_CONFIG_HOME=str(tmp_path)), "writable by other users")
    config.chmod(0o644)
    one_line_exit_2(netop("snmp", XDG_CONFIG_HOME=str(tmp_path)), "no SNMP target")


def test_root_under_sudo_ignores_the_users_config_folder(tmp_path: Path) -> None:
    folder = tmp_path / "netop"
    folder.mkdir()
    private(folder / "config.toml", 'interval = "from the sudo user"\n', 0o644)
    # Without sudo the folder is read (and its bad value reported) ...
    one_line_exit_2(netop("snmp", XDG_CONFIG_HOME=str(tmp_path)), "interval: must be a number")
    # ... as root for a sudo user (sudo -E keeps XDG_CONFIG_HOME), it is not.
    done = netop("snmp", XDG_CONFIG_HOME=str(tmp_path), SUDO_USER="nobody")
    one_line_exit_2(done, "no SNMP target")


@pytest.mark.parametrize(
    ("owner", "mode", "fragment"),
    [(NOBODY, 0o600, f"owned by uid {NOBODY}"), (0, 0o602, "writable by other users")],
    ids=["owned-by-nobody", "world-writable"],
)  # fmt: skip
def test_an_untrusted_snmp_key_file_is_refused(
    tmp_path: Path, owner: int, mode: int, fragment: str
) -> None:
    key = private(tmp_path / "community", "netop-secret-community\n", mode)
    os.chown(key, owner, -1)
    config = private(tmp_path / "config.toml", '[[snmp.targets]]\nhost = "127.0.0.1"\n'
                     f'community_file = "{key}"\n')  # fmt: skip
    done = netop("--config", str(config), "snmp", "--count", "1")
    one_line_exit_2(done, str(key), fragment)
    assert "netop-secret-community" not in done.stderr
    env_done = netop("snmp", "v3:u@127.0.0.1/sha", NETOP_SNMP_AUTH_KEY_FILE=str(key))
    one_line_exit_2(env_done, str(key), fragment)


def test_a_huge_or_endless_key_file_is_refused(tmp_path: Path) -> None:
    big = private(tmp_path / "big", "x" * 100_000)
    config = private(tmp_path / "config.toml", '[[snmp.targets]]\nhost = "127.0.0.1"\n'
                     f'community_file = "{big}"\n')  # fmt: skip
    one_line_exit_2(netop("--config", str(config), "snmp"), "larger than 4096 bytes")
    done = netop("snmp", "v3:u@127.0.0.1/sha", NETOP_SNMP_AUTH_KEY_FILE="/dev/zero")
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "/dev/zero" in done.stderr


@pytest.mark.parametrize(("owner", "mode"), [(NOBODY, 0o644), (0, 0o666)])
def test_an_untrusted_theme_file_is_refused(tmp_path: Path, owner: int, mode: int) -> None:
    from netop.errors import NetopError
    from netop.ui.themes import load_themes

    theme = private(tmp_path / "evil.toml", 'name = "evil"\nprimary = "#ff0000"\n', mode)
    os.chown(theme, owner, -1)
    with pytest.raises(NetopError, match="refusing to read .*evil.toml: it is"):
        load_themes(tmp_path)
    os.chown(theme, 0, -1)
    theme.chmod(0o644)
    assert load_themes(tmp_path).names == ("evil",)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [("interval = nan\n", "interval: must be a number"),
     ("interval = inf\n", "interval: must be at most"),
     ("history_seconds = 1" + "0" * 4000 + "\n", "history_seconds: must be at most 3600"),
     ("history_seconds = 1" + "0" * 5000 + "\n", "a number is too large"),
     ("[[snmp.targets]]\nhost = \"127.0.0.1\"\ncommunity = \"c\"\ntimeout = nan\n", "timeout"),
     ("[[snmp.targets]]\nhost = \"127.0.0.1\"\ncommunity = \"c\"\nport = 1" + "0" * 4000 + "\n",
      "port"),
     ("a = " + "[" * 5000 + "]" * 5000 + "\n", "nested too deeply")],
    ids=["nan", "inf", "huge-int", "huger-int", "snmp-nan", "snmp-huge-port", "deep-nesting"],
)  # fmt: skip
def test_hostile_toml_values_are_one_line_errors(
    tmp_path: Path, text: str, fragment: str
) -> None:
    config = private(tmp_path / "config.toml", text)
    done = netop("--config", str(config), "snmp", "--count", "1")
    one_line_exit_2(done, fragment)
    assert len(done.stderr) < 300
