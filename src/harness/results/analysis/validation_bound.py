"""Kawaguchi, Kaelbling & Bengio 2017 (docs/claims.md, C4): the validation bound, tested by resampling.

Every run of the sweep is one candidate of a model search and saved which validation and test
examples its final model classifies correctly (`predictions.json`). For each validation size
m_val, many validation sets of m_val examples are drawn from the 5,000 held-out ones; on each,
every candidate's validation error is compared with its test error (10,000 test images, standing
in for the true error) plus the bound sqrt(ln(K / delta) / (2 m_val)), K = number of candidates.
The bound promises: with probability >= 1 - delta, no candidate violates it.
"""

from __future__ import annotations

import numpy as np

from ...names import CHANCE_ACC, FILES, S
from ...probes.bound import validation_bound as slack_of
from .. import stats
from ..claims import Claim
from .common import pct, plt, save_figure, verdict_row

# -- the experiment: its claims (declared before its deciding runs; docs/claims.md), the sweeps whose runs
# its report reads, and their expected minutes on the 2-core machine (`make reproduce`)
KAWAGUCHI = "Kawaguchi, Kaelbling, Bengio (2017)"

C4_HOLDS = Claim(
    "C4 validation bound holds",
    KAWAGUCHI,
    "violated with probability <= delta = 0.05",
    "test error <= val error + sqrt(ln(|F_val| / delta) / (2 m_val)) for every model chosen with the validation set",
    "at every resampled m_val, the rate of draws in which ANY candidate's test error exceeds its val error + bound "
    "is <= delta = {delta:g} (the upper end of its 95% binomial interval may exceed delta only if the rate itself "
    "does not) -> reproduced; else not reproduced; the whole validation split is one draw: shown, never deciding",
    "violation rate <= delta",
    "a resampled validation set (one model search)",
    "validation_bound",
    {"delta": 0.05},
)

C4_INFORMATIVE = Claim(
    "C4 validation bound is informative",
    KAWAGUCHI,
    "e.g. m_val = 10,000, |F_val| = 100: bound 0.0195",
    "the validation bound guarantees a useful test error",
    "judged only where the bound holds: at m_val = {m_val} (resampled validation sets) the rate of draws with any "
    "violation <= delta = {delta:g}, the selected model's val error + bound (mean over draws) below the error of "
    "chance ({chance_err:g}) and the bound's width <= {max_width:g} -> reproduced; it holds and is below chance but "
    "wider -> partly; violated at that m_val, or val error + bound >= {chance_err:g} (vacuous) -> not reproduced",
    "a guarantee within 10 points, below chance error",
    "a resampled validation set (one model search)",
    "validation_bound",
    {"m_val": 1000, "delta": C4_HOLDS.params["delta"], "chance_err": 1 - CHANCE_ACC, "max_width": 0.1},
)

CLAIMS = (
    C4_HOLDS,
    C4_INFORMATIVE,
)
SWEEPS = (("validation_bound/cpu", "experiment=validation_bound"),)
MINUTES = 5
ORDER = 7  # its place on the dashboard and in `make reproduce`

M_VALS = (50, 200, 1000, 5000)  # 5000: the whole validation split, a single draw (shown, never deciding)
RESAMPLES = 2000


def correctness(run, split: str) -> np.ndarray:
    p = run.files[FILES.PREDICTIONS]
    bits = np.unpackbits(np.frombuffer(bytes.fromhex(p[f"{split}_correct"]), np.uint8))
    return bits[: p[f"{split}_size"]].astype(bool)


def resample(val_correct: np.ndarray, test_err: np.ndarray, m_val: int, resamples: int, delta: float, seed: int):
    """Draw `resamples` validation sets of m_val (without replacement) from the held-out examples;
    return per-draw: any candidate violated, the selected one violated, selected val/test error."""
    k, n = val_correct.shape
    rng = np.random.default_rng(seed)
    bound = slack_of(m_val, k, delta)
    any_violated, sel_violated, sel_val, sel_test = [], [], [], []
    for _ in range(resamples if m_val < n else 1):  # all n examples: one validation set only
        idx = rng.choice(n, m_val, replace=False)
        val_err = 1 - val_correct[:, idx].mean(1)
        violated = test_err > val_err + bound
        best = int(np.argmin(val_err))
        any_violated.append(violated.any())
        sel_violated.append(violated[best])
        sel_val.append(val_err[best])
        sel_test.append(test_err[best])
    return bound, np.array(any_violated), np.array(sel_violated), np.array(sel_val), np.array(sel_test)


