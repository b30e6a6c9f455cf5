"""Write SVG screenshots of the real app (live engine, this machine's interfaces).

Usage: ``.venv/bin/python scripts/screenshots.py [--seconds 4]`` → ``screenshots/*.svg``.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from netop.commands.tui import build_sources
from netop.config import Config
from netop.engine.engine import Engine
from netop.ui.app import NetopApp

OUT = Path(__file__).resolve().parent.parent / "screenshots"


async def shoot(theme: str, size: tuple[int, int], seconds: float) -> Path:
    """Run the app with the real sources for ``seconds``, then save its screen."""
    config = Config(theme=theme, interval=0.5)
    engine = Engine(config, build_sources(argparse.Namespace(), config))
    app = NetopApp(engine, config)
    async with app.run_test(size=size) as pilot:
        await asyncio.sleep(seconds)
        await pilot.pause()
        name = f"netop-{theme.removeprefix('netop-')}-{size[0]}x{size[1]}.svg"
        app.save_screenshot(filename=name, path=str(OUT))
    return OUT / name


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=4.0)
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    for theme, size in (("netop-dark", (120, 40)), ("netop-light", (120, 40)),
                        ("netop-dark", (80, 24)), ("netop-contrast", (120, 40))):
        print(asyncio.run(shoot(theme, size, args.seconds)))


if __name__ == "__main__":
    main()
