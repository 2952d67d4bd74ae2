"""The one training loop: every experiment is this loop with a different config.

Read `train` top to bottom: set up (device, data, model, optimizer, the `TrainState`, resumed from
the checkpoint if there is one), then epochs of steps with an `Evaluator` record and a checkpoint
every few epochs, then the summary. Probes (curvature, attacks, ...) are plain functions of the
model (harness/probes/__init__.py); the loop only decides when the config wants them, and what a completed
run measures at its end is one call (`probes.end_of_run`).
"""

from __future__ import annotations

import contextlib
import logging
import math
import platform
import signal
import time

import numpy as np
import torch
import torch.nn.functional as F

from .. import probes, rundir
from ..names import FILES, M, S, summary_key
from ..probes.modes import eval_mode
from . import data as data_mod
from . import distributed, models, parts, schedules
from .progress import Progress, stop_rule
from .state import TrainState
from .transforms import input_shape

log = logging.getLogger(__name__)
rundir.git_commit()  # now, not when a run ends: the summary names the code that was imported
DONE = ("completed", "diverged")  # a run dir in one of these states is not trained again


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("device=cuda but torch.cuda.is_available() is False; use device=auto or cpu")
    return torch.device(name)


def model_shapes(cfg) -> dict | None:
    """The names and shapes of the model's weights, from a model built on the meta device (no memory, no
    init draws): what a checkpoint of this run holds. None where it cannot be built there."""
    try:
        with torch.device("meta"):
            model = models.build(cfg.model, input_shape(cfg.data.preprocess))
    except Exception:  # an init without a meta kernel: the restore itself checks the checkpoint, later
        return None
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}


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
    with eval_mode(model):
        loss_sum = torch.zeros((), device=y.device)
        hits = []
        for i in range(0, len(y), batch_size):
            x = transform(x_uint8[i : i + batch_size], train=False)
            with autocast():
                out = model(x).float()
            loss_sum += F.cross_entropy(out, y[i : i + batch_size], reduction="sum")
            hits.append(out.argmax(1) == y[i : i + batch_size])
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


_stop_signal = None  # the signal that arrived during the last run, even one too late to stop it


def stop_signal() -> int | None:
    """The stop signal the last run received, also when it came too late to interrupt it (in the
    step that reached a target, the final evaluation or end probes: the run then completes). The process was still
    asked to stop: a sweep must not go on to its next run."""
    return _stop_signal


class _SigtermFlag:
    """SIGTERM (schedulers, kill), SIGINT (Ctrl-C) and SIGUSR2 (SLURM pre-emption / time limit, as
    submitit asks for it) set a flag; the loop checkpoints and stops. `chain()` then hands a USR2
    to the handler that was there before (submitit's, which requeues the job and exits)."""

    SIGNALS = (signal.SIGTERM, signal.SIGUSR2, signal.SIGINT)  # SIGINT: Ctrl-C in a terminal

    def __init__(self):
        self.raised = None  # the signal number once one arrived
        self.previous = {}

    def __enter__(self):
        global _stop_signal
        _stop_signal = None
        for sig in self.SIGNALS:
            with contextlib.suppress(ValueError):  # not the main thread: leave signals alone
                self.previous[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum, frame):
        global _stop_signal
        log.warning("%s received: checkpointing after this step", signal.Signals(signum).name)
        self.raised = _stop_signal = signum

    def chain(self):
        handler = self.previous.get(self.raised)
        if self.raised == signal.SIGUSR2 and callable(handler):
            log.warning("handing SIGUSR2 to the launcher's handler (requeue)")
            handler(self.raised, None)

    def __exit__(self, *exc):
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)


def prescreen_init(cfg, model, data, to_input, run: rundir.RunDir) -> dict:
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
    run.write_result(FILES.PRESCREEN, record)
    run.track({f"init/prescreen/{k}": v for k, v in record["summary"].items()}, step=0)
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


