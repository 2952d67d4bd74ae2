"""The training state: what decides the next step (checkpointed, so a resumed run continues
bit for bit) and the run's timers, summed over every process that worked on it (checkpointed too,
so a resumed run's summary counts its whole time, not only its last process's)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import torch

# the checkpoint's plain fields besides model, optimizer, generator and elapsed_s
COUNTERS = ("epoch", "step", "position", "perm", "draws", "epoch_loss_sum", "epoch_batches")
# the timers, summed over the run's processes (checkpoints of before 2026-12-06 lack them: from 0)
TIMERS = ("images_seen", "train_time", "eval_time", "input_time", "processes")


@dataclass
class TrainState:
    model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    generator: torch.Generator  # batch order and augmentation, drawn per epoch
    epoch: int = 0  # epochs completed
    step: int = 0  # updates completed
    position: int = 0  # batches of the current epoch completed
    perm: torch.Tensor | None = None  # the current epoch's order (None: draw it at the epoch's start)
    draws: torch.Tensor | None = None  # its augmentation draws, one column per position of `perm`
    epoch_loss_sum: torch.Tensor | None = None  # train-mode losses of the current epoch, summed
    epoch_batches: int = 0
    elapsed: float = 0.0  # wall seconds of earlier attempts of this run
    images_seen: int = 0
    train_time: float = 0.0
    eval_time: float = 0.0
    input_time: float = 0.0  # of train_time: the input pipeline (batch gather, augmentation, preprocessing)
    processes: int = 1  # the processes that worked on this run (1 + its resumes)
    started: float = field(default_factory=time.perf_counter)  # this process's start

    def wall(self) -> float:
        """Wall seconds of the whole run so far, earlier attempts included."""
        return self.elapsed + time.perf_counter() - self.started

    def epochs(self, steps_per_epoch: int) -> float:
        """Epochs done, fractional mid-epoch."""
        return self.epoch + self.position / steps_per_epoch

    def new_epoch(self, n_train: int, augmentation_draws) -> None:
        """Draw the epoch's order, then its augmentation (`augmentation_draws(n, generator, device)`:
        `BatchTransform.epoch_draws`) from the run's generator, and reset the epoch's loss."""
        device = self.generator.device
        self.perm = torch.randperm(n_train, device=device, generator=self.generator)
        self.draws = augmentation_draws(n_train, self.generator, device)
        self.epoch_loss_sum, self.epoch_batches = torch.zeros((), device=device), 0

    def epoch_loss(self) -> float | None:
        return self.epoch_loss_sum.item() / self.epoch_batches if self.epoch_batches else None

    def to_checkpoint(self) -> dict:
        return {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "generator": self.generator.get_state(),
            **{k: getattr(self, k) for k in COUNTERS},
            "elapsed_s": self.wall(),
            "timers": {k: getattr(self, k) for k in TIMERS},
        }

    def restore(self, checkpoint: dict) -> None:
        self.model.load_state_dict(checkpoint["model"])
        self.optimizer.load_state_dict(checkpoint["optimizer"])
        self.generator.set_state(checkpoint["generator"].cpu())
        for k in COUNTERS:
            setattr(self, k, checkpoint.get(k))
        self.elapsed = checkpoint["elapsed_s"]
        timers = checkpoint.get("timers", {})
        for k in TIMERS:
            setattr(self, k, timers.get(k, 1 if k == "processes" else 0))
        self.processes += 1  # this one
