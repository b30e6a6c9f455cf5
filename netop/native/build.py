"""Loads netop's optional C extensions, building one on first use when it is missing.

An extension is preferably built at install time (``setup.py``, ``optional=True``); when
it is not importable it is compiled once with the system C compiler into a private cache
directory (``$XDG_CACHE_HOME/netop``, mode 0700) keyed by the source hash and the Python
ABI. Without a compiler the callers fall back to their pure-Python paths (same results,
slower). ``NETOP_PURE_PYTHON=1`` forces the fallback everywhere.
"""

from __future__ import annotations

import importlib
import os
import sys
from types import ModuleType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

# Only the build needs more (hashlib, subprocess, sysconfig...): they are imported
# there, so the capture child, which normally loads the prebuilt module, stays small.


def load(name: str, source: str, version: int, installed_only: bool = False) -> ModuleType | None:
    """The extension module ``name`` (dotted), or ``None`` when disabled or unbuildable.

    ``source`` is its C file; an installed module whose ``VERSION`` is below ``version``
    is stale and rebuilt from it. ``installed_only``: only the extension installed with
    the package, never one built into or loaded from the user's cache — for a process
    that still holds rights the user does not have (the capture launcher's capabilities).
    """
    if os.environ.get("NETOP_PURE_PYTHON"):
        return None
    try:
        module = importlib.import_module(name)
        if getattr(module, "VERSION", 0) >= version:
            return module
    except ImportError:
        pass
    if installed_only:
        return None
    import subprocess

    try:
        return build_and_import(name, source)
    except (OSError, subprocess.SubprocessError, ImportError):
        return None


def cache_dir() -> Path | None:
    """The private build cache, or None when someone else could write to it."""
    from pathlib import Path

    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "netop"
    base.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = base.stat()
    # Never load code from a directory someone else could have written to.
    if info.st_uid != os.geteuid() or info.st_mode & 0o022:
        return None
    return base


def build_and_import(name: str, source: str) -> ModuleType | None:
    """Compile ``source`` into the private cache (once per source and ABI) and import it."""
    import hashlib
    import importlib.util
    import shlex
    import subprocess
    import sysconfig
    import tempfile

    if not os.path.exists(source):
        return None
    suffix = sysconfig.get_config_var("EXT_SUFFIX") or ".so"
    with open(source, "rb") as handle:
        text = handle.read()
    # Headers beside the source are part of it (``_fastflow.c`` includes ``kpi.h``).
    folder = os.path.dirname(source)
    for header in sorted(n for n in os.listdir(folder) if n.endswith(".h")):
        with open(os.path.join(folder, header), "rb") as handle:
            text += handle.read()
    digest = hashlib.sha256(text + sys.version.encode() + suffix.encode())
    cache = cache_dir()
    if cache is None:
        return None
    short = name.rsplit(".", 1)[-1]
    target = cache / f"{short}-{digest.hexdigest()[:16]}{suffix}"
    if not target.exists():
        cc = shlex.split(sysconfig.get_config_var("CC") or "cc")
        include = sysconfig.get_paths()["include"]
        fd, tmp = tempfile.mkstemp(dir=cache, suffix=suffix)
        os.close(fd)
        cmd = [*cc, "-O2", "-shared", "-fPIC", f"-I{include}", source, "-o", tmp]
        done = subprocess.run(cmd, capture_output=True, timeout=120)
        if done.returncode != 0:
            os.unlink(tmp)
            return None
        os.replace(tmp, target)
    spec = importlib.util.spec_from_file_location(name, target)
    if spec is None or spec.loader is None:
        return None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
