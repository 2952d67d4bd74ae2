"""Small statistics the analyses share: rank correlation with a bootstrap CI, log-log slopes,
power-law fits with bootstrap CIs, the "pre-screening" comparison of Kuzborskij & Lampert, and the
interval / test helpers that experiment verdicts are computed from (proportions, means, differences
of means, equivalence, multiple testing, slopes, cluster bootstrap, power law vs log extrapolation)."""

from __future__ import annotations

import numpy as np
from scipy import optimize, stats


def spearman_ci(x, y, n_boot: int = 2000, level: float = 0.95, seed: int = 0) -> dict:
    """Spearman rho of (x, y), its two-sided p-value, and a percentile bootstrap CI over pairs."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    rho, p = stats.spearmanr(x, y)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(x), (n_boot, len(x)))  # all resamples at once: one row each
    bx, by = x[idx], y[idx]
    varied = (np.ptp(bx, axis=1) > 0) & (np.ptp(by, axis=1) > 0)  # a resample of ties only has no rank correlation
    # Spearman = Pearson of the (average) ranks, for every resample in one pass
    rx, ry = stats.rankdata(bx[varied], axis=1), stats.rankdata(by[varied], axis=1)
    rx, ry = rx - rx.mean(1, keepdims=True), ry - ry.mean(1, keepdims=True)
    boot = (rx * ry).sum(1) / np.sqrt((rx**2).sum(1) * (ry**2).sum(1))
    # no resample with variation in both (e.g. a constant gap): no rank correlation to bound
    lo, hi = np.quantile(boot, [(1 - level) / 2, (1 + level) / 2]) if len(boot) else (np.nan, np.nan)
    return {"rho": float(rho), "p_value": float(p), "ci_low": float(lo), "ci_high": float(hi), "n": len(x)}


def loglog_slope(m, v) -> dict:
    """Least-squares slope and intercept of log v against log m (v > 0), with R^2."""
    lm, lv = np.log(np.asarray(m, float)), np.log(np.asarray(v, float))
    fit = stats.linregress(lm, lv)
    return {
        "slope": float(fit.slope),
        "intercept": float(fit.intercept),
        "r2": float(fit.rvalue**2),
        "slope_se": float(fit.stderr),
    }


def fit_power_law(m, eps, offset: bool = False) -> dict:
    """Least squares in log space: log eps = log(a m^b + c) (offset) or log a + b log m.
    Returns {"a", "b", "c", "rmse_log", "c_at_bound"}; 0 <= c <= 0.999 min(eps), and c_at_bound says
    c ended (within 1e-6 relative) on one of those bounds (always False without offset)."""
    m, eps = np.asarray(m, float), np.asarray(eps, float)
    plain = loglog_slope(m, eps)
    a0, b0 = float(np.exp(plain["intercept"])), plain["slope"]
    if not offset:
        resid = np.log(eps) - (np.log(a0) + b0 * np.log(m))
        # no floor was fitted, so none sits at a bound
        return {"a": a0, "b": b0, "c": 0.0, "rmse_log": float(np.sqrt(np.mean(resid**2))), "c_at_bound": False}

    def residuals(p):
        log_a, b, c = p
        return np.log(np.exp(log_a) * m**b + c) - np.log(eps)

    c_max = 0.999 * eps.min()
    # start inside the bounds: a flat or rising curve has a plain slope >= 0, outside b's range
    start = [np.log(a0), float(np.clip(b0, -4.999, -1e-6)), 0.0]
    res = optimize.least_squares(residuals, start, bounds=([-np.inf, -5, 0], [np.inf, 0, c_max]))
    log_a, b, c = res.x
    # a floor pinned at 0 or at the smallest error is not estimated but imposed by the bound: flag it
    at_bound = bool(c <= 1e-6 * c_max or c >= (1 - 1e-6) * c_max)
    return {
        "a": float(np.exp(log_a)),
        "b": float(b),
        "c": float(c),
        "rmse_log": float(np.sqrt(np.mean(res.fun**2))),
        "c_at_bound": at_bound,
    }


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
    # all draws at once: the first n_candidates of a random permutation of the K inits, per row
    c = rng.random((draws, len(score))).argsort(1)[:, :n_candidates]
    picked = gap[c[np.arange(draws), np.argmin(score[c], axis=1)]]
    random = gap[c[np.arange(draws), rng.integers(0, n_candidates, draws)]]
    return {
        "n_candidates": n_candidates,
        "gap_prescreened": float(picked.mean()),
        "gap_random": float(random.mean()),
        "difference": float(picked.mean() - random.mean()),
        "difference_se": float((picked - random).std(ddof=1) / np.sqrt(draws)),
        "p_prescreened_lower": float(np.mean(picked < random)),
    }


def _clean(values) -> np.ndarray:
    """Values as a float array with None and nan dropped (a failed run leaves a hole, not a zero)."""
    return np.array([v for v in values if v is not None and not np.isnan(float(v))], float)


def binomial_ci(k: int, n: int, level: float = 0.95) -> tuple:
    """Wilson score interval for a proportion k/n; use it for rates (e.g. runs that diverged), also at k=0 or n."""
    if n <= 0:
        return (float("nan"), float("nan"))
    z = stats.norm.ppf((1 + level) / 2)
    p = k / n
    # Wilson rather than Wald: Wald collapses to zero width at k=0 or k=n and undercovers for small n
    centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / (1 + z**2 / n)
    # at k = 0 (k = n) the bound is exactly 0 (1); computed, it is off by a rounding (e.g. 1e-19)
    low = 0.0 if k == 0 else max(0.0, centre - half)
    high = 1.0 if k == n else min(1.0, centre + half)
    return (float(low), float(high))


def mean_ci(values, level: float = 0.95) -> dict:
    """Mean with a Student-t interval (sample sd, ddof=1) over e.g. seeds; None/nan dropped, n<2 gives nan bounds."""
    x = _clean(values)
    n = len(x)
    mean = float(x.mean()) if n else float("nan")
    if n < 2:
        return {"mean": mean, "sd": float("nan"), "n": n, "low": float("nan"), "high": float("nan")}
    sd = float(x.std(ddof=1))
    half = stats.t.ppf((1 + level) / 2, n - 1) * sd / np.sqrt(n)
    return {"mean": mean, "sd": sd, "n": n, "low": float(mean - half), "high": float(mean + half)}


def _welch(a, b):
    """diff of means, its standard error and the Welch-Satterthwaite df (None/nan dropped)."""
    a, b = _clean(a), _clean(b)
    if len(a) < 2 or len(b) < 2:
        raise ValueError(f"Welch needs >= 2 values per group, got {len(a)} and {len(b)}")
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    se = float(np.sqrt(va + vb))
    # both groups constant: no spread to estimate df from; treat as exact (infinite df)
    df = float((va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))) if se > 0 else float("inf")
    return float(a.mean() - b.mean()), se, df, len(a), len(b)


def welch_diff_ci(a, b, level: float = 0.95) -> dict:
    """mean(a) - mean(b) with a Welch t interval and two-sided p; use it to compare two groups of
    seeds, unequal variances."""
    diff, se, df, na, nb = _welch(a, b)
    if se == 0:  # both groups constant: the difference is exact
        p = 1.0 if diff == 0 else 0.0
        return {"diff": diff, "low": diff, "high": diff, "df": df, "p_value": p, "n_a": na, "n_b": nb}
    half = stats.t.ppf((1 + level) / 2, df) * se
    p = 2 * stats.t.sf(abs(diff) / se, df)
    return {"diff": diff, "low": diff - half, "high": diff + half, "df": df, "p_value": float(p), "n_a": na, "n_b": nb}


def bootstrap_diff_ci(a, b, paired: bool = False, n_boot: int = 4000, level: float = 0.95, seed: int = 0) -> dict:
    """Percentile bootstrap CI of mean(a) - mean(b); paired=True resamples (a_i, b_i) pairs, e.g. two
    methods on the same seeds."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    rng = np.random.default_rng(seed)
    if paired:
        if len(a) != len(b):
            raise ValueError(f"paired bootstrap needs len(a) == len(b), got {len(a)} and {len(b)}")
        # resampling pairs keeps the shared per-pair (per-seed) component, which cancels in the difference
        d = a - b
        boot = d[rng.integers(0, len(d), (n_boot, len(d)))].mean(axis=1)
    else:
        boot = a[rng.integers(0, len(a), (n_boot, len(a)))].mean(axis=1) - b[
            rng.integers(0, len(b), (n_boot, len(b)))
        ].mean(axis=1)
    lo, hi = np.quantile(boot, [(1 - level) / 2, (1 + level) / 2])
    return {"diff": float(a.mean() - b.mean()), "low": float(lo), "high": float(hi)}