def validation_bound(runs, out):
    runs = [r for r in runs if r.summary.get(S.STATUS) == "completed" and FILES.PREDICTIONS in r.files]
    if len(runs) < 2:
        measured = f"{len(runs)} runs with predictions"
        return {
            "verdicts": [verdict_row(c, "inconclusive", measured, replicates=0) for c in (C4_HOLDS, C4_INFORMATIVE)]
        }, []
    val = np.stack([correctness(r, "val") for r in runs])
    test_err = np.array([1 - correctness(r, "test").mean() for r in runs])
    n_test = len(correctness(runs[0], "test"))
    rows, delta = [], C4_HOLDS.params["delta"]
    for j, m_val in enumerate(M_VALS):
        if m_val > val.shape[1]:
            continue
        bound, any_v, sel_v, sel_val, sel_test = resample(val, test_err, m_val, RESAMPLES, delta, seed=j)
        lo, hi = stats.binomial_ci(int(any_v.sum()), len(any_v))
        rows.append(
            {
                "m_val": m_val,
                "candidates": len(runs),
                "delta": delta,
                "bound": bound,
                "draws": len(any_v),
                "single_draw": len(any_v) == 1,  # the whole split: no resampling, no rate to judge
                "violation_rate_any": float(any_v.mean()),
                "violation_rate_any_ci95_low": lo,
                "violation_rate_any_ci95_high": hi,
                "violation_rate_selected": float(sel_v.mean()),
                "selected_val_err_mean": float(sel_val.mean()),
                "selected_test_err_mean": float(sel_test.mean()),
                "selected_abs_test_minus_val_mean": float(np.abs(sel_test - sel_val).mean()),
                "selected_abs_test_minus_val_p95": float(np.quantile(np.abs(sel_test - sel_val), 0.95)),
                "selected_slack_mean": float((sel_val + bound - sel_test).mean()),
                "selected_val_err_plus_bound_mean": float((sel_val + bound).mean()),
            }
        )
    candidates = [
        {
            "run": r.label,
            "val_err": 1 - r.summary[S.VAL_ACC],
            "test_err": float(t),
            "test_err_ci95_low": 1 - stats.binomial_ci(round(r.summary[S.TEST_ACC] * n_test), n_test)[1],
            "test_err_ci95_high": 1 - stats.binomial_ci(round(r.summary[S.TEST_ACC] * n_test), n_test)[0],
        }
        for r, t in zip(runs, test_err)
    ]
    figure = _figure(rows, out)
    return {"resampled_bound": rows, "candidates": candidates, "verdicts": _verdicts(rows, figure.name)}, [figure]


def _resampled(rows):
    """The m_val cells with resampled validation sets: a single draw (the whole split) gives no rate."""
    return [r for r in rows if not r["single_draw"]]


def _verdicts(rows, figure):
    k = rows[0]["candidates"] if rows else 0
    draws = sorted({r["draws"] for r in _resampled(rows)})
    varied = f"{k} candidates; {', '.join(f'{d:,}' for d in draws)} resampled validation sets per m_val"
    # one model search of seed 0: one replicate; its candidates and draws are what varied
    kw = dict(replicates=1, varied=varied, figure=figure)
    return [
        verdict_row(C4_HOLDS, *_holds(rows), **kw),
        verdict_row(C4_INFORMATIVE, *_informative(rows), **kw),
    ]


def _cell_text(r) -> str:
    one = " (one draw: not deciding)" if r["single_draw"] else ""
    return (
        f"m_val {r['m_val']}: violated in {pct(r['violation_rate_any'], 1)} of {r['draws']} draws "
        f"[{pct(r['violation_rate_any_ci95_low'], 1)}, {pct(r['violation_rate_any_ci95_high'], 1)}]{one}"
    )


def _holds(rows):
    """Kawaguchi's promise: with probability >= 1 - delta no candidate violates the bound; judged at every
    resampled m_val by the rate of draws with any violation."""
    cells = _resampled(rows)
    if not cells:
        return "inconclusive", "no resampled m_val"
    holds = all(r["violation_rate_any"] <= C4_HOLDS.params["delta"] for r in cells)
    return ("reproduced" if holds else "not reproduced"), "; ".join(map(_cell_text, rows))


def _informative(rows):
    """Judged only where the bound holds (a violated bound guarantees nothing, however tight): at the
    declared m_val the violation rate <= delta, the selected model's val error + bound (mean over draws)
    below chance error and the bound's width <= max_width -> reproduced; holding and below chance but
    wider -> partly; violated, or val error + bound at or above chance error (vacuous) -> not reproduced."""
    p = C4_INFORMATIVE.params
    cell = next((r for r in _resampled(rows) if r["m_val"] == p["m_val"]), None)
    if cell is None:
        return "inconclusive", f"no resampled validation sets of m_val = {p['m_val']}"
    holds = cell["violation_rate_any"] <= p["delta"]
    guarantee = cell["selected_val_err_plus_bound_mean"]
    below_chance, narrow = guarantee < p["chance_err"], cell["bound"] <= p["max_width"]
    verdict = "not reproduced" if not (holds and below_chance) else "reproduced" if narrow else "partly"
    measured = (
        f"{_cell_text(cell)}; selected model's val err + bound {guarantee:.3f} (chance error {p['chance_err']:g}) vs "
        f"its test err {cell['selected_test_err_mean']:.3f}; bound width {cell['bound']:.4f}; |test - val| / bound "
        f"{cell['selected_abs_test_minus_val_mean'] / cell['bound']:.2f}"
    )
    return verdict, measured


def _figure(rows, out):
    fig, ax = plt.subplots(figsize=(6, 3.8))
    m = [r["m_val"] for r in rows]
    ax.plot(m, [r["bound"] for r in rows], "o-", label="bound sqrt(ln(K/delta) / 2 m_val)")
    ax.plot(m, [r["selected_abs_test_minus_val_mean"] for r in rows], "s-", label="|test - val| of the selected (mean)")
    ax.plot(m, [r["selected_abs_test_minus_val_p95"] for r in rows], "s--", label="|test - val| (95th percentile)")
    ax.set(
        xscale="log",
        yscale="log",
        xlabel="validation-set size m_val",
        ylabel="error difference",
        title=f"validation bound vs what happens ({rows[0]['candidates'] if rows else 0} candidates)",
    )
    ax.legend(fontsize=7)
    return save_figure(fig, out / "bound_vs_m_val.png")