class Evaluator:
    """Whole-split evaluations (eval mode, timed into the state's eval_time): the evaluation record
    every few epochs, and the training set alone near a target (time to fit at step resolution)."""

    def __init__(self, cfg, forward, data, to_input, autocast, n_train: int):
        self.cfg, self.forward, self.data, self.autocast, self.n_train = cfg, forward, data, autocast, n_train
        self.to_input = to_input
        self.final_hits: dict = {}  # split -> which examples the last evaluation got right (save_predictions)

    def _split(self, x, y, per_example=False):
        return evaluate(self.forward, x, y, self.to_input, self.cfg.trainer.eval_batch_size, self.autocast, per_example)

    def record(self, state, lr: float, batch_size: int) -> dict:
        """The evaluation record: every split's loss and accuracy, the gaps, the schedule's values."""
        started, d, t = time.perf_counter(), self.data, self.cfg.trainer
        record = {
            M.STEP: state.step,
            M.EPOCH: state.epochs(schedules.steps_per_epoch(self.n_train, batch_size)),
            M.LR: lr,
            M.BATCH_SIZE: batch_size,
            M.NOISE_SCALE: schedules.noise_scale(lr, self.n_train, batch_size, self.cfg.optimizer.momentum),
        }
        splits = {"train": (d.train_x, d.train_y), "test": (d.test_x, d.test_y)}
        if len(d.val_y):
            splits["val"] = (d.val_x, d.val_y)
        for split, (x, y) in splits.items():
            per_example = t.save_predictions and split != "train"
            loss, acc, *hits = self._split(x, y, per_example)
            record[M.loss(split)], record[M.acc(split)] = loss, acc
            if per_example:
                self.final_hits[split] = hits[0]
        record[M.GAP_LOSS] = record[M.TEST_LOSS] - record[M.TRAIN_LOSS]
        record[M.GAP_ERR] = record[M.TRAIN_ACC] - record[M.TEST_ACC]  # test error - train error
        if state.epoch_batches:
            record[M.EPOCH_LOSS] = state.epoch_loss()
        state.eval_time += time.perf_counter() - started
        return record

    def train_only(self, state, steps_per_epoch: int) -> dict:
        started = time.perf_counter()
        loss, acc = self._split(self.data.train_x, self.data.train_y)
        state.eval_time += time.perf_counter() - started
        return {
            M.STEP: state.step,
            M.EPOCH: state.epochs(steps_per_epoch),
            M.TRAIN_LOSS: loss,
            M.TRAIN_ACC: acc,
            M.FINE_EVAL: True,
        }

    def complete_final_hits(self) -> None:
        """A run resumed after its last evaluation (killed in its end-of-run probes) has the hits of that
        evaluation from the same weights, measured now."""
        d = self.data
        for split, (x, y) in {"val": (d.val_x, d.val_y), "test": (d.test_x, d.test_y)}.items():
            if split not in self.final_hits and len(y):
                self.final_hits[split] = self._split(x, y, per_example=True)[2]

    def save_predictions(self, run: rundir.RunDir) -> str:
        """Which val and test examples the final model gets right (from its last evaluation, which a
        completed run always has at its last step), for resampling validation sets (C4)."""
        out = {"val_size": len(self.data.val_y), "test_size": len(self.data.test_y)}
        for split in ("val", "test"):
            out[f"{split}_correct"] = packed_bits(self.final_hits.get(split, torch.zeros(0, dtype=torch.bool)))
        run.write_result(FILES.PREDICTIONS, out)
        return FILES.PREDICTIONS


def _already_done(run: rundir.RunDir, t) -> dict | None:
    """The summary of a finished run (not trained again), unless it ran out of its time budget and
    is asked again with a larger one (it then goes on)."""
    previous = run.summary()
    more_time = (
        previous
        and previous.get("stop_reason") == "time_budget"
        and (t.time_budget_s is None or t.time_budget_s > previous[S.WALL_TIME])
    )
    if previous and previous.get("status") in DONE and not more_time:
        log.info("run dir %s is already %s: not training again", run.path, previous["status"])
        return previous
    return None


def _evaluation_at(history: list, step: int) -> dict:
    """The evaluation record at `step` (with the probes recorded at that step after it: the end probe), or {}."""
    at = [r for r in history if r[M.STEP] == step and not r.get(M.FINE_EVAL)]
    last = max((i for i, r in enumerate(at) if M.TEST_ACC in r), default=None)
    return {k: v for r in at[last:] for k, v in r.items()} if last is not None else {}


