"""The one training loop: every experiment is this loop with a different config.

Read top to bottom: set up (device, data, model, optimizer, resume), then epochs of steps with an
evaluation and a checkpoint every few epochs, then the summary. Probes (curvature, ...) are plain
functions of the model (harness/probes.py); the loop only decides when the config wants them.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import platform
import signal
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from . import __version__, distributed, models, probes, rundir, schedules
from . import data as data_mod
from .progress import Progress
from .transforms import BatchTransform, input_shape

log = logging.getLogger(__name__)
rundir.git_commit()  # now, not when a run ends: the summary names the code that was imported
DONE = ("completed", "diverged")  # a run dir in one of these states is not trained again


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("device=cuda but torch.cuda.is_available() is False; use device=auto or cpu")
    return torch.device(name)


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"cpu ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"


@torch.inference_mode()  # no autograd bookkeeping at all (no_grad still tracks versions)
def evaluate(model, x_uint8, y, transform, batch_size: int, autocast, per_example: bool = False):
    """(mean cross-entropy, accuracy) over a whole split, in eval mode (BatchNorm running stats);
    with per_example, also the bool tensor of which examples were classified correctly."""
    if len(y) == 0:
        return (float("nan"), float("nan")) + ((torch.zeros(0, dtype=torch.bool),) if per_example else ())
    was_training = model.training
    model.eval()
    loss_sum = torch.zeros((), device=y.device)
    hits = []
    for i in range(0, len(y), batch_size):
        x = transform(x_uint8[i : i + batch_size], train=False)
        with autocast():
            out = model(x).float()
        loss_sum += F.cross_entropy(out, y[i : i + batch_size], reduction="sum")
        hits.append(out.argmax(1) == y[i : i + batch_size])
    model.train(was_training)
    hits = torch.cat(hits)
    result = (loss_sum.item() / len(y), hits.sum().item() / len(y))
    return result + (hits.cpu(),) if per_example else result


def target_reached(t, loss: float, acc: float, within: float = 0.0) -> str | None:
    """The stop rule a full-training-set evaluation meets (within `within` of it: accuracy points,
    or nats for the loss), or None."""
    if t.target_train_acc is not None and acc >= t.target_train_acc - within:
        return "target_train_acc"
    if t.target_train_loss is not None and loss <= t.target_train_loss + within:
        return "target_train_loss"
    return None


def packed_bits(hits: torch.Tensor) -> str:
    """Per-example correctness as hex of the packed bits (5,000 examples -> 1,250 characters)."""
    return np.packbits(hits.numpy().astype(np.uint8)).tobytes().hex()


class _SigtermFlag:
    """SIGTERM (schedulers, kill), SIGINT (Ctrl-C) and SIGUSR2 (SLURM pre-emption / time limit, as
    submitit asks for it) set a flag; the loop checkpoints and stops. `chain()` then hands a USR2
    to the handler that was there before (submitit's, which requeues the job and exits)."""

    SIGNALS = (signal.SIGTERM, signal.SIGUSR2, signal.SIGINT)  # SIGINT: Ctrl-C in a terminal

    def __init__(self):
        self.raised = None  # the signal number once one arrived
        self.previous = {}

    def __enter__(self):
        for sig in self.SIGNALS:
            with contextlib.suppress(ValueError):  # not the main thread: leave signals alone
                self.previous[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum, frame):
        log.warning("%s received: checkpointing after this step", signal.Signals(signum).name)
        self.raised = signum

    def chain(self):
        handler = self.previous.get(self.raised)
        if self.raised == signal.SIGUSR2 and callable(handler):
            log.warning("handing SIGUSR2 to the launcher's handler (requeue)")
            handler(self.raised, None)

    def __exit__(self, *exc):
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)


