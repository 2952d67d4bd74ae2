"""Known answers for C10 (SGD's replace-one stability): record sets built so each claim is false in
several ways (flat, growing with m, shrinking along the steps, stability twice or half the gap,
curvature unrelated or the wrong way round), and one true but noisy."""

import math

import numpy as np
import pytest
from helpers import fake_run, run_report, verdicts

from harness.names import S

SIZES, SEEDS, PAIRS = (500, 1000, 2000, 4000, 8000, 16000), (0, 1, 2, 3), 20
INITS = tuple(range(10, 26))  # 16 inits at m = 2000
C10 = {
    "m": "C10 replace-one stability shrinks with m",
    "t": "C10 instability grows with the steps taken",
    "gap": "C10 the expected gap equals the expected replace-one stability",
    "curv": "C10 inits with lower curvature are more stable",
}


def c10_runs(path, stab=lambda m: 100 / m, ratio=1.0, growth=0.3, curv_sign=1.0, noise=0.2):
    """Runs on S (gap = stab(m) / ratio) and their pairs (stability stab(m), distance growing as
    t^growth after the visit at step 3), with seed noise; at m = 2000, 16 more inits whose trace at
    init moves their stability by curv_sign (0: unrelated)."""
    rng = np.random.default_rng(0)
    job = 0

    def run(summary, metrics, seed, m, replace=None):
        nonlocal job
        data = {"subset": m, "corruption_prob": 0.0, "replace_index": replace, "input_randomization": "none"}
        fake_run(path / str(job), "sgd_stability", summary, metrics, seed=seed, data=data)
        job += 1

    cells = [(m, s) for m in SIZES for s in SEEDS] + [(2000, s) for s in INITS]
    for m, seed in cells:
        trace = float(rng.uniform(50, 150))
        shift = curv_sign * (trace - 100) / 100 if seed in INITS else 0.0
        base = stab(m) * math.exp(rng.normal(0, noise) + shift)
        gap = base / ratio * math.exp(rng.normal(0, 0.05))
        run({S.GAP_LOSS: gap, S.INIT_TRACE: trace, S.INIT_TOP_EIG: trace / 10, "train_acc": 0.5}, [], seed, m)
        for i in range(PAIRS if seed in SEEDS else 10):
            loss_diff = base * math.exp(rng.normal(0, noise))
            steps = [1, 2, 4, 8, 16, 32]
            history = [
                {"step": t, "stability/distance": 0.0 if t < 3 else 0.01 * t**growth * math.exp(rng.normal(0, 0.02)),
                 "stability/loss_diff": loss_diff}
                for t in steps
            ]  # fmt: skip
            summary = {S.STABILITY_LOSS_DIFF: loss_diff, S.STABILITY_DISTANCE: history[-1]["stability/distance"]}
            run({**summary, "train_acc": 0.5}, history, seed, m, replace=i)
    return path


@pytest.mark.parametrize(
    "kw, want",
    [
        ({}, {"m": "reproduced", "t": "reproduced", "gap": "reproduced", "curv": "reproduced"}),  # true, noisy
        # one set false for every claim at once (each claim reads its own part of the records):
        # flat in m (no effect); the runs converge after the visit (wrong direction); stability twice
        # the gap (the measurement is off); curvature unrelated to stability (no effect)
        (
            {"stab": lambda m: 0.05, "growth": -0.3, "ratio": 2.0, "curv_sign": 0.0},
            {"m": "not reproduced", "t": "not reproduced", "gap": "not reproduced", "curv": "not reproduced"},
        ),
        # and false the other way: growing with m (wrong direction); no growth along the steps; half
        # the gap; less curved inits less stable (wrong direction)
        (
            {"stab": lambda m: m / 1e5, "growth": 0.0, "ratio": 0.5, "curv_sign": -1.0},
            {"m": "not reproduced", "t": "not reproduced", "gap": "not reproduced", "curv": "not reproduced"},
        ),
    ],
)
def test_c10_verdicts(tmp_path, kw, want):
    got = verdicts(run_report(c10_runs(tmp_path / "s", **kw), tmp_path))
    assert {k: got[C10[k]] for k in want} == want
