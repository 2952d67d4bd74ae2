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


def reference_noise_scale(reference, lr: float, num_train: int, batch_size: int, momentum: float, version: int = 2):
    """g_ref, the noise scale of the reference setting (a reference value left null is this run's own):
    `noise_scale` (version 2), or eps N / (B (1 - m)) for rule version 1."""

    def pick(key, own):
        value = reference.get(key)
        return own if value is None else value

    eps, n = pick("lr", lr), pick("train_size", num_train)
    b, m = pick("batch_size", batch_size), pick("momentum", momentum)
    return noise_scale(eps, n, b, m) if version == 2 else eps * n / (b * (1 - m))


def batch_size_keeping_noise_scale(schedule, lr: float, num_train: int, batch_size: int, momentum: float) -> int:
    """The batch size this run trains with. With `schedule.keep_noise_scale`, the B whose SGD noise scale
    g = eps (N/B - 1) / (1 - m) (`noise_scale`, Smith & Le 2018) is the reference's (the survey's "rescale
    the batch size when changing the momentum"): B = N / (1 + g_ref (1 - m) / eps), rounded to the nearest
    integer. Without it, `batch_size`. ValueError when the B needed is below 1 or above N.

    `schedule.keep_noise_scale_version` 1 is the rule of runs made before 2026-12-07 (their stored configs
    read as 1, names.ADDED_CONFIG): g's large-N form eps N / (B (1 - m)) on both sides, B = eps N / (g_ref
    (1 - m)). It kept that form while the runs logged `noise_scale`, so its rescaled runs logged a g a few
    percent below the reference's; version 2 keeps the logged g itself."""
    if not schedule.get("keep_noise_scale"):
        return batch_size
    version = schedule.get("keep_noise_scale_version", 2)
    g_ref = reference_noise_scale(schedule.reference, lr, num_train, batch_size, momentum, version)
    if version == 2:
        exact = num_train / (1 + g_ref * (1 - momentum) / lr)
    else:
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
    """SGD's noise scale g = eps (N/B - 1) / (1 - m) (Smith & Le 2018: g = eps (N/B - 1), divided by 1 - m
    under momentum; ~ eps N / (B (1 - m)) when B << N). The harness's one formula: every run logs it and
    `schedule.keep_noise_scale` keeps it."""
    return lr * (num_train / batch_size - 1) / (1 - momentum)
