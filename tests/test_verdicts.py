"""Computed verdicts: each analysis is fed synthetic runs built to pass and built to fail; the run
records rebuild byte-identical reports; the dashboard lists every claim and never invents a verdict."""

import csv
import io
import json
import shutil

import pytest
from helpers import REPO, prediction_runs, random_label_runs

from harness import rundir
from harness.results import dashboard, records, report
from harness.results.plan import PLAN


def verdicts(out):
    return {r["claim"]: r for r in csv.DictReader(io.StringIO((out / "verdicts.csv").read_text()))}


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


def test_job_names_are_unique_even_when_two_sweeps_shared_a_folder_name(tmp_path):
    a = random_label_runs(tmp_path / "a" / "keskar", 0.995, 0.1, seeds=(0,))
    b = random_label_runs(tmp_path / "b" / "keskar", 0.995, 0.1, seeds=(0,))  # its job 0 too
    runs = records.load([a, b])
    assert sorted(r.job for r in runs) == ["keskar/0", "keskar/0~2"]
    rec = tmp_path / records.RECORDS
    records.write_records(rec, runs)
    assert [r.job for r in records.load([rec])] == [r.job for r in runs]  # and they stay so


def test_a_rerun_with_another_verdict_shows_and_caps_the_claim_at_partly(tmp_path):
    root = tmp_path / "experiments"
    report.report(random_label_runs(tmp_path / "s", 0.995, 0.1003), root / "random_labels", wandb_mode="disabled")
    rerun = root / "random_labels" / "rerun_x"
    report.report(random_label_runs(tmp_path / "r", 0.6, 0.1), rerun, wandb_mode="disabled")  # not memorized
    row = {r["claim"]: r for r in dashboard.write(root)}["C1 random labels memorized"]
    assert row["verdict"] == "partly" and "re-run (rerun_x, all runs): not reproduced" in row["measured"]
    # a re-run on another basis (e.g. without the confirmatory seeds) is shown but does not cap
    verdicts_csv = rerun / "verdicts.csv"
    verdicts_csv.write_text(verdicts_csv.read_text().replace(",all runs", ",seeds 0-2 only"))
    row = {r["claim"]: r for r in dashboard.write(root)}["C1 random labels memorized"]
    assert row["verdict"] == "reproduced" and "re-run (rerun_x, seeds 0-2 only)" in row["measured"]


@pytest.mark.parametrize(
    "own, needed, combined",
    [
        ("reproduced", "reproduced", "reproduced"),
        ("reproduced", "not reproduced", "partly"),
        ("not reproduced", "partly", "partly"),
        ("not reproduced", "not reproduced", "not reproduced"),
        ("inconclusive", "not reproduced", "inconclusive"),
    ],
)
def test_a_claim_that_needs_another_gets_the_combination(own, needed, combined):
    table = [
        {"claim": "C5 curvature at init predicts the gap", "verdict": own, "measured": "rho"},
        {"claim": "Pre-screened inits generalize better", "verdict": needed, "measured": "pairs"},
    ]
    assert dashboard._combined(table)[0]["verdict"] == combined


def test_the_claims_spec_in_docs_is_the_declarations():
    """docs/claims.md is written by make report from claims.py: edit the declarations, then make report."""
    from harness.results.analysis import CLAIMS as ALL

    assert (REPO / "docs" / "claims.md").read_text() == dashboard.claims_spec()
    assert all(c.name in dashboard.claims_spec() for c in ALL)


def test_a_verdict_for_an_undeclared_claim_is_refused():
    with pytest.raises(ValueError, match=r"not among the CLAIMS of analysis/random_labels\.py"):
        report.check_verdicts([{"claim": "C9 made up", "verdict": "reproduced"}], "random_labels")
    with pytest.raises(ValueError, match="not among the CLAIMS"):  # a declared claim, but of another report
        report.check_verdicts([{"claim": "C1 Table 1", "verdict": "reproduced"}], "random_labels")


