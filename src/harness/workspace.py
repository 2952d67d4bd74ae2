"""A W&B workspace for each experiment, defined in code: the panels a researcher opens first, over
the runs of that experiment, grouped by what its sweep varies.

    python -m harness.workspace EXPERIMENT --entity ENTITY [--project harness]

creates (saves) the workspace in W&B: it needs a login and the network. `build` only constructs it
(no network; tested), with `wandb-workspaces` (the `workspaces` extra; `make install` adds it).
"""

from __future__ import annotations

import argparse
import sys

from .names import M

CURVES = ("Step", [M.TRAIN_ACC, M.TEST_ACC, M.acc("val")]), ("Step", [M.TRAIN_LOSS, M.TEST_LOSS, M.loss("val")])
GAP = ("Step", [M.GAP_ERR, M.GAP_LOSS])
# what else each experiment's runs log, over steps, beside the accuracy, loss and gap every run logs
EXTRA = {
    "sharp_minima": [M.curvature("top_eig"), M.curvature("trace"), M.curvature("eps_sharpness")],
    "init_curvature": [M.at_init(M.curvature("top_eig")), M.at_init(M.curvature("trace"))],
    "schedule_vs_batch": ["lr", "batch_size"],
    "batch_lr_scaling": ["lr", "batch_size"],
    "keep_noise_scale": ["lr", "batch_size"],
    "gradient_flow": [M.grad_norm(1), M.grad_norm(2), M.grad_norm(3)],
    "sgd_stability": ["stability/distance", "stability/loss_diff"],
}
# the config keys each experiment's sweep varies: the runset is grouped by them (seeds averaged)
GROUP_BY = {
    "random_labels": ["schedule.name"],
    "zhang_table1": ["model.name", "row"],
    "randomizations": ["row"],
    "corruption_sweep": ["data.corruption_prob"],
    "adversarial": ["row"],
    "sharp_minima": ["trainer.batch_size"],
    "validation_bound": ["model.name", "optimizer.lr", "trainer.max_epochs"],
    "init_curvature": ["model.init_gain", "data.subset"],
    "prescreen": ["init.prescreen"],
    "gradient_flow": ["model.depth", "model.activation", "model.batch_norm"],
    "learning_curve": ["model.name", "data.subset"],
    "batch_lr_scaling": ["optimizer.lr", "trainer.batch_size"],
    "keep_noise_scale": ["optimizer.momentum", "schedule.keep_noise_scale"],
    "schedule_vs_batch": ["schedule.name"],
    "complexity_bounds": ["model.depth", "data.corruption_prob"],
    "sgd_stability": ["data.subset", "data.replace_index"],
}


def experiment_tag(experiment: str) -> str:
    """The W&B tag every run of an experiment carries (tracking.start), which its workspace filters on."""
    return f"experiment:{experiment}"


def build(experiment: str, entity: str, project: str = "harness"):
    """The workspace of one experiment: its runs, grouped by what its sweep varies."""
    import wandb_workspaces.reports.v2 as wr
    import wandb_workspaces.workspaces as ws

    if experiment not in GROUP_BY:
        raise SystemExit(f"error: no workspace for experiment {experiment!r}; known: {sorted(GROUP_BY)}")
    sections = [
        ws.Section(name="accuracy and loss", panels=[wr.LinePlot(x=x, y=y) for x, y in CURVES], is_open=True),
        ws.Section(name="generalization gap", panels=[wr.LinePlot(x=GAP[0], y=GAP[1])], is_open=True),
    ]
    if experiment in EXTRA:
        sections.append(ws.Section(name=experiment, panels=[wr.LinePlot(x="Step", y=[m]) for m in EXTRA[experiment]]))
    return ws.Workspace(
        name=f"harness: {experiment}",
        entity=entity,
        project=project,
        sections=sections,
        # the experiment's runs (tracking.start tags each run with its experiment), grouped by what it sweeps
        runset_settings=ws.RunsetSettings(
            filters=ws.And(ws.Tags().isin([experiment_tag(experiment)])),
            groupby=[ws.Config(k) for k in GROUP_BY[experiment]],
        ),
    )


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m harness.workspace", description=__doc__.split("\n")[0])
    p.add_argument("experiment", help=f"one of {', '.join(sorted(GROUP_BY))}")
    p.add_argument("--entity", required=True, help="your W&B user or team")
    p.add_argument("--project", default="harness")
    args = p.parse_args(argv)
    workspace = build(args.experiment, args.entity, args.project)
    workspace.save()
    print(f"workspace saved: {workspace.url}")


if __name__ == "__main__":
    sys.exit(main())
