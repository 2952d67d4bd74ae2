"""The command line: `python -m harness experiment=<name> [overrides]` (Hydra)."""

from __future__ import annotations

import logging
import os
import secrets
import sys
import warnings
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from . import tracking
from .config import base_defaults, validate
from .errors import ConfigError, DataError, DataNotFoundError, RunDirError

log = logging.getLogger("harness")
_stage = ""  # what the current run is doing, for a Ctrl-C outside the training loop (which checkpoints)

# configs/hydra/launcher/{joblib,submitit_*}.yaml set this project's defaults over the launcher plugins'
# schemas of the same name, which Hydra still supports but warns about on every compose, three times
# per sweep and again in every joblib worker (this module is what a worker imports to run a job)
warnings.filterwarnings("ignore", r"\s*'hydra/launcher/\w+' is validated against ConfigStore schema", UserWarning)


def _uid() -> str:
    """A short random id for run/sweep dir names: two sweeps started in the same second differ.

    Kept in the environment so that every process of one sweep (joblib workers, SLURM jobs,
    which inherit it) resolves the sweep dir to the same name.
    """
    elastic = os.environ.get("TORCHELASTIC_RUN_ID", "none")  # torchrun --standalone: the same on every rank
    return os.environ.setdefault("HARNESS_RUN_UID", elastic[:6] if elastic != "none" else secrets.token_hex(3))


def register_resolvers() -> None:
    if not OmegaConf.has_resolver("uid"):
        OmegaConf.register_new_resolver("uid", _uid, use_cache=True)


def _hydra_run_info() -> tuple[Path | None, str | None]:
    """(output dir, sweep id) of the current Hydra job, or (None, None) outside Hydra."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    if not HydraConfig.initialized():
        return None, None
    hc = HydraConfig.get()
    sweep = Path(hc.sweep.dir).name if hc.mode == RunMode.MULTIRUN else None
    return Path(hc.runtime.output_dir), sweep


def _launcher_is(name: str) -> bool:
    from hydra.core.hydra_config import HydraConfig

    return HydraConfig.initialized() and name in str(HydraConfig.get().launcher.get("_target_", ""))


def _share_the_machine() -> None:
    """Under the joblib launcher several jobs share this machine: give each CPU cores / n_jobs
    torch threads (no oversubscription) and, with several GPUs, GPU (job number mod GPU count)."""
    from hydra.core.hydra_config import HydraConfig

    if not _launcher_is("JoblibLauncher"):
        return
    import torch

    hc = HydraConfig.get()
    launcher = hc.launcher
    cores = os.cpu_count() or 1
    n_jobs = launcher.n_jobs if launcher.n_jobs and launcher.n_jobs > 0 else cores
    torch.set_num_threads(max(1, cores // n_jobs))
    if torch.cuda.device_count() > 1:
        torch.cuda.set_device(int(hc.job.num) % torch.cuda.device_count())
    log.info(
        "joblib job %s: %d torch threads%s",
        hc.job.num,
        torch.get_num_threads(),
        f", GPU {torch.cuda.current_device()}" if torch.cuda.device_count() > 1 else "",
    )


def run(cfg: DictConfig, run_dir: Path | None = None, data=None) -> dict:
    """Validate the config, then load and check the data, then take the run dir (lock, identity:
    config and data), and only then write into it and train (into the Hydra job's output dir by
    default); return the summary. A refused command writes nothing into an existing run dir."""
    global _stage
    _stage = "checking the config"
    cfg = validate(cfg)  # before any data is touched; typed from here on
    hydra_dir, sweep = _hydra_run_info()
    _check_output_dir()
    from . import rundir
    from .train import data as data_mod
    from .train import distributed, trainer  # torch is imported here, after the config is known to be good

    _share_the_machine()
    import torch

    if cfg.device == "cuda" and not torch.cuda.is_available():
        raise ConfigError("invalid config: device='cuda'; allowed: auto | cpu (no CUDA GPU is visible here)")
    device = trainer.resolve_device(cfg.device)
    distributed.init(device.type)
    _stage = "loading the data"
    data = data if data is not None else data_mod.prepare(cfg.data, device)  # bad data: refused here
    _stage = "checking the run dir"
    # under torchrun every rank uses rank 0's run dir; only rank 0 writes it and the W&B run
    run_dir = Path(distributed.broadcast(str(run_dir or hydra_dir or "runs/unnamed")))
    if not distributed.is_main():
        logging.getLogger().setLevel(logging.WARNING)
        cfg.logger.name = "none"
    if run_dir.exists() and not run_dir.is_dir():
        raise RunDirError(f"run dir {run_dir} is a file; choose another (hydra.run.dir=...)")
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise rundir.unwritable(run_dir, e) from None
    resolved, run = OmegaConf.to_container(cfg, resolve=True), rundir.RunDir(run_dir)
    run.lock()  # before anything is read or written: one process per run dir
    try:
        run.check(resolved, base_defaults, data.info, cfg.data.get("root"), trainer.model_shapes(cfg))
        run.claim(resolved, _job_overrides(), {**data.info, "root": cfg.data.get("root")})
        _stage = f"training (run dir {run_dir})"
        return _train(cfg, run, resolved, sweep, data)
    finally:
        run.unlock()


def _check_output_dir() -> None:
    """A run dir that resolves to nothing (`hydra.run.dir=${oc.env:EMPTY}`) would put the run into the current
    directory: refused before anything is written (a literally empty one: __main__.hydra_main)."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    if not HydraConfig.initialized() or HydraConfig.get().mode != RunMode.RUN:
        return
    hc = HydraConfig.get()
    value = OmegaConf.select(hc, "run.dir")
    if value is None or not str(value).strip():
        raw = OmegaConf.to_container(hc.run, resolve=False).get("dir")
        raise ConfigError(
            f"invalid config: hydra.run.dir={value!r} (from {raw!r}); allowed: a directory path "
            "(an empty one would put the run into the current directory)"
        )


