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


def reference_noise_scale(reference, lr: float, num_train: int, batch_size: int, momentum: float) -> float:
    """g_ref = eps N / (B (1 - m)) of the reference setting; a reference value left null is this run's."""

    def pick(key, own):
        value = reference.get(key)
        return own if value is None else value

    eps, n = pick("lr", lr), pick("train_size", num_train)
    b, m = pick("batch_size", batch_size), pick("momentum", momentum)
    return eps * n / (b * (1 - m))


def batch_size_keeping_noise_scale(schedule, lr: float, num_train: int, batch_size: int, momentum: float) -> int:
    """The batch size this run trains with. With `schedule.keep_noise_scale`, the B that keeps the
    SGD noise scale g = eps N / (B (1 - m)) at the reference's (Smith & Le 2018; the survey's "rescale
    the batch size when changing the momentum"): B = eps N / (g_ref (1 - m)), rounded to the nearest
    integer. Without it, `batch_size`. ValueError when the B needed is below 1 or above N."""
    if not schedule.get("keep_noise_scale"):
        return batch_size
    g_ref = reference_noise_scale(schedule.reference, lr, num_train, batch_size, momentum)
    exact = lr * num_train / (g_ref * (1 - momentum))
    b = round(exact)
    if not 1 <= b <= num_train:
        raise ValueError(
            f"schedule.keep_noise_scale: keeping g = {g_ref:.4g} needs batch size {exact:.4g}, "
            f"outside [1, {num_train}] (N = {num_train})"
        )
    return b


def steps_per_epoch(num_train: int, batch_size: int) -> int:
    """Full batches only (the few left-over images differ each epoch); at least one step."""
    return max(1, num_train // batch_size)


def noise_scale(lr: float, num_train: int, batch_size: int, momentum: float) -> float:
    """SGD noise scale g = eps (N/B - 1) / (1 - m) (Smith & Le 2018)."""
    return lr * (num_train / batch_size - 1) / (1 - momentum)