def tost(a, b, margin: float, alpha: float = 0.05) -> dict:
    """Welch two one-sided tests that |mean(a) - mean(b)| < margin; use it to claim "no effect"
    (equivalence), not a failed t-test."""
    diff, se, df, _, _ = _welch(a, b)
    if se == 0:
        p = 0.0 if abs(diff) < margin else 1.0
    else:
        p_above_lower = stats.t.sf((diff + margin) / se, df)  # H0: diff <= -margin
        p_below_upper = stats.t.cdf((diff - margin) / se, df)  # H0: diff >= +margin
        p = float(max(p_above_lower, p_below_upper))
    # the (1 - 2 alpha) interval lies inside (-margin, margin) exactly when both one-sided tests reject
    ci = welch_diff_ci(a, b, level=1 - 2 * alpha)
    return {
        "diff": diff,
        "low": ci["low"],
        "high": ci["high"],
        "p_value": p,
        "equivalent": bool(p < alpha),
        "margin": float(margin),
    }


def holm(p_values, alpha: float = 0.05) -> dict:
    """Holm-Bonferroni step-down adjusted p-values (in input order) and rejections; use it when one
    verdict rests on several tests."""
    p = np.asarray(p_values, float)
    m = len(p)
    order = np.argsort(p)
    # the i-th smallest p is multiplied by (m - i); the running max keeps the adjusted values monotone
    adj_sorted = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * p[order]))
    adj = np.empty(m)
    adj[order] = adj_sorted
    return {"adjusted": [float(v) for v in adj], "reject": [bool(v <= alpha) for v in adj]}


