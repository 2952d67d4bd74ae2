"""What each experiment costs at scale=paper, as a FLOP ESTIMATE (nothing is trained, no data is read).

    .venv/bin/python scripts/paper_scale_estimate.py [--tflops 100]   # < 1 min on 2 CPU cores

For every experiment in configs/experiment/: compose it at scale=paper as the CLI would, expand its
sweep as Hydra's basic sweeper does (hydra.sweeper.params), compose every job, and count:
- forward FLOPs per image: torch.utils.flop_counter.FlopCounterMode on one input of the run's shape
  (3x28x28 for the 'zhang' preprocessing, 3x32x32 for 'standard'), the model built by
  harness.train.models.build (F below);
- training: 3 F per image (forward + backward) x training images x max_epochs: an upper bound for
  runs that stop at a target (train accuracy or loss);
- evaluation: F x (training + validation + 10,000 test images) at every evaluation;
- attacks (adversarial): 3 F per gradient step (FGSM 1, PGD steps x restarts, strong PGD the same),
  F per clean / noise / final prediction, per image of adversarial.test_size and per eps;
- Hessian probes: HVP = 6 F, Lanczos = 50 HVPs per eigenvalue sought, exact (Gauss-Newton) trace =
  21 F (10 classes' backward passes), eps-sharpness = 20 loss-and-gradient evaluations (3 F each),
  per image of curvature.sample_size; init pre-screening: per candidate, risk F + exact trace 21 F.
Not counted: the fine evaluations near a target (trainer.fine_eval_*), per-layer gradient norms, and
data movement or step overhead (small models are step-bound, not FLOP-bound: see the steps column).
GPU-hours = FLOPs / (the assumed sustained rate x 3600 s); the rate (default 100 TFLOP/s, bf16, one
H100) is an ASSUMPTION, not a measurement. Writes experiments/paper_scale.csv and
experiments/paper_scale.md (the page and its table).
"""

from __future__ import annotations

import argparse
import copy
import csv
import math
import time
from collections import Counter
from functools import cache
from pathlib import Path

import torch
from hydra import compose, initialize_config_dir
from hydra._internal.config_loader_impl import ConfigLoaderImpl
from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
from hydra.core.global_hydra import GlobalHydra
from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import DictConfig, OmegaConf
from torch.utils.flop_counter import FlopCounterMode

from harness import config as harness_config
from harness.app import register_resolvers
from harness.train import models, schedules, transforms

REPO = Path(__file__).resolve().parent.parent
CONFIGS = REPO / "src" / "harness" / "configs"
OUT_CSV = REPO / "experiments" / "paper_scale.csv"
OUT_MD = REPO / "experiments" / "paper_scale.md"
CIFAR_TRAIN, CIFAR_TEST, CLASSES = 50_000, 10_000, 10
# the probe cost model (forward passes per image; see the docstring)
HVP, LANCZOS_HVPS, EXACT_TRACE, EPS_SHARPNESS_GRADS = 6, 50, 21, 20
MOONSHOT = "zhang_table1"


def experiments() -> list[str]:
    return sorted(p.stem for p in (CONFIGS / "experiment").glob("*.yaml"))


def _compose(overrides: list[str], hydra_config: bool = False):
    return compose("config", overrides=["logger=none", *overrides], return_hydra_config=hydra_config)


def sweep_overrides(experiment: str, scale: str = "paper") -> list[list[str]]:
    """Every job's overrides, as `python -m harness -m experiment=NAME scale=SCALE` expands them (Hydra's
    basic sweeper over hydra.sweeper.params). Needs an initialized Hydra (initialize_config_dir)."""
    base = _compose([f"experiment={experiment}", f"scale={scale}"], hydra_config=True)
    params = base.hydra.sweeper.params
    params = OmegaConf.to_container(params, resolve=True) if params else {}
    parsed = OverridesParser.create().parse_overrides([f"{k}={v}" for k, v in params.items()])
    (jobs,) = BasicSweeper.split_arguments(parsed, None)
    return jobs or [[]]


def _is_group(override: str) -> bool:
    return (CONFIGS / override.split("=", 1)[0].lstrip("+~")).is_dir()


