"""The training loop: memorization, exact resume, divergence, stopping rules."""

import contextlib
import json

import pytest
import torch
from helpers import real_data_root, requires_cifar
from omegaconf import OmegaConf
from torch.optim.optimizer import register_optimizer_step_pre_hook

from harness import rundir
from harness.app import run
from harness.train import models, parts


def summary_of(path):
    return json.loads((path / "summary.json").read_text())


def test_random_labels_are_memorized(make_cfg, tmp_path):
    cfg = make_cfg(
        "experiment=random_labels",
        "data.train_size=300",
        "data.val_size=0",
        "trainer.batch_size=32",
        "optimizer.lr=0.02",
        "trainer.max_epochs=60",
        "trainer.target_train_acc=1.0",
    )
    s = run(cfg, run_dir=tmp_path)
    assert s["status"] == "completed" and s["stop_reason"] == "target_train_acc"
    assert s["train_acc"] == 1.0  # every one of 300 random labels fitted
    assert s["test_acc"] < 0.25  # nothing learned about the true labels (chance: 0.1)
    assert s["data_realised_corruption"] > 0.8


def test_true_labels_are_learned(make_cfg, tmp_path):
    s = run(make_cfg("trainer.max_epochs=5", "trainer.batch_size=32"), run_dir=tmp_path)
    assert s["test_acc"] > 0.8


RESUME_CASES = {
    "mlp_augmented": ["model=mlp_1x512", "data.augment.crop=true", "data.augment.flip=true", "trainer.max_epochs=3"],
    "inception_batchnorm": [
        "model=inception_small",
        "data.train_size=128",
        "data.test_size=32",
        "data.val_size=32",
        "trainer.batch_size=32",
        "trainer.max_epochs=2",
    ],
    "prescreen": ["init.prescreen=3", "trainer.max_epochs=2"],  # the chosen init survives the restart
    # the batch size rescaled to keep g = eps (N/B - 1) / (1 - m): N = 448,
    # B = 448 / (1 + (448/128 - 1) x 0.5 / 0.25) = 74.7 -> 75
    "keep_noise_scale": [
        "optimizer.momentum=0.5",
        "schedule.keep_noise_scale=true",
        "schedule.reference.momentum=0.75",
        "trainer.max_epochs=2",
    ],
}


@pytest.mark.parametrize("case", RESUME_CASES)
def test_resume_gives_identical_final_metrics(make_cfg, tmp_path, case):
    overrides = [*RESUME_CASES[case], "schedule=exponential"]
    whole = run(make_cfg(*overrides), run_dir=tmp_path / "whole")
    # interrupted mid-epoch 2 (3 steps per epoch), then the same command again
    cut = run(make_cfg(*overrides, "trainer.interrupt_at_step=4"), run_dir=tmp_path / "cut")
    assert cut["status"] == "interrupted" and cut["steps"] == 4
    resumed = run(make_cfg(*overrides), run_dir=tmp_path / "cut")
    assert resumed["status"] == "completed"
    for key in ("train_acc", "test_acc", "val_acc", "train_loss", "test_loss", "steps", "epochs"):
        assert resumed[key] == whole[key], key
    strip = lambda rs: [{k: v for k, v in r.items() if k != "wall_time_s"} for r in rs]
    assert strip(rundir.read_metrics(tmp_path / "cut")) == strip(rundir.read_metrics(tmp_path / "whole"))
    a, b = (rundir.load_checkpoint(tmp_path / d)["model"] for d in ("whole", "cut"))
    assert all(torch.equal(a[k], b[k]) for k in a)
    if case == "keep_noise_scale":
        assert whole["base_batch_size"] == 75
        assert {m["batch_size"] for m in rundir.read_metrics(tmp_path / "whole") if "batch_size" in m} == {75}


def test_a_mid_epoch_checkpoint_holds_the_epochs_draws_and_an_older_one_without_them_resumes(make_cfg, tmp_path):
    """The epoch's augmentation draws are in the checkpoint (resume is exact: the test above); a
    checkpoint written before they were (no "draws") still resumes: the epoch's draws are drawn then."""
    overrides = [*RESUME_CASES["mlp_augmented"], "trainer.interrupt_at_step=4"]
    cut = run(make_cfg(*overrides), run_dir=tmp_path)
    assert cut["status"] == "interrupted"
    checkpoint = rundir.load_checkpoint(tmp_path)
    assert checkpoint["draws"].dtype == torch.uint8 and checkpoint["draws"].shape == (3, len(checkpoint["perm"]))
    del checkpoint["draws"]
    rundir.save_checkpoint(tmp_path, checkpoint)
    resumed = run(make_cfg(*RESUME_CASES["mlp_augmented"]), run_dir=tmp_path)
    assert resumed["status"] == "completed" and resumed["steps"] == 9


