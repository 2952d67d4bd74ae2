"""Power-law fits (docs/claims.md, C6) and early stopping on the validation split."""

import numpy as np
import pytest

from harness.results import stats
from harness.results.analysis.learning_curve import selected_epoch

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
    metrics = [
        {"step": s, "val/acc": v, "test/acc": t}
        for s, v, t in [(1, 0.3, 0.31), (2, 0.5, 0.49), (3, 0.5, 0.52), (4, 0.45, 0.6)]
    ]
    metrics.insert(0, {"step": 0, "init/curvature/top_eig": 1.0})  # records without evaluations are skipped
    assert selected_epoch(metrics)["step"] == 2  # first of the ties; a later higher test acc is not peeked at


def test_power_law_offset_flags_a_floor_pinned_at_its_bound():
    rng = np.random.default_rng(2)
    noisy = (2.0 * M**-0.5 + 0.05) * np.exp(rng.normal(0, 0.01, len(M)))
    assert stats.fit_power_law(M, noisy, offset=True)["c_at_bound"] is False
    # no floor in the data: the best c is 0, i.e. on the lower bound
    pure = stats.bootstrap_exponent(M, 2.0 * M**-0.5, offset=True, n_boot=20)
    assert pure["c_at_bound"] is True and pure["c"] == pytest.approx(0, abs=1e-6)
    assert stats.fit_power_law(M, noisy)["c_at_bound"] is False


def test_binomial_ci_wilson_known_values():
    assert stats.binomial_ci(5, 10) == pytest.approx((0.2366, 0.7634), abs=1e-4)
    z2 = 1.959963985**2  # k=0: low is 0, high is z^2/n / (1 + z^2/n)
    assert stats.binomial_ci(0, 10) == pytest.approx((0.0, (z2 / 10) / (1 + z2 / 10)), abs=1e-9)
    assert stats.binomial_ci(10, 10) == pytest.approx((1 - (z2 / 10) / (1 + z2 / 10), 1.0), abs=1e-9)


def test_mean_ci_t_interval_and_degenerate_cases():
    r = stats.mean_ci([1, 2, 3, 4, None])
    half = 3.182446305 * np.sqrt(5 / 3) / 2  # t_{0.975, 3} * sd / sqrt(n), sd^2 = 5/3
    assert (r["mean"], r["n"]) == (2.5, 4) and r["sd"] == pytest.approx(np.sqrt(5 / 3))
    assert (r["low"], r["high"]) == pytest.approx((2.5 - half, 2.5 + half), abs=1e-8)
    one = stats.mean_ci([7.0])
    assert one["mean"] == 7.0 and np.isnan(one["low"]) and np.isnan(one["high"])


def test_welch_diff_ci_matches_hand_formula_and_scipy():
    from scipy import stats as ss

    a, b = [1, 2, 3, 4, 5], [2, 4, 6, 8, 10, 12]
    r = stats.welch_diff_ci(a, b)
    va, vb = 2.5 / 5, 14.0 / 6  # sample variances / n
    df = (va + vb) ** 2 / (va**2 / 4 + vb**2 / 5)
    half = ss.t.ppf(0.975, df) * np.sqrt(va + vb)
    assert r["diff"] == -4.0 and r["df"] == pytest.approx(df) and (r["n_a"], r["n_b"]) == (5, 6)
    assert r["df"] == pytest.approx(6.9722, abs=1e-4)
    assert (r["low"], r["high"]) == pytest.approx((-4 - half, -4 + half))
    assert r["p_value"] == pytest.approx(ss.ttest_ind(a, b, equal_var=False).pvalue, rel=1e-10)


def test_paired_bootstrap_is_much_narrower_with_shared_offsets():
    rng = np.random.default_rng(0)
    offset = rng.normal(0, 10, 30)  # large per-seed component shared by both methods
    b = offset
    a = offset + 0.5 + rng.normal(0, 0.1, 30)
    paired = stats.bootstrap_diff_ci(a, b, paired=True)
    unpaired = stats.bootstrap_diff_ci(a, b)
    assert paired["diff"] == pytest.approx(unpaired["diff"]) == pytest.approx(np.mean(a - b))
    assert paired["low"] < 0.5 < paired["high"] and unpaired["low"] < 0.5 < unpaired["high"]
    assert paired["high"] - paired["low"] < 0.05 * (unpaired["high"] - unpaired["low"])
    with pytest.raises(ValueError):
        stats.bootstrap_diff_ci(a, b[:-1], paired=True)


def test_tost_equivalence_and_its_p_value():
    from scipy import stats as ss

    rng = np.random.default_rng(0)
    a, b = rng.normal(1, 0.01, 200), rng.normal(1, 0.01, 200)
    eq = stats.tost(a, b, margin=0.05)
    assert eq["equivalent"] and -0.05 < eq["low"] < eq["high"] < 0.05
    # p = max of the two shifted one-sided Welch tests
    p1 = ss.ttest_ind(a + 0.05, b, equal_var=False, alternative="greater").pvalue
    p2 = ss.ttest_ind(a - 0.05, b, equal_var=False, alternative="less").pvalue
    assert eq["p_value"] == pytest.approx(max(p1, p2), rel=1e-8)
    far = stats.tost(a + 0.2, b, margin=0.05)
    assert not far["equivalent"] and far["p_value"] > 0.5
    # same true means, but 3 noisy values per group cannot establish equivalence
    weak = stats.tost(rng.normal(0, 1, 3), rng.normal(0, 1, 3), margin=0.1)
    assert not weak["equivalent"] and weak["low"] < -0.1 and weak["high"] > 0.1