def _init_probe(cfg, model, sample, run: rundir.RunDir, resumed: bool) -> dict:
    """The Hessian probe at init: measured once, before the first step, and kept with the run."""
    probe = run.read_result(FILES.PROBE_INIT) or {}
    if probe and not resumed:  # measured by an attempt that died before its first checkpoint
        run.record(probe)
    if "init" in cfg.curvature.at and not probe and not resumed:
        log.info("Hessian probe at init on %d images ...", len(sample[1]))
        probe = {M.at_init(k): v for k, v in probes.curvature_probe(model, *sample, cfg.curvature).items()}
        probe[M.STEP] = 0
        run.write_result(FILES.PROBE_INIT, probe)
        run.record(probe)
        log.info("at init: top eigenvalue %.4g, trace %.4g", probe[M.at_init(M.curvature("top_eig"))],
                 probe.get(M.at_init(M.curvature("trace")), float("nan")))  # fmt: skip
    return probe


class _Run:
    """One run's bookkeeping around the loop: the resumed state, the probes at init, the evaluation
    records (metrics.jsonl + the tracker, which the run dir owns) and the summary. The loop in `train` calls it."""

    def __init__(self, cfg, run: rundir.RunDir, data, parts, state: TrainState):
        self.cfg, self.run, self.data, self.p, self.s = cfg, run, data, parts, state
        t, c, o = cfg.trainer, cfg.curvature, cfg.optimizer
        self.n_train = n_train = len(data.train_y)
        # everything that decides the next step is in the checkpoint
        resumed_from = run.restore(state.restore, map_location=parts.device)
        resumed = resumed_from is not None
        # from scratch (-1): whatever an earlier attempt wrote before its first checkpoint is not history
        history = run.resume_history(state.step if resumed else -1)
        if resumed:
            log.info("resumed from %s at epoch %d, step %d", resumed_from, state.epoch, state.step)
        self.prescreen = run.read_result(FILES.PRESCREEN) or {}
        if cfg.init.prescreen and not resumed:  # (a resumed run has its init in the checkpoint)
            self.prescreen = prescreen_init(cfg, parts.model, data, parts.to_input, run)
        self.sample = None  # the fixed curvature sample, when a probe wants it
        if c.at or c.every_epochs or c.alphas:
            self.sample = probes.curvature_sample(
                data.train_x, data.train_y, parts.to_input, c.sample_size, c.sample_seed
            )
        self.init_probe = _init_probe(cfg, parts.model, self.sample, run, resumed=resumed)
        self.evaluator = Evaluator(cfg, parts.forward, data, parts.to_input, parts.autocast, n_train)
        # the last full-train-set accuracy an uninterrupted run would have seen: drives fine evaluation
        self.last_train = next(((m[M.TRAIN_LOSS], m[M.TRAIN_ACC]) for m in reversed(history) if M.TRAIN_ACC in m), None)
        has_target = t.target_train_acc is not None or t.target_train_loss is not None
        # what the loop checks at every step, read once as plain values (a config read costs ~20 us)
        self.fine_within = t.fine_eval_within if has_target else None
        self.fine_every, self.grad_every = t.fine_eval_every_steps, t.grad_norms_every_steps
        self.max_steps, self.time_budget_s, self.interrupt_at_step = t.max_steps, t.time_budget_s, t.interrupt_at_step
        self.base_batch_size = schedules.batch_size_keeping_noise_scale(
            cfg.schedule, o.lr, n_train, t.batch_size, o.momentum
        )
        self.stability = None  # C10: the parameters at a few steps, or their distance to a reference run's
        st = cfg.get("stability")
        if st is not None and (st.trajectory or st.reference):
            from ..probes.stability import Probe

            total = t.max_epochs * schedules.steps_per_epoch(n_train, min(self.base_batch_size, n_train))
            self.stability = Probe(cfg, parts.model, data, parts.to_input, run, total)
        if cfg.schedule.keep_noise_scale:
            b = self.base_batch_size
            log.info("schedule.keep_noise_scale: batch size %d -> %d (noise scale eps (N/B - 1) / (1 - m) = %.4g)",
                     t.batch_size, b, schedules.noise_scale(o.lr, n_train, b, o.momentum))  # fmt: skip
        # resumed at an evaluation (e.g. the final one, killed in the end-of-run probes): that evaluation is
        # the run's last, as in an uninterrupted run, and is not recorded again
        self.last_eval: dict = _evaluation_at(history, state.step) if resumed else {}
        self.progress = Progress(t.progress, t.max_epochs, t.log_every_s, stop_rule(t))

    def stopped_already(self) -> str | None:
        """The stop rule a resumed run had already met at its checkpoint's step (it was killed after its
        final evaluation, in its end-of-run probes), or None: it trains on."""
        s = self.s
        if not self.last_eval or self.last_eval[M.STEP] != s.step or M.TRAIN_ACC not in self.last_eval:
            return None
        reached = target_reached(self.cfg.trainer, self.last_eval[M.TRAIN_LOSS], self.last_eval[M.TRAIN_ACC])
        if reached:
            return reached
        if self.max_steps and s.step >= self.max_steps:
            return "max_steps"
        if self.time_budget_s and s.wall() >= self.time_budget_s:
            return "time_budget"
        return None

    def evaluate(self, lr, batch_size):
        """The evaluation record (and the curvature probe when due), logged."""
        c, s = self.cfg.curvature, self.s
        self.last_eval = self.evaluator.record(s, lr, batch_size)
        if c.every_epochs and s.epoch % c.every_epochs == 0 and s.position == 0:
            self.last_eval.update(probes.curvature_probe(self.p.model, *self.sample, c))
        self.last_eval[M.WALL_TIME] = s.wall()
        self.run.record(self.last_eval)
        self.progress.evaluated(self.last_eval)
        self.last_train = self.last_eval[M.TRAIN_LOSS], self.last_eval[M.TRAIN_ACC]

    def fine_evaluation_stops(self, steps: int) -> str | None:
        """Near a target, every few steps: the training set alone (time to fit at step resolution)."""
        s = self.s
        if self.fine_within is None or s.step % self.fine_every or self.last_train is None:
            return None
        t = self.cfg.trainer
        if not target_reached(t, *self.last_train, within=self.fine_within) or s.position >= steps:
            return None
        fine = self.evaluator.train_only(s, steps)
        self.run.record(fine)
        self.last_train = fine[M.TRAIN_LOSS], fine[M.TRAIN_ACC]
        return target_reached(t, *self.last_train)

    def end_probe(self):
        """The curvature probe at the end, unless the last evaluation already measured it."""
        c = self.cfg.curvature
        if "end" in c.at and M.curvature("top_eig") not in self.last_eval:
            probe = probes.curvature_probe(self.p.model, *self.sample, c)
            self.last_eval.update(probe)
            self.run.record({M.STEP: self.s.step, **probe})

    def finish(self, status: str, stop_reason: str, batch_size: int) -> dict:
        """summary.json (and the tracker's summary): the last evaluation, the probes, the run's facts."""
        cfg, s, p, o = self.cfg, self.s, self.p, self.cfg.optimizer
        summary = {summary_key(k): v for k, v in {**self.init_probe, **self.last_eval}.items() if k != M.STEP}
        summary.update({S.prescreen(k): v for k, v in self.prescreen.get("summary", {}).items()})
        if self.stability is not None:  # the last snapshot's distance and loss difference (C10)
            summary.update({summary_key(k): v for k, v in self.stability.last.items()})
        if status == "completed":
            if cfg.trainer.save_predictions:
                self.evaluator.complete_final_hits()  # (before the end-of-run probes use the model)
            summary.update(probes.end_of_run(cfg, p.model, self.sample, self.data, p.transform, p.to_input, self.run))
            if cfg.trainer.save_predictions:
                summary[S.PREDICTIONS] = self.evaluator.save_predictions(self.run)
        summary.update(
            {
                S.STATUS: status,
                S.STOP_REASON: stop_reason,
                S.DIVERGED: status == "diverged",
                S.STEPS: s.step,
                S.EPOCHS: s.epochs(schedules.steps_per_epoch(self.n_train, batch_size)),
                S.WALL_TIME: s.wall(),
                # seconds in training steps and in the evaluations, summed over every process of the
                # run (a resumed run counts its earlier attempts too), so the shares can be read off
                S.TRAIN_IMAGES_PER_S: s.images_seen / s.train_time if s.train_time else None,
                S.TRAIN_TIME: s.train_time,
                S.EVAL_TIME: s.eval_time,
                S.INPUT_TIME: s.input_time,  # of train_time_s: making the batches (CPU; CUDA: launching it)
                S.PROCESSES: s.processes,  # 1 + the times it was resumed
                S.PROCESS_WALL_TIME: time.perf_counter() - s.started,  # this last process only
                S.NUM_PARAMETERS: models.num_parameters(p.model),
                S.DEVICE: device_name(p.device),
                # at the run's initial lr and batch size: the x-axis of Smith & Le's collapse plots
                S.NOISE_SCALE: schedules.noise_scale(
                    o.lr, self.n_train, min(self.base_batch_size, self.n_train), o.momentum
                ),
                S.BASE_BATCH_SIZE: self.base_batch_size,  # trainer.batch_size, or as keep_noise_scale set it
                **self.run.provenance(self.data.info),
            }
        )
        self.run.write_summary(summary)
        return summary

    def interrupt(self, signum, batch_size: int) -> dict:
        """Checkpoint, then an "interrupted" summary: the same command resumes from here."""
        s, run_dir = self.s, self.run.path
        self.run.save_checkpoint(s.to_checkpoint())
        log.warning("interrupted at step %d; checkpoint in %s: re-run the same command with "
                    "hydra.run.dir=%s to resume (make run ARGS=hydra.run.dir=%s)", s.step, run_dir, run_dir,
                    run_dir)  # fmt: skip
        reason = {signal.SIGUSR2: "preempted", signal.SIGINT: "sigint"}.get(signum, "sigterm")
        return self.finish("interrupted", reason, batch_size)