def test_checkpoint_loads_with_weights_only(make_cfg, tmp_path):
    run(make_cfg("trainer.max_epochs=1"), run_dir=tmp_path)
    state = torch.load(tmp_path / "checkpoint.pt", weights_only=True)
    assert {"model", "optimizer", "generator", "epoch", "step"} <= set(state)


def test_a_finished_run_dir_is_not_trained_again(make_cfg, tmp_path):
    first = run(make_cfg("trainer.max_epochs=1"), run_dir=tmp_path)
    mtime = (tmp_path / "checkpoint.pt").stat().st_mtime_ns
    again = run(make_cfg("trainer.max_epochs=1"), run_dir=tmp_path)
    assert again == first and (tmp_path / "checkpoint.pt").stat().st_mtime_ns == mtime


def test_divergence_is_recorded_and_ends_the_run_cleanly(make_cfg, tmp_path):
    s = run(make_cfg("optimizer.lr=1e6", "trainer.max_epochs=50"), run_dir=tmp_path)
    assert s["diverged"] is True and s["status"] == "diverged"
    assert s["epochs"] < 50
    assert summary_of(tmp_path)["diverged"] is True


def test_stopping_rules(make_cfg, tmp_path):
    s = run(make_cfg("trainer.max_steps=5", "trainer.max_epochs=100"), run_dir=tmp_path / "steps")
    assert (s["stop_reason"], s["steps"]) == ("max_steps", 5)
    s = run(make_cfg("trainer.time_budget_s=0.5", "trainer.max_epochs=100000"), run_dir=tmp_path / "time")
    assert s["stop_reason"] == "time_budget" and s["wall_time_s"] < 10
    s = run(
        make_cfg("trainer.target_train_acc=0.5", "trainer.max_epochs=100", "trainer.batch_size=32"),
        run_dir=tmp_path / "target",
    )
    assert s["stop_reason"] == "target_train_acc" and s["train_acc"] >= 0.5 and s["epochs"] < 100
    s = run(
        make_cfg("trainer.target_train_loss=1.5", "trainer.max_epochs=100", "trainer.batch_size=32"),
        run_dir=tmp_path / "loss",
    )
    assert s["stop_reason"] == "target_train_loss" and s["train_loss"] <= 1.5 and s["epochs"] < 100
    # the first evaluation at or under the target is the last one
    losses = [m["train/loss"] for m in rundir.read_metrics(tmp_path / "loss") if "train/loss" in m]
    assert all(v > 1.5 for v in losses[:-1]) and losses[-1] <= 1.5


def test_run_dir_contract(make_cfg, tmp_path):
    s = run(make_cfg("trainer.max_epochs=2", "trainer.eval_every_epochs=1"), run_dir=tmp_path)
    for name in ("config.yaml", "metrics.jsonl", "summary.json", "checkpoint.pt"):
        assert (tmp_path / name).is_file(), name
    for key in (
        "train_acc",
        "test_acc",
        "train_loss",
        "test_loss",
        "steps",
        "epochs",
        "wall_time_s",
        "diverged",
        "status",
        "torch_version",
        "harness_version",
        "device",
    ):
        assert key in s, key
    # the split of this process's time: two evaluations and the training steps, within the wall time
    assert 0 < s["eval_time_s"] and 0 < s["train_time_s"] and s["eval_time_s"] + s["train_time_s"] < s["wall_time_s"]
    assert 0 < s["input_time_s"] < s["train_time_s"]  # making the batches is part of the training steps
    records = rundir.read_metrics(tmp_path)
    assert [r["epoch"] for r in records] == [1, 2]
    assert {"step", "lr", "batch_size", "train/acc", "test/acc", "val/acc", "gen_gap/err"} <= set(records[0])


def test_batch_size_schedule_changes_steps_per_epoch_and_keeps_lr(make_cfg, tmp_path):
    s = run(
        make_cfg(
            "schedule=increase_batch",
            "schedule.milestones=[1]",
            "schedule.batch_growth=2",
            "trainer.batch_size=32",
            "trainer.max_epochs=2",
        ),
        run_dir=tmp_path,
    )
    records = rundir.read_metrics(tmp_path)
    # 448 training images: 14 steps of 32, then 7 of 64
    assert [(r["step"], r["batch_size"], r["lr"]) for r in records] == [(14, 32, 0.01), (21, 64, 0.01)]
    assert s["steps"] == 21


