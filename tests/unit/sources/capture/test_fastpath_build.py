"""Building the C fast path at run time: private cache, graceful fallback."""

from __future__ import annotations

import os
import shutil
import sysconfig
from pathlib import Path

import pytest

from netop.native import fastpath


def test_builds_into_a_private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if shutil.which((sysconfig.get_config_var("CC") or "cc").split()[0]) is None:
        pytest.skip("no C compiler here")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    module = fastpath._build_and_import()
    assert module is not None
    assert len(module.Table(10)) == 0
    cache = tmp_path / "netop"
    assert cache.stat().st_mode & 0o777 == 0o700
    assert [p.name.startswith("_fastflow-") for p in cache.iterdir()] == [True]


def test_no_compiler_means_pure_python(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(
        sysconfig, "get_config_var", lambda name: "false" if name == "CC" else ".so"
    )
    assert fastpath._build_and_import() is None
    assert list((tmp_path / "netop").iterdir()) == []


def test_a_cache_others_can_write_is_not_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "netop"
    cache.mkdir()
    os.chmod(cache, 0o777)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert fastpath._build_and_import() is None