def _step(r: _Run, batches: parts.EpochBatches, lo: int, hi: int, sigterm) -> torch.Tensor:
    """One SGD step on the epoch's positions lo..hi-1; returns the global batch's mean loss (detached)."""
    p, s = r.p, r.s
    started = time.perf_counter()
    x, y = batches(lo, hi)
    s.input_time += time.perf_counter() - started  # (on CUDA: the time to launch it, the work is async)
    with p.autocast():
        if p.world == 1:  # the mean: the same bits as sum / batch, with fewer ops per step
            loss = F.cross_entropy(p.forward(x).float(), y)
        else:  # this rank's shard; DDP averages over ranks, hence sum / batch * world: the
            a, b = distributed.shard(hi - lo)  # global batch's mean loss, also for unequal shards
            loss = F.cross_entropy(p.forward(x[a:b]).float(), y[a:b], reduction="sum") / (hi - lo) * p.world
    p.optimizer.zero_grad(set_to_none=True)
    loss.backward()
    if r.grad_every and s.step % r.grad_every == 0:  # the gradient update `step + 1` uses (1: at init)
        r.run.record({M.STEP: s.step + 1, **probes.gradient_norms(p.model)})
    p.optimizer.step()
    loss = loss.detach()
    if p.world > 1:  # the global batch's loss, and a stop signal that any rank received
        signal_now = torch.tensor(float(bool(sigterm.raised)), device=p.device)
        shared = distributed.all_reduce_sum(torch.stack([loss / p.world, signal_now]))
        loss = shared[0]
        if shared[1] > 0 and not sigterm.raised:
            sigterm.raised = signal.SIGTERM
    s.step, s.position = s.step + 1, s.position + 1
    if r.stability is not None and (record := r.stability(s.step, p.model)):
        r.run.record({M.STEP: s.step, **record})
    s.epoch_loss_sum += loss
    s.epoch_batches += 1
    s.images_seen += hi - lo
    return loss


