"""The SGD step: torch's fused kernel (`optimizer.fused=true`, the default) vs the per-op step.

The harness's own training loop (`harness.train.trainer.train`, as scripts/bench.py runs it: synthetic
CIFAR-shaped uint8 data, augmentation on, evaluation excluded) with each optimizer, measured
interleaved in one process: `--repeats` rounds of fused, per-op, per-op, fused (ABBA: a drift of
the machine's speed that is linear in time cancels in a round's ratio).

    python scripts/bench_sgd.py [--models mlp_1x512,mlp_3x512,alexnet_small] [--preprocess standard]
                                [--weight-decay 0,0.0005] [--batch 128] [--repeats 5]
                                [--out experiments/performance/sgd_fused.csv]

With weight decay the per-op step makes one more pass and a new tensor per parameter (the decayed
gradient); the fused kernel adds the decay in its one pass. Then, `--repeats` times, the trainer's
step for both configs built side by side (`parts.build`, `parts.EpochBatches`), one step of each in
turn (a drift of the machine's speed hits both alike: finer than the loops' ABBA, whose ratio is a
few percent at most while this machine's noise is as large), timing each whole step and its
optimizer step. Prints one line per model, preprocessing and weight decay; appends one CSV row
each: the loops' median img/s over the rounds, the median of the per-round ratios fused / per-op and
its min-max, and the same for the optimizer step's and the whole step's median ms.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import time

import torch
import torch.nn.functional as F
from bench import PERF_DIR, append_csv, config, harness_throughput, provenance, trainer_parts

from harness.app import register_resolvers
from harness.train import data as data_mod

FIELDS = ["date", "machine", "torch", "commit", "threads", "model", "preprocess", "weight_decay", "batch", "steps",
          "repeats", "fused_img_s", "per_op_img_s", "speedup", "speedup_min", "speedup_max",
          "fused_opt_ms", "per_op_opt_ms", "opt_speedup", "opt_speedup_min", "opt_speedup_max",
          "fused_step_ms", "per_op_step_ms", "step_speedup", "step_speedup_min", "step_speedup_max"]  # fmt: skip


def alternating_steps(cfgs: dict, data, steps: int) -> dict:
    """The trainer's step (its batch, forward, backward, optimizer step: `parts.build`, `EpochBatches`)
    for each config, one step of each in turn: a drift of the machine's speed hits both alike. Per
    config the median ms of the whole step and of its optimizer step."""
    runs = {key: (*trainer_parts(cfg, data), [], []) for key, cfg in cfgs.items()}
    n, b = len(data.train_x), next(iter(cfgs.values())).trainer.batch_size
    for i in range(steps):
        lo = (i % (n // b)) * b
        for p, batches, whole, opt in runs.values():
            start = time.perf_counter()
            x, y = batches(lo, lo + b)
            loss = F.cross_entropy(p.forward(x), y)
            p.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            mid = time.perf_counter()
            p.optimizer.step()
            end = time.perf_counter()
            whole.append(end - start)
            opt.append(end - mid)
    return {k: (1e3 * statistics.median(r[2][3:]), 1e3 * statistics.median(r[3][3:])) for k, r in runs.items()}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--models", default="mlp_1x512,mlp_3x512,alexnet_small")
    p.add_argument("--preprocess", default="standard")
    p.add_argument("--weight-decay", default="0,0.0005", help="comma-separated values of optimizer.weight_decay")
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--out", default=str(PERF_DIR / "sgd_fused.csv"))
    a = p.parse_args()
    register_resolvers()
    meta = {**provenance("cpu"), "threads": torch.get_num_threads(), "batch": a.batch, "repeats": a.repeats}
    append_csv(a.out, FIELDS, [])  # header now, or refuse a file with other columns before measuring
    for preprocess, name, wd in itertools.product(
        a.preprocess.split(","), a.models.split(","), a.weight_decay.split(",")
    ):
        steps = 100 if name.startswith("mlp") else 20
        extra = [f"optimizer.weight_decay={wd}"]
        cfgs = {
            fused: config(name, a.batch, steps, "cpu", 10_000, preprocess, [*extra, f"optimizer.fused={fused}"])
            for fused in ("true", "false")
        }
        data = data_mod.prepare(cfgs["true"].data, torch.device("cpu"))  # once: every run reuses it
        rates = {"true": [], "false": []}
        for _ in range(a.repeats):
            for fused in ("true", "false", "false", "true"):
                rates[fused].append(harness_throughput(cfgs[fused], data)[0])
        pairs = list(zip(rates["true"][0::2], rates["true"][1::2], rates["false"][0::2], rates["false"][1::2]))
        ratios = [2 / (1 / f1 + 1 / f2) / (2 / (1 / p1 + 1 / p2)) for f1, f2, p1, p2 in pairs]
        steps_ms = [alternating_steps(cfgs, data, 2 * steps) for _ in range(a.repeats)]
        opt_ratios = [r["false"][1] / r["true"][1] for r in steps_ms]
        step_ratios = [r["false"][0] / r["true"][0] for r in steps_ms]
        row = {**meta, "model": name, "preprocess": preprocess, "weight_decay": wd, "steps": steps,
               "fused_img_s": f"{statistics.median(rates['true']):.0f}",
               "per_op_img_s": f"{statistics.median(rates['false']):.0f}",
               "speedup": f"{statistics.median(ratios):.3f}", "speedup_min": f"{min(ratios):.3f}",
               "speedup_max": f"{max(ratios):.3f}",
               "fused_opt_ms": f"{statistics.median(r['true'][1] for r in steps_ms):.3f}",
               "per_op_opt_ms": f"{statistics.median(r['false'][1] for r in steps_ms):.3f}",
               "opt_speedup": f"{statistics.median(opt_ratios):.3f}", "opt_speedup_min": f"{min(opt_ratios):.3f}",
               "opt_speedup_max": f"{max(opt_ratios):.3f}",
               "fused_step_ms": f"{statistics.median(r['true'][0] for r in steps_ms):.3f}",
               "per_op_step_ms": f"{statistics.median(r['false'][0] for r in steps_ms):.3f}",
               "step_speedup": f"{statistics.median(step_ratios):.3f}", "step_speedup_min": f"{min(step_ratios):.3f}",
               "step_speedup_max": f"{max(step_ratios):.3f}"}  # fmt: skip
        print(f"model={name} preprocess={preprocess} weight_decay={wd} fused_img_s={row['fused_img_s']} "
              f"per_op_img_s={row['per_op_img_s']} speedup={row['speedup']} "
              f"(min {row['speedup_min']}, max {row['speedup_max']}); optimizer step {row['fused_opt_ms']} vs "
              f"{row['per_op_opt_ms']} ms, x{row['opt_speedup']} (min {row['opt_speedup_min']}, "
              f"max {row['opt_speedup_max']}); whole step {row['fused_step_ms']} vs {row['per_op_step_ms']} ms, "
              f"x{row['step_speedup']} (min {row['step_speedup_min']}, max {row['step_speedup_max']})",
              flush=True)  # fmt: skip
        append_csv(a.out, FIELDS, [row])


if __name__ == "__main__":
    main()
