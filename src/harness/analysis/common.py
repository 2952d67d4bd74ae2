"""Helpers shared by the analyses."""

from __future__ import annotations

import statistics

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402,F401  (re-exported: every analysis draws with it)

PNG = {"dpi": 110, "metadata": {"Software": None}}  # no version stamp: same runs, same bytes


def save_figure(fig, path):
    """Lay out, write (same runs, same bytes) and close a figure; return its path."""
    fig.tight_layout()
    fig.savefig(path, **PNG)
    plt.close(fig)
    return path


def steps_to_fit(metrics: list[dict], threshold: float):
    """The step of the first evaluation with train accuracy >= threshold (None: never fitted)."""
    return next((m["step"] for m in metrics if m.get("train/acc", -1) >= threshold), None)


def mean_std(values):
    """(mean, sample std) of the values that are not None; (None, None) when there are none."""
    values = [v for v in values if v is not None]
    if not values:
        return None, None
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def chance_interval(n: int, p: float = 0.1, z: float = 1.959964) -> tuple[float, float]:
    """Where the accuracy of a guesser with success rate p falls 95% of the time on n test images
    (normal approximation to the binomial; n >= 1000 here, so it is accurate)."""
    half = z * (p * (1 - p) / n) ** 0.5
    return p - half, p + half


def pct(x, digits=2) -> str:
    return "" if x is None else f"{100 * x:.{digits}f}%"


def verdict_row(
    claim: str,
    verdict: str,
    criterion: str,
    measured: str,
    paper: str = "",
    seeds: int | None = None,
    figure: str = "",
    **numbers,
) -> dict:
    """One row of an experiment's `verdicts` table (and of the claims dashboard). `criterion` is the
    rule fixed in code before the data is read; `measured` the numbers that decided it."""
    return {
        "claim": claim,
        "verdict": verdict,
        "paper": paper,
        "measured": measured,
        "seeds": seeds,
        "criterion": criterion,
        "figure": figure,
        **numbers,
    }