def job_configs(experiment: str, scale: str = "paper") -> list[tuple[list[str], DictConfig]]:
    """(overrides, validated config) of every job of the experiment's sweep at this scale. As Hydra
    does: the defaults with the job's group overrides (composed once per distinct set), then its value
    overrides. Needs an initialized Hydra."""
    base, composed, out = [f"experiment={experiment}", f"scale={scale}"], {}, []
    parser = OverridesParser.create()
    for job in sweep_overrides(experiment, scale):
        groups = tuple(o for o in job if _is_group(o))
        if groups not in composed:
            composed[groups] = _compose([*base, *groups])
        cfg = copy.deepcopy(composed[groups])
        ConfigLoaderImpl._apply_overrides_to_config(parser.parse_overrides([o for o in job if not _is_group(o)]), cfg)
        out.append((job, harness_config.validate(cfg)))
    return out


@cache
def _forward_flops(name, depth, width, activation, batch_norm, shape) -> int:
    cfg = OmegaConf.create(
        {
            "name": name,
            "init": "default",
            "init_gain": 1.0,
            "depth": depth,
            "width": width,
            "activation": activation,
            "batch_norm": batch_norm,
        }
    )
    model = models.build(cfg, shape).eval()
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(torch.zeros(1, *shape))
    return counter.get_total_flops()


def forward_flops(cfg) -> int:
    m = cfg.model
    shape = transforms.input_shape(cfg.data.preprocess)
    return _forward_flops(m.name, m.get("depth"), m.get("width"), m.get("activation"), m.get("batch_norm"), shape)


def train_size(cfg) -> int:
    return cfg.data.subset or CIFAR_TRAIN - cfg.data.val_size


def steps(cfg) -> int:
    n, t = train_size(cfg), cfg.trainer
    b0 = schedules.batch_size_keeping_noise_scale(
        cfg.schedule, cfg.optimizer.lr, n, t.batch_size, cfg.optimizer.momentum
    )
    total = 0
    for epoch in range(t.max_epochs):
        _, b = schedules.lr_and_batch_size(cfg.schedule, cfg.optimizer.lr, b0, epoch, t.max_epochs)
        total += schedules.steps_per_epoch(n, b)
    return total if t.max_steps is None else min(total, t.max_steps)


def probe_passes(c) -> float:
    """Forward-pass equivalents per sample image of one Hessian probe."""
    eig = LANCZOS_HVPS * HVP * c.top_k * (2 if c.negative else 1)
    trace = {"gauss_newton": EXACT_TRACE, "none": 0}.get(c.trace, c.trace_hvps * HVP)
    return eig + trace + (EPS_SHARPNESS_GRADS * 3 if c.eps_sharpness else 0)


