"""The one-line header: host, what is watched, totals, PAUSED; in playback, the
position first (time, timeline, speed)."""

from __future__ import annotations

import os
import time

from rich.text import Text
from textual.widgets import Static

from netop.engine.playback import PlaybackState
from netop.format import human_bytes, human_rate
from netop.model import PcapStatus, RecordingStatus, Snapshot

#: Cells of the timeline bar.
TIMELINE = 12


def playback_text(state: PlaybackState) -> str:
    """``▶ 01-01 14:32:05 █████░░░░░░░ 43% ×2 -1:02:10`` (position, timeline, speed,
    time remaining), then the note, if any. Block and shade characters: the ones every
    terminal font has (the sparklines use them too); ``||`` for paused for the same
    reason (⏸ is missing from many)."""
    mark = "||" if state.paused else "▶"
    # Nothing read yet (a file's first packet not reached): no time to show.
    when = (time.strftime("%m-%d %H:%M:%S", time.localtime(state.position))
            if state.position > 0 else "--:--:--")
    filled = round(state.fraction * TIMELINE)
    bar = "█" * filled + "░" * (TIMELINE - filled)
    left = max(0, int(state.end - state.position))
    remaining = (f"-{left // 3600}:{left % 3600 // 60:02d}:{left % 60:02d}"
                 if state.position > 0 else "-?:??:??")
    parts = [f"{mark} {when} {bar} {state.fraction * 100:.0f}%", f"×{state.speed:g}",
             remaining]
    if state.ended:
        parts.append("end")
    if state.detail:
        parts.append(state.detail)
    if state.note:
        parts.append(state.note)
    return " ".join(parts)


def recording_text(status: RecordingStatus) -> str:
    """``● REC net.db 12.3 MB`` (and ``3 dropped``, or the write error): what is
    being recorded, first in the header so a narrow terminal still shows it."""
    parts = [f"● REC {os.path.basename(status.path)} {human_bytes(status.bytes)}"]
    if status.dropped:
        parts.append(f"{status.dropped} dropped")
    if status.error:
        parts.append("write failed")
    return " ".join(parts)


def pcap_text(status: PcapStatus) -> str:
    """``● PCAP net.pcap 1.2 MB``: the file the capture is written to (``…`` until the
    capture process has opened it)."""
    size = "…" if status.pending else human_bytes(status.bytes)
    return f"● PCAP {os.path.basename(status.path)} {size}"


class HeaderBar(Static):
    """Repainted only when its text changes."""

    DEFAULT_CSS = """
    HeaderBar { height: 1; background: $footer-background; color: $footer-foreground; }
    """

    def __init__(self) -> None:
        super().__init__("", id="header")
        self._last: tuple[str, bool, str, str, str] = ("", False, "", "", "")

    def show(self, snapshot: Snapshot | None, bits: bool, paused: bool,
             playback: PlaybackState | None = None) -> None:
        """Render the header for ``snapshot`` (and the playback position)."""
        if snapshot is None:
            plain = " netop  starting…"
        else:
            t = snapshot.totals
            parts = [
                f" netop  {snapshot.hostname}",
                f"watching {snapshot.watching}",
                f"↓ {human_rate(t.rx_bps, bits)}  ↑ {human_rate(t.tx_bps, bits)}",
                f"drops {t.drops}  errors {t.errors}",
                *snapshot.status,
            ]
            plain = "  │  ".join(parts)
        position = playback_text(playback) if playback is not None else ""
        status = snapshot.recording if snapshot is not None else None
        rec = recording_text(status) if status is not None else ""
        pcap = snapshot.pcap if snapshot is not None else None
        written = pcap_text(pcap) if pcap is not None else ""
        if (plain, paused, position, rec, written) == self._last:
            return
        self._last = (plain, paused, position, rec, written)
        text = Text(plain, no_wrap=True, overflow="ellipsis")
        if written:
            text = Text.assemble(Text(f" {written} ", style="bold"), "│", text)
        if rec:
            style = "bold red" if status is not None and (status.dropped or status.error) \
                else "bold"
            text = Text.assemble(Text(f" {rec} ", style=style), "│", text)
        if position:
            # Bold, not reversed: reversed, the timeline's full blocks would look empty.
            text = Text.assemble(Text(f" {position} ", style="bold"), "│", text)
        if paused:
            text = Text.assemble(Text(" PAUSED ", style="reverse bold"), text)
        self.update(text)
