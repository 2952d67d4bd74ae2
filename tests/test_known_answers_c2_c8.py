"""Known answers for C2 (adversarial), C1 Figure 1a, the gradient-flow claim and C8: record sets at the
committed counts, built so each claim is false in several ways, and one true but noisy."""

import json
import shutil

import numpy as np
import pytest
from helpers import curve, fake_run, run_report, table, verdict_rows, verdicts

from harness.results import report
from harness.results.analysis.adversarial import C2
from harness.results.analysis.gradient_flow import GRADIENT_FLOW
from harness.results.analysis.randomizations import C1_FIG1A
from harness.results.analysis.schedule_vs_batch import C8

# --- C2 adversarial: 2 true-label victims x 2 seeds + a random-label contrast victim, 2,000 images ---


def adversarial_runs(path, victims, seeds=(0, 1), images=2000):
    """victims: [(name, corruption p, clean acc, {(attack, eps_255): acc})]; each seed a little off the
    given accuracies (seed noise), every run attacked on `images` images."""
    job = 0
    for victim, p, clean, attacked in victims:
        for seed in seeds:
            d, jitter = path / str(job), 0.01 * (seed - 0.5)
            job += 1
            fake_run(
                d,
                "adversarial",
                {"train_acc": 0.9, "test_acc": clean, "val_acc": clean, "adversarial": "adversarial.json"},
                [],
                p=p,
                row=victim,
                seed=seed,
                adversarial={"split": "test" if p == 0 else "train"},
            )
            rows = [
                {"attack": a, "eps_255": k, "eps": k / 255, "accuracy": min(1, max(0, acc + jitter)), "images": images}
                for (a, k), acc in {("none", 0): clean, **attacked}.items()
            ]
            (d / "adversarial.json").write_text(json.dumps(rows))
            image = np.full((3, 4, 4), 0.5, np.float32)
            np.savez(
                d / "adversarial_example.npz",
                clean=image,
                adversarial=image + 8 / 255,
                label=3,
                clean_pred=3,
                clean_conf=0.9,
                adv_pred=5,
                adv_conf=0.8,
                eps_255=8,
                attack="fgsm",
            )
    return path


def broken(clean):
    """PGD takes the accuracy to ~1%, random sign noise of the same size leaves it ~clean."""
    return {("fgsm", 8): 0.05, ("pgd", 4): 0.05, ("pgd", 8): 0.01, ("noise", 8): clean - 0.01}


def robust(clean):
    """PGD barely moves it."""
    return {("fgsm", 8): clean - 0.08, ("pgd", 8): clean - 0.1, ("noise", 8): clean - 0.01}


MLP, CNN = ("mlp", 0.0, 0.49, broken(0.49)), ("cnn", 0.0, 0.71, broken(0.71))
CONTRAST = ("mlp_random_labels", 1.0, 0.998, {("pgd", 8): 0.0, ("noise", 8): 0.996})  # never part of the claim


