"""Loads the optional C fast path (``_fastflow.c``), building it on first use.

The extension is preferably built at install time; when it is not importable it is
compiled once with the system C compiler into a private cache directory
(``$XDG_CACHE_HOME/netop``, mode 0700) keyed by the source hash and the Python ABI.
Without a compiler netop falls back to the pure-Python path (same results, about
five times slower). ``NETOP_PURE_PYTHON=1`` forces the fallback.
"""

from __future__ import annotations

import functools
import os
import sys
from types import ModuleType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

# Only the build needs more (hashlib, subprocess, sysconfig...): they are imported
# there, so the capture child, which normally loads the prebuilt module, stays small.
_SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_fastflow.c")
#: The ``VERSION`` of ``_fastflow.c``; an older prebuilt module is rebuilt, not used.
_VERSION = 7


@functools.cache
def load(installed_only: bool = False) -> ModuleType | None:
    """The ``_fastflow`` module, or ``None`` when it is disabled or cannot be built.

    ``installed_only``: only the extension installed with the package, never one built
    into or loaded from the user's cache — for a process that still holds capture
    rights the user does not have (the capture launcher's file capabilities).
    """
    if os.environ.get("NETOP_PURE_PYTHON"):
        return None
    try:
        from netop.native import _fastflow  # type: ignore[attr-defined]

        if getattr(_fastflow, "VERSION", 0) >= _VERSION:
            return _fastflow  # type: ignore[no-any-return]
    except ImportError:
        pass
    if installed_only:
        return None
    import subprocess

    try:
        return _build_and_import()
    except (OSError, subprocess.SubprocessError, ImportError):
        return None


def _cache_dir() -> Path | None:
    from pathlib import Path

    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "netop"
    base.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = base.stat()
    # Never load code from a directory someone else could have written to.
    if info.st_uid != os.geteuid() or info.st_mode & 0o022:
        return None
    return base


def _build_and_import() -> ModuleType | None:
    import hashlib
    import importlib.util
    import shlex
    import subprocess
    import sysconfig
    import tempfile

    if not os.path.exists(_SOURCE):
        return None
    suffix = sysconfig.get_config_var("EXT_SUFFIX") or ".so"
    with open(_SOURCE, "rb") as handle:
        source = handle.read()
    digest = hashlib.sha256(source + sys.version.encode() + suffix.encode())
    cache = _cache_dir()
    if cache is None:
        return None
    target = cache / f"_fastflow-{digest.hexdigest()[:16]}{suffix}"
    if not target.exists():
        cc = shlex.split(sysconfig.get_config_var("CC") or "cc")
        include = sysconfig.get_paths()["include"]
        fd, tmp = tempfile.mkstemp(dir=cache, suffix=suffix)
        os.close(fd)
        cmd = [*cc, "-O2", "-shared", "-fPIC", f"-I{include}", _SOURCE, "-o", tmp]
        done = subprocess.run(cmd, capture_output=True, timeout=120)
        if done.returncode != 0:
            os.unlink(tmp)
            return None
        os.replace(tmp, target)
    spec = importlib.util.spec_from_file_location("netop.native._fastflow", target)
    if spec is None or spec.loader is None:
        return None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