def prescreen_init(cfg, model, data, to_input, run_dir: Path, tracker) -> dict:
    """Replace the model's init by the pre-screened one (init.prescreen candidates; probes.prescreen_inits),
    leaving the global torch RNG as it was; record every candidate and the choice."""
    c = cfg.curvature
    x, y = probes.curvature_sample(data.train_x, data.train_y, to_input, c.sample_size, c.sample_seed)
    shape, device, rng = input_shape(cfg.data.preprocess), x.device, torch.get_rng_state()
    log.info("pre-screening %d initializations on %d images ...", cfg.init.prescreen, len(y))
    state, rows = probes.prescreen_inits(
        lambda: models.build(cfg.model, shape).to(device), x, y, cfg.init.prescreen, cfg.seed, c.bn_mode
    )
    torch.set_rng_state(rng)
    model.load_state_dict(state)
    chosen, own = next(r for r in rows if r["chosen"]), rows[0]
    record = {
        "candidates": rows,
        "summary": {
            "candidates": len(rows),
            "chosen": chosen["candidate"],
            "chosen_seed": chosen["seed"],
            "chosen_trace": chosen["trace"],
            "chosen_risk": chosen["risk"],
            "own_trace": own["trace"],
            "own_risk": own["risk"],
        },
    }
    rundir.write_json(run_dir / "prescreen.json", record)
    tracker.log({f"init/prescreen/{k}": v for k, v in record["summary"].items()}, step=0)
    log.info(
        "pre-screening: candidate %d of %d (trace %.4g, risk %.4g; the run's own init: trace %.4g, risk %.4g)",
        chosen["candidate"],
        len(rows),
        chosen["trace"],
        chosen["risk"],
        own["trace"],
        own["risk"],
    )
    return record


