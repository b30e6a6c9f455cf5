"""What every session does the same way: GET of scalars and a column-parallel walk.

pysnmp's own ``bulk_walk_cmd`` walks one column per generator, runs past the end of
the column unless told otherwise and never stops on a timeout, so the walk here is our
own: every still-active column rides in each GETBULK (GETNEXT for v1) and a column
drops out as soon as the agent answers with an OID outside it. Subclasses only send
one request (:meth:`BaseSession.request`); every failure is one :class:`SnmpError`
with a kind the poller can act on (``timeout``, ``refused``, ``auth``, ``access``,
``protocol``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from netop.sources.snmp.ber import END_OF_MIB, GET, GET_BULK, GET_NEXT, EndOfMib, VarBind
from netop.sources.snmp.targets import SnmpTarget

Oid = tuple[int, ...]
#: Decoded value: ``int`` for numbers, ``bytes`` for strings, ``None`` for "no such".
Value = int | bytes | None

MAX_REQUESTS = 2000  # per walk: bounds time and memory against a looping agent
MAX_ROWS = 20000  # per column
TOO_BIG = 1
NO_SUCH_NAME = 2  # SNMPv1 errorStatus at the end of the MIB view
_STATUS = {1: "tooBig", 2: "noSuchName", 5: "genErr", 6: "noAccess", 16: "authorizationError"}


class SnmpError(Exception):
    """A failed request, with ``kind`` one of timeout, refused, auth, access, protocol."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


def timeout_error(target: SnmpTarget) -> SnmpError:
    """The error of a request that got no answer, with the likely causes."""
    tries = target.retries + 1
    hint = " (or a wrong community)" if target.version != "3" else ""
    if target.security_level == "authPriv":
        hint = " (or a wrong priv key)"
    return SnmpError("timeout", f"no response after {tries} x {target.timeout:g} s{hint}")


def status_error(status: int) -> SnmpError:
    """An error-status the agent answered with."""
    name = _STATUS.get(status, f"error-status {status}")
    kind = "access" if status in (6, 16) else "protocol"
    hint = " (the agent refuses this user/community the data)" if kind == "access" else ""
    return SnmpError(kind, f"agent answered {name}{hint}")


class BaseSession:
    """One target's requests; subclasses implement :meth:`request`."""

    def __init__(self, target: SnmpTarget) -> None:
        self.target = target
        self.requests = 0
        #: Shared bound on requests in flight across all targets (set by the poller).
        self.limit: asyncio.Semaphore | None = None
        self._repetitions = target.max_repetitions

    async def request(
        self, pdu: int, oids: Sequence[Oid], max_repetitions: int = 0
    ) -> tuple[int, int, list[VarBind]]:
        """Send one PDU; ``(error_status, error_index, varbinds)`` or SnmpError."""
        raise NotImplementedError

    async def _request(
        self, pdu: int, oids: Sequence[Oid], max_repetitions: int = 0
    ) -> tuple[int, int, list[VarBind]]:
        self.requests += 1
        if self.limit is None:
            return await self.request(pdu, oids, max_repetitions)
        async with self.limit:
            return await self.request(pdu, oids, max_repetitions)

    def renew_engine(self) -> None:
        """Forget what was learned about the agent (v3 engine ID); default: nothing."""

    def close(self) -> None:
        """Release sockets and engines."""

    async def get(self, oids: Sequence[Oid]) -> dict[Oid, Value]:
        """GET of scalars; an object the agent lacks comes back as ``None``."""
        status, index, vbs = await self._request(GET, oids)
        if status == NO_SUCH_NAME and self.target.version == "1" and 0 < index <= len(oids):
            # v1 fails the whole PDU for one missing object: ask again without it.
            if len(oids) == 1:
                return {oids[0]: None}
            rest = [o for i, o in enumerate(oids) if i != index - 1]
            found = await self.get(rest)
            found[oids[index - 1]] = None
            return found
        if status:
            raise status_error(status)
        return {oid: None if isinstance(v, EndOfMib) else v for oid, v in vbs}

    async def walk(self, columns: Sequence[Oid]) -> dict[Oid, dict[Oid, Value]]:
        """Every row of every column, walked in parallel; ``{column: {index: value}}``."""
        result: dict[Oid, dict[Oid, Value]] = {col: {} for col in columns}
        cursor: dict[Oid, Oid] = {col: col for col in columns}
        active = list(columns)
        for _ in range(MAX_REQUESTS):
            if not active:
                break
            vbs = await self._step(active, cursor)
            done: set[Oid] = set()
            width = len(active)
            progressed = False
            for i, (oid, val) in enumerate(vbs):
                col = active[i % width]
                if col in done:
                    continue
                if oid[: len(col)] != col or val is END_OF_MIB or oid <= cursor[col]:
                    done.add(col)
                    continue
                cursor[col] = oid
                rows = result[col]
                rows[oid[len(col) :]] = None if isinstance(val, EndOfMib) else val
                progressed = True
                if len(rows) >= MAX_ROWS:
                    done.add(col)
            if not progressed:
                break
            active = [col for col in active if col not in done]
        return result

    async def _step(self, active: list[Oid], cursor: dict[Oid, Oid]) -> list[VarBind]:
        if self.target.version != "1":
            while True:
                oids = [cursor[c] for c in active]
                status, _, vbs = await self._request(GET_BULK, oids, self._repetitions)
                if status == TOO_BIG and self._repetitions > 1:
                    self._repetitions //= 2  # the answer did not fit: ask for fewer rows
                    continue
                if status:
                    raise status_error(status)
                return vbs
        while active:
            status, index, vbs = await self._request(GET_NEXT, [cursor[c] for c in active])
            if status == NO_SUCH_NAME and 0 < index <= len(active):
                # v1: this column hit the end of the agent's view; the rest go on.
                del active[index - 1]
                continue
            if status:
                raise status_error(status)
            return vbs
        return []