@requires_cifar
def test_random_labels_on_a_real_cifar10_subset_are_memorized(make_cfg, tmp_path):
    cfg = make_cfg(
        "experiment=random_labels",
        "data=cifar10",
        f"data.root={real_data_root()}",
        "data.subset=1000",
        "data.val_size=0",
        "trainer.batch_size=32",
        "trainer.max_epochs=80",
        "trainer.eval_every_epochs=5",
        "schedule=constant",
        "trainer.target_train_acc=0.99",
        scale="cpu",
    )
    s = run(cfg, run_dir=tmp_path)
    assert s["train_acc"] >= 0.99 and s["stop_reason"] == "target_train_acc"
    assert 0.05 < s["test_acc"] < 0.15  # real test labels, never corrupted: chance level


def test_noise_scale_is_recorded(make_cfg, tmp_path):
    s = run(
        make_cfg("trainer.max_epochs=1", "trainer.batch_size=64", "optimizer.lr=0.05", "optimizer.momentum=0.5"),
        run_dir=tmp_path,
    )
    assert s["noise_scale"] == pytest.approx(0.05 * (448 / 64 - 1) / 0.5)
    assert rundir.read_metrics(tmp_path)[0]["noise_scale"] == pytest.approx(s["noise_scale"])


def test_a_run_stopped_by_its_time_budget_goes_on_with_a_larger_budget(make_cfg, tmp_path):
    first = run(make_cfg("trainer.time_budget_s=0.3", "trainer.max_epochs=5000"), run_dir=tmp_path)
    assert first["stop_reason"] == "time_budget"
    same = run(make_cfg("trainer.time_budget_s=0.3", "trainer.max_epochs=5000"), run_dir=tmp_path)
    assert same["steps"] == first["steps"]  # the same budget: nothing more to do
    more = run(make_cfg("trainer.time_budget_s=100", "trainer.max_epochs=40"), run_dir=tmp_path)
    assert more["stop_reason"] == "max_epochs" and more["steps"] > first["steps"]


FINE = [
    "experiment=random_labels",
    "data.train_size=300",
    "data.val_size=50",
    "trainer.batch_size=32",
    "optimizer.lr=0.02",
    "trainer.max_epochs=60",
    "trainer.target_train_acc=0.9",
    "trainer.eval_every_epochs=1",
]


def test_time_to_fit_is_measured_at_step_resolution_near_the_target(make_cfg, tmp_path):
    coarse = run(make_cfg(*FINE), run_dir=tmp_path / "coarse")
    fine = run(
        make_cfg(*FINE, "trainer.fine_eval_within=0.3", "trainer.fine_eval_every_steps=2"), run_dir=tmp_path / "fine"
    )
    metrics = rundir.read_metrics(tmp_path / "fine")
    fine_steps = [m["step"] for m in metrics if m.get("fine_eval")]
    assert fine_steps and all(s % 2 == 0 for s in fine_steps)
    assert fine["stop_reason"] == "target_train_acc" and fine["train_acc"] >= 0.9
    # the fit is found between epoch ends (10 steps per epoch), no later than the epoch-resolution one
    assert fine["steps"] % 10 != 0 and fine["steps"] <= coarse["steps"]
    first_fit = next(m["step"] for m in metrics if m["train/acc"] >= 0.9)
    assert first_fit == fine["steps"]


def test_training_loss_target_is_met_at_step_resolution(make_cfg, tmp_path):
    """Keskar's contrast stops small and large batches at the same training loss (C3)."""
    loss_target = [*FINE[:-2], "trainer.target_train_loss=0.8", "trainer.eval_every_epochs=1"]
    s = run(make_cfg(*loss_target, "trainer.fine_eval_within=0.5", "trainer.fine_eval_every_steps=2"), run_dir=tmp_path)
    metrics = rundir.read_metrics(tmp_path)
    assert s["stop_reason"] == "target_train_loss" and s["train_loss"] <= 0.8
    assert any(m.get("fine_eval") for m in metrics) and s["steps"] % 10 != 0
    assert next(m["step"] for m in metrics if m.get("train/loss", 9) <= 0.8) == s["steps"]


