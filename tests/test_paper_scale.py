"""Every experiment has a paper scale that composes: `python -m harness -m experiment=NAME scale=paper`
gives valid configs for every job of its sweep, on full data, with the paper's model. Nothing is
trained; the jobs are expanded as Hydra's basic sweeper does (scripts/paper_scale_estimate.py)."""

import csv
import sys
from pathlib import Path

import pytest
from helpers import CONFIG_DIR, REPO
from hydra import initialize_config_dir

from harness import config

sys.path.insert(0, str(REPO / "scripts"))
import paper_scale_estimate as estimate  # noqa: E402

CONFIGS = Path(CONFIG_DIR)
EXPERIMENTS = sorted(p.stem for p in (CONFIGS / "experiment").glob("*.yaml"))
CIFAR_TRAIN = 50_000
# experiments whose sweep sets data.subset (a learning curve over m): the grid must reach full data
SUBSET_SWEEPS = {"init_curvature_m", "learning_curve", "learning_curve_cnn"}
# the models each experiment trains at paper scale, over its whole sweep
MODELS = {
    "adversarial": {"mlp_1x512", "alexnet_small"},
    "batch_lr_scaling": {"mlp_1x512"},
    "complexity_bounds": {"mlp_deep"},
    "corruption_sweep": {"inception_small"},  # the report pools runs by p: one model per sweep
    "gradient_flow": {"mlp_deep"},
    "init_curvature": {"alexnet_small"},
    "init_curvature_m": {"alexnet_small"},
    "keep_noise_scale": {"resnet18"},
    "learning_curve": {"resnet18"},
    "learning_curve_cnn": {"alexnet_small"},
    "prescreen": {"alexnet_small"},
    "random_labels": {"inception_small"},
    "randomizations": {"inception_small"},
    "schedule_vs_batch": {"wrn16_4"},
    "sgd_stability": {"mlp_1x512"},
    "sgd_stability_pairs": {"mlp_1x512"},
    "sharp_minima": {"mlp_3x512"},
    "sharp_minima_keskar": {"alexnet_small"},
    "validation_bound": {"mlp_1x512", "mlp_3x512", "alexnet_small", "inception_small"},
    "zhang_table1_cnn": {"alexnet_small"},
    "zhang_table1": {"inception_small", "inception_no_bn", "alexnet_small", "mlp_3x512", "mlp_1x512"},
}


@pytest.fixture(scope="module")
def jobs():
    """{experiment: [(overrides, validated config)]} for every job of every paper-scale sweep."""
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        return {name: estimate.job_configs(name, "paper") for name in EXPERIMENTS}


def train_size(cfg):
    return cfg.data.subset or CIFAR_TRAIN - cfg.data.val_size


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_every_experiment_has_a_paper_scale_file(name):
    path = CONFIGS / "experiment_scale" / f"{name}_paper.yaml"
    assert path.is_file(), f"{name} has no {path.relative_to(REPO)}: what does it run at scale=paper?"
    assert path.read_text().startswith("# @package _global_\n")
    assert name in MODELS, f"add {name}'s paper-scale models to MODELS"


# C10's pairs replace an example of S by one drawn from outside S: every job trains on a subset
ON_A_SUBSET = {"sgd_stability", "sgd_stability_pairs"}


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_paper_scale_composes_and_validates_on_full_data(make_cfg, name):
    cfg = make_cfg(f"experiment={name}", scale="paper")
    typed = config.validate(cfg)
    assert typed.scale == "paper" and typed.data.name == "cifar10"
    if name in ON_A_SUBSET:  # images outside S are left for the replacements
        assert typed.data.subset < CIFAR_TRAIN - typed.data.val_size
    else:
        assert typed.data.subset is None  # full data; a sweep over m sets it per job


