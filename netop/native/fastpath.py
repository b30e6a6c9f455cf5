"""Loads the optional C fast path of the capture child and the flow table (``_fastflow.c``).

Built at install time or on first use (see :mod:`netop.native.build`). Without a
compiler netop falls back to the pure-Python path (same results, about five times
slower). ``NETOP_PURE_PYTHON=1`` forces the fallback.
"""

from __future__ import annotations

import functools
import os
from types import ModuleType

from netop.native import build

_NAME = "netop.native._fastflow"
_SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_fastflow.c")
#: The ``VERSION`` of ``_fastflow.c``; an older prebuilt module is rebuilt, not used.
_VERSION = 21


@functools.cache
def load(installed_only: bool = False) -> ModuleType | None:
    """The ``_fastflow`` module, or ``None`` when it is disabled or cannot be built.

    ``installed_only``: only the extension installed with the package, never one built
    into or loaded from the user's cache — for a process that still holds capture
    rights the user does not have (the capture launcher's file capabilities).
    """
    return build.load(_NAME, _SOURCE, _VERSION, installed_only)


def _build_and_import() -> ModuleType | None:
    return build.build_and_import(_NAME, _SOURCE)