def test_resume_is_exact_with_fine_evaluation(make_cfg, tmp_path):
    overrides = [*FINE, "trainer.fine_eval_within=0.3", "trainer.fine_eval_every_steps=2"]
    whole = run(make_cfg(*overrides), run_dir=tmp_path / "whole")
    cut_at = next(m["step"] for m in rundir.read_metrics(tmp_path / "whole") if m.get("fine_eval")) + 1
    cut = run(make_cfg(*overrides, f"trainer.interrupt_at_step={cut_at}"), run_dir=tmp_path / "cut")
    assert cut["status"] == "interrupted"
    resumed = run(make_cfg(*overrides), run_dir=tmp_path / "cut")
    assert (resumed["steps"], resumed["train_acc"], resumed["test_acc"]) == (
        whole["steps"],
        whole["train_acc"],
        whole["test_acc"],
    )
    strip = lambda rs: [{k: v for k, v in r.items() if k != "wall_time_s"} for r in rs]
    assert strip(rundir.read_metrics(tmp_path / "cut")) == strip(rundir.read_metrics(tmp_path / "whole"))


def test_predictions_hold_the_per_example_correctness_behind_the_accuracies(make_cfg, tmp_path):
    import numpy as np

    s = run(make_cfg("trainer.max_epochs=2", "data.val_size=100", "trainer.save_predictions=true"), run_dir=tmp_path)
    p = json.loads((tmp_path / "predictions.json").read_text())
    assert s["predictions"] == "predictions.json"
    for split in ("val", "test"):
        bits = np.unpackbits(np.frombuffer(bytes.fromhex(p[f"{split}_correct"]), np.uint8))[: p[f"{split}_size"]]
        assert bits.mean() == pytest.approx(s[f"{split}_acc"])


@pytest.mark.parametrize("preprocess,crop", [("standard", "true"), ("zhang", "true"), ("zhang", "false")])
def test_the_compiled_cpu_batch_trains_the_same_weights_as_the_torch_path(
    make_cfg, tmp_path, monkeypatch, preprocess, crop
):
    """The CPU training batch from the compiled loop (numba) vs the torch ops it replaces: the same
    run, bit for bit (metrics and final weights), for both preprocessings with crops and flips, and
    for zhang's centre crop (no random crop: the eager path without numba)."""
    pytest.importorskip("numba")
    from harness.train import cpu_kernels

    overrides = [
        "model=mlp_1x512",
        f"data.preprocess={preprocess}",
        f"data.augment.crop={crop}",
        "data.augment.flip=true",
        "trainer.max_epochs=3",
    ]
    kernel = run(make_cfg(*overrides), run_dir=tmp_path / "kernel")
    monkeypatch.setattr(cpu_kernels, "numba", None)  # as on a machine without numba
    plain = run(make_cfg(*overrides), run_dir=tmp_path / "torch")
    assert kernel["train_loss"] == plain["train_loss"] and kernel["test_acc"] == plain["test_acc"]
    a, b = (rundir.load_checkpoint(tmp_path / d)["model"] for d in ("kernel", "torch"))
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_a_resumed_runs_summary_counts_the_time_of_every_process(make_cfg, tmp_path):
    """wall, train and eval time and the throughput are the run's, not its last process's: a resumed
    run does not look faster than it was."""
    overrides = ["model=mlp_1x512", "trainer.max_epochs=3"]  # 3 steps of 128 per epoch
    cut = run(make_cfg(*overrides, "trainer.interrupt_at_step=4"), run_dir=tmp_path / "cut")
    resumed = run(make_cfg(*overrides), run_dir=tmp_path / "cut")
    assert (cut["processes"], resumed["processes"]) == (1, 2)
    assert resumed["train_time_s"] > cut["train_time_s"] and resumed["eval_time_s"] > cut["eval_time_s"]
    assert resumed["wall_time_s"] > resumed["process_wall_time_s"]  # the earlier process counted too
    images = resumed["train_images_per_s"] * resumed["train_time_s"]
    assert images == pytest.approx(resumed["steps"] * 128)  # every image of the run, not of its last 5 steps


