"""Analyses on synthetic sweeps give known answers; the report command is idempotent;
every experiment config of issue 3 runs at smoke scale and its report is written."""

import csv
import io

import pytest
from helpers import curve, fake_run, run_cli

from harness.results import report
from harness.results.analysis.common import steps_to_fit


def test_steps_to_fit_is_the_first_evaluation_over_the_threshold():
    assert steps_to_fit(curve(700, 0.5), 0.99) == 700
    assert steps_to_fit(curve(700, 0.5)[:-1], 0.99) is None


@pytest.fixture
def corruption_sweep(tmp_path):
    sweep = tmp_path / "sweep"
    job = 0
    for p, fits, test_acc in [(0.0, (1000, 1200), 0.5), (0.5, (2000, 2600), 0.3), (1.0, (3300, 3300), 0.1)]:
        for seed, fit in enumerate(fits):
            fake_run(
                sweep / str(job),
                "corruption_sweep",
                {"test_acc": test_acc, "train_acc": 0.99, "val_acc": test_acc, "data_realised_corruption": 0.9 * p},
                curve(fit, test_acc),
                p=p,
                seed=seed,
            )
            job += 1
    return sweep


def test_corruption_sweep_table_has_the_known_ratios(corruption_sweep, tmp_path):
    out = report.report(corruption_sweep, tmp_path / "out", wandb_mode="disabled")
    rows = (out / "corruption_sweep.csv").read_text().splitlines()
    header = rows[0].split(",")
    table = [dict(zip(header, r.split(","))) for r in rows[1:]]
    assert [float(t["corruption_prob"]) for t in table] == [0.0, 0.5, 1.0]
    # p = 0 fits at 1100 steps on average: ratios 1, (2000/1100 + 2600/1100) / 2, 3300/1100
    assert [float(t["time_to_fit_vs_p0_mean"]) for t in table] == pytest.approx([1.0, 2300 / 1100, 3.0], abs=1e-4)
    assert [float(t["test_error_mean"]) for t in table] == pytest.approx([0.5, 0.7, 0.9])
    assert float(table[2]["time_to_fit_vs_p0_sd"]) == 0.0
    # p = 0 fits at 1000 and 1200 steps: mean 1100, sd 141.42, t interval 1100 +- 12.706 * 141.42 / sqrt(2)
    assert float(table[0]["steps_to_fit_ci95_high"]) == pytest.approx(1100 + 12.7062 * 100, rel=1e-4)
    for name in ("figure1b_time_to_fit.png", "figure1c_test_error.png", "validation_bound.md"):
        assert (out / name).is_file()
    bound = (out / "validation_bound.csv").read_text()
    assert bound.count("\n") == 1 + 6 and bound.count(",yes\n") == 1  # 6 models, one selected


def test_report_is_idempotent(corruption_sweep, tmp_path):
    out = report.report(corruption_sweep, tmp_path / "out", wandb_mode="disabled")
    first = {p.name: p.read_bytes() for p in out.iterdir()}
    report.report(corruption_sweep, out, wandb_mode="disabled")
    assert {p.name: p.read_bytes() for p in out.iterdir()} == first


def test_table1_puts_the_papers_numbers_beside_the_measured_ones(tmp_path):
    sweep = tmp_path / "sweep"
    fake_run(
        sweep / "0",
        "zhang_table1",
        {"train_acc": 1.0, "test_acc": 0.52, "val_acc": 0.5},
        curve(500, 0.52),
        model="mlp_3x512",
        row="none",
    )
    fake_run(
        sweep / "1",
        "zhang_table1",
        {"train_acc": 0.995, "test_acc": 0.1, "val_acc": 0.1},
        curve(900, 0.1),
        model="mlp_1x512",
        row="random_labels",
    )
    out = report.report(sweep, tmp_path / "out", wandb_mode="disabled")
    md = (out / "table1.md").read_text()
    assert "| mlp_3x512 | none | 100 | 52.39 | 100 | 52 |" in md
    assert "| mlp_1x512 | random_labels | 99.34 | 10.61 | 99.5 | 10 |" in md


def test_a_sweep_of_two_experiments_is_refused(tmp_path):
    fake_run(tmp_path / "s" / "0", "zhang_table1", {"train_acc": 1, "test_acc": 1}, [])
    fake_run(tmp_path / "s" / "1", "corruption_sweep", {"train_acc": 1, "test_acc": 1}, [])
    with pytest.raises(SystemExit, match="one experiment"):
        report.report(tmp_path / "s", tmp_path / "out", wandb_mode="disabled")


CHEAP_PROBE = [
    "curvature.sample_size=64",
    "curvature.trace_hvps=4",
    "curvature.eps_sharpness=null",
    "curvature.solver=lanczos",
    "curvature.tol=0.05",
]