def _job_overrides() -> list:
    """The command's own overrides for this job (Hydra's), [] outside Hydra."""
    from hydra.core.hydra_config import HydraConfig

    return list(HydraConfig.get().overrides.task) if HydraConfig.initialized() else []


def _train(cfg, run, resolved, sweep, data):
    from .train import trainer

    _one_job_of_a_sweep(cfg)  # (logged here, in the run's own log, not into a dir a refused command found)
    group = cfg.logger.get("group") or cfg.name
    if sweep:
        group = f"{group}-{sweep}"
    from .workspace import experiment_tag  # its W&B workspace filters its runs by this tag

    tags = [*cfg.tags, experiment_tag(cfg.name)]
    run.tracker = tracking.start(cfg.logger, run, resolved, group, tags, name=run.name)
    exit_code = 1
    try:
        summary = trainer.train(cfg, run, data=data)
        exit_code = 0
    finally:
        run.tracker.finish(exit_code)  # also when training raised: the W&B run is never left open
    log.info("results in %s (summary.json, metrics.jsonl)", run.path)
    return summary


def _remove_if_untouched(run_dir: Path | None) -> None:
    """A refused run leaves nothing behind: Hydra made its output dir (.hydra/, the log) before the
    config was checked; remove it when that is all it holds (an existing run's dir is kept)."""
    if run_dir is None or not run_dir.is_dir() or run_dir.resolve() == Path.cwd().resolve():
        return
    if {p.name for p in run_dir.iterdir()} <= {".hydra", "harness.log"}:
        import shutil

        logging.shutdown()  # close the log file before its folder goes
        shutil.rmtree(run_dir, ignore_errors=True)


def _one_job_of_a_sweep(cfg: DictConfig) -> None:
    """An experiment that defines a sweep, run without -m, runs one of its jobs: say so, and how to run all."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    if not HydraConfig.initialized() or HydraConfig.get().mode != RunMode.RUN:
        return
    hc = HydraConfig.get()
    params, experiment = dict(hc.sweeper.get("params") or {}), hc.runtime.choices.get("experiment")
    if params and experiment:
        swept = "; ".join(f"{k}={v}" for k, v in params.items())
        log.warning(
            "experiment=%s defines a sweep (%s): this runs one job of it. For the whole sweep: "
            "python -m harness -m experiment=%s",
            experiment,
            swept,
            experiment,
        )


def main(cfg: DictConfig):
    try:
        summary = run(cfg)
    except KeyboardInterrupt:  # Ctrl-C outside the training loop (which checkpoints and stops by itself)
        if _stage.startswith("training"):
            print(f"error: interrupted (Ctrl-C) while {_stage}; the same command resumes it", file=sys.stderr)
        else:
            print(f"error: interrupted (Ctrl-C) while {_stage}; nothing was trained", file=sys.stderr)
            _remove_if_untouched(_hydra_run_info()[0])
        _stop_process(130)
    except (ConfigError, DataNotFoundError, DataError, RunDirError) as e:
        print(f"error: {e}", file=sys.stderr)
        job_dir, sweep = _hydra_run_info()
        if sweep is None:
            _remove_if_untouched(job_dir)
            sys.exit(2)
        # one bad job of a multirun (its data, say: every job's config was checked before the sweep
        # began): recorded as invalid in its own new dir, never over a dir a run owns; the sweep goes on
        from . import rundir

        if not isinstance(e, RunDirError):
            rundir.RunDir(job_dir).refused(OmegaConf.to_yaml(cfg), str(e))
        return None
    if summary.get("status") == "interrupted":
        # 128 + the signal: schedulers see the job as pre-empted, a shell as Ctrl-C'd, not completed
        _stop_process(130 if summary.get("stop_reason") == "sigint" else 143)
    print(
        f"{summary['status']} ({summary['stop_reason']}): train acc {summary.get('train_acc', float('nan')):.4f}, "
        f"test acc {summary.get('test_acc', float('nan')):.4f}, {summary['epochs']:.1f} epochs, "
        f"{summary['wall_time_s']:.0f} s -> {summary['run_dir']}"
    )
    late = _late_stop_signal()
    if late is not None:
        # the signal came in the step that reached the target, the final evaluation or end probes: the run is
        # complete, but the process was asked to stop, so its sweep must not start the next run
        log.warning("%s arrived as the run finished: the run is complete; stopping", late.name)
        _stop_process(128 + late)
    return summary.get("val_acc", summary.get("test_acc"))  # the objective for Hydra sweepers


def _late_stop_signal():
    """SIGTERM / SIGINT received by a run that completed anyway (a USR2, the scheduler's warning
    before a time limit, needs nothing once the run is done)."""
    import signal

    from .train import trainer

    signum = trainer.stop_signal()
    return signal.Signals(signum) if signum in (signal.SIGTERM, signal.SIGINT) else None


def _stop_process(code: int):
    if _launcher_is("JoblibLauncher"):
        # a joblib worker would catch the SystemExit and take the next queued run, training on
        # after the sweep it belongs to has stopped: end the worker itself (all is written by now)
        logging.shutdown()
        sys.stdout.flush()
        os._exit(code)
    sys.exit(code)
