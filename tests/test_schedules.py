"""lr and batch-size schedules, including Smith et al.'s "increase the batch size"."""

import pytest
from omegaconf import OmegaConf

from harness.schedules import lr_and_batch_size, steps_per_epoch


def schedule(**kw):
    base = {"lr": "constant", "gamma": 1.0, "milestones": [], "batch_growth": 1, "max_batch_size": None}
    return OmegaConf.create({**base, **kw})


def sequence(s, epochs=(0, 1, 2, 3, 4, 5, 6), max_epochs=7):
    """[(lr rounded to 12 digits, batch size)] per epoch."""
    return [(round(lr, 12), b) for lr, b in (lr_and_batch_size(s, 0.1, 128, e, max_epochs) for e in epochs)]


def test_constant_and_exponential():
    assert sequence(schedule())[-1] == (0.1, 128)
    lrs = [lr for lr, _ in sequence(schedule(lr="exponential", gamma=0.95))]
    assert lrs == pytest.approx([0.1 * 0.95**e for e in range(7)])


def test_cosine_goes_from_base_to_zero():
    lrs = [lr for lr, _ in sequence(schedule(lr="cosine"), epochs=(0, 5, 10), max_epochs=10)]
    assert lrs == pytest.approx([0.1, 0.05, 0.0], abs=1e-12)


def test_step_decay_keeps_the_batch_size():
    assert sequence(schedule(lr="step", gamma=0.2, milestones=[2, 4])) == (
        [(0.1, 128)] * 2 + [(0.02, 128)] * 2 + [(0.004, 128)] * 3
    )


def test_increase_batch_size_instead_of_decaying_the_lr():
    seq = sequence(schedule(lr="step", gamma=0.2, milestones=[2, 4], batch_growth=5))
    assert seq == [(0.1, 128)] * 2 + [(0.1, 640)] * 2 + [(0.1, 3200)] * 3


def test_hybrid_grows_the_batch_once_then_decays_the_lr():
    seq = sequence(schedule(lr="step", gamma=0.2, milestones=[2, 4, 6], batch_growth=5, max_batch_size=640))
    assert seq == [(0.1, 128)] * 2 + [(0.1, 640)] * 2 + [(0.02, 640)] * 2 + [(0.004, 640)]


def test_steps_per_epoch_follow_the_batch_size():
    assert steps_per_epoch(50_000, 128) == 390
    assert steps_per_epoch(50_000, 640) == 78
    assert steps_per_epoch(1_000, 2048) == 1


def test_noise_scale_formula():
    from harness.schedules import noise_scale

    # g = eps (N/B - 1) / (1 - m)
    assert noise_scale(0.1, 50_000, 128, 0.9) == pytest.approx(0.1 * (50_000 / 128 - 1) / 0.1)
    assert noise_scale(1.0, 1000, 10, 0.0) == pytest.approx(99.0)
    # doubling eps and B together keeps g (almost: the -1); momentum 0.9 multiplies it by 10
    assert noise_scale(0.2, 50_000, 256, 0.0) == pytest.approx(noise_scale(0.1, 50_000, 128, 0.0), rel=0.01)
    assert noise_scale(0.1, 50_000, 128, 0.9) == pytest.approx(10 * noise_scale(0.1, 50_000, 128, 0.0))
