"""The test command's strict skips: a skip for something it provides fails the run."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

#: The summary line's start; the seconds it took vary.
PER_DIR = r"tests per directory: unit "
CONFTEST = Path(__file__).resolve().parents[1] / "conftest.py"

_TESTS = '''
import pytest

def test_runs():
    pass

def test_needs_a_package():
    pytest.skip("`softflowd` is not installed (apt-get install softflowd)")

def test_needs_a_kernel_module():
    pytest.skip("no VLAN devices in this kernel (8021q): Error: Unknown device type.")
'''


def _run(tmp_path: Path, body: str, strict: bool) -> subprocess.CompletedProcess[str]:
    """pytest on a small tree that uses the project's tests/conftest.py."""
    tests = tmp_path / "tests"
    (tests / "unit").mkdir(parents=True, exist_ok=True)
    shutil.copy(CONFTEST, tests / "conftest.py")
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tests / "unit" / "test_sample.py").write_text(body)
    env = {k: v for k, v in os.environ.items() if k != "NETOP_STRICT_SKIPS"}
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"  # the conftest needs none: fast
    if strict:
        env["NETOP_STRICT_SKIPS"] = "1"
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_a_skip_for_a_missing_package_fails_a_strict_run(tmp_path: Path) -> None:
    done = _run(tmp_path, _TESTS, strict=True)
    assert done.returncode == pytest.ExitCode.TESTS_FAILED, done.stdout
    assert "skips that fail a strict run" in done.stdout
    assert "softflowd" in done.stdout.split("skips that fail a strict run")[1]
    assert "8021q" not in done.stdout.split("skips that fail a strict run")[1]
    assert re.search(PER_DIR + r"1 ran in \d+ s \(0 failing, 2 skipped\)", done.stdout)


def test_only_allowed_skips_pass_a_strict_run(tmp_path: Path) -> None:
    body = _TESTS.replace('pytest.skip("`softflowd`', 'print("`softflowd`')
    done = _run(tmp_path, body, strict=True)
    assert done.returncode == pytest.ExitCode.OK, done.stdout
    assert re.search(PER_DIR + r"2 ran in \d+ s \(0 failing, 1 skipped\)", done.stdout)


def test_without_strict_mode_a_skip_is_a_skip(tmp_path: Path) -> None:
    done = _run(tmp_path, _TESTS, strict=False)
    assert done.returncode == pytest.ExitCode.OK, done.stdout
    assert "skips that fail a strict run" not in done.stdout


def test_a_failure_stays_a_failure(tmp_path: Path) -> None:
    done = _run(tmp_path, "def test_fails():\n    assert 1 == 2\n", strict=True)
    assert done.returncode == pytest.ExitCode.TESTS_FAILED
    assert re.search(PER_DIR + r"1 ran in \d+ s \(1 failing\)", done.stdout)
