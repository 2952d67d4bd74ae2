"""Known answers for C9 (complexity bounds): record sets built so each claim is false in several
ways (a bound that is not vacuous, a useless validation set, bounds flat or falling with depth, a
depth that does not fit, no difference or the wrong one between labels), and one true but noisy."""

import json
import math

import numpy as np
import pytest
from helpers import fake_run, run_report, verdicts

from harness.names import S

DEPTHS, SEEDS = (1, 2, 3, 4, 6, 8), (0, 1, 2)
VACUOUS, DEPTH, LABELS = (
    "C9 complexity bounds are vacuous, the validation bound is not",
    "C9 norm-based bounds grow with depth, training error does not",
    "C9 the spectral bound tells random labels from true ones, parameter counts cannot",
)


def bounds_of(depth, seed, labels, rng, grow=1.0, random_factor=10.0, vc=None, floor=None):
    """Bound values with seed noise (mostly shared by the two runs of a pair): norm-based ones x
    10^(grow x depth) (grow 0: flat in depth), the spectral one x random_factor on random labels;
    `floor` caps every bound (a non-vacuous case)."""
    shared = np.random.default_rng([depth, seed]).normal(0, 0.3)  # a pair's runs share their init
    noise = math.exp(shared + rng.normal(0, 0.05))
    norm = 1e3 * 10 ** (grow * depth) * noise
    bft = 1e4 * noise * (random_factor if labels == "random" else 1.0) * 10 ** (0.2 * depth)
    out = {"vc_bound": vc, "nts_bound": norm * 8, "grs_bound": norm, "bft_bound": bft}
    if floor is not None:
        out = {k: (floor if v is None else min(v, floor)) for k, v in out.items()}
    return out


def c9_runs(path, train_acc=lambda d, lab: 0.995, val_acc=0.45, **kw):
    rng = np.random.default_rng(0)
    job = 0
    for labels in ("true", "random"):
        for depth in DEPTHS:
            for seed in SEEDS:
                acc = train_acc(depth, labels)
                params = 2352 * 512 + depth * 512 * 512
                summary = {
                    "train_acc": acc,
                    "test_acc": val_acc if labels == "true" else 0.1,
                    "val_acc": val_acc if labels == "true" else 0.1,
                    "data_val_size": 5000,
                    S.complexity("params"): params,
                    S.complexity("vc_dim"): params * (depth + 1) * math.log2(params),
                    S.complexity("gamma"): 5.0,
                    S.complexity("spectral_complexity"): 1e6,
                    **{S.complexity(k): v for k, v in bounds_of(depth, seed, labels, rng, **kw).items()},
                }
                fake_run(
                    path / str(job),
                    "complexity_bounds",
                    summary,
                    [],
                    seed=seed,
                    model="mlp_deep",
                    data={"corruption_prob": 1.0 if labels == "random" else 0.0, "randomization_seed": seed},
                )
                cfg = path / str(job) / "config.yaml"
                cfg.write_text(
                    json.dumps({**json.loads(cfg.read_text()), "model": {"name": "mlp_deep", "depth": depth}})
                )
                job += 1
    return path


@pytest.mark.parametrize(
    "kw, want",
    [
        ({}, {VACUOUS: "reproduced", DEPTH: "reproduced", LABELS: "reproduced"}),  # true, with seed noise
        # a complexity bound that says something (0.6 < 1): the survey's point fails
        ({"floor": 0.6}, {VACUOUS: "not reproduced"}),
        # the validation set gives no usable guarantee (val error 0.95: at chance)
        ({"val_acc": 0.05}, {VACUOUS: "not reproduced"}),
        # no effect: norm-based bounds flat in depth
        ({"grow": 0.0}, {DEPTH: "not reproduced"}),
        # wrong direction: norm-based bounds fall with depth
        ({"grow": -0.3}, {DEPTH: "not reproduced"}),
        # the deepest nets do not fit: depth is confounded with fit, no verdict
        ({"train_acc": lambda d, lab: 0.9 if d == 8 else 0.995}, {VACUOUS: "inconclusive", DEPTH: "inconclusive"}),
        # no difference between labels in the spectral bound
        ({"random_factor": 1.0}, {LABELS: "not reproduced"}),
        # too small a difference for a bound to use (1.1x, however sure)
        ({"random_factor": 1.1}, {LABELS: "not reproduced"}),
        # wrong direction: smaller on random labels
        ({"random_factor": 0.1}, {LABELS: "not reproduced"}),
        # random labels not memorized: the pairs do not count
        ({"train_acc": lambda d, lab: 0.5 if lab == "random" else 0.995}, {LABELS: "inconclusive"}),
    ],
)
def test_c9_verdicts(tmp_path, kw, want):
    got = verdicts(run_report(c9_runs(tmp_path / "s", **kw), tmp_path))
    assert {k: got[k] for k in want} == want
