"""Hydra callbacks (configs/config.yaml `hydra.callbacks`). Light to import: Hydra builds them
before every job, and a refused command must answer in a fraction of a second."""

from __future__ import annotations

import sys
from pathlib import Path

from hydra.experimental.callback import Callback


class CompareAtTheEnd(Callback):
    """At the end of a multirun: the comparison of the sweep's runs (`harness.compare`), printed, with
    its figure's path. Never fails the sweep: a comparison is a convenience, a problem is one line."""

    def on_multirun_end(self, config, **kwargs) -> None:
        from .results.compare import compare

        sweep = Path(config.hydra.sweep.dir)
        try:
            text, figure = compare([sweep])
        except (SystemExit, Exception) as e:  # noqa: BLE001
            print(f"(no comparison of {sweep}: {e})", file=sys.stderr)
            return
        print(f"\n{text}\ncurves: {figure}", flush=True)