@pytest.mark.parametrize(
    "overrides, left",
    [
        ([], ["checkpoint.pt"]),  # the trained weights, for probes and analyses; no fallback copy
        (["trainer.keep_checkpoint=false"], []),
        # stopped by its time budget: it goes on when asked with a larger one, so it keeps its checkpoint
        (["trainer.keep_checkpoint=false", "trainer.time_budget_s=0.01"], ["checkpoint.pt"]),
    ],
)
def test_a_completed_run_keeps_at_most_one_checkpoint(make_cfg, tmp_path, overrides, left):
    s = run(make_cfg("model=mlp_1x512", "trainer.max_epochs=3", *overrides), run_dir=tmp_path)
    assert s["status"] == "completed"
    assert sorted(p.name for p in tmp_path.glob("checkpoint*")) == left


def _sgd_weights(fused: bool, weight_decay: float, steps: int = 30):
    """mlp_1x512's weights after `steps` steps of parts.sgd (momentum, nesterov) on fixed random batches."""
    o = OmegaConf.create(dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=weight_decay, fused=fused))
    torch.manual_seed(0)
    model = models.mlp(3 * 28 * 28, 512, 1)
    opt = parts.sgd(model.parameters(), o, torch.device("cpu"))
    assert bool(opt.param_groups[0]["fused"]) == fused
    g = torch.Generator().manual_seed(1)
    for _ in range(steps):
        x, y = torch.randn(32, 3, 28, 28, generator=g), torch.randint(0, 10, (32,), generator=g)
        opt.zero_grad(set_to_none=True)
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    return torch.cat([p.detach().flatten() for p in model.parameters()])


def test_the_fused_sgd_step_makes_the_per_op_steps_update():
    """optimizer.fused (the default): torch's fused SGD kernel, the same update (weight decay, momentum,
    nesterov) as the per-op step within float rounding; a weight decay left out would show."""
    fused, plain = _sgd_weights(True, 0.05), _sgd_weights(False, 0.05)
    assert torch.allclose(fused, plain, rtol=1e-5, atol=1e-7)
    assert not torch.allclose(_sgd_weights(False, 0.0), plain, rtol=1e-5, atol=1e-7)  # the check can fail


PER_OP_CASE = ["model=mlp_1x512", "optimizer.lr=0.1", "trainer.max_epochs=4"]


@contextlib.contextmanager
def sgd_steps_taken():
    """The kind of every optimizer step taken inside the block ("fused" or "per-op"), read from the
    param group torch's SGD dispatches on (a public pre-step hook): which step ran, observed directly
    rather than inferred from float rounding, which depends on the CPU's instruction set."""
    kinds = []

    def hook(optimizer, args, kwargs):
        kinds.append("fused" if optimizer.param_groups[0].get("fused") else "per-op")

    handle = register_optimizer_step_pre_hook(hook)
    try:
        yield kinds
    finally:
        handle.remove()


def test_a_run_begun_before_fused_sgd_resumes_with_its_per_op_step(make_cfg, tmp_path):
    """A run dir from before `optimizer.fused` (its config lacks the key, its checkpoint holds the
    per-op step's state) resumes under today's default, exactly: torch restores the param groups'
    options from the checkpoint, so the run goes on with the step it began with."""
    with sgd_steps_taken() as fresh:
        run(make_cfg(*PER_OP_CASE), run_dir=tmp_path / "fused")
    assert fresh and set(fresh) == {"fused"}  # today's default takes the fused step: the two can be told apart
    whole = run(make_cfg(*PER_OP_CASE, "optimizer.fused=false"), run_dir=tmp_path / "whole")
    cut = run(make_cfg(*PER_OP_CASE, "optimizer.fused=false", "trainer.interrupt_at_step=4"), run_dir=tmp_path / "cut")
    assert cut["status"] == "interrupted"
    stored = tmp_path / "cut" / rundir.CONFIG
    stored.write_text("\n".join(line for line in stored.read_text().splitlines() if "fused:" not in line) + "\n")
    with sgd_steps_taken() as resumed_steps:
        resumed = run(make_cfg(*PER_OP_CASE), run_dir=tmp_path / "cut")  # today's default: fused
    assert len(resumed_steps) == whole["steps"] - 4 and set(resumed_steps) == {"per-op"}
    assert resumed["status"] == "completed" and resumed["train_loss"] == whole["train_loss"]
    a, b = (rundir.load_checkpoint(tmp_path / d) for d in ("whole", "cut"))
    assert all(torch.equal(a["model"][k], b["model"][k]) for k in a["model"])
    assert not b["optimizer"]["param_groups"][0]["fused"]
    assert rundir.load_checkpoint(tmp_path / "fused")["optimizer"]["param_groups"][0]["fused"] is True
