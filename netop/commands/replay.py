"""``netop replay FILE.db``: a recording through the TUI, with playback keys.

The same app, panes and render path as live; the snapshots come from the recording's
player (:class:`~netop.engine.player.RecordingPlayer`) instead of the engine.
"""

from __future__ import annotations

import argparse
import sys

from netop.config import Config
from netop.engine.recording import RecordingError
from netop.errors import NetopError

HELP = "replay a recording in the TUI (space pause, [ ] step, - + speed, g go to)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``netop replay``."""
    parser.add_argument("file", metavar="FILE.db", help="a recording made with --record "
                        "or netop record")
    parser.add_argument("--at", metavar="TIME", default=None,
                        help="start at TIME (14:32, -10m from the end, 50%%)")
    parser.add_argument("--theme", metavar="NAME", help="colour theme (t cycles them live)")


def run(args: argparse.Namespace, config: Config) -> int:
    """Open the recording (exit 2 when it is none) and run the TUI over it."""
    from netop.engine.playback import parse_goto
    from netop.engine.player import RecordingPlayer
    from netop.ui.app import NetopApp
    from netop.ui.themes import load_themes

    themes = load_themes()
    themes.check(config.theme)
    if not sys.stdout.isatty():
        raise NetopError("replay needs a terminal; `netop report FILE.db` prints a summary")
    try:
        player = RecordingPlayer(args.file, config)
    except RecordingError as exc:
        raise NetopError(str(exc)) from exc
    if args.at:
        state = player.state()
        try:
            at = parse_goto(args.at, state if args.at[0] not in "+-" else
                            type(state)(state.kind, state.start, state.end, state.end))
        except ValueError as exc:
            raise NetopError(f"--at: {exc}") from exc
        player.seek(at)
    app = NetopApp(player, player.config, themes, playback=player)
    app.run()
    return 0 if app.exit_signal is None else 128 + app.exit_signal
