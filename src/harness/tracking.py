"""Weights & Biases: one W&B run per harness run, offline unless asked otherwise.

Metric names are shared by every experiment (`train/acc`, `test/loss`, `gen_gap/err`, ...), so
runs of different experiments sit side by side in the dashboard.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
from pathlib import Path
from typing import TYPE_CHECKING

from .names import FILES, M

if TYPE_CHECKING:  # (a RunDir is passed in: importing rundir here would import torch before the config is checked)
    from .rundir import RunDir, Tracker

log = logging.getLogger(__name__)
RUN_ID_FILE = FILES.WANDB_RUN_ID
RUN_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")  # what this module writes (8 hex digits) and W&B takes
# the run summaries the dashboard shows for each metric: best and last (W&B's default: last only)
SUMMARIES = {
    **{M.acc(split): "max,last" for split in ("train", "val", "test")},
    **{M.loss(split): "min,last" for split in ("train", "val", "test")},
}


def _run_id(run: RunDir) -> tuple[str, str | None]:
    """(the W&B run id of this run dir, a warning or None): the stored one, or a new one (stored) when there
    is none or it is not one W&B takes (an empty or damaged file)."""
    try:
        stored = run.read_text(RUN_ID_FILE)
    except (OSError, UnicodeDecodeError) as e:
        stored = f"<unreadable: {type(e).__name__}>"
    if stored is not None and RUN_ID.fullmatch(stored.strip()):
        return stored.strip(), None
    run_id = secrets.token_hex(4)
    run.write_text(RUN_ID_FILE, run_id)
    if stored is None:
        return run_id, None
    return run_id, (
        f"{run.path / RUN_ID_FILE} held no usable W&B run id ({stored.strip()[:40]!r}): this run logs to a new "
        f"W&B run {run_id}"
    )


def _drop_earlier_offline_dirs(run_dir: Path, run_id: str, current: str) -> bool:
    """One offline dir per run id: the earlier attempts' (their history is replayed into this one from
    metrics.jsonl, which the resume has trimmed to the checkpoint). True when there were any."""
    import shutil

    current_dir = Path(current).parent  # run.dir is <offline-run-...>/files
    earlier = [d for d in Path(run_dir).glob(f"wandb/offline-run-*-{run_id}") if d.resolve() != current_dir.resolve()]
    for d in earlier:
        shutil.rmtree(d, ignore_errors=True)
    return bool(earlier)


def _define_metrics(run) -> None:
    """The dashboard's defaults: every metric over the harness's step, and its best and last values."""
    run.define_metric("step", hidden=True)
    run.define_metric("*", step_metric="step")
    for metric, summary in SUMMARIES.items():
        run.define_metric(metric, step_metric="step", summary=summary)


def _problem(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return f"{type(e).__name__}: {text[0][:200].rstrip('.')}" if text else type(e).__name__


def start(logger_cfg, run: RunDir, config: dict, group: str, tags: list, name: str) -> Tracker:
    """Start the W&B run for the run dir `run` (resuming the same W&B run id when the run dir resumes). W&B never
    costs the run: if it cannot start as asked (online without a login, a damaged run id file, ...), it
    logs offline instead, or not at all, with one warning line saying so."""
    from .rundir import Tracker

    if logger_cfg.name == "none" or logger_cfg.mode == "disabled":
        return Tracker()
    os.environ.setdefault("WANDB_SILENT", "true")
    modes = [logger_cfg.mode] + (["offline"] if logger_cfg.mode != "offline" else [])
    wandb_log = logging.getLogger("wandb")  # its traceback of a failed init: our warning line says it instead
    wandb_log.addFilter(_no_init_traceback)
    try:
        return _start(logger_cfg, run, config, group, tags, name, modes)
    finally:
        wandb_log.removeFilter(_no_init_traceback)


def _no_init_traceback(record: logging.LogRecord) -> bool:
    return record.getMessage() != "error in wandb.init()"


def _start(logger_cfg, run_dir: RunDir, config, group, tags, name, modes) -> Tracker:
    from .rundir import Tracker

    problems, run_id, note = [], None, None
    for mode in modes:
        run = None
        try:
            import wandb

            if run_id is None:
                run_id, note = _run_id(run_dir)
            run = wandb.init(
                project=logger_cfg.project,
                entity=logger_cfg.entity,
                group=group,
                job_type=logger_cfg.job_type,
                tags=list(tags),
                name=name,
                config=config,
                dir=str(run_dir.path),  # (W&B's own folder, wandb/, inside the run dir)
                mode=mode,
                id=run_id,
                resume="allow",
            )
            _define_metrics(run)
        except Exception as e:  # W&B's own errors, the network, a full disk: never the end of the run
            problems.append(f"{mode}: {_problem(e)}")
            if run is not None:
                try:
                    run.finish(exit_code=1)
                except Exception:
                    pass
            continue
        if problems:
            note = (note + "; " if note else "") + f"W&B {problems[0]}; logging {mode} instead"
        if note:
            log.warning("%s", note)
        log.info("W&B run %s (%s) in %s", run.id, mode, run.dir)
        return Tracker(run, replay=mode == "offline" and _drop_earlier_offline_dirs(run_dir.path, run_id, run.dir))
    log.warning("W&B could not start (%s)%s: training without W&B", "; ".join(problems), f"; {note}" if note else "")
    return Tracker()
