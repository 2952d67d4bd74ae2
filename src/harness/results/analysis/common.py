"""Helpers shared by the analyses."""

from __future__ import annotations

import statistics

import matplotlib

from ..claims import Claim

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402,F401  (re-exported: every analysis draws with it)

from ...names import CHANCE_ACC, M

PNG = {"dpi": 110, "metadata": {"Software": None}}  # no version stamp: same runs, same bytes


def save_figure(fig, path):
    """Lay out, write (same runs, same bytes) and close a figure; return its path."""
    fig.tight_layout()
    fig.savefig(path, **PNG)
    plt.close(fig)
    return path


def steps_to_fit(metrics: list[dict], threshold: float):
    """The step of the first evaluation with train accuracy >= threshold (None: never fitted)."""
    return next((m[M.STEP] for m in metrics if m.get(M.TRAIN_ACC, -1) >= threshold), None)


def mean_std(values):
    """(mean, sample std) of the values that are not None; (None, None) when there are none."""
    values = [v for v in values if v is not None]
    if not values:
        return None, None
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def chance_interval(n: int, p: float = CHANCE_ACC, z: float = 1.959964) -> tuple[float, float]:
    """Where the accuracy of a guesser with success rate p falls 95% of the time on n test images
    (normal approximation to the binomial; n >= 1000 here, so it is accurate)."""
    half = z * (p * (1 - p) / n) ** 0.5
    return p - half, p + half


def pct(x, digits=2) -> str:
    return "" if x is None else f"{100 * x:.{digits}f}%"


def verdict_row(
    claim: Claim,
    verdict: str,
    measured: str,
    replicates: int | None = None,
    varied: str = "",
    figure: str = "",
    basis: str = "all runs",
    **numbers,
) -> dict:
    """One row of an experiment's `verdicts` table (and of the claims dashboard): the claim's declared
    test (its experiment's CLAIMS) as its criterion, `measured` the numbers that decided it, `replicates` the number
    of independent replicates (seeds) behind it, `varied` what else varied (inits, candidates, sizes),
    `basis` which runs decide it (a re-run is compared with these records only on the same basis)."""
    return {
        "claim": claim.name,
        "verdict": verdict,
        "paper": claim.paper,
        "measured": measured,
        "replicates": replicates,
        "varied": varied,
        "criterion": claim.criterion,
        "figure": figure,
        "basis": basis,
        **numbers,
    }


def tost_chance(test_accs, chance: float, lo: float, hi: float) -> dict:
    """Is a set of replicates' test accuracy at chance, two-sided, at the replicate level? The 90% t-interval
    of their mean inside [lo, hi] -> "at chance" (TOST at 5%); the 95% interval's lower end above hi -> "leak"
    (learned something about the true labels); its upper end below lo -> "below" (worse than guessing: a
    label-handling bug); else "undecided". Fewer than 2 replicates: "undecided" (no interval)."""
    from .. import stats

    if len(test_accs) < 2:
        m = statistics.fmean(test_accs) if test_accs else float("nan")
        return {
            "mean": m,
            "ci90_low": float("nan"),
            "ci90_high": float("nan"),
            "n": len(test_accs),
            "state": "undecided",
        }
    c90, c95 = stats.mean_ci(test_accs, level=0.90), stats.mean_ci(test_accs)
    if c95["low"] > hi:
        state = "leak"
    elif c95["high"] < lo:
        state = "below"
    elif lo <= c90["low"] and c90["high"] <= hi:
        state = "at chance"
    else:
        state = "undecided"
    return {"mean": c90["mean"], "ci90_low": c90["low"], "ci90_high": c90["high"], "n": c90["n"], "state": state}