@pytest.mark.parametrize(
    "victims, verdict",
    [
        # true but noisy: both victims flipped in both seeds, noise control intact
        ([MLP, CNN, CONTRAST], "reproduced"),
        # no effect: PGD barely moves either victim (the contrast victim's collapse must not count)
        ([("mlp", 0.0, 0.49, robust(0.49)), ("cnn", 0.0, 0.71, robust(0.71)), CONTRAST], "not reproduced"),
        # the control fails: random sign noise of the same eps destroys accuracy too -- the size of the
        # perturbation flips these models, not its adversarial direction
        (
            [
                ("mlp", 0.0, 0.49, {**broken(0.49), ("noise", 8): 0.12}),
                ("cnn", 0.0, 0.71, {**broken(0.71), ("noise", 8): 0.15}),
                CONTRAST,
            ],
            "not reproduced",
        ),
        # near chance only: nets that do not generalize have nothing to flip
        ([("mlp", 0.0, 0.13, broken(0.13)), ("cnn", 0.0, 0.16, broken(0.16)), CONTRAST], "inconclusive"),
        # one victim flipped, the other robust
        ([MLP, ("cnn", 0.0, 0.71, robust(0.71)), CONTRAST], "partly"),
        # a near-chance victim beside one that generalizes: only the latter counts
        ([MLP, ("cnn", 0.0, 0.13, robust(0.13)), CONTRAST], "reproduced"),
        ([("mlp", 0.0, 0.49, {("pgd", 4): 0.05})], "inconclusive"),  # no 8/255
        ([CONTRAST], "inconclusive"),  # no victim trained on true labels
        # flipped, but without the noise control: size or direction cannot be told apart
        ([("mlp", 0.0, 0.49, {("pgd", 8): 0.01}), ("cnn", 0.0, 0.71, {("pgd", 8): 0.01})], "inconclusive"),
        # the strong PGD decides where it was run: here it flips what the 10-step one did not
        ([("mlp", 0.0, 0.60, {**robust(0.60), ("pgd_strong", 8): 0.05})], "reproduced"),
    ],
)
def test_c2_known_answers(tmp_path, victims, verdict):
    out = run_report(adversarial_runs(tmp_path / "s", victims), tmp_path)
    assert verdicts(out)[C2.name] == verdict
    for r in table(out, "adversarial"):  # Wilson intervals hold their estimate (to float noise: 1e-19 at k = 0)
        for key in ("accuracy", "clean_acc"):
            assert float(r[f"{key}_ci95_low"]) - 1e-12 <= float(r[key]) <= float(r[f"{key}_ci95_high"]) + 1e-12


def test_c2_row_counts_seeds_per_victim_and_names_the_victims(tmp_path):
    out = run_report(adversarial_runs(tmp_path / "s", [MLP, CNN, CONTRAST]), tmp_path)
    row = verdict_rows(out)[C2.name]
    assert (row["replicates"], row["varied"]) == ("2", "2 victims: mlp, cnn")
    assert row["criterion"] == C2.criterion and "20%" in row["criterion"]
    assert "pgd 0.50%" in row["measured"] and "random sign noise 47.50%" in row["measured"]
    assert "mlp_random_labels" not in row["measured"]
    out = run_report(adversarial_runs(tmp_path / "t", [("mlp", 0.0, 0.13, broken(0.13))]), tmp_path / "t")
    assert "not a network that generalizes" in verdict_rows(out)[C2.name]["measured"]


# --- C1 Figure 1a: five conditions x 1 seed ---------------------------------------------------------

FITS = {"true_labels": 1400, "random_labels": 1900, "shuffled_pixels": 1500, "random_pixels": 600, "gaussian": 500}


def randomization_runs(path, fit_step, status=None):
    """fit_step: {condition: step at which train acc reaches 0.99, None: never within the budget}."""
    status = status or {}
    for job, (kind, fit) in enumerate(fit_step.items()):
        metrics = curve(fit or 2000, 0.1)[: None if fit else 19]  # never fitted: the budget ends first
        acc = 0.99 + 0.002 * job if fit else 0.62
        fake_run(
            path / str(job),
            "randomizations",
            {"train_acc": acc, "test_acc": 0.1, "status": status.get(kind, "completed"), "steps": fit or 1900},
            metrics,
            row=kind,
        )
    return path


@pytest.mark.parametrize(
    "fit_step, status, verdict",
    [
        (FITS, {}, "reproduced"),  # true but noisy: every condition fits, each at its own pace
        ({**FITS, "random_labels": None}, {}, "not reproduced"),  # random labels never fitted
        # true labels passed 99% on the way, then diverged: not fitted
        (FITS, {"true_labels": "diverged"}, "not reproduced"),
        ({**FITS, "gaussian": None}, {}, "partly"),  # an input randomization not fitted
        ({k: v for k, v in FITS.items() if k != "shuffled_pixels"}, {}, "inconclusive"),  # a condition never run
    ],
)
def test_fig1a_known_answers(tmp_path, fit_step, status, verdict):
    out = run_report(randomization_runs(tmp_path / "s", fit_step, status), tmp_path)
    row = verdict_rows(out)[C1_FIG1A.name]
    assert row["verdict"] == verdict
    assert (row["replicates"], row["varied"]) == ("1", "5 input/label randomizations")


