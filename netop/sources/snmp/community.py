"""SNMPv1/v2c sessions on netop's own BER codec and one connected UDP socket per target.

Against pysnmp this costs about a tenth of the CPU per value (bench/snmp.py), which is
what lets one core poll a hundred switches. A connected socket also hears the ICMP
port-unreachable of a host where nothing listens, so a dead agent is reported at once
instead of after every retry has timed out (pysnmp's shared unconnected socket cannot).
Responses are matched by request ID, version and community; anything else, malformed
or not, is dropped and counted.
"""

from __future__ import annotations

import asyncio
import itertools
import random
from collections.abc import Sequence

from netop.sources.snmp.ber import BerError, VarBind, decode_response, encode_request
from netop.sources.snmp.targets import SnmpTarget
from netop.sources.snmp.walk import BaseSession, Oid, SnmpError, timeout_error

_Decoded = tuple[int, bytes, int, int, int, list[VarBind]]


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, version: int, community: bytes) -> None:
        self.version = version
        self.community = community
        self.waiting: dict[int, asyncio.Future[_Decoded]] = {}
        self.dropped = 0

    def datagram_received(self, data: bytes, addr: object) -> None:
        try:
            decoded = decode_response(data)
        except BerError:
            self.dropped += 1
            return
        future = self.waiting.get(decoded[2])
        if decoded[0] != self.version or decoded[1] != self.community or future is None:
            self.dropped += 1
            return
        if not future.done():
            future.set_result(decoded)

    def error_received(self, exc: Exception) -> None:
        for future in self.waiting.values():
            if not future.done():
                future.set_exception(exc)


class CommunitySession(BaseSession):
    """v1/v2c requests with the BER codec of :mod:`netop.sources.snmp.ber`."""

    def __init__(self, target: SnmpTarget) -> None:
        super().__init__(target)
        assert target.community is not None
        self._version = 0 if target.version == "1" else 1
        self._community = target.community.reveal().encode()
        self._ids = itertools.count(random.randrange(1, 1 << 30))
        self._transport: asyncio.DatagramTransport | None = None
        self._protocol: _Protocol | None = None

    async def _open(self) -> tuple[asyncio.DatagramTransport, _Protocol]:
        if self._transport is None or self._protocol is None or self._transport.is_closing():
            loop = asyncio.get_running_loop()
            try:
                transport, protocol = await loop.create_datagram_endpoint(
                    lambda: _Protocol(self._version, self._community),
                    remote_addr=(self.target.host, self.target.port),
                )
            except OSError as exc:
                raise SnmpError(
                    "protocol", f"cannot reach {self.target.host}: {exc.strerror or exc}"
                ) from None
            self._transport, self._protocol = transport, protocol
        return self._transport, self._protocol

    def close(self) -> None:
        """Close the socket."""
        if self._transport is not None:
            self._transport.close()
            self._transport = None

    @property
    def dropped(self) -> int:
        """Datagrams thrown away: malformed, late, or not answering our request."""
        return self._protocol.dropped if self._protocol else 0

    async def request(
        self, pdu: int, oids: Sequence[Oid], max_repetitions: int = 0
    ) -> tuple[int, int, list[VarBind]]:
        """One PDU with the target's timeout and retries."""
        transport, protocol = await self._open()
        request_id = next(self._ids) & 0x7FFFFFFF
        message = encode_request(self._version, self._community, pdu, request_id, list(oids),
                                 max_repetitions=max_repetitions)  # fmt: skip
        loop = asyncio.get_running_loop()
        try:
            for _ in range(self.target.retries + 1):
                future: asyncio.Future[_Decoded] = loop.create_future()
                protocol.waiting[request_id] = future
                transport.sendto(message)
                try:
                    _, _, _, status, index, varbinds = await asyncio.wait_for(
                        future, self.target.timeout
                    )
                    return status, index, varbinds
                except TimeoutError:
                    continue
        except OSError as exc:  # ICMP port unreachable on the connected socket
            raise SnmpError(
                "refused",
                f"port unreachable: nothing answers on {self.target.host}:{self.target.port} "
                f"({exc.strerror or exc})",
            ) from None
        finally:
            protocol.waiting.pop(request_id, None)
        raise timeout_error(self.target)
