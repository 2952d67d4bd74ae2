"""A new experiment with a verdict row is three files: its config (configs/experiment/<name>.yaml), one
module (results/analysis/<name>.py: its claims, sweeps, minutes, place and analysis function) and its
tests. Nothing is registered: this toy experiment, written into a temporary folder, is found, planned,
composed, run and reported with no other file touched."""

import json
import sys
import textwrap

import pytest
from helpers import CONFIG_DIR
from hydra import compose, initialize_config_dir

from harness.app import run
from harness.config import validate
from harness.results import analysis, plan, report

MODULE = '''
"""A toy experiment: the test accuracy of a smoke run, against a declared threshold."""

from ..claims import Claim
from .common import verdict_row

TOY = Claim(
    "T1 a smoke run learns",
    "this project",
    "-",
    "a smoke run's test accuracy is above its threshold",
    "the mean test acc of the runs above {threshold:.0%} -> reproduced; else not reproduced",
    "test acc above the threshold",
    "a seed",
    "toy_exp",
    {"threshold": 0.2},
)
CLAIMS = (TOY,)
SWEEPS = (("toy_exp/cpu", "experiment=toy_exp"),)
MINUTES = 1
ORDER = 99


def toy_exp(runs, out):
    acc = sum(r.summary["test_acc"] for r in runs) / len(runs)
    verdict = "reproduced" if acc > TOY.params["threshold"] else "not reproduced"
    return {"verdicts": [verdict_row(TOY, verdict, f"test acc {acc:.3f}", replicates=len(runs))]}, []
'''
CONFIG = """\
# @package _global_
# A toy experiment: one smoke run's test accuracy.
name: toy_exp
tags: [toy_exp]
trainer:
  max_epochs: 2
"""


@pytest.fixture
def toy(tmp_path, monkeypatch):
    """The toy module in a folder of its own (seen as part of results/analysis), and its config."""
    (tmp_path / "modules").mkdir()
    (tmp_path / "modules" / "toy_exp.py").write_text(textwrap.dedent(MODULE))
    (tmp_path / "conf" / "experiment").mkdir(parents=True)
    (tmp_path / "conf" / "experiment" / "toy_exp.yaml").write_text(CONFIG)
    monkeypatch.setattr(analysis, "__path__", [*analysis.__path__, str(tmp_path / "modules")])
    analysis.load(analysis.discover())
    yield tmp_path
    monkeypatch.undo()
    sys.modules.pop("harness.results.analysis.toy_exp", None)
    analysis.load(analysis.discover())


def test_a_new_experiment_is_its_config_one_module_and_its_tests(toy):
    module = analysis.EXPERIMENTS[-1]
    assert analysis.name_of(module) == "toy_exp" and "toy_exp" in analysis.ANALYSES  # found, not registered
    assert [c.name for c in analysis.of_report("toy_exp")] == ["T1 a smoke run learns"]
    toy_plan = plan.build(analysis.EXPERIMENTS)[-1]
    assert (toy_plan.name, toy_plan.sweeps, toy_plan.minutes) == ("toy_exp", module.SWEEPS, 1)
    assert toy_plan.claims == ("T1 a smoke run learns",)

    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        cfg = compose(
            "config",
            overrides=["scale=smoke", "logger=none", "experiment=toy_exp", f"hydra.searchpath=[file://{toy / 'conf'}]"],
        )
    assert validate(cfg).name == "toy_exp"
    run(cfg, run_dir=toy / "sweep" / "0")
    report.main([str(toy / "sweep"), "--out", str(toy / "report"), "--wandb-mode", "disabled"])
    rows = (toy / "report" / "verdicts.csv").read_text().splitlines()
    assert rows[1].startswith("T1 a smoke run learns,reproduced,"), rows
    assert json.loads((toy / "report" / "report.json").read_text())["runs"] == 1


def test_a_verdict_for_a_claim_the_module_does_not_declare_is_refused(toy):
    with pytest.raises(
        ValueError, match=r"'C1 random labels memorized' is not among the CLAIMS of analysis/toy_exp\.py"
    ):
        report.check_verdicts([{"claim": "C1 random labels memorized", "verdict": "reproduced"}], "toy_exp")
