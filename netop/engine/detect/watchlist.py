"""Watchlists: files of IPs and CIDR prefixes, matched against every new flow.

Read as they are: one address or prefix per line, ``#`` comments (abuse.ch Feodo
Tracker's IP list), ``;`` comments after the prefix (Spamhaus DROP:
``1.10.16.0/20 ; SBL256894``). Netop never downloads a list: the files live on disk and
are reloaded when their modification time changes; a file that cannot be read or is
empty keeps the last good list (lists go stale or empty: the status says so).

Matching is a bisect over sorted, merged address intervals (one array per family), so
a lookup costs O(log n): 20 comparisons for a million prefixes, about the same as for
ten (``bench/watchlist.py`` measures both).
"""

from __future__ import annotations

import ipaddress
import os
import socket
import threading
import time
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from netop.format import human_age

#: A list file larger than this is refused (Spamhaus DROP is ~30 KB, Feodo ~10 KB).
MAX_LIST_BYTES = 256 << 20
#: Bad lines reported per file (the count is exact, the examples are not all shown).
MAX_ERRORS_SHOWN = 3


#: An address interval of one family: (version, first, last) as integers.
Interval = tuple[int, int, int]


class PrefixSet:
    """Immutable set of address intervals; ``in`` tells whether an address is covered.

    IPv4: a table of the 65,536 /16 blocks; each block is either wholly covered, or
    holds the sorted interval starts/ends clipped to it (a bisect over a handful). A
    lookup is an index and a short bisect whatever the list's size. IPv6 lists are
    short (Spamhaus DROPv6): one bisect over all of them.
    """

    __slots__ = ("_v4", "_v6_starts", "_v6_ends", "size")

    def __init__(self, intervals: Iterable[Interval]) -> None:
        v4: list[tuple[int, int]] = []
        v6: list[tuple[int, int]] = []
        size = 0
        for version, first, last in intervals:
            size += 1
            (v4 if version == 4 else v6).append((first, last))
        self.size = size
        self._v4 = _blocks(*_merged(v4))
        self._v6_starts, self._v6_ends = _merged(v6)

    def __len__(self) -> int:
        return self.size

    def __contains__(self, address: object) -> bool:
        if not isinstance(address, str):
            return False
        try:
            value = int.from_bytes(socket.inet_pton(socket.AF_INET, address), "big")
        except OSError:
            try:
                value = int.from_bytes(socket.inet_pton(socket.AF_INET6, address), "big")
            except OSError:
                return False
            i = bisect_right(self._v6_starts, value) - 1
            return i >= 0 and value <= self._v6_ends[i]
        block = self._v4[value >> 16]
        if not isinstance(block, tuple):
            return block is True
        starts, ends = block
        i = bisect_right(starts, value) - 1
        return i >= 0 and value <= ends[i]


_Block = tuple[list[int], list[int]] | bool | None


def _blocks(starts: list[int], ends: list[int]) -> list[_Block]:
    """Per /16 block: True (all covered), None (nothing), or its clipped intervals."""
    table: list[_Block] = [None] * 65536
    for first, last in zip(starts, ends, strict=True):
        for block in range(first >> 16, (last >> 16) + 1):
            low, high = block << 16, (block << 16) | 0xFFFF
            if first <= low and last >= high:
                table[block] = True
                continue
            entry = table[block]
            if not isinstance(entry, tuple):
                entry = table[block] = ([], [])
            entry[0].append(max(first, low))  # sorted: the intervals come in order
            entry[1].append(min(last, high))
    return table


def _merged(intervals: list[tuple[int, int]]) -> tuple[list[int], list[int]]:
    """Sorted starts and ends with overlapping or adjacent intervals joined."""
    intervals.sort()
    starts: list[int] = []
    ends: list[int] = []
    for start, end in intervals:
        if ends and start <= ends[-1] + 1:
            if end > ends[-1]:
                ends[-1] = end
            continue
        starts.append(start)
        ends.append(end)
    return starts, ends


def parse_entry(token: str) -> Interval:
    """An IP or CIDR as an interval; ValueError when it is neither. IPv4 without
    :mod:`ipaddress` (a million lines of Feodo/DROP in seconds, not tens of them)."""
    addr, slash, length = token.partition("/")
    try:
        packed = socket.inet_pton(socket.AF_INET, addr)
    except OSError:
        net = ipaddress.ip_network(token, strict=False)
        first = int(net.network_address)
        return (net.version, first, first + net.num_addresses - 1)
    bits = 32
    if slash:
        if not length.isdigit() or int(length) > 32:
            raise ValueError(f"bad prefix length in {token!r}")
        bits = int(length)
    host = (1 << (32 - bits)) - 1
    first = int.from_bytes(packed, "big") & ~host & 0xFFFFFFFF
    return (4, first, first | host)


