"""Hessian probes inside runs (by config), the reparameterization table, and the stats helpers."""

import json

import numpy as np
import pytest
import torch

from harness import probes, rundir
from harness.app import run
from harness.results import report, stats

PROBE = [
    "curvature.sample_size=64",
    "curvature.trace_hvps=6",
    "curvature.tol=0.05",
    "curvature.solver=lanczos",
    "data.train_size=256",
    "data.test_size=128",
    "data.val_size=64",
    "trainer.batch_size=64",
]


def test_probes_at_init_every_epoch_and_end_are_logged_and_survive_resume(make_cfg, tmp_path):
    overrides = [*PROBE, "curvature.at=[init,end]", "curvature.every_epochs=1", "trainer.max_epochs=2"]
    whole = run(make_cfg(*overrides), run_dir=tmp_path / "whole")
    metrics = rundir.read_metrics(tmp_path / "whole")
    assert metrics[0]["step"] == 0 and metrics[0]["init/curvature/top_eig"] > 0
    assert metrics[0]["init/curvature/hvps"] > 6  # Lanczos + the trace's 6
    evals = [m for m in metrics if "test/acc" in m]
    assert len(evals) == 2 and all("curvature/top_eig" in m and "curvature/trace_se" in m for m in evals)
    for key in (
        "init_curvature_top_eig",
        "init_curvature_trace",
        "init_curvature_loss",
        "curvature_top_eig",
        "curvature_trace",
    ):
        assert isinstance(whole[key], float), key
    assert whole["init_curvature_loss"] > whole["curvature_loss"]  # training lowered the risk on the sample

    # interrupted in epoch 2, resumed: the init probe is not measured again, the end is the same
    cut = run(make_cfg(*overrides, "trainer.interrupt_at_step=6"), run_dir=tmp_path / "cut")
    assert cut["status"] == "interrupted"
    resumed = run(make_cfg(*overrides), run_dir=tmp_path / "cut")
    strip = lambda d: {k: v for k, v in d.items() if "seconds" not in k and "wall" not in k}
    assert strip(rundir.read_json(tmp_path / "cut" / "probe_init.json")) == strip(
        rundir.read_json(tmp_path / "whole" / "probe_init.json")
    )
    for key in ("init_curvature_top_eig", "curvature_top_eig", "curvature_trace", "test_acc"):
        assert resumed[key] == whole[key], key


def test_end_probe_only_when_asked(make_cfg, tmp_path):
    s = run(
        make_cfg(*PROBE, "curvature.at=[end]", "trainer.max_epochs=1", "curvature.eps_sharpness=1e-3"), run_dir=tmp_path
    )
    assert "curvature_top_eig" in s and "init_curvature_top_eig" not in s and s["curvature_eps_sharpness"] > 0
    plain = run(make_cfg(*PROBE, "trainer.max_epochs=1"), run_dir=tmp_path / "plain")
    assert not any(k.startswith(("curvature", "init_curvature")) for k in plain)


def test_reparameterization_table_of_a_trained_mlp(make_cfg, tmp_path):
    # the estimators' exactness under reparameterization is in test_curvature; this is the plumbing
    s = run(
        make_cfg(
            "experiment=sharp_minima",
            *PROBE,
            "trainer.max_epochs=2",
            "curvature.alphas=[1,0.1]",
            "curvature.trace=none",
            "curvature.eps_sharpness=null",
        ),
        run_dir=tmp_path / "run",
    )
    rows = json.loads((tmp_path / "run" / s["reparameterization"]).read_text())
    assert [(r["variant"], r["alpha"]) for r in rows] == [
        (v, a) for v in ("two_layer", "multi_layer") for a in (1, 0.1)
    ]
    by = {(r["variant"], r["alpha"]): r for r in rows}
    for r in rows:  # the same function: outputs and accuracy unchanged
        assert r["max_rel_output_change"] < 1e-5 and r["test_acc"] == pytest.approx(s["test_acc"])
        assert r["loss"] == pytest.approx(by[("two_layer", 1)]["loss"], rel=1e-5)
    for v in ("two_layer", "multi_layer"):  # ... but not the same sharpness
        assert by[(v, 0.1)]["top_eig"] > 5 * by[(v, 1)]["top_eig"]
    out = report.report(tmp_path, tmp_path / "report", wandb_mode="disabled")
    table = (out / "reparameterization.csv").read_text().splitlines()
    assert table[0].startswith("variant,alpha,max_abs_output_change") and len(table) == 5
    assert (out / "sharpness_vs_alpha.png").is_file()


def test_curvature_sample_is_fixed_by_its_own_seed():
    x = torch.arange(100, dtype=torch.uint8).view(100, 1)
    y = torch.arange(100)
    ident = lambda b, train: b.float()
    a, b = probes.curvature_sample(x, y, ident, 10, 0), probes.curvature_sample(x, y, ident, 10, 0)
    assert torch.equal(a[1], b[1]) and not torch.equal(a[1], probes.curvature_sample(x, y, ident, 10, 1)[1])
    assert len(probes.curvature_sample(x, y, ident, 1000, 0)[1]) == 100


def test_spearman_ci_on_synthetic_data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=200)
    strong = stats.spearman_ci(x, x + 0.3 * rng.normal(size=200), n_boot=500)
    assert strong["rho"] > 0.9 and strong["ci_low"] <= strong["rho"] <= strong["ci_high"] and strong["ci_low"] > 0.85
    none = stats.spearman_ci(x, rng.normal(size=200), n_boot=500)
    assert none["ci_low"] < 0 < none["ci_high"]
    monotone = stats.spearman_ci(x, np.exp(x), n_boot=100)  # rank correlation: any monotone map is 1
    assert monotone["rho"] == pytest.approx(1.0)


def test_loglog_slope_and_prescreening():
    m = np.array([500, 1000, 2000, 4000, 8000])
    assert stats.loglog_slope(m, 3.0 / m)["slope"] == pytest.approx(-1.0)
    # the gap rises with the score: choosing the lowest score of 8 beats a random one of them
    rng = np.random.default_rng(0)
    score = rng.normal(size=64)
    res = stats.prescreening(score, score + 0.5 * rng.normal(size=64), 8, draws=2000)
    assert (
        res["gap_prescreened"] < res["gap_random"] and res["p_prescreened_lower"] > 0.7
    )  # at most 7/8: the random pick is the same one 1 time in 8
    reversed_ = stats.prescreening(score, -score, 8, draws=2000)  # low score, high gap: screening hurts
    assert reversed_["gap_prescreened"] > reversed_["gap_random"] and reversed_["p_prescreened_lower"] == 0
