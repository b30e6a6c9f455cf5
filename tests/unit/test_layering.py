"""The core (capture, sources, engine, model) never imports Textual."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

import netop

CORE = ("netop.model", "netop.capture", "netop.sources", "netop.engine")


def core_modules() -> list[str]:
    names = ["netop.model"]
    for package in CORE[1:]:
        names.append(package)
        path = Path(netop.__file__).parent / package.split(".")[1]
        names += [m.name for m in pkgutil.walk_packages([str(path)], prefix=package + ".")]
    return names


def test_core_modules_do_not_import_textual() -> None:
    modules = core_modules()
    assert len(modules) > 8
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "bad = sorted(m for m in sys.modules if m == 'textual' or m.startswith('textual.'))\n"
        "print(','.join(bad))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ""
