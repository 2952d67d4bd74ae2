"""Computed verdicts: each analysis is fed synthetic runs built to pass and built to fail; the run
records rebuild byte-identical reports; the dashboard lists every claim and never invents a verdict."""

import csv
import io
import json

import numpy as np
import pytest
from helpers import curve, fake_run

from harness import dashboard, records, report
from harness.plan import PLAN


def verdicts(out):
    return {r["claim"]: r for r in csv.DictReader(io.StringIO((out / "verdicts.csv").read_text()))}


def random_label_runs(path, train_acc, test_acc, seeds=(0, 1)):
    for seed in seeds:
        fake_run(
            path / str(seed),
            "random_labels",
            {
                "train_acc": train_acc,
                "test_acc": test_acc,
                "val_acc": test_acc,
                "data_test_size": 10000,
                "data_realised_corruption": 0.9,
                "steps": 100,
            },
            curve(900, test_acc),
            seed=seed,
        )
    return path


@pytest.mark.parametrize(
    "train_acc, test_acc, verdict",
    [
        (0.995, 0.1003, "reproduced"),  # memorized, test at chance
        (0.995, 0.113, "partly"),  # memorized, but 11.3% is outside chance's interval for 10,000 images
        (0.97, 0.10, "partly"),  # not quite memorized
        (0.60, 0.10, "not reproduced"),
    ],
)
def test_random_labels_verdict(tmp_path, train_acc, test_acc, verdict):
    out = report.report(random_label_runs(tmp_path / "s", train_acc, test_acc), tmp_path / "out", wandb_mode="disabled")
    assert verdicts(out)["C1 random labels memorized"]["verdict"] == verdict


def test_figure1a_verdict(tmp_path):
    for job, kind in enumerate(["true_labels", "random_labels", "shuffled_pixels", "random_pixels", "gaussian"]):
        fit = 500 if kind != "gaussian" else 10**6  # gaussian never fits in the fake budget
        fake_run(
            tmp_path / "s" / str(job),
            "randomizations",
            {"train_acc": 0.99, "test_acc": 0.1},
            curve(fit, 0.1)[:20],
            randomization=kind,
        )
    out = report.report(tmp_path / "s", tmp_path / "out", wandb_mode="disabled")
    assert verdicts(out)["C1 Figure 1a: randomizations fitted"]["verdict"] == "partly"


def prediction_runs(path, k, val_err, test_err, n_val=5000, n_test=10000, seed=0):
    """k candidates whose per-example correctness gives the val and test errors asked for."""
    rng = np.random.default_rng(seed)
    for j in range(k):
        val = rng.random(n_val) >= val_err[j]
        test = rng.random(n_test) >= test_err[j]
        preds = {
            "val_size": n_val,
            "test_size": n_test,
            "val_correct": np.packbits(val).tobytes().hex(),
            "test_correct": np.packbits(test).tobytes().hex(),
        }
        fake_run(
            path / str(j),
            "validation_bound",
            {
                "train_acc": 1.0,
                "test_acc": float(test.mean()),
                "val_acc": float(val.mean()),
                "data_val_size": n_val,
                "predictions": "predictions.json",
            },
            [],
            seed=j,
        )
        (path / str(j) / "predictions.json").write_text(json.dumps(preds))
    return path


def test_validation_bound_holds_when_val_and_test_come_from_one_distribution(tmp_path):
    errs = np.linspace(0.4, 0.6, 8)
    out = report.report(prediction_runs(tmp_path / "s", 8, errs, errs), tmp_path / "out", wandb_mode="disabled")
    v = verdicts(out)
    assert v["C4 validation bound holds"]["verdict"] == "reproduced"
    assert v["C4 validation bound is informative"]["verdict"] == "reproduced"
    rows = list(csv.DictReader(io.StringIO((out / "resampled_bound.csv").read_text())))
    assert [int(r["m_val"]) for r in rows] == [50, 200, 1000, 5000]
    assert all(float(r["violation_rate_any"]) <= 0.05 for r in rows)
    # the bound shrinks as 1/sqrt(m_val): 50 -> 5000 is a factor 10
    assert float(rows[0]["bound"]) / float(rows[-1]["bound"]) == pytest.approx(10.0)


def test_validation_bound_fails_when_the_validation_set_flatters(tmp_path):
    # val error 0.3 but test error 0.5: the validation set does not represent the test distribution
    out = report.report(
        prediction_runs(tmp_path / "s", 4, [0.3] * 4, [0.5] * 4), tmp_path / "out", wandb_mode="disabled"
    )
    assert verdicts(out)["C4 validation bound holds"]["verdict"] == "not reproduced"


def test_records_rebuild_byte_identical_reports(tmp_path):
    sweep = prediction_runs(tmp_path / "s", 4, [0.4] * 4, [0.4] * 4)
    from_dirs = report.report(sweep, tmp_path / "a", wandb_mode="disabled")
    from_records = report.report(from_dirs / records.RECORDS, tmp_path / "b", wandb_mode="disabled")
    a = {p.name: p.read_bytes() for p in from_dirs.iterdir()}
    b = {p.name: p.read_bytes() for p in from_records.iterdir()}
    assert a.keys() == b.keys() and a == b
    assert len(records.read_records(from_dirs / records.RECORDS)) == 4


