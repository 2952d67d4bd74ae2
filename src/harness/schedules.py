"""Learning-rate and batch-size schedules: pure functions of the epoch.

Milestone events (`lr: step`): at each milestone epoch the batch size is multiplied by
`batch_growth` while it stays <= `max_batch_size` (Smith et al. 2018, "increase the batch size");
otherwise the lr is multiplied by `gamma`. With batch_growth = 1 this is the usual step decay;
with a cap of batch_size * batch_growth it is the hybrid (grow B once, then decay the lr).
"""

from __future__ import annotations

import math


def lr_and_batch_size(schedule, base_lr: float, base_batch_size: int, epoch: int, max_epochs: int):
    """(lr, batch size) for the whole of `epoch` (0-based)."""
    lr, batch = base_lr, base_batch_size
    if schedule.lr == "exponential":
        lr = base_lr * schedule.gamma**epoch
    elif schedule.lr == "cosine":
        lr = base_lr * 0.5 * (1 + math.cos(math.pi * min(epoch, max_epochs) / max_epochs))
    elif schedule.lr == "step":
        for milestone in schedule.milestones:
            if epoch < milestone:
                break
            grown = batch * schedule.batch_growth
            if schedule.batch_growth > 1 and (schedule.max_batch_size is None or grown <= schedule.max_batch_size):
                batch = grown
            else:
                lr *= schedule.gamma
    return lr, batch


def steps_per_epoch(num_train: int, batch_size: int) -> int:
    """Full batches only (the few left-over images differ each epoch); at least one step."""
    return max(1, num_train // batch_size)


def noise_scale(lr: float, num_train: int, batch_size: int, momentum: float) -> float:
    """SGD noise scale g = eps (N/B - 1) / (1 - m) (Smith & Le 2018)."""
    return lr * (num_train / batch_size - 1) / (1 - momentum)
