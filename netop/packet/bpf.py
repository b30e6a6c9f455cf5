"""Kernel packet filters: tcpdump syntax compiled by libpcap, 1-in-N sampling, attaching.

Filters are compiled for ``DLT_RAW`` because the capture socket is ``SOCK_DGRAM``:
the kernel runs the filter on the packet from its network header on, which is
exactly what a raw-IP program expects, on every interface type. Link-layer
primitives (``ether host``, ``vlan``) are therefore not available; libpcap says so.
"""

from __future__ import annotations

import array
import socket
import struct
from collections.abc import Sequence
from typing import Any

from netop.errors import NetopError
from netop.packet.pcapfile import MAX_SNAPLEN

#: One classic BPF instruction: (code, jt, jf, k).
Insn = tuple[int, int, int, int]

DLT_RAW = 12
SO_ATTACH_FILTER = 26
#: What the filter returns to accept a packet: keep up to the largest snapshot length.
SNAP_ALL = MAX_SNAPLEN
_SKF_AD_RANDOM = 0xFFFFF000 + 56  # SKF_AD_OFF + SKF_AD_RANDOM
_BPF_LD_W_ABS = 0x20
_BPF_ALU_MOD_K = 0x94
_BPF_JEQ_K = 0x15
_BPF_RET_K = 0x06

#: Accept every packet.
ACCEPT_ALL: tuple[Insn, ...] = ((_BPF_RET_K, 0, 0, SNAP_ALL),)


class FilterError(NetopError):
    """A filter expression libpcap rejects."""


#: struct sock_filter {u16 code; u8 jt, jf; u32 k}
_SOCK_FILTER = struct.Struct("=HBBI")
#: struct sock_fprog {unsigned short len; struct sock_filter *filter} (native alignment)
_SOCK_FPROG = struct.Struct("@HP")


def load_compiler() -> None:
    """Load what :func:`compile_filter` needs, ahead of time: the capture child does so
    before it gives up its rights, then parses the filter after (when the interpreter's
    own library may no longer be readable to it)."""
    compile_filter("ip")  # a fixed expression: loads scapy's lazy imports and libpcap


def compile_filter(expression: str | None) -> tuple[Insn, ...]:
    """Instructions for a tcpdump filter expression (all packets when empty).

    Raises :class:`FilterError` with libpcap's own explanation for a bad expression.
    """
    if not expression or not expression.strip():
        return ACCEPT_ALL
    try:
        from scapy.arch.common import compile_filter as scapy_compile
        from scapy.error import Scapy_Exception
    except ImportError as exc:  # pragma: no cover - scapy is a dependency
        raise FilterError(f"cannot compile filters: {exc}") from None
    try:
        program = scapy_compile(expression, linktype=DLT_RAW)
    except Scapy_Exception as exc:
        detail = str(exc).split(" (", 1)[-1].rstrip(")") if " (" in str(exc) else str(exc)
        raise FilterError(f"bad filter {expression!r}: {detail}") from None
    except (ImportError, OSError) as exc:
        raise FilterError(f"cannot compile filter {expression!r}: {exc}") from None
    insns = program.bf_insns
    return tuple(
        (insns[i].code, insns[i].jt, insns[i].jf, insns[i].k) for i in range(program.bf_len)
    )


def with_sampling(program: Sequence[Insn], one_in: int) -> tuple[Insn, ...]:
    """``program`` behind a kernel-side 1-in-``one_in`` random sampler (``ld rand``)."""
    if one_in <= 1:
        return tuple(program)
    prefix: tuple[Insn, ...] = (
        (_BPF_LD_W_ABS, 0, 0, _SKF_AD_RANDOM),
        (_BPF_ALU_MOD_K, 0, 0, one_in),
        (_BPF_JEQ_K, 1, 0, 0),  # remainder 0: skip the drop and run the filter
        (_BPF_RET_K, 0, 0, 0),
    )
    return prefix + tuple(program)


def attach(sock: socket.socket, program: Sequence[Insn]) -> None:
    """Attach (or replace) the socket's kernel filter."""
    # struct and array instead of ctypes: the capture child is long-lived and ctypes
    # (with libffi) would be the biggest thing it imports. The kernel copies the
    # instructions during setsockopt, so the buffer only has to outlive this call.
    insns = array.array("B", b"".join(_SOCK_FILTER.pack(*insn) for insn in program))
    address, _ = insns.buffer_info()
    sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, _SOCK_FPROG.pack(len(program), address))


class OfflineFilter:
    """A tcpdump filter applied to packets read from a file, per link type.

    libpcap compiles and runs it (``pcap_offline_filter``), so ``-r FILE -f EXPR``
    means exactly what it means to tcpdump. One ctypes call per packet: files read
    with a filter take the slower per-packet path.
    """

    def __init__(self, expression: str) -> None:
        self.expression = expression
        self._programs: dict[int, Any] = {}
        try:
            import ctypes as c

            from scapy.arch.common import compile_filter as scapy_compile
            from scapy.libs.structures import bpf_program
            from scapy.libs.winpcapy import _lib, pcap_pkthdr
        except (ImportError, OSError) as exc:
            raise FilterError(f"cannot compile filter {expression!r}: {exc}") from None
        self._compile = scapy_compile
        self._header = pcap_pkthdr()
        run = _lib.pcap_offline_filter
        run.restype = c.c_int
        run.argtypes = [c.POINTER(bpf_program), c.POINTER(pcap_pkthdr), c.c_char_p]
        self._run = run
        self._byref = c.byref
        self.program_for(1)  # a bad expression fails now, not at the first packet

    def program_for(self, linktype: int) -> Any:
        """The compiled program for one link type (cached)."""
        program = self._programs.get(linktype)
        if program is None:
            from scapy.error import Scapy_Exception

            try:
                program = self._compile(self.expression, linktype=linktype)
            except Scapy_Exception as exc:
                text = str(exc)
                detail = text.split(" (", 1)[-1].rstrip(")") if " (" in text else text
                raise FilterError(f"bad filter {self.expression!r}: {detail}") from None
            self._programs[linktype] = program
        return program

    def accepts(self, linktype: int, data: bytes, wirelen: int) -> bool:
        """Whether the packet passes the filter."""
        program = self.program_for(linktype)
        header = self._header
        header.caplen = len(data)
        header.len = wirelen
        return bool(self._run(self._byref(program), self._byref(header), data))