_SIGNALLED = "signalled"  # what _steps_of_epoch returns when a SIGTERM / Ctrl-C arrived during a step


def _steps_of_epoch(r: _Run, batches, steps: int, batch_size: int, sigterm, check_every: int) -> str | None:
    """The steps of the epoch from the state's position on. Returns why training stops there
    ("diverged", a target met at a fine evaluation, "max_steps", "time_budget"), _SIGNALLED when a
    signal arrived (the caller checkpoints and exits), or None at the epoch's end."""
    s = r.s
    while s.position < steps:
        lo = s.position * batch_size
        loss = _step(r, batches, lo, lo + batch_size, sigterm)
        if s.step == r.interrupt_at_step:  # testing aid: as if a SIGTERM arrived during this step
            sigterm._handle(signal.SIGTERM, None)
        r.progress.step(s.position, loss.item)
        if (s.position % check_every == 0 or s.position == steps) and not math.isfinite(loss.item()):
            return "diverged"
        stop_reason = r.fine_evaluation_stops(steps)
        if stop_reason is not None:
            return stop_reason  # (a signal at this step is handled after the epoch: the run is done)
        if sigterm.raised:
            return _SIGNALLED
        if r.max_steps and s.step >= r.max_steps:
            return "max_steps"
        if r.time_budget_s and s.wall() >= r.time_budget_s:
            return "time_budget"
    return None


