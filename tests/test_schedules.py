"""lr and batch-size schedules, including Smith et al.'s "increase the batch size"."""

import pytest
from omegaconf import OmegaConf

from harness import names
from harness.train.schedules import batch_size_keeping_noise_scale, lr_and_batch_size, noise_scale, steps_per_epoch


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
    from harness.train.schedules import noise_scale

    # g = eps (N/B - 1) / (1 - m)
    assert noise_scale(0.1, 50_000, 128, 0.9) == pytest.approx(0.1 * (50_000 / 128 - 1) / 0.1)
    assert noise_scale(1.0, 1000, 10, 0.0) == pytest.approx(99.0)
    # doubling eps and B together keeps g (almost: the -1); momentum 0.9 multiplies it by 10
    assert noise_scale(0.2, 50_000, 256, 0.0) == pytest.approx(noise_scale(0.1, 50_000, 128, 0.0), rel=0.01)
    assert noise_scale(0.1, 50_000, 128, 0.9) == pytest.approx(10 * noise_scale(0.1, 50_000, 128, 0.0))


def keep(**reference):
    return OmegaConf.create({"keep_noise_scale": True, "reference": reference})


REFERENCE = {"lr": 0.05, "momentum": 0.0, "train_size": 10000, "batch_size": 128}


@pytest.mark.parametrize("lr", [0.01, 0.05, 0.2])
@pytest.mark.parametrize("momentum", [0.0, 0.5, 0.9, 0.95])
@pytest.mark.parametrize("n", [2500, 10000, 40000])
def test_keep_noise_scale_holds_the_logged_g_across_lr_momentum_and_n(lr, momentum, n):
    """The g every run logs, eps (N/B - 1) / (1 - m), stays at the reference's, up to rounding B."""
    g_ref = noise_scale(0.05, 10000, 128, 0.0)
    b = batch_size_keeping_noise_scale(keep(**REFERENCE), lr, n, 999, momentum)
    assert isinstance(b, int) and 1 <= b <= n
    exact = n / (1 + g_ref * (1 - momentum) / lr)  # the B whose g is g_ref
    assert abs(b - exact) <= 0.5
    # |dg/dB| = eps N / (B^2 (1 - m)): half a batch of rounding moves g by at most that much
    g = noise_scale(lr, n, b, momentum)
    assert abs(g - g_ref) <= 0.5 * lr * n / ((min(b, exact) - 0.5) ** 2 * (1 - momentum)) + 1e-12


def test_keep_noise_scale_scales_b_with_one_over_one_minus_m_and_is_off_by_default():
    s = keep(**REFERENCE)
    # g_ref = 0.05 (10000/128 - 1) = 3.856; B = 10000 / (1 + g_ref (1 - m) / 0.05)
    assert [batch_size_keeping_noise_scale(s, 0.05, 10000, 128, m) for m in (0.0, 0.5, 0.9)] == [128, 253, 1148]
    off = OmegaConf.create({"keep_noise_scale": False, "reference": REFERENCE})
    assert batch_size_keeping_noise_scale(off, 0.2, 40000, 128, 0.9) == 128
    # a reference value left null is the run's own: the batch size then moves only with what changed
    assert batch_size_keeping_noise_scale(keep(momentum=0.0), 0.05, 10000, 100, 0.5) == 198


def test_keep_noise_scale_version_1_keeps_the_large_n_form_of_runs_made_before_it():
    """Rule 1 (stored configs of before 2026-12-07 read as 1): g = eps N / (B (1 - m)) on both sides,
    so those runs resume with the batch sizes they began with."""
    s = OmegaConf.create({"keep_noise_scale": True, "keep_noise_scale_version": 1, "reference": REFERENCE})
    assert [batch_size_keeping_noise_scale(s, 0.05, 10000, 128, m) for m in (0.0, 0.5, 0.9)] == [128, 256, 1280]
    stored = {"schedule": {"keep_noise_scale": True, "reference": REFERENCE}}
    assert names.migrate_config(stored)["schedule"]["keep_noise_scale_version"] == 1
    assert "keep_noise_scale_version" not in stored["schedule"]  # (a copy)
    off = {"schedule": {"keep_noise_scale": False}}
    assert "keep_noise_scale_version" not in names.migrate_config(off)["schedule"]  # the default holds


@pytest.mark.parametrize("lr, n, momentum", [(0.0001, 10000, 0.0), (0.00001, 10000, 0.5)])
def test_keep_noise_scale_refuses_a_batch_size_that_cannot_exist(lr, n, momentum):
    with pytest.raises(ValueError, match=r"keep_noise_scale.*outside \[1, 10000\]"):
        batch_size_keeping_noise_scale(keep(**REFERENCE), lr, n, 128, momentum)
