"""Computed verdicts: each analysis is fed synthetic runs built to pass and built to fail; the run
records rebuild byte-identical reports; the dashboard lists every claim and never invents a verdict."""

import csv
import io

import pytest
from helpers import prediction_runs, random_label_runs

from harness import dashboard, records, report
from harness.plan import PLAN


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