def run_flops(cfg) -> dict:
    f, n, t = forward_flops(cfg), train_size(cfg), cfg.trainer
    epochs = t.max_epochs
    evals = math.ceil(epochs / t.eval_every_epochs)
    out = {
        "train": 3 * f * n * epochs,
        "eval": f * (n + cfg.data.val_size + CIFAR_TEST) * evals,
    }
    c = cfg.curvature
    probes = len(c.at) + (epochs // c.every_epochs if c.every_epochs else 0)
    probes += len(c.alphas) * len(c.variants)
    prescreen = cfg.init.prescreen * (1 + EXACT_TRACE)
    out["probes"] = f * c.sample_size * (probes * probe_passes(c) + prescreen) + f * CIFAR_TEST * len(c.alphas) * len(
        c.variants
    )
    a = cfg.adversarial
    per_eps = {
        "fgsm": 3 + 1,
        "pgd": 3 * a.pgd_steps * a.pgd_restarts + a.pgd_restarts,
        "pgd_strong": 3 * a.pgd_strong_steps * a.pgd_strong_restarts + a.pgd_strong_restarts,
        "noise": 1,
    }
    attack = sum(per_eps[k] for k in a.attacks) * len(a.eps_255)
    out["attacks"] = f * a.test_size * (attack + 1) if a.eps_255 else 0
    out["forward_flops"] = f
    return out


def _distinct(values, fmt=str) -> str:
    counts = Counter(values)
    if len(counts) == 1:
        return fmt(next(iter(counts)))
    return ", ".join(f"{fmt(v)} x{k}" for v, k in counts.items())


def _epochs(cfg) -> str:
    t = cfg.trainer
    if t.target_train_acc is not None:
        return f"<= {t.max_epochs} (stops at {t.target_train_acc:.0%} train acc)"
    if t.target_train_loss is not None:
        return f"<= {t.max_epochs} (stops at train loss {t.target_train_loss})"
    return str(t.max_epochs)


def summarize(experiment: str, tflops: float) -> dict:
    cfgs = [cfg for _, cfg in job_configs(experiment)]
    parts = [run_flops(c) for c in cfgs]
    total = {k: sum(p[k] for p in parts) for k in ("train", "eval", "probes", "attacks")}
    flops = sum(total.values())
    models_ = [c.model.name + (f" (depth {c.model.depth})" if c.model.name == "mlp_deep" else "") for c in cfgs]
    return {
        "experiment": experiment,
        "command": f"python -m harness -m experiment={experiment} scale=paper",
        "runs": len(cfgs),
        "models": _distinct(c.model.name for c in cfgs) if len(set(models_)) > 4 else _distinct(models_),
        "forward_mflops_per_image": _distinct((p["forward_flops"] / 1e6 for p in parts), lambda v: f"{v:.1f}"),
        "input": _distinct("x".join(map(str, transforms.input_shape(c.data.preprocess))) for c in cfgs),
        "train_images": _distinct((train_size(c) for c in cfgs), lambda v: f"{v:,}"),
        "epochs": _distinct(_epochs(c) for c in cfgs),
        "steps": sum(steps(c) for c in cfgs),
        "train_pflop": total["train"] / 1e15,
        "eval_pflop": total["eval"] / 1e15,
        "probe_attack_pflop": (total["probes"] + total["attacks"]) / 1e15,
        "total_pflop": flops / 1e15,
        "est_h100_hours": flops / (tflops * 1e12) / 3600,
        # for the page's text only (not in the CSV)
        "_max_epochs": max(c.trainer.max_epochs for c in cfgs),
        "_inception_share": sum(
            p["train"] + p["eval"] for c, p in zip(cfgs, parts) if c.model.name.startswith("inception")
        )
        / flops,
        "_mlp_steps": sum(steps(c) for c in cfgs if c.model.name.startswith("mlp")),
    }


def _hours(h: float) -> str:
    return f"{h:.3f}" if h < 0.1 else f"{h:.2f}"


def write_markdown(rows: list[dict], tflops: float, path: Path) -> None:
    total = sum(r["est_h100_hours"] for r in rows)
    moon = next(r for r in rows if r["experiment"] == MOONSHOT)
    needed = moon["total_pflop"] * 1e15 / 3600 / 1e12  # TFLOP/s sustained to finish in one hour
    moon_epochs, inception, mlp_steps = moon["_max_epochs"], moon["_inception_share"], moon["_mlp_steps"]
    lines = [
        "# Paper scale: what each experiment would cost on one H100 (FLOP estimate, not measured)",
        "",
        "Generated by `.venv/bin/python scripts/paper_scale_estimate.py` (also writes "
        "[paper_scale.csv](paper_scale.csv)); nothing here has been run at paper scale yet. Each "
        "experiment's paper-scale settings are in `src/harness/configs/experiment_scale/<name>_paper.yaml` "
        "(header comments: what the paper did, what the file sets, deviations).",
        "",
        f"**The GPU-hours are a FLOP ESTIMATE.** Forward FLOPs per image are counted by "
        "`torch.utils.flop_counter.FlopCounterMode` on one CIFAR-shaped input (3x28x28 for the 'zhang' "
        "preprocessing, 3x32x32 for 'standard'); training costs 3x forward per image, times images x "
        "epochs x runs; evaluation passes (train + validation + test images, at every evaluation), "
        "adversarial attacks and Hessian probes are added (cost model in the script's docstring). "
        f"The total is divided by an **assumed** sustained {tflops:g} TFLOP/s (bf16, one H100): an "
        "assumption, not a measurement. Small CNNs at batch 128 are unlikely to sustain that, and the MLPs are "
        "bound by per-step overhead, not FLOPs (the `steps` column counts their optimizer steps), so "
        "read these as lower bounds on time. Epochs are `trainer.max_epochs`: runs that stop at a "
        "target (train accuracy or loss) finish earlier, and the fine evaluations near such a target "
        "are not counted. Measured seconds per epoch from `make gpu-check` (scripts/gpu_check.py, its "
        "`throughput.csv`: per model, s/epoch on 50,000 images, eager vs compiled, bf16 on/off) will "
        "replace these estimates once a GPU has run it.",
        "",
        f"**Moonshot** (the issue's goal): the whole of Zhang et al.'s Table 1 (`experiment={MOONSHOT}`, "
        f"{moon['runs']} runs of at most {moon_epochs} epochs) in under one H100-hour. Estimate: "
        f"{moon['total_pflop']:.0f} PFLOP, {_hours(moon['est_h100_hours'])} H100-hours at {tflops:g} TFLOP/s: "
        + ("it fits *if* " if moon["est_h100_hours"] < 1 else "it does not fit unless ")
        + f"the sweep sustains at least {needed:.0f} TFLOP/s averaged over all its runs (the Inception runs "
        f"are {inception:.0%} of the FLOPs; evaluating the training, validation and test sets every epoch is "
        f"{moon['eval_pflop'] / moon['total_pflop']:.0%}, so `trainer.eval_every_epochs=5` would save most "
        f"of that). This count lets every run go the full {moon_epochs} epochs; each stops once it reaches "
        "99% train accuracy, so the real FLOPs are fewer. Per-step overhead matters as much: the sweep "
        f"takes {moon['steps'] / 1e6:.2f} M optimizer steps ({mlp_steps / 1e6:.2f} M of them the MLPs', "
        f"which are almost free in FLOPs), so every millisecond of fixed cost per step adds "
        f"{moon['steps'] * 1e-3 / 3600:.2f} h. The estimate says the goal is within reach, not that it is "
        "met: the measured throughput (s/epoch per model) will say.",
        "",
        "| experiment | command | runs | model(s) | input | training images | epochs | steps (all runs) "
        "| forward MFLOP/image | train PFLOP | eval PFLOP | probes + attacks PFLOP | est. H100-hours |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['experiment']} | `{r['command']}` | {r['runs']} | {r['models']} | {r['input']} | "
            f"{r['train_images']} | {r['epochs']} | {r['steps']:,} | {r['forward_mflops_per_image']} | "
            f"{r['train_pflop']:.2f} | {r['eval_pflop']:.2f} | {r['probe_attack_pflop']:.2f} | "
            f"{_hours(r['est_h100_hours'])} |"
        )
    all_pflop = sum(r["total_pflop"] for r in rows)
    lines += [
        f"| **all** | | {sum(r['runs'] for r in rows)} | | | | | {sum(r['steps'] for r in rows):,} | | "
        f"{sum(r['train_pflop'] for r in rows):.1f} | {sum(r['eval_pflop'] for r in rows):.1f} | "
        f"{sum(r['probe_attack_pflop'] for r in rows):.1f} | **{_hours(total)}** ({all_pflop:.0f} PFLOP) |",
        "",
        "Training images: `data.subset`, or all 50,000 less the validation images (`data.val_size`); "
        "'x k' counts runs. The report of each experiment is `python -m harness.report multirun/<name>` "
        "as at cpu scale.",
        "",
    ]
    path.write_text("\n".join(lines))


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tflops", type=float, default=100.0, help="assumed sustained TFLOP/s (an assumption)")
    ap.add_argument("--csv", type=Path, default=OUT_CSV)
    ap.add_argument("--md", type=Path, default=OUT_MD)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    register_resolvers()
    t0 = time.perf_counter()
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONFIGS), version_base="1.3"):
        rows = [summarize(name, args.tflops) for name in experiments()]
    with args.csv.open("w", newline="") as fh:
        fields = [k for k in rows[0] if not k.startswith("_")]
        w = csv.DictWriter(fh, fieldnames=[*fields, "assumed_tflops"])
        w.writeheader()
        for r in rows:
            w.writerow(
                {
                    **{k: (f"{r[k]:.4g}" if isinstance(r[k], float) else r[k]) for k in fields},
                    "assumed_tflops": args.tflops,
                }
            )
    write_markdown(rows, args.tflops, args.md)
    for r in rows:
        print(f"{r['experiment']:22s} runs={r['runs']:4d} {r['total_pflop']:9.2f} PFLOP  {r['est_h100_hours']:7.3f} h")
    total = sum(r["est_h100_hours"] for r in rows)
    print(f"{'all':22s} {sum(r['runs'] for r in rows):9d} {'':20s}{total:7.3f} h   ({time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