def test_fingerprint_ignores_only_where_and_how_a_run_was_logged():
    cfg = {"seed": 0, "logger": {"mode": "offline"}, "data": {"root": "/a", "subset": 100}, "tags": ["x"]}
    moved = {**cfg, "logger": {"mode": "disabled"}, "data": {"root": "/b", "subset": 100}, "tags": []}
    assert records.fingerprint(cfg) == records.fingerprint(moved)
    assert records.fingerprint(cfg) != records.fingerprint({**cfg, "seed": 1})
    assert records.fingerprint(cfg) != records.fingerprint({**cfg, "data": {"root": "/a", "subset": 200}})


def test_a_bad_records_file_is_refused_naming_it(tmp_path):
    bad = tmp_path / "runs.jsonl.gz"
    bad.write_bytes(b"not gzip")
    with pytest.raises(SystemExit, match="runs.jsonl.gz is not a run-records file"):
        report.report(bad, tmp_path / "out", wandb_mode="disabled")


def test_dashboard_lists_every_claim_and_computes_none_without_records(tmp_path):
    root = tmp_path / "experiments"
    out = report.report(random_label_runs(tmp_path / "s", 0.995, 0.1003), root / "random_labels", wandb_mode="disabled")
    (root / "zhang_table1").mkdir()
    (root / "zhang_table1" / "verdicts.csv").write_text("claim,verdict\nC1 Table 1,reproduced\n")  # no records
    table = dashboard.write(root)
    assert [r["claim"] for r in table] == [c for rep in PLAN for c in rep.claims]
    by_claim = {r["claim"]: r for r in table}
    assert by_claim["C1 random labels memorized"]["verdict"] == "reproduced"
    assert by_claim["C1 Table 1"]["verdict"] == "not computed"  # a verdict without records is not shown
    md = (root / "README.md").read_text()
    assert "**reproduced**" in md and 'src="random_labels/random_labels_accuracy.png" width="160"' in md
    assert (root / "claims.csv").read_text().count("\n") == 1 + len(table)
    assert out == root / "random_labels"


def test_make_report_rebuilds_from_records_with_no_diff(tmp_path):
    root = tmp_path / "experiments"
    report.report(random_label_runs(tmp_path / "s", 0.995, 0.1003), root / "random_labels", wandb_mode="disabled")
    dashboard.write(root)
    before = {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}
    dashboard.rebuild(root)
    dashboard.write(root)
    assert {p: p.read_bytes() for p in root.rglob("*") if p.is_file()} == before


def corruption_runs(path, fits, test_acc):
    """fits: {p: [steps to fit per seed]}; test_acc: {p: accuracy}."""
    job = 0
    for p, steps in fits.items():
        for seed, fit in enumerate(steps):
            fake_run(
                path / str(job),
                "corruption_sweep",
                {
                    "test_acc": test_acc[p],
                    "train_acc": 0.99,
                    "val_acc": test_acc[p],
                    "data_test_size": 10000,
                    "data_realised_corruption": 0.9 * p,
                },
                curve(fit, test_acc[p]),
                p=p,
                seed=seed,
            )
            job += 1
    return path


ACC = {0.0: 0.45, 0.5: 0.3, 1.0: 0.1}


@pytest.mark.parametrize(
    "fits, acc, v1b, v1c",
    [
        ({0.0: [1000, 1100, 1200], 0.5: [1500, 1600, 1700], 1.0: [2200, 2300, 2400]}, ACC, "reproduced", "reproduced"),
        # p = 1 no slower than p = 0 within the seeds' spread
        ({0.0: [1000, 2000, 3000], 0.5: [1500, 1600, 1700], 1.0: [1100, 2100, 2900]}, ACC, "partly", "reproduced"),
        # 20x slower: not "a small constant factor"
        ({0.0: [100, 100, 200], 0.5: [1500, 1600, 1700], 1.0: [2200, 2300, 2400]}, ACC, "not reproduced", "reproduced"),
        # test accuracy at p = 1 stays well above chance
        (
            {0.0: [1000, 1100, 1200], 0.5: [1500, 1600, 1700], 1.0: [2200, 2300, 2400]},
            {**ACC, 1.0: 0.2},
            "reproduced",
            "partly",
        ),
    ],
)
def test_figure1bc_verdicts(tmp_path, fits, acc, v1b, v1c):
    out = report.report(corruption_runs(tmp_path / "s", fits, acc), tmp_path / "out", wandb_mode="disabled")
    v = verdicts(out)
    assert (v["C1 Figure 1b: time to fit vs p"]["verdict"], v["C1 Figure 1c: test error vs p"]["verdict"]) == (v1b, v1c)


def test_the_readme_verdict_is_the_computed_one(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "README.md").write_text(
        "# Random labels\n\nintro\n\n<!-- computed:begin -->\nold: reproduced\n<!-- computed:end -->\n\ndiscussion\n"
    )
    report.report(random_label_runs(tmp_path / "s", 0.6, 0.1), out, wandb_mode="disabled")
    text = (out / "README.md").read_text()
    assert "**C1 random labels memorized: not reproduced.**" in text and "old: reproduced" not in text
    assert text.startswith("# Random labels\n\nintro\n\n") and text.endswith("\n\ndiscussion\n")


def test_every_planned_claim_has_the_papers_number():
    from harness.plan import PAPER

    assert {c for rep in PLAN for c in rep.claims} == set(PAPER)