@pytest.mark.sweeps  # composes every job of every paper-scale sweep: ~50 s per worker (make test-sweeps)
@pytest.mark.parametrize("name", EXPERIMENTS)
def test_every_job_of_the_sweep_is_valid_on_full_data_with_the_papers_model(jobs, name):
    runs = jobs[name]
    assert runs
    assert {cfg.model.name for _, cfg in runs} == MODELS[name]
    sizes = {train_size(cfg) for _, cfg in runs}
    if name in ON_A_SUBSET:
        assert max(sizes) < CIFAR_TRAIN - runs[0][1].data.val_size
    elif name in SUBSET_SWEEPS:  # a grid over m that ends at all the training images
        assert any(o.startswith("data.subset=") for o in runs[0][0])
        assert max(sizes) == CIFAR_TRAIN - runs[0][1].data.val_size == 45_000
    else:
        assert all(cfg.data.subset is None for _, cfg in runs), name
        assert sizes == {CIFAR_TRAIN - runs[0][1].data.val_size}


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_sweep_params_hold_no_interpolation(name):
    """Hydra's sweeper resolves hydra.sweeper.params more than once, so even an escaped \\${...} is
    resolved before the jobs see it (against the config without the job's own overrides)."""
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        overrides = estimate.sweep_overrides(name, "paper")
    assert not any("${" in o for job in overrides for o in job)


@pytest.mark.sweeps  # composes every job of every paper-scale sweep: ~50 s per worker (make test-sweeps)
def test_zhang_table1_is_every_model_times_every_column_with_zhangs_schedule(jobs):
    runs = [cfg for _, cfg in jobs["zhang_table1"]]
    assert len({(c.model.name, c.row) for c in runs}) == len(runs) == 25
    assert all((c.schedule.lr, c.schedule.gamma, c.trainer.max_epochs) == ("exponential", 0.95, 200) for c in runs)
    assert {c.model.name: c.optimizer.lr for c in runs}["inception_small"] == 0.1


@pytest.mark.sweeps  # composes every job of every paper-scale sweep: ~50 s per worker (make test-sweeps)
def test_adversarial_victims_train_on_full_data_and_the_random_label_mlp_can_fit(jobs):
    runs = {cfg.row: cfg for _, cfg in jobs["adversarial"]}
    assert set(runs) == {"mlp", "cnn", "mlp_random_labels"}
    assert runs["cnn"].model.name == "alexnet_small" and runs["cnn"].data.augment.crop
    rl = runs["mlp_random_labels"]
    assert rl.data.corruption_prob == 1.0 and rl.adversarial.split == "train"
    assert rl.schedule.milestones[0] < rl.trainer.max_epochs  # the lr drop happens (constant lr plateaus ~91%)


@pytest.mark.sweeps  # composes every job of every paper-scale sweep: ~50 s per worker (make test-sweeps)
def test_keskar_uses_his_batch_sizes_and_dinh_an_mlp_without_normalisation(jobs):
    keskar = [cfg for _, cfg in jobs["sharp_minima_keskar"]]
    assert {c.trainer.batch_size for c in keskar} == {256, 4500}  # LB: 10% of the training set
    assert all(4500 == train_size(c) // 10 for c in keskar)
    (dinh,) = [cfg for _, cfg in jobs["sharp_minima"]]
    assert dinh.curvature.alphas and dinh.model.name in ("mlp_1x512", "mlp_3x512")


@pytest.mark.sweeps  # composes every job of every paper-scale sweep: ~50 s per worker (make test-sweeps)
def test_inceptions_get_zhangs_lr_where_the_model_is_set_by_value(jobs):
    """Files that set the model by value (model.name) and do not use zhang_table1's lr table must
    set Inception's 0.1 themselves."""
    for name in ("corruption_sweep", "randomizations", "random_labels"):
        for _, cfg in jobs[name]:
            assert (cfg.model.name, cfg.optimizer.lr, cfg.schedule.lr) == ("inception_small", 0.1, "exponential")


def test_the_cost_estimate_covers_every_experiment():
    with open(REPO / "experiments" / "paper_scale.csv", newline="") as f:
        rows = {r["experiment"]: r for r in csv.DictReader(f)}
    assert set(rows) == set(EXPERIMENTS), "rerun scripts/paper_scale_estimate.py"