def test_a_report_writes_beside_its_runs_and_prints_its_verdicts(tmp_path, monkeypatch, capsys):
    """The README's report command never overwrites committed evidence: it writes into the sweep dir."""
    monkeypatch.chdir(tmp_path)
    sweep = random_label_runs(tmp_path / "sweep", 0.995, 0.1003)
    report.main([str(sweep), "--wandb-mode", "disabled"])
    printed = capsys.readouterr().out
    assert (sweep / "report" / "verdicts.csv").is_file() and not (tmp_path / "experiments").exists()
    assert "C1 random labels memorized: reproduced (" in printed and f"report written to {sweep / 'report'}" in printed


def _sweep_at_scale(base, scale):
    sweep = random_label_runs(base / f"s_{scale}", 0.995, 0.1003)
    for cfg in sweep.glob("*/config.yaml"):
        cfg.write_text(json.dumps({**json.loads(cfg.read_text()), "scale": scale}))
    return sweep


def test_publish_refuses_another_scale_and_dropped_runs_and_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "experiments" / "random_labels"
    report.report(_sweep_at_scale(tmp_path, "cpu"), folder, wandb_mode="disabled")
    before = {p: p.read_bytes() for p in folder.rglob("*")}
    smoke = _sweep_at_scale(tmp_path, "smoke")
    with pytest.raises(SystemExit, match="would put smoke-scale runs into experiments/random_labels"):
        report.report([folder / records.RECORDS, smoke], wandb_mode="disabled", publish=True)
    one = tmp_path / "one"
    shutil.copytree(tmp_path / "s_cpu" / "0", one / "0")
    with pytest.raises(SystemExit, match="would drop 2 of the 3 committed runs"):
        report.report([one], wandb_mode="disabled", publish=True)
    assert {p: p.read_bytes() for p in folder.rglob("*")} == before
    # the committed records among the sources: published; --force overrides a guard
    report.report([folder / records.RECORDS, one], wandb_mode="disabled", publish=True)
    report.report([one], wandb_mode="disabled", publish=True, force=True)
    assert len(records.read_records(folder / records.RECORDS)) == 1


def test_a_rerun_without_runs_of_the_deciding_set_does_not_cap(tmp_path):
    root = tmp_path / "experiments"
    report.report(random_label_runs(tmp_path / "s", 0.995, 0.1003), root / "random_labels", wandb_mode="disabled")
    rerun = root / "random_labels" / "rerun_x"
    report.report(random_label_runs(tmp_path / "r", 0.6, 0.1), rerun, wandb_mode="disabled")
    rows = list(csv.DictReader(io.StringIO((rerun / "verdicts.csv").read_text())))
    rows[0]["replicates"] = "0"  # e.g. a re-run of exploratory seeds only: the deciding set is not in it
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    (rerun / "verdicts.csv").write_text(buf.getvalue())
    row = {r["claim"]: r for r in dashboard.write(root)}["C1 random labels memorized"]
    assert row["verdict"] == "reproduced" and "re-run (rerun_x, all runs): not reproduced" in row["measured"]


def test_run_dirs_read_their_yaml_as_omegaconf_does(make_cfg, tmp_path):
    """A run dir's config.yaml is read with libyaml for speed (rundir.load_yaml, as reports read hundreds): every
    value must read as OmegaConf reads it."""
    from omegaconf import OmegaConf

    cfg = OmegaConf.to_container(make_cfg("experiment=sharp_minima", "curvature.eps_sharpness=1e-3"), resolve=True)
    cfg["odd"] = {"yes": "yes", "no": "off", "sci": "1e-3", "date": "2026-12-06", "float": 5e-4, "none": None}
    path = tmp_path / "config.yaml"
    path.write_text(OmegaConf.to_yaml(cfg))
    assert rundir.load_yaml(path) == OmegaConf.to_container(OmegaConf.load(path))
