"""A progress bar on stderr for long offline reads (rich's), only when stderr is a terminal.

The bar follows the reader's position in the file as the kernel knows it
(``/proc/self/fdinfo``): whichever reader runs (the classic-pcap chunk walker, the
pcapng block reader, a later recording format) is measured without threading a
callback through its inner loops, which are the hot path of ``netop flows -r``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Iterator
from typing import TextIO, TypeVar

T = TypeVar("T")

#: Files smaller than this read in well under a second: no bar (it would only flash).
PROGRESS_MIN_BYTES = 32 << 20
#: Seconds between two looks at the file position (each is a few system calls).
_REFRESH = 0.1


def file_position(path: str) -> int | None:
    """How far this process has read into ``path`` (the largest offset of its open
    descriptors on it), or None when it has none open."""
    try:
        target = os.stat(path)
        names = os.listdir("/proc/self/fd")
    except OSError:
        return None
    best: int | None = None
    for name in names:
        try:
            info = os.stat(f"/proc/self/fd/{name}")
            if (info.st_dev, info.st_ino) != (target.st_dev, target.st_ino):
                continue
            with open(f"/proc/self/fdinfo/{name}", encoding="ascii") as handle:
                pos = int(handle.readline().split()[1])  # "pos:\t<offset>"
        except (OSError, ValueError, IndexError):
            continue
        best = pos if best is None else max(best, pos)
    return best


def with_progress(path: str, items: Iterable[T], stream: TextIO) -> Iterator[T]:
    """``items`` as they come, with a bar of ``path``'s read position on ``stream`` when
    it is a terminal and the file is large; the bar is erased at the end."""
    try:
        size = os.path.getsize(path)
    except OSError:
        size = 0
    if size < PROGRESS_MIN_BYTES or not stream.isatty():
        yield from items
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    progress = Progress(
        TextColumn("reading {task.description}"), BarColumn(), DownloadColumn(),
        TransferSpeedColumn(), TimeRemainingColumn(),
        console=Console(file=stream), transient=True,
    )  # fmt: skip
    task = progress.add_task(os.path.basename(path), total=size)
    shown = 0.0
    with progress:
        for item in items:
            now = time.monotonic()
            if now - shown >= _REFRESH:
                shown = now
                pos = file_position(path)
                if pos is not None:
                    progress.update(task, completed=pos)
            yield item
        progress.update(task, completed=size)