def train(cfg, run_dir: Path, tracker, data: data_mod.DeviceData | None = None) -> dict:
    """Train as `cfg` says, writing into `run_dir`; return the summary (also in summary.json).

    `data` may be passed in by a caller that runs many jobs on the same dataset in one process.
    """
    run_dir = Path(run_dir)
    t = cfg.trainer
    previous = rundir.read_json(run_dir / rundir.SUMMARY)
    # A run that ran out of time budget goes on when asked again with a larger budget.
    more_time = (
        previous
        and previous.get("stop_reason") == "time_budget"
        and (t.time_budget_s is None or t.time_budget_s > previous["wall_time_s"])
    )
    if previous and previous.get("status") in DONE and not more_time:
        log.info("run dir %s is already %s: not training again", run_dir, previous["status"])
        return previous

    device = resolve_device(cfg.device)
    cuda = device.type == "cuda"
    if data is None:
        data = data_mod.prepare(cfg.data, device)
    transform = BatchTransform(
        cfg.data.preprocess, cfg.data.augment.crop, cfg.data.augment.flip, data.channel_mean, data.channel_std
    )
    torch.manual_seed(cfg.seed)
    model = models.build(cfg.model, input_shape(cfg.data.preprocess)).to(device)
    if cuda and t.channels_last:
        model = model.to(memory_format=torch.channels_last)
    optimizer = torch.optim.SGD(
        model.parameters(),
        lr=cfg.optimizer.lr,
        momentum=cfg.optimizer.momentum,
        nesterov=cfg.optimizer.nesterov,
        weight_decay=cfg.optimizer.weight_decay,
    )
    world = distributed.world_size()
    forward = model
    if world > 1:
        from torch.nn.parallel import DistributedDataParallel

        forward = DistributedDataParallel(model)
    forward = torch.compile(forward) if t.compile else forward
    generator = torch.Generator(device=device).manual_seed(cfg.seed)  # batch order and augmentation

    def autocast():
        return torch.autocast("cuda", dtype=torch.bfloat16, enabled=cuda and t.amp)

    def as_model_input(x):
        return x.contiguous(memory_format=torch.channels_last) if cuda and t.channels_last and x.dim() == 4 else x

    def to_input(x_uint8, train, gen=None):
        return as_model_input(transform(x_uint8, train=train, generator=gen))

    packed = transform.packed(data.train_x)  # cropped batches in one gather: no per-batch pad or index math

    def train_input(idx):
        if packed is None:
            return to_input(data.train_x[idx], True, generator)
        return as_model_input(transform.train_batch(packed, idx, generator))

    # Resume: everything that decides the next step is in the checkpoint.
    epoch, step, position, perm, elapsed = 0, 0, 0, None, 0.0
    epoch_loss_sum, epoch_batches = torch.zeros((), device=device), 0  # mean train-mode loss of the epoch
    checkpoint = rundir.load_checkpoint(run_dir, map_location=device)
    if checkpoint is not None:
        model.load_state_dict(checkpoint["model"])
        optimizer.load_state_dict(checkpoint["optimizer"])
        generator.set_state(checkpoint["generator"].cpu())
        epoch, step, position = checkpoint["epoch"], checkpoint["step"], checkpoint["position"]
        perm, elapsed = checkpoint.get("perm"), checkpoint["elapsed_s"]
        epoch_loss_sum, epoch_batches = checkpoint["epoch_loss_sum"], checkpoint["epoch_batches"]
        history = rundir.truncate_metrics(run_dir, step)
        log.info("resumed from %s at epoch %d, step %d", run_dir / rundir.CHECKPOINT, epoch, step)
    else:  # from scratch: whatever an earlier attempt wrote before its first checkpoint is not history
        history = rundir.truncate_metrics(run_dir, -1)
    prescreen = rundir.read_json(run_dir / "prescreen.json") or {}
    if cfg.init.prescreen and checkpoint is None:  # (a resumed run has its init in the checkpoint)
        prescreen = prescreen_init(cfg, model, data, to_input, run_dir, tracker)
    # the last full-train-set accuracy an uninterrupted run would have seen: drives fine evaluation
    last_train = next(((m["train/loss"], m["train/acc"]) for m in reversed(history) if "train/acc" in m), None)
    has_target = t.target_train_acc is not None or t.target_train_loss is not None
    fine_within = t.fine_eval_within if has_target else None  # read once, not per step
    fine_every = t.fine_eval_every_steps
    grad_every = t.grad_norms_every_steps  # None: off (one comparison per step)

    def save_checkpoint():
        rundir.save_checkpoint(
            run_dir,
            {
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "generator": generator.get_state(),
                "epoch": epoch,
                "step": step,
                "position": position,
                "perm": perm,
                "elapsed_s": elapsed + time.perf_counter() - started,
                "epoch_loss_sum": epoch_loss_sum,
                "epoch_batches": epoch_batches,
            },
        )

    n_train = len(data.train_y)
    last_eval: dict = {}
    final_hits: dict = {}  # split -> which examples the last evaluation got right (trainer.save_predictions)
    c = cfg.curvature
    wants_probe = bool(c.at or c.every_epochs or c.alphas)
    sample = (
        probes.curvature_sample(data.train_x, data.train_y, to_input, c.sample_size, c.sample_seed)
        if wants_probe
        else None
    )
    # The init probe is measured once, before the first step, and kept with the run (resume-safe).
    init_probe = rundir.read_json(run_dir / "probe_init.json") or {}
    if init_probe and checkpoint is None:  # measured by an attempt that died before its first checkpoint
        rundir.append_metrics(run_dir, probes.finite(init_probe))
    if "init" in c.at and not init_probe and checkpoint is None:
        log.info("Hessian probe at init on %d images ...", len(sample[1]))
        init_probe = {f"init/{k}": v for k, v in probes.hessian_probe(model, *sample, c).items()}
        init_probe["step"] = 0
        rundir.write_json(run_dir / "probe_init.json", probes.finite(init_probe))
        rundir.append_metrics(run_dir, probes.finite(init_probe))
        tracker.log(init_probe, step=0)
        log.info(
            "at init: top eigenvalue %.4g, trace %.4g",
            init_probe["init/hessian/top_eig"],
            init_probe.get("init/hessian/trace", float("nan")),
        )
    images_seen, train_time, eval_time = 0, 0.0, 0.0

    def run_eval():
        nonlocal last_eval, last_train, eval_time
        eval_started = time.perf_counter()
        record = {
            "step": step,
            "epoch": epoch + position / schedules.steps_per_epoch(n_train, batch_size),
            "lr": lr,
            "batch_size": batch_size,
            "noise_scale": schedules.noise_scale(lr, n_train, batch_size, cfg.optimizer.momentum),
        }
        splits = {"train": (data.train_x, data.train_y), "test": (data.test_x, data.test_y)}
        if len(data.val_y):
            splits["val"] = (data.val_x, data.val_y)
        for split, (x, y) in splits.items():
            per_example = t.save_predictions and split != "train"
            loss, acc, *hits = evaluate(
                forward, x, y, lambda b, train: to_input(b, train), t.eval_batch_size, autocast, per_example
            )
            record[f"{split}/loss"], record[f"{split}/acc"] = loss, acc
            if per_example:
                final_hits[split] = hits[0]
        record["gen_gap/loss"] = record["test/loss"] - record["train/loss"]
        record["gen_gap/err"] = record["train/acc"] - record["test/acc"]  # test error - train error
        if epoch_batches:
            record["train/epoch_loss"] = epoch_loss_sum.item() / epoch_batches
        if c.every_epochs and epoch % c.every_epochs == 0 and position == 0:
            record.update(probes.hessian_probe(model, *sample, c))
        record["wall_time_s"] = elapsed + time.perf_counter() - started
        eval_time += time.perf_counter() - eval_started
        rundir.append_metrics(run_dir, probes.finite(record))
        tracker.log(record, step=step)
        progress.evaluated(record)
        last_eval = record
        last_train = record["train/loss"], record["train/acc"]

    def near_target() -> bool:
        """Time to fit at step resolution: close to the target, the full training set is evaluated
        every few steps instead of once per epoch."""
        return (
            fine_within is not None
            and step % fine_every == 0
            and last_train is not None
            and target_reached(t, *last_train, within=fine_within) is not None
        )

    def fine_eval() -> str | None:
        nonlocal last_train, eval_time
        eval_started = time.perf_counter()
        loss, acc = evaluate(
            forward, data.train_x, data.train_y, lambda b, train: to_input(b, train), t.eval_batch_size, autocast
        )
        eval_time += time.perf_counter() - eval_started
        record = {
            "step": step,
            "epoch": epoch + position / steps,
            "train/loss": loss,
            "train/acc": acc,
            "fine_eval": True,
        }
        rundir.append_metrics(run_dir, record)
        tracker.log(record, step=step)
        last_train = loss, acc
        return target_reached(t, loss, acc)

    def save_predictions():
        """Which val and test examples the final model gets right (from its last evaluation, which a
        completed run always has at its last step), for resampling validation sets (C4)."""
        out = {"val_size": len(data.val_y), "test_size": len(data.test_y)}
        for split in ("val", "test"):
            out[f"{split}_correct"] = packed_bits(final_hits.get(split, torch.zeros(0, dtype=torch.bool)))
        rundir.write_json(run_dir / "predictions.json", out)
        return "predictions.json"

    def finish(status, stop_reason):
        wall = elapsed + time.perf_counter() - started
        summary = {k.replace("/", "_"): v for k, v in {**init_probe, **last_eval}.items() if k != "step"}
        if prescreen:
            summary.update({f"prescreen_{k}": v for k, v in prescreen["summary"].items()})
        if c.alphas and status == "completed":
            rows = probes.reparameterization_rows(model, *sample, to_input(data.test_x, False), data.test_y, c)
            rundir.write_json(run_dir / "reparameterization.json", [probes.finite(r) for r in rows])
            summary["reparameterization"] = "reparameterization.json"
        if cfg.adversarial.eps_255 and status == "completed":
            split = (data.test_x, data.test_y) if cfg.adversarial.split == "test" else (data.train_x, data.train_y)
            rows, example = probes.adversarial_rows(
                model, transform.pixels, transform.normalize, *split, cfg.adversarial
            )
            rundir.write_json(run_dir / "adversarial.json", rows)
            rundir.atomic_write(run_dir / "adversarial_example.npz", lambda f: np.savez_compressed(f, **example))
            summary.update({f"adv_{r['attack']}_acc_eps{r['eps_255']:g}": r["accuracy"] for r in rows if r["eps_255"]})
            summary["adv_clean_acc"] = rows[0]["accuracy"]
            summary["adversarial"] = "adversarial.json"
        if t.save_predictions and status == "completed":
            summary["predictions"] = save_predictions()
        summary.update(
            {
                "status": status,
                "stop_reason": stop_reason,
                "diverged": status == "diverged",
                "steps": step,
                "epochs": epoch + position / schedules.steps_per_epoch(n_train, batch_size),
                "wall_time_s": wall,
                "train_images_per_s": images_seen / train_time if train_time else None,
                # this process's seconds in training steps and in the evaluations (of a resumed
                # run: since the resume), so the share of time spent evaluating can be read off
                "train_time_s": train_time,
                "eval_time_s": eval_time,
                "num_parameters": models.num_parameters(model),
                "device": device_name(device),
                # at the run's initial lr and batch size: the x-axis of Smith & Le's collapse plots
                "noise_scale": schedules.noise_scale(
                    cfg.optimizer.lr, n_train, min(base_batch_size, n_train), cfg.optimizer.momentum
                ),
                "base_batch_size": base_batch_size,  # trainer.batch_size, or as schedule.keep_noise_scale set it
                "torch_version": torch.__version__,
                "harness_version": __version__,
                "git_commit": rundir.git_commit(),
                "package_versions": rundir.package_versions(),
                "run_dir": str(run_dir),
                **{f"data_{k}": v for k, v in data.info.items()},
                # where it ran: SLURM job (array) ids and how often it was requeued, else None
                **{
                    f"slurm_{k.lower()}": os.environ.get(f"SLURM_{k}")
                    for k in ("JOB_ID", "ARRAY_JOB_ID", "ARRAY_TASK_ID", "RESTART_COUNT")
                },
            }
        )
        rundir.write_json(run_dir / rundir.SUMMARY, summary)
        tracker.summary(summary)
        return summary

    base_batch_size = schedules.batch_size_keeping_noise_scale(
        cfg.schedule, cfg.optimizer.lr, n_train, t.batch_size, cfg.optimizer.momentum
    )
    if cfg.schedule.keep_noise_scale:
        log.info(
            "schedule.keep_noise_scale: batch size %d -> %d (noise scale eps N / (B (1 - m)) = %.4g)",
            t.batch_size,
            base_batch_size,
            cfg.optimizer.lr * n_train / (base_batch_size * (1 - cfg.optimizer.momentum)),
        )
    progress = Progress(t.progress, t.max_epochs, t.log_every_s)
    started = time.perf_counter()
    stop_reason = None
    model.train()
    with _SigtermFlag() as sigterm:
        while stop_reason is None:
            lr, batch_size = schedules.lr_and_batch_size(
                cfg.schedule, cfg.optimizer.lr, base_batch_size, epoch, t.max_epochs
            )
            if epoch >= t.max_epochs:
                stop_reason = "max_epochs"
                break
            for group in optimizer.param_groups:
                group["lr"] = lr
            steps = schedules.steps_per_epoch(n_train, batch_size)
            batch_size = min(batch_size, n_train)
            if perm is None:
                perm = torch.randperm(n_train, device=device, generator=generator)
                epoch_loss_sum, epoch_batches = torch.zeros((), device=device), 0
            progress.start_epoch(epoch, steps, position)
            tick = time.perf_counter()
            while position < steps:
                idx = perm[position * batch_size : (position + 1) * batch_size]
                x, y = train_input(idx), data.train_y[idx]
                # this rank's shard (the whole batch in one process); DDP averages over ranks,
                # hence sum / batch * world: the global batch's mean loss, also for unequal shards
                lo, hi = distributed.shard(len(idx))
                with autocast():
                    loss = F.cross_entropy(forward(x[lo:hi]).float(), y[lo:hi], reduction="sum") / len(idx) * world
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                if grad_every and step % grad_every == 0:  # the gradient update `step + 1` uses (step 1: at init)
                    norms = {"step": step + 1, **probes.gradient_norms(model)}
                    rundir.append_metrics(run_dir, norms)
                    tracker.log(norms, step=step + 1)
                optimizer.step()
                if world > 1:  # the global batch's loss, and a stop signal that any rank received
                    shared = distributed.all_reduce_sum(
                        torch.stack([loss.detach() / world, torch.tensor(float(bool(sigterm.raised)), device=device)])
                    )
                    loss = shared[0]
                    if shared[1] > 0 and not sigterm.raised:
                        sigterm.raised = signal.SIGTERM
                step, position = step + 1, position + 1
                epoch_loss_sum += loss.detach()
                epoch_batches += 1
                images_seen += len(idx)
                progress.step(position, loss.item)
                if (not cuda or position % 20 == 0 or position == steps) and not math.isfinite(loss.item()):
                    stop_reason = "diverged"
                    break
                if near_target() and position < steps:
                    stop_reason = fine_eval()
                    if stop_reason is not None:
                        break  # (a signal at this step is handled after the epoch: the run is done)
                if sigterm.raised or step == t.interrupt_at_step:
                    train_time += time.perf_counter() - tick
                    progress.end_epoch()
                    save_checkpoint()
                    log.warning(
                        "interrupted at step %d; checkpoint in %s: re-run the same command "
                        "with hydra.run.dir=%s to resume",
                        step,
                        run_dir,
                        run_dir,
                    )
                    summary = finish(
                        "interrupted",
                        {signal.SIGUSR2: "preempted", signal.SIGINT: "sigint"}.get(sigterm.raised, "sigterm"),
                    )
                    sigterm.chain()
                    return summary
                over_time = t.time_budget_s and elapsed + time.perf_counter() - started >= t.time_budget_s
                if (t.max_steps and step >= t.max_steps) or over_time:
                    stop_reason = "max_steps" if t.max_steps and step >= t.max_steps else "time_budget"
                    break
            train_time += time.perf_counter() - tick
            progress.end_epoch()
            if stop_reason == "diverged":
                log.warning("non-finite loss at step %d: run diverged", step)
                return finish("diverged", "diverged")
            if position >= steps:
                epoch, position, perm = epoch + 1, 0, None
            if stop_reason is not None or epoch % t.eval_every_epochs == 0 or epoch >= t.max_epochs:
                run_eval()
                stop_reason = target_reached(t, last_eval["train/loss"], last_eval["train/acc"]) or stop_reason
            if stop_reason is not None or epoch % t.checkpoint_every_epochs == 0:
                save_checkpoint()
        if not last_eval or last_eval["step"] != step:  # e.g. resumed a run that had already stopped
            run_eval()
            save_checkpoint()
        if "end" in c.at and "hessian/top_eig" not in last_eval:
            end_probe = probes.hessian_probe(model, *sample, c)
            last_eval.update(end_probe)
            rundir.append_metrics(run_dir, probes.finite({"step": step, **end_probe}))
            tracker.log(end_probe, step=step)
    log.info("finished (%s): train acc %.4f, test acc %.4f", stop_reason, last_eval["train/acc"], last_eval["test/acc"])
    return finish("completed", stop_reason)
