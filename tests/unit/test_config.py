"""Config file and flags: defaults, overrides, one clear line per bad value."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pytest

from netop.config import load_config
from netop.errors import ConfigError


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return str(path)


def test_defaults_without_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    monkeypatch.delenv("SUDO_USER", raising=False)
    config = load_config(None)
    assert config.interval == 1.0
    assert config.theme == "netop-dark"
    assert config.path is None


def test_default_path_is_under_xdg_config_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    monkeypatch.delenv("SUDO_USER", raising=False)  # root for a sudo user reads root's
    (tmp_path / "netop").mkdir()
    (tmp_path / "netop" / "config.toml").write_text('theme = "netop-light"\ninterval = 2\n')
    config = load_config(None)
    assert config.theme == "netop-light"
    assert config.interval == 2.0


def test_flags_override_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, 'interval = 5.0\ntheme = "netop-light"\n')
    args = argparse.Namespace(interval=0.5, theme="netop-contrast")
    config = load_config(path, overrides=args)
    assert config.interval == 0.5
    assert config.theme == "netop-contrast"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ('interval = "fast"', "interval: must be a number"),
        ("interval = -1", "interval: must be at least"),
        ("theme = 3", "theme: must be a string"),
        ('hide_idle = "yes"', "hide_idle: must be true or false"),
        ("interval = [", "not valid TOML"),
    ],
)
def test_bad_values_name_the_key(tmp_path: Path, text: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text))
    assert fragment in str(caught.value)


def test_missing_explicit_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        load_config(str(tmp_path / "nope.toml"))


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--config", "{bad}", "ifaces", "--json"], "interval: must be a number"),
        (["--theme", "nosuch"], "unknown theme 'nosuch'; available: "),
        (["ifaces", "--interval", "0"], "--interval: must be at least"),
    ],
)
def test_cli_reports_bad_input_in_one_line_without_traceback(
    tmp_path: Path, args: list[str], fragment: str
) -> None:
    bad = write(tmp_path, 'interval = "soon"\n')
    argv = [a.replace("{bad}", bad) for a in args]
    done = subprocess.run([sys.executable, "-m", "netop", *argv], capture_output=True,
                          text=True, timeout=30, env={"XDG_CONFIG_HOME": str(tmp_path),
                                                      "PATH": "/usr/bin:/bin"})
    assert done.returncode == 2
    assert fragment in done.stderr
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_a_flag_is_named_as_a_flag_and_a_key_as_a_config_key() -> None:
    from netop.errors import ConfigError

    assert str(ConfigError("--sort", "unknown key 'x'")) == "--sort: unknown key 'x'"
    assert str(ConfigError("capture.ring_mb", "too big")) == "config: capture.ring_mb: too big"
