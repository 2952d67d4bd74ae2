"""The W&B workspace of every experiment is built in code, offline (saving it needs a login)."""

import pytest

from harness import workspace
from harness.results.plan import PLAN

pytest.importorskip("wandb_workspaces")


@pytest.mark.parametrize("experiment", [rep.name for rep in PLAN])
def test_every_experiment_has_a_workspace_of_its_runs_grouped_by_its_sweep(experiment):
    w = workspace.build(experiment, entity="someone")
    assert w.name == f"harness: {experiment}" and w.project == "harness"
    panels = [p for s in w.sections for p in s.panels]
    assert {"train/acc", "test/acc", "gen_gap/err"} <= {y for p in panels for y in p.y}
    view = w._to_model().model_dump_json()  # the payload `save` would send: built without the network
    assert f'"value":["{workspace.experiment_tag(experiment)}"]' in view.replace(" ", "")
    assert [g.name for g in w.runset_settings.groupby] == workspace.GROUP_BY[experiment]


def test_an_unknown_experiment_is_refused():
    with pytest.raises(SystemExit, match="no workspace for experiment 'nope'"):
        workspace.build("nope", entity="someone")
