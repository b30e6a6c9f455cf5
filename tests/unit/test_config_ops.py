"""Config as an operator edits it: typos warned with the nearest key, a broken theme of
their own skipped with a warning, and ``netop config --dump`` for what is in effect."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from netop.cli import main
from netop.commands.config_keys import config_warnings


def _file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    path.chmod(0o600)
    return path


@pytest.mark.parametrize(
    ("raw", "said"),
    [
        ({"intervall": 2}, "intervall: unknown key; did you mean interval?"),
        ({"capture": {"idle_timout": 3}},
         "capture.idle_timout: unknown key; did you mean capture.idle_timeout?"),
        ({"captur": {"filter": "tcp"}}, "captur: unknown key; did you mean capture?"),
        ({"names": {"enabeld": False}}, "names.enabeld: unknown key; did you mean names.enabled?"),
        ({"collector": {"max_exporter": 9}},
         "collector.max_exporter: unknown key; did you mean collector.max_exporters?"),
        ({"zzz": 1}, "zzz: unknown key"),
    ],
)  # fmt: skip
def test_an_unknown_key_is_warned_with_the_nearest_known_one(raw: dict, said: str) -> None:
    assert config_warnings(raw) == [said]


def test_known_keys_and_other_features_tables_are_not_warned() -> None:
    raw = {"interval": 1.0, "theme": "x", "capture": {"idle_timeout": 3, "ring_mb": 4},
           "snmp": {"targets": [{"host": "h"}]}, "plugin": {"rules": []}}
    assert config_warnings(raw) == []


def test_the_cli_prints_the_warning_and_goes_on(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _file(tmp_path, "intervall = 2\n")
    assert main(["--config", str(path), "config", "--dump"]) == 0
    captured = capsys.readouterr()
    assert "netop: warning: config: intervall: unknown key; did you mean interval?" \
        in captured.err
    assert "interval = 1.0" in captured.out


def test_a_typo_in_an_snmp_target_names_the_nearest_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _file(tmp_path, '[[snmp.targets]]\nhost = "127.0.0.1"\ncommnity = "x"\n')
    assert main(["--config", str(path), "snmp", "--count", "1"]) == 2
    err = capsys.readouterr().err
    assert "snmp.targets[0].commnity: unknown key; did you mean community?" in err, err


def test_dump_prints_the_effective_config_with_comments(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _file(tmp_path, '[capture]\nidle_timeout = 7.5\n[[snmp.targets]]\nname = "sw"\n'
                 'host = "192.0.2.1"\ncommunity = "s3cret"\n')
    assert main(["--config", str(path), "--interval", "2", "config", "--dump"]) == 0
    out = capsys.readouterr().out
    parsed = tomllib.loads(out)
    assert parsed["interval"] == 2.0  # the flag wins
    assert parsed["capture"]["idle_timeout"] == 7.5  # the file
    assert parsed["capture"]["active_timeout"] == 1800.0  # the default
    assert parsed["names"]["enabled"] is True
    assert parsed["snmp"]["targets"][0]["name"] == "sw"
    assert "s3cret" not in out
    assert "# seconds per tick" in out
    assert str(path) in out


def test_a_broken_user_theme_is_skipped_with_a_warning(tmp_path: Path) -> None:
    from netop.ui.themes import BUILTIN_DIR, load_themes

    (tmp_path / "broken.toml").write_text('name = "broken"\nprimary = "not-a-colour"\n')
    (tmp_path / "bad.toml").write_text("name = [\n")
    (tmp_path / "fine.toml").write_text('name = "fine"\nprimary = "#336699"\n')
    for path in tmp_path.glob("*.toml"):
        path.chmod(0o600)
    themes = load_themes(BUILTIN_DIR, tmp_path, skip_broken=(tmp_path,))
    assert "fine" in themes.names
    assert "broken" not in themes.names
    assert "netop-dark" in themes.names
    assert len(themes.warnings) == 2
    assert any("broken.toml" in w and "skipped" in w for w in themes.warnings)


def test_every_toml_example_in_the_readme_is_warning_free() -> None:
    """The README's config examples name only keys netop knows: a section added without
    its keys in ``config_keys`` (or a README typo) fails here."""
    import re
    import tomllib

    from netop.commands.config_keys import SECTION_KEYS, config_warnings

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    blocks = re.findall(r"```toml\n(.*?)```", readme, flags=re.S)
    assert len(blocks) >= 4
    for block in blocks:
        raw = tomllib.loads(block)
        assert config_warnings(raw) == [], block
        tables = {k for k, v in raw.items() if isinstance(v, dict)}
        assert tables <= set(SECTION_KEYS), block