def train(cfg, run: rundir.RunDir, data: data_mod.DeviceData | None = None) -> dict:
    """Train as `cfg` says, writing into the run dir `run` (and its tracker); return the summary (also in
    summary.json).

    `data` may be passed in by a caller that runs many jobs on the same dataset in one process.
    """
    t = cfg.trainer
    previous = _already_done(run, t)
    if previous:
        return previous
    device = resolve_device(cfg.device)
    data = data if data is not None else data_mod.prepare(cfg.data, device)
    p = parts.build(cfg, data, device)
    s = TrainState(p.model, p.optimizer, torch.Generator(device=device).manual_seed(cfg.seed))
    r = _Run(cfg, run, data, p, s)  # resumes from the checkpoint, probes at init
    n_train, check_every = r.n_train, 1 if device.type != "cuda" else 20  # (a loss.item() syncs CUDA)

    # -- the loop: epochs of steps; an evaluation and a checkpoint every few epochs
    s.started, stop_reason = time.perf_counter(), r.stopped_already()
    if stop_reason is not None:  # resumed where it had stopped: straight to the end-of-run probes
        lr, batch_size = schedules.lr_and_batch_size(
            cfg.schedule, cfg.optimizer.lr, r.base_batch_size, s.epoch, t.max_epochs
        )
        batch_size = min(batch_size, n_train)
    p.model.train()
    with _SigtermFlag() as sigterm:
        while stop_reason is None:
            lr, batch_size = schedules.lr_and_batch_size(
                cfg.schedule, cfg.optimizer.lr, r.base_batch_size, s.epoch, t.max_epochs
            )
            if s.epoch >= t.max_epochs:
                stop_reason = "max_epochs"
                break
            for group in p.optimizer.param_groups:
                group["lr"] = lr
            steps, batch_size = schedules.steps_per_epoch(n_train, batch_size), min(batch_size, n_train)
            if s.perm is None:
                s.new_epoch(n_train, p.transform.epoch_draws)
            elif s.draws is None:  # resumed from a checkpoint of before 2026-11-28: drawn now, as at an epoch's start
                s.draws = p.transform.epoch_draws(n_train, s.generator, device)
            batches = parts.EpochBatches(p, data.train_x, data.train_y, s.perm, s.draws)
            r.progress.start_epoch(s.epoch, steps, s.position)
            tick = time.perf_counter()
            stop_reason = _steps_of_epoch(r, batches, steps, batch_size, sigterm, check_every)
            s.train_time += time.perf_counter() - tick
            r.progress.end_epoch()
            if stop_reason == _SIGNALLED:
                summary = r.interrupt(sigterm.raised, batch_size)
                sigterm.chain()
                return summary
            if stop_reason == "diverged":
                log.warning("non-finite loss at step %d: run diverged", s.step)
                return r.finish("diverged", "diverged", batch_size)
            if s.position >= steps:
                s.epoch, s.position, s.perm, s.draws = s.epoch + 1, 0, None, None
            if stop_reason is not None or s.epoch % t.eval_every_epochs == 0 or s.epoch >= t.max_epochs:
                r.evaluate(lr, batch_size)
                stop_reason = target_reached(t, r.last_eval[M.TRAIN_LOSS], r.last_eval[M.TRAIN_ACC]) or stop_reason
            if stop_reason is not None or s.epoch % t.checkpoint_every_epochs == 0:
                run.save_checkpoint(s.to_checkpoint())
        if not r.last_eval or r.last_eval[M.STEP] != s.step:  # e.g. resumed a run that had already stopped
            r.evaluate(lr, batch_size)
            run.save_checkpoint(s.to_checkpoint())
        r.end_probe()
    log.info(
        "finished (%s): train acc %.4f, test acc %.4f", stop_reason, r.last_eval[M.TRAIN_ACC], r.last_eval[M.TEST_ACC]
    )
    summary = r.finish("completed", stop_reason, batch_size)
    # a run stopped by its time budget goes on when asked with a larger one: it keeps its checkpoint
    run.prune_checkpoints(keep=t.keep_checkpoint or stop_reason == "time_budget")
    return summary