@dataclass(frozen=True, slots=True)
class ParsedList:
    """A list file's entries and what could not be read of it."""

    networks: list[Interval]
    bad_lines: int = 0
    examples: tuple[str, ...] = ()


def parse_list(text: str) -> ParsedList:
    """Entries of a list file: one IP or CIDR per line; ``#`` and ``;`` start comments."""
    networks: list[Interval] = []
    bad = 0
    examples: list[str] = []
    for number, line in enumerate(text.splitlines(), 1):
        entry = line.split("#", 1)[0].split(";", 1)[0].strip()
        if not entry:
            continue
        token = entry.split()[0]
        try:
            networks.append(parse_entry(token))
        except ValueError:
            bad += 1
            if len(examples) < MAX_ERRORS_SHOWN:
                examples.append(f"line {number}: {token[:40]!r}")
    return ParsedList(networks, bad, tuple(examples))


@dataclass(frozen=True, slots=True)
class ListStatus:
    """One file's state for the views: entries, when loaded, the last error."""

    path: str
    entries: int = 0
    loaded_at: float | None = None
    mtime: float | None = None
    error: str = ""

    def describe(self, now: float) -> str:
        """``feodo.txt: 512 entries, 3 min old`` (and the last error, if any)."""
        name = os.path.basename(self.path)
        if self.loaded_at is None:
            return f"watchlist {name}: not loaded: {self.error}"
        age = max(0.0, now - (self.mtime or self.loaded_at))
        text = f"watchlist {name}: {self.entries} entries, file {human_age(age)} old"
        return f"{text}; {self.error}" if self.error else text


@dataclass
class _FileState:
    networks: list[Interval] = field(default_factory=list)
    status: ListStatus = field(default_factory=lambda: ListStatus(""))


class Watchlist:
    """The union of the list files, reloaded when a file changes.

    :meth:`poll` checks modification times (a ``stat`` per file) and reloads what
    changed; :meth:`start` runs it on a thread every ``reload_seconds`` so that loading
    a million entries never stalls an engine tick. :attr:`prefixes` is swapped whole.
    """

    def __init__(self, files: Sequence[str], reload_seconds: float = 5.0) -> None:
        self.files = tuple(files)
        self.reload_seconds = reload_seconds
        self.prefixes = PrefixSet(())
        self._state = {path: _FileState(status=ListStatus(path)) for path in self.files}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        #: Bumped at each reload: the detector re-checks live flows against a new list.
        self.generation = 0

    def start(self) -> None:
        """Load now, then keep polling on a daemon thread."""
        self.poll()
        if self.files and self._thread is None:
            self._thread = threading.Thread(target=self._run, name="netop-watchlist",
                                            daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop polling (safe to call twice)."""
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.wait(self.reload_seconds):
            self.poll()

    def statuses(self) -> list[ListStatus]:
        """Each file's state, in the config's order."""
        return [self._state[path].status for path in self.files]

    def poll(self) -> bool:
        """Reload changed files; whether the list changed."""
        changed = False
        for path in self.files:
            changed |= self._load(path)
        if changed:
            nets = [n for path in self.files for n in self._state[path].networks]
            self.prefixes = PrefixSet(nets)
            self.generation += 1
        return changed

    def _load(self, path: str) -> bool:
        state = self._state[path]
        old = state.status
        try:
            info = os.stat(path)
        except OSError as exc:
            state.status = _failed(old, exc.strerror or str(exc))
            return False
        if old.mtime == info.st_mtime and old.loaded_at is not None:
            return False
        if info.st_size > MAX_LIST_BYTES:
            state.status = _failed(old, f"larger than {MAX_LIST_BYTES} bytes", info.st_mtime)
            return False
        try:
            with open(path, "rb") as handle:
                text = handle.read(MAX_LIST_BYTES + 1).decode("utf-8", "replace")
        except OSError as exc:
            state.status = _failed(old, exc.strerror or str(exc))
            return False
        parsed = parse_list(text)
        if not parsed.networks:
            why = "no addresses in it" + (f" ({parsed.bad_lines} bad lines)"
                                         if parsed.bad_lines else "")
            state.status = _failed(old, why + "; keeping the last good list"
                                   if old.loaded_at else why, info.st_mtime)
            return False
        error = ""
        if parsed.bad_lines:
            error = (f"{parsed.bad_lines} lines not an address or prefix "
                     f"({', '.join(parsed.examples)})")
        state.networks = parsed.networks
        state.status = ListStatus(path, len(parsed.networks), time.time(), info.st_mtime, error)
        return True


def _failed(old: ListStatus, error: str, mtime: float | None = None) -> ListStatus:
    """The last good state with the error (and the mtime, not to retry the same file)."""
    return ListStatus(old.path, old.entries, old.loaded_at,
                      mtime if mtime is not None else old.mtime, error)
