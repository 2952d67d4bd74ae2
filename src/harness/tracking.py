"""Weights & Biases: one W&B run per harness run, offline unless asked otherwise.

Metric names are shared by every experiment (`train/acc`, `test/loss`, `gen_gap/err`, ...), so
runs of different experiments sit side by side in the dashboard.
"""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

log = logging.getLogger(__name__)
RUN_ID_FILE = "wandb_run_id"


class Tracker:
    """Thin wrapper: a no-op when logging is off, so the trainer never branches on it."""

    def __init__(self, run=None):
        self.run = run

    def log(self, metrics: dict, step: int) -> None:
        if self.run is not None:
            self.run.log(metrics, step=step)

    def summary(self, values: dict) -> None:
        if self.run is not None:
            self.run.summary.update(values)

    def finish(self, exit_code: int = 0) -> None:
        if self.run is not None:
            self.run.finish(exit_code=exit_code)
            self.run = None


def start(logger_cfg, run_dir: Path, config: dict, group: str, tags: list, name: str) -> Tracker:
    """Start the W&B run for `run_dir` (resuming the same W&B run id when the run dir resumes)."""
    if logger_cfg.name == "none" or logger_cfg.mode == "disabled":
        return Tracker()
    import wandb

    id_file = Path(run_dir) / RUN_ID_FILE
    if id_file.is_file():
        run_id = id_file.read_text().strip()
    else:
        run_id = secrets.token_hex(4)
        id_file.write_text(run_id)
    os.environ.setdefault("WANDB_SILENT", "true")
    run = wandb.init(
        project=logger_cfg.project,
        entity=logger_cfg.entity,
        group=group,
        job_type=logger_cfg.job_type,
        tags=list(tags),
        name=name,
        config=config,
        dir=str(run_dir),
        mode=logger_cfg.mode,
        id=run_id,
        resume="allow",
    )
    log.info("W&B run %s (%s) in %s", run.id, logger_cfg.mode, run.dir)
    return Tracker(run)
