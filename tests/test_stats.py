"""Power-law fits (CLAIMS.md C6) and early stopping on the validation split."""

import numpy as np
import pytest

from harness import stats
from harness.analysis.learning_curve import selected_epoch

M = np.repeat([500, 1000, 2000, 4000, 8000, 16000, 32000], 3)


@pytest.mark.parametrize("b", [-0.309, -0.07, -0.5, -1.0])
def test_power_law_fit_recovers_the_exponent_from_noisy_data(b):
    covered = 0
    for seed in range(20):
        rng = np.random.default_rng(seed)
        eps = 3.0 * M**b * np.exp(rng.normal(0, 0.03, len(M)))  # 3% multiplicative noise
        fit = stats.bootstrap_exponent(M, eps, n_boot=200, seed=seed)
        assert fit["b"] == pytest.approx(b, abs=0.03)
        assert fit["b_high"] - fit["b_low"] < 0.1
        covered += fit["b_low"] <= b <= fit["b_high"]
    assert covered >= 16  # a 95% interval: 19 of 20 expected, fewer than 16 would be a broken CI


def test_power_law_with_offset_recovers_exponent_and_floor():
    rng = np.random.default_rng(2)
    eps = 2.0 * M**-0.5 + 0.05
    noisy = eps * np.exp(rng.normal(0, 0.01, len(M)))
    with_c = stats.bootstrap_exponent(M, noisy, offset=True, n_boot=200)
    assert with_c["b"] == pytest.approx(-0.5, abs=0.05) and with_c["c"] == pytest.approx(0.05, abs=0.01)
    assert with_c["b_low"] <= -0.5 <= with_c["b_high"]
    # without the floor the plain fit is biased towards a shallower exponent
    assert stats.fit_power_law(M, noisy)["b"] > -0.45


def test_selected_epoch_is_the_best_validation_accuracy():
    metrics = [{"step": s, "val/acc": v, "test/acc": t} for s, v, t in
               [(1, 0.3, 0.31), (2, 0.5, 0.49), (3, 0.5, 0.52), (4, 0.45, 0.6)]]
    metrics.insert(0, {"step": 0, "init/hessian/top_eig": 1.0})  # records without evaluations are skipped
    assert selected_epoch(metrics)["step"] == 2  # first of the ties; a later higher test acc is not peeked at
