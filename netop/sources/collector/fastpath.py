"""Loads the collector's optional C decode-and-merge (``_fastcoll.c``).

Built at install time or on first use (see :mod:`netop.native.build`). Without it
every template keeps the Python function :mod:`~netop.sources.collector.templates`
generates (same results, about three times the CPU per record).
``NETOP_PURE_PYTHON=1`` forces that fallback.
"""

from __future__ import annotations

import functools
import os
from types import ModuleType

from netop.native import build as native

_NAME = "netop.sources.collector._fastcoll"
_SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_fastcoll.c")
#: The ``VERSION`` of ``_fastcoll.c``; an older prebuilt module is rebuilt, not used.
_VERSION = 2


@functools.cache
def load() -> ModuleType | None:
    """The ``_fastcoll`` module, or ``None`` when it is disabled or cannot be built."""
    return native.load(_NAME, _SOURCE, _VERSION)