def test_holm_hand_worked_example():
    r = stats.holm([0.01, 0.04, 0.03, 0.005])
    # sorted 0.005*4=0.02, 0.01*3=0.03, 0.03*2=0.06, 0.04*1=0.04 -> monotone max 0.06
    assert r["adjusted"] == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert r["reject"] == [True, False, False, True]
    assert stats.holm([0.5, 0.9])["adjusted"] == pytest.approx([1.0, 1.0])  # capped at 1


def test_slope_ci_exact_noisy_log_and_origin():
    x = np.arange(1.0, 11.0)
    exact = stats.slope_ci(x, 3 * x)
    assert exact["slope"] == pytest.approx(3) and exact["intercept"] == pytest.approx(0, abs=1e-9)
    assert exact["high"] - exact["low"] < 1e-9 and exact["r2"] == pytest.approx(1) and exact["n"] == 10
    covered = 0
    for seed in range(100):
        y = 2 + 0.5 * x + np.random.default_rng(seed).normal(0, 1, len(x))
        covered += (r := stats.slope_ci(x, y))["low"] <= 0.5 <= r["high"]
    assert covered >= 90
    y = 1 + 2 * x + np.random.default_rng(0).normal(0, 1, len(x))
    o = stats.slope_ci(x, y, through_origin=True)
    assert o["slope"] == pytest.approx(np.sum(x * y) / np.sum(x**2)) and o["intercept"] == 0.0
    se = np.sqrt(np.sum((y - o["slope"] * x) ** 2) / 9 / np.sum(x**2))  # df = n - 1
    assert o["se"] == pytest.approx(se)
    lg = stats.slope_ci(x, 2 * x**1.5, log=True)
    assert lg["slope"] == pytest.approx(1.5) and lg["intercept"] == pytest.approx(np.log(2))
    with pytest.raises(ValueError, match="y > 0"):
        stats.slope_ci(x, x - 1, log=True)


def test_cluster_bootstrap_mean_matches_t_interval_and_skips_failures():
    units = list(np.random.default_rng(0).normal(5, 2, 50))
    r = stats.cluster_bootstrap(np.mean, units)
    t = stats.mean_ci(units)
    half = t["high"] - t["mean"]
    assert r["estimate"] == pytest.approx(t["mean"]) and r["n_ok"] == 2000
    assert r["low"] == pytest.approx(t["low"], abs=0.15 * half) and r["high"] == pytest.approx(
        t["high"], abs=0.15 * half
    )
    # 3 units resampled are all distinct with probability 3!/3^3 = 2/9; the others fail and are skipped
    part = stats.cluster_bootstrap(lambda u: np.mean(u) if len(set(u)) == 3 else None, [1.0, 2.0, 3.0])
    assert part["n_ok"] == pytest.approx(2000 * 2 / 9, rel=0.15) and part["low"] == part["high"] == 2.0


def test_power_law_vs_log_picks_the_generating_model():
    m = np.repeat([500, 1000, 2000, 4000, 8000, 16000, 32000], 2).astype(float)
    pl = stats.power_law_vs_log(m, 3.0 * m**-0.3)
    assert pl["power_rmse_heldout"] < 1e-10 and pl["power_b"] == pytest.approx(-0.3) and pl["better"] == "power_law"
    assert pl["heldout_m"] == [16000.0, 32000.0] and pl["n_fit"] == 10
    lg = stats.power_law_vs_log(m, 0.9 - 0.08 * np.log(m))
    assert lg["log_rmse_heldout"] < 1e-10 and lg["log_c"] == pytest.approx(-0.08) and lg["log_a"] == pytest.approx(0.9)
    assert lg["better"] == "log" and lg["power_rmse_heldout"] > 1e-3


def test_offset_power_law_fit_of_a_rising_curve_stays_inside_its_bounds():
    m = np.array([100, 200, 400, 800])
    f = stats.fit_power_law(m, 0.1 * m**0.2, offset=True)  # rising: the plain slope is +0.2
    assert -5 <= f["b"] <= 0 and 0 <= f["c"]


def test_vectorized_spearman_bootstrap_matches_scipy_on_each_resample():
    from scipy import stats as sp

    rng = np.random.default_rng(3)
    x, y = rng.normal(size=30), rng.normal(size=30)
    x[:5] = x[0]  # ties: average ranks, as scipy
    res = stats.spearman_ci(x, y, n_boot=300, seed=7)
    idx = np.random.default_rng(7).integers(0, 30, (300, 30))
    boot = [sp.spearmanr(x[i], y[i])[0] for i in idx]
    assert (res["ci_low"], res["ci_high"]) == pytest.approx(tuple(np.quantile(boot, [0.025, 0.975])), abs=1e-12)
