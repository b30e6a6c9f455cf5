"""The Flows pane: the top flows the engine chose, or why there are none."""

from __future__ import annotations

from netop.format import human_age, human_bytes, human_count, human_rate
from netop.model import FlowRow, Snapshot, ViewSpec, proto_name
from netop.ui.linetable import Column, LineTable, Row, Styled


def endpoint(addr: str, port: int, proto: int) -> str:
    """``addr:port`` (``[v6]:port``), or just the address for port-less protocols."""
    if proto not in (6, 17, 132) or not port:
        return addr
    return f"[{addr}]:{port}" if ":" in addr else f"{addr}:{port}"


class FlowsPane(LineTable):
    """Top flows with rates each way, totals, age and state."""

    COLUMNS = (
        Column("proto", "Proto", 6),
        Column("src", "Source", 0, min_width=12),
        Column("dst", "Destination", 0, min_width=12),
        Column("rate", "Rate →", 9, "right"),
        Column("rate_rev", "Rate ←", 9, "right"),
        Column("avg", "Avg 10s", 9, "right"),
        Column("bytes", "Bytes", 8, "right"),
        Column("packets", "Pkts", 6, "right"),
        Column("age", "Age", 6, "right"),
        Column("state", "State", 6),
    )

    #: Column → engine sort key, for clicks on the header.
    SORT_BY_COLUMN = {"proto": "proto", "src": "src", "dst": "dst", "rate": "rate",
                      "rate_rev": "rate", "avg": "avg", "bytes": "bytes",
                      "packets": "packets", "age": "age"}

    def __init__(self) -> None:
        super().__init__(self.COLUMNS, cursor=True, id="flows", classes="pane")
        self.border_title = "Flows"
        self.spec = ViewSpec()

    def show_spec(self, spec: ViewSpec) -> None:
        """Say in the title how the flows are sorted and filtered."""
        self.spec = spec
        self._title(None, None)

    def _title(self, total: int | None, matched: int | None) -> None:
        arrow = "↓" if self.spec.descending else "↑"
        parts = ["Flows"]
        if total:
            parts.append(f"{matched}/{total}" if self.spec.filter_text else f"{total}")
        parts.append(f"by {self.spec.sort} {arrow}")
        if self.spec.filter_text:
            parts.append(f"filter: {self.spec.filter_text}")
        self.set_title(" · ".join(parts))

    def show(self, snapshot: Snapshot, bits: bool) -> None:
        """Render the engine's top flows."""
        view = snapshot.flows
        self.set_empty_text(view.status or "no flows yet")
        self.spec = view.spec
        self._title(view.total_flows, view.matched_flows)
        now = view.now or snapshot.ts
        self.set_rows([self._row(row, now, bits) for row in view.rows])

    @staticmethod
    def _row(row: FlowRow, now: float, bits: bool) -> Row:
        r = row.record
        return Row(
            key=row.key,
            cells=(
                proto_name(r.proto),
                endpoint(r.src, r.sport, r.proto),
                endpoint(r.dst, r.dport, r.proto),
                Styled(human_rate(row.rate_bps, bits), "tx"),
                Styled(human_rate(row.rate_rev_bps, bits), "rx"),
                human_rate(row.avg_bps, bits),
                human_bytes(r.bytes + r.bytes_rev),
                human_count(r.packets + r.packets_rev),
                human_age(now - r.first),
                row.state,
            ),
        )
