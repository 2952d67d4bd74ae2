"""Small statistics the analyses share: rank correlation with a bootstrap CI, log-log slopes,
power-law fits with bootstrap CIs, and the "pre-screening" comparison of Kuzborskij & Lampert."""

from __future__ import annotations

import numpy as np
from scipy import optimize, stats


def spearman_ci(x, y, n_boot: int = 2000, level: float = 0.95, seed: int = 0) -> dict:
    """Spearman rho of (x, y), its two-sided p-value, and a percentile bootstrap CI over pairs."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    rho, p = stats.spearmanr(x, y)
    rng = np.random.default_rng(seed)
    boot = []
    for _ in range(n_boot):
        i = rng.integers(0, len(x), len(x))
        if np.ptp(x[i]) > 0 and np.ptp(y[i]) > 0:  # a resample of ties only has no rank correlation
            boot.append(stats.spearmanr(x[i], y[i])[0])
    # no resample with variation in both (e.g. a constant gap): no rank correlation to bound
    lo, hi = np.quantile(boot, [(1 - level) / 2, (1 + level) / 2]) if boot else (np.nan, np.nan)
    return {"rho": float(rho), "p_value": float(p), "ci_low": float(lo), "ci_high": float(hi), "n": len(x)}


def loglog_slope(m, v) -> dict:
    """Least-squares slope and intercept of log v against log m (v > 0), with R^2."""
    lm, lv = np.log(np.asarray(m, float)), np.log(np.asarray(v, float))
    fit = stats.linregress(lm, lv)
    return {"slope": float(fit.slope), "intercept": float(fit.intercept), "r2": float(fit.rvalue**2),
            "slope_se": float(fit.stderr)}


def fit_power_law(m, eps, offset: bool = False) -> dict:
    """Least squares in log space: log eps = log(a m^b + c) (offset) or log a + b log m.
    Returns {"a", "b", "c", "rmse_log"}; c >= 0 and below min(eps)."""
    m, eps = np.asarray(m, float), np.asarray(eps, float)
    plain = loglog_slope(m, eps)
    a0, b0 = float(np.exp(plain["intercept"])), plain["slope"]
    if not offset:
        resid = np.log(eps) - (np.log(a0) + b0 * np.log(m))
        return {"a": a0, "b": b0, "c": 0.0, "rmse_log": float(np.sqrt(np.mean(resid**2)))}

    def residuals(p):
        log_a, b, c = p
        return np.log(np.exp(log_a) * m**b + c) - np.log(eps)

    res = optimize.least_squares(residuals, [np.log(a0), b0, 0.0],
                                 bounds=([-np.inf, -5, 0], [np.inf, 0, 0.999 * eps.min()]))
    log_a, b, c = res.x
    return {"a": float(np.exp(log_a)), "b": float(b), "c": float(c),
            "rmse_log": float(np.sqrt(np.mean(res.fun**2)))}


def bootstrap_exponent(m, eps, offset: bool = False, n_boot: int = 1000, level: float = 0.95, seed: int = 0) -> dict:
    """The power-law exponent b with a percentile bootstrap CI, resampling the (m, eps) points
    (each point one run) with at least 3 distinct m per resample."""
    m, eps = np.asarray(m, float), np.asarray(eps, float)
    rng = np.random.default_rng(seed)
    boot = []
    for _ in range(n_boot):
        i = rng.integers(0, len(m), len(m))
        if len(np.unique(m[i])) >= 3:
            boot.append(fit_power_law(m[i], eps[i], offset)["b"])
    lo, hi = np.quantile(boot, [(1 - level) / 2, (1 + level) / 2])
    return {**fit_power_law(m, eps, offset), "b_low": float(lo), "b_high": float(hi)}


def prescreening(score, gap, n_candidates: int, draws: int = 10000, seed: int = 0) -> dict:
    """Draw n_candidates of the K inits at random, `draws` times; compare the gap of the one with
    the lowest score (pre-screened) with the gap of a random one of the same candidates."""
    score, gap = np.asarray(score, float), np.asarray(gap, float)
    rng = np.random.default_rng(seed)
    picked, random = np.empty(draws), np.empty(draws)
    for d in range(draws):
        c = rng.choice(len(score), n_candidates, replace=False)
        picked[d] = gap[c[np.argmin(score[c])]]
        random[d] = gap[rng.choice(c)]
    return {"n_candidates": n_candidates, "gap_prescreened": float(picked.mean()), "gap_random": float(random.mean()),
            "difference": float(picked.mean() - random.mean()),
            "difference_se": float((picked - random).std(ddof=1) / np.sqrt(draws)),
            "p_prescreened_lower": float(np.mean(picked < random))}