# --- the gradient-flow claim: 5 depths x 3 activations x (BatchNorm, init) ---------------------------

DEPTHS, ACTIVATIONS = (4, 8, 12, 16, 20), ("relu", "sigmoid", "tanh")


def gradient_flow_runs(path, decay, trains, norm_at=None, seed=0):
    """Every cell of the grid. decay(activation, batch_norm, init) -> per-layer factor of the gradient
    norm; trains(activation, batch_norm, init, depth) -> train acc; every norm jittered (x e^N(0, 0.3)).
    norm_at(cell, layer, norm) may replace a norm (a broken record)."""
    rng, job = np.random.default_rng(seed), 0
    for act in ACTIVATIONS:
        for bn in (False, True):
            for init in ("default", "scaled"):
                for depth in DEPTHS:
                    k = decay(act, bn, init)
                    norms = {
                        f"grad_norm/L{i:02d}": float(k ** (depth + 1 - i) * np.exp(rng.normal(0, 0.3)))
                        for i in range(1, depth + 2)
                    }
                    if norm_at:
                        norms = {n: norm_at((act, bn, init, depth), n, v) for n, v in norms.items()}
                    model = {"name": "mlp_deep", "depth": depth, "activation": act, "batch_norm": bn, "init": init}
                    d = path / str(job)
                    job += 1
                    acc = trains(act, bn, init, depth)
                    fake_run(d, "gradient_flow", {"train_acc": acc, "test_acc": acc}, [{"step": 1, **norms}])
                    cfg = json.loads((d / "config.yaml").read_text())
                    (d / "config.yaml").write_text(json.dumps({**cfg, "model": model}))
    return path


def vanishing(act, bn, init):
    """The claim true: without remedies the norm shrinks per layer, with BatchNorm or scaled init not."""
    if bn or init == "scaled":
        return 1.0
    return {"relu": 0.5, "sigmoid": 0.2, "tanh": 0.7}[act]


def deep_bare_fails(act, bn, init, depth):
    return 0.1 if not bn and init == "default" and depth >= 12 else 0.45


@pytest.mark.parametrize(
    "decay, trains, norm_at, verdict",
    [
        # true but noisy: jittered norms, the bare deep nets do not train (as vanishing predicts)
        (vanishing, deep_bare_fails, None, "reproduced"),
        # no effect: every net keeps its gradient norm through depth
        (lambda *c: 1.0, lambda *c: 0.45, None, "not reproduced"),
        # wrong direction: the remedy makes the gradients vanish, the bare nets do not
        (lambda a, bn, i: 0.4 if bn else 1.0, lambda *c: 0.45, None, "not reproduced"),
        # the bare nets' spans are broken records (nan norms, e.g. an overflow), not measured vanishing
        (
            lambda *c: 1.0,
            lambda *c: 0.45,
            lambda cell, n, v: float("nan") if not cell[1] and n == "grad_norm/L05" else v,
            "inconclusive",
        ),
        # vanishing without remedies, but BatchNorm does not make the nets train
        (vanishing, lambda a, bn, i, d: 0.1 if d >= 12 else 0.45, None, "partly"),
    ],
)
def test_gradient_flow_known_answers(tmp_path, decay, trains, norm_at, verdict):
    out = run_report(gradient_flow_runs(tmp_path / "s", decay, trains, norm_at), tmp_path)
    row = verdict_rows(out)[GRADIENT_FLOW.name]
    assert row["verdict"] == verdict
    assert (row["replicates"], row["varied"]) == ("1", "5 depths x 3 activations x 4 remedy settings (BatchNorm, init)")


def test_gradient_flow_inconclusive_without_batchnorm_runs(tmp_path):
    sweep = gradient_flow_runs(tmp_path / "s", vanishing, deep_bare_fails)
    for d in list(sweep.iterdir()):  # drop the BatchNorm cells
        if json.loads((d / "config.yaml").read_text())["model"]["batch_norm"]:
            shutil.rmtree(d)
    assert verdicts(run_report(sweep, tmp_path))[GRADIENT_FLOW.name] == "inconclusive"


# --- C8: 3 schedules + the constant-lr control x 6 seeds --------------------------------------------