@pytest.mark.sweeps  # the CLI smoke sweeps: make test-sweeps (CI runs them too)
@pytest.mark.parametrize(
    "experiment, jobs, files, extra",
    [
        # two of the sweep's three seeds: every cell gets a mean over seeds with its interval
        ("zhang_table1", 12, ["table1.csv", "table1.md", "table1_mean.csv"], ["seed=0,1"]),
        ("randomizations", 5, ["randomizations.md", "figure1a_loss_vs_steps.png"], []),
        ("corruption_sweep", 18, ["corruption_sweep.md", "figure1b_time_to_fit.png", "figure1c_test_error.png"], []),
        # a smaller grid than the experiment's 7 x 4, to keep the test short
        (
            "batch_lr_scaling",
            6,
            ["b_opt.csv", "heatmap_test_acc.png", "test_acc_vs_noise_scale.png"],
            ["trainer.batch_size=16,32,64", "optimizer.lr=0.05,0.1"],
        ),
        (
            "schedule_vs_batch",
            6,
            ["schedules.csv", "test_acc_vs_epochs_and_updates.png", "comparisons.csv"],
            ["schedule.milestones=[1]", "schedule=decay_lr,increase_batch,hybrid", "seed=0,1"],
        ),
        (
            "init_curvature",
            6,
            ["init_curvature.csv", "spearman.csv", "curvature_vs_gap.png"],
            ["model.init_gain=0.5,1.0", "seed=0,1,2", *CHEAP_PROBE],
        ),
        (
            "init_curvature_m",
            3,
            ["gap_vs_m.csv", "gap_vs_m_fit.csv", "gap_vs_m.png"],
            ["data.subset=50,100,200", "seed=0"],
        ),
        (
            "learning_curve",
            3,
            # 1-epoch smoke runs do not fit their training sets: no size counts, so no fits (C6's rule)
            ["learning_curve.csv", "learning_curve.png"],
            ["data.subset=50,100,200", "seed=0"],
        ),
        (
            "adversarial",
            3,
            ["adversarial.csv", "accuracy_vs_eps.png", "panda_figure.png"],
            [
                "data.subset=200",
                "adversarial.test_size=64",
                "adversarial.pgd_steps=3",
                "adversarial.pgd_strong_steps=4",
                "adversarial.pgd_strong_restarts=2",
                "seed=0",
            ],
        ),
        (
            "validation_bound",
            2,
            ["resampled_bound.csv", "candidates.csv", "bound_vs_m_val.png", "verdicts.csv"],
            ["model=mlp_1x512", "optimizer.lr=0.01,0.02"],
        ),
        (
            "sharp_minima_keskar",
            2,
            ["keskar.csv", "keskar_runs.csv"],
            ["trainer.batch_size=32,256", "seed=0", "trainer.target_train_acc=null", *CHEAP_PROBE],
        ),
        ("prescreen", 4, ["prescreen_runs.csv", "prescreen_differences.csv"], ["seed=0,1", "init.prescreen=0,3"]),
        (
            "gradient_flow",
            4,
            ["gradient_flow.csv", "gradient_norm_vs_layer.png"],
            ["model.depth=2,3", "model.activation=relu", "model.batch_norm=false,true", "model.init=default"],
        ),
        (
            "complexity_bounds",
            4,
            ["complexity_bounds.csv", "bounds_vs_depth.png"],
            ["model.depth=1,2", "data.corruption_prob=0.0,1.0", "seed=0", "model.width=32"],
        ),
        (
            "keep_noise_scale",
            8,
            ["keep_noise_scale.csv", "keep_noise_scale_differences.csv", "keep_noise_scale.png"],
            ["optimizer.momentum=0,0.5", "seed=0,1", "data.subset=null"],
        ),
    ],
)
def test_experiment_sweeps_run_at_smoke_scale_and_report(tmp_path, experiment, jobs, files, extra):
    sweep = tmp_path / "sweep"
    epochs = "trainer.max_epochs=2" if experiment == "schedule_vs_batch" else "trainer.max_epochs=1"
    out = run_cli(
        "-m",
        f"experiment={experiment}",
        "scale=smoke",
        "logger=none",
        epochs,
        *extra,
        f"hydra.sweep.dir={sweep}",
        timeout=600,
    )
    assert out.returncode == 0, out.stderr
    assert len(list(sweep.glob("*/summary.json"))) == jobs
    result = report.report(sweep, tmp_path / "report", wandb_mode="offline")
    for name in files + ["validation_bound.csv"]:
        assert (result / name).is_file(), name
    first_run = (result / "validation_bound.csv").read_text().splitlines()[1].split(",")[0]
    assert "=" in first_run  # runs are named by their own overrides, e.g. "model=mlp_1x512 table1=wd"
    assert list(sweep.glob("wandb/offline-run-*/run-*.wandb"))  # the one analysis run of the sweep


def test_the_analysis_run_goes_to_the_project_the_runs_logged_to(monkeypatch):
    from types import SimpleNamespace

    runs = [SimpleNamespace(config={"logger": {"name": "wandb", "project": "zhang-repro"}})]
    assert report.wandb_project(runs) == "zhang-repro"
    monkeypatch.setenv("WANDB_PROJECT", "mine")
    assert report.wandb_project([SimpleNamespace(config={})]) == "mine"
    monkeypatch.delenv("WANDB_PROJECT")
    assert report.wandb_project([SimpleNamespace(config={"logger": {"name": "none"}})]) == "harness"


@pytest.mark.sweeps  # C10's two sweeps through the CLI, the pairs against the runs on S, then the report
def test_stability_pairs_run_against_their_runs_on_s_and_report(tmp_path):
    refs, pairs = tmp_path / "refs", tmp_path / "pairs"
    common = ["scale=smoke", "logger=none", "seed=0,1"]
    assert run_cli("-m", "experiment=sgd_stability", *common, f"hydra.sweep.dir={refs}").returncode == 0
    assert sorted(p.name for p in refs.glob("m*_s*")) == ["m100_s0", "m100_s1", "m200_s0", "m200_s1"]
    reference = "stability.reference=" + str(refs) + "/m${data.subset}_s${seed}"
    out = run_cli("-m", "experiment=sgd_stability_pairs", *common, reference, f"hydra.sweep.dir={pairs}")
    assert out.returncode == 0, out.stderr[-2000:]
    result = report.report([refs, pairs], tmp_path / "report", wandb_mode="disabled")
    rows = list(csv.DictReader(io.StringIO((result / "stability_pairs.csv").read_text())))
    assert len(rows) == 16 and all(float(r["distance"]) > 0 for r in rows)  # 2 sizes x 2 seeds x 4 examples
    assert (result / "stability_vs_m.png").is_file()
