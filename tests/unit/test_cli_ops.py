"""The command line as an operator meets it: help with examples, one name and one help
text per flag, errors on one line naming the flag."""

from __future__ import annotations

import argparse

import pytest

from netop.cli import SUBCOMMANDS, _load, build_parser, main


def _parsers() -> dict[str, argparse.ArgumentParser]:
    """The top-level parser (the TUI) and every subcommand's."""
    parser = build_parser()
    found = {"netop": parser}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            found.update(action.choices)
    return found


def _loaded() -> list[str]:
    return [name for name in SUBCOMMANDS if _load(name) is not None]


@pytest.mark.parametrize("name", ["netop", *_loaded()])
def test_every_command_help_ends_with_examples(name: str) -> None:
    text = _parsers()[name].format_help()
    assert "examples:" in text, text
    examples = text.split("examples:", 1)[1]
    assert f"netop {'' if name == 'netop' else name}".strip() in examples


def test_one_help_text_per_flag() -> None:
    helps: dict[str, set[str]] = {}
    for parser in _parsers().values():
        for action in parser._actions:
            if action.help in (None, argparse.SUPPRESS) or not action.option_strings:
                continue
            if action.option_strings[0] in ("-h", "--version"):
                continue
            for flag in action.option_strings:
                helps.setdefault(flag, set()).add(str(action.help))
    differing = {flag: texts for flag, texts in helps.items() if len(texts) > 1}
    assert not differing


def test_one_flag_name_per_meaning_interfaces_are_dash_i_interface() -> None:
    for name, parser in _parsers().items():
        for action in parser._actions:
            if "-i" in action.option_strings:
                assert action.option_strings == ["-i", "--interface"], name
                assert action.dest == "interfaces", name


@pytest.mark.parametrize(
    ("argv", "flag"),
    [
        (["flows", "--top", "many"], "--top"),
        (["--interval", "soon"], "--interval"),
        (["ifaces", "--count", "x"], "--count"),
        (["flows", "--bogus"], "--bogus"),
    ],
)
def test_a_flag_error_is_one_line_naming_the_flag(
    argv: list[str], flag: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    assert err.startswith("netop"), err
    assert flag in err
    assert "config:" not in err
    assert "usage:" not in err


def test_an_unknown_theme_flag_is_named_as_the_flag(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--theme", "nope", "-r", "/nonexistent.pcap"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("netop: --theme: unknown theme 'nope'"), err