def slope_ci(x, y, log: bool = False, through_origin: bool = False, level: float = 0.95) -> dict:
    """OLS slope of y on x (log y on log x with log=True) with a t interval; use it for scaling trends.
    through_origin fits y = slope x (df = n-1, intercept 0, r2 uncentered as in R/statsmodels)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    if log:
        if np.any(x <= 0) or np.any(y <= 0):
            raise ValueError(f"slope_ci(log=True) needs x > 0 and y > 0; got min x = {x.min()}, min y = {y.min()}")
        x, y = np.log(x), np.log(y)
    n = len(x)
    if through_origin:
        sxx = float(np.sum(x**2))
        slope, intercept, df = float(np.sum(x * y) / sxx), 0.0, n - 1
        sst = float(np.sum(y**2))
    else:
        xc = x - x.mean()
        sxx = float(np.sum(xc**2))
        slope = float(np.sum(xc * (y - y.mean())) / sxx)
        intercept, df = float(y.mean() - slope * x.mean()), n - 2
        sst = float(np.sum((y - y.mean()) ** 2))
    sse = float(np.sum((y - intercept - slope * x) ** 2))
    se = float(np.sqrt(sse / df / sxx)) if df > 0 else float("nan")
    half = stats.t.ppf((1 + level) / 2, df) * se if df > 0 else float("nan")
    r2 = 1 - sse / sst if sst > 0 else float("nan")
    return {
        "slope": slope,
        "se": se,
        "low": slope - half,
        "high": slope + half,
        "intercept": intercept,
        "r2": float(r2),
        "n": n,
    }


def cluster_bootstrap(fn, units, n_boot: int = 2000, level: float = 0.95, seed: int = 0) -> dict:
    """Percentile bootstrap of fn(units) resampling whole units (e.g. seeds) with replacement; use it when
    points within a unit are correlated. fn returning None/nan marks a failed resample, which is skipped."""
    units = list(units)
    rng = np.random.default_rng(seed)
    boot = []
    for _ in range(n_boot):
        v = fn([units[i] for i in rng.integers(0, len(units), len(units))])
        if v is not None and np.isfinite(v):
            boot.append(float(v))
    lo, hi = np.quantile(boot, [(1 - level) / 2, (1 + level) / 2]) if boot else (np.nan, np.nan)
    est = fn(units)
    return {
        "estimate": float("nan") if est is None else float(est),
        "low": float(lo),
        "high": float(hi),
        "n_ok": len(boot),
    }


def power_law_vs_log(m, err, n_holdout: int = 2) -> dict:
    """Fit err = a m^b and err = a + c ln m on all but the n_holdout largest distinct m, and compare their
    held-out RMSE (in err units); use it to test whether a power law extrapolates better than the
    obvious alternative."""
    m, err = np.asarray(m, float), np.asarray(err, float)
    heldout_m = np.unique(m)[-n_holdout:]
    fit, held = m < heldout_m.min(), m >= heldout_m.min()
    if len(np.unique(m[fit])) < 2:
        raise ValueError(f"power_law_vs_log needs >= 2 distinct m below the {n_holdout} held-out ones")
    pl = fit_power_law(m[fit], err[fit], offset=False)
    power_rmse = float(np.sqrt(np.mean((pl["a"] * m[held] ** pl["b"] - err[held]) ** 2)))
    log_c, log_a = np.polyfit(np.log(m[fit]), err[fit], 1)  # least squares in linear space, as the model is linear
    log_rmse = float(np.sqrt(np.mean((log_a + log_c * np.log(m[held]) - err[held]) ** 2)))
    return {
        "power_a": pl["a"],
        "power_b": pl["b"],
        "power_rmse_heldout": power_rmse,
        "log_a": float(log_a),
        "log_c": float(log_c),
        "log_rmse_heldout": log_rmse,
        "heldout_m": [float(v) for v in heldout_m],
        "better": "power_law" if power_rmse <= log_rmse else "log",
        "n_fit": int(fit.sum()),
    }