STEPS = {"constant": 1000, "decay_lr": 1000, "increase_batch": 400, "hybrid": 600}


SHARED = (0.003, -0.004, 0.001, 0.005, -0.002, -0.003)  # each seed's init: shared by its schedules
OWN = (1.0, -1.0, 0.5, -0.5, 1.5, -1.5)  # a run's own noise (x `noise`), rotated between schedules


def schedule_runs(path, acc, steps=STEPS, seeds=6, noise=0.004, status=None):
    """acc: {schedule: mean test acc}; seed s of the j-th schedule gets acc + SHARED[s] + noise x
    OWN[(s + 2j) % 6] (deterministic: mean 0 over 6 seeds). status: {(schedule, seed): status} for
    runs that did not complete."""
    job = 0
    for j, name in enumerate(acc):
        for seed in range(seeds):
            a = acc[name] + (SHARED[seed] + noise * OWN[(seed + 2 * j) % 6] if seeds > 1 else 0.0)
            state = (status or {}).get((name, seed), "completed")
            metrics = [{"step": steps[name], "epoch": 3, "test/acc": a, "train/acc": 0.9, "batch_size": 128}]
            fake_run(
                path / str(job),
                "schedule_vs_batch",
                {"test_acc": a, "train_acc": 0.9, "steps": steps[name], "status": state},
                metrics,
                seed=seed,
                schedule={"name": name, "lr": "step"},
            )
            job += 1
    return path


TRUE = {"constant": 0.47, "decay_lr": 0.52, "increase_batch": 0.521, "hybrid": 0.519}


@pytest.mark.parametrize(
    "acc, kw, verdict",
    [
        (TRUE, {}, "reproduced"),  # true but noisy: equivalent within 0.5 points, 2.5x fewer updates
        ({**TRUE, "increase_batch": 0.49}, {}, "not reproduced"),  # a large difference: increasing B is worse
        # no fewer updates: the same accuracy at the same cost is not the claim
        (TRUE, {"steps": {**STEPS, "increase_batch": 1000}}, "not reproduced"),
        ({**TRUE, "constant": 0.52}, {}, "partly"),  # the control equal too: the schedule does not matter here
        (TRUE, {"noise": 0.02}, "inconclusive"),  # too noisy to tell
        (TRUE, {"seeds": 2}, "inconclusive"),  # fewer than 3 pairs
        (TRUE, {"status": {("increase_batch", 3): "diverged"}}, "inconclusive"),  # a run that did not train
    ],
)
def test_c8_known_answers(tmp_path, acc, kw, verdict):
    out = run_report(schedule_runs(tmp_path / "s", acc, **kw), tmp_path)
    row = verdict_rows(out)[C8.name]
    assert row["verdict"] == verdict
    assert row["varied"] == "4 schedules: constant, decay_lr, hybrid, increase_batch"


def test_c8_row_and_comparisons(tmp_path):
    out = run_report(schedule_runs(tmp_path / "s", TRUE), tmp_path)
    row = verdict_rows(out)[C8.name]
    assert row["replicates"] == "6" and row["criterion"] == C8.criterion and "+-0.5 points" in row["criterion"]
    inc = next(c for c in table(out, "comparisons") if c["schedule"] == "increase_batch")
    assert (inc["pairs"], inc["margin"], inc["ci_level"], inc["equivalent"]) == ("6", "0.005", "0.95", "yes")


def test_schedule_report_counts_updates(tmp_path):
    acc = {"decay_lr": 0.5, "increase_batch": 0.5, "hybrid": 0.5}
    out = report.report(schedule_runs(tmp_path / "s", acc, seeds=1), tmp_path / "out", wandb_mode="disabled")
    text = (out / "schedules.csv").read_text()
    assert text.splitlines()[0].startswith("schedule,seeds,test_acc_mean,test_acc_sd,test_acc_ci95_low")
    assert "increase_batch,1,0.5,,,,400,128,2.5" in text and "decay_lr,1,0.5,,,,1000,128,1" in text
    assert table(out, "verdicts")[0]["verdict"] == "inconclusive"  # one seed: no power
