"""The cost of trainer.grad_norms_every_steps: one training step (forward, backward, SGD) of a deep
MLP against one `probes.gradient_norms` call, interleaved in one process (ratios only: this
machine's speed drifts between runs). Off, the trainer pays one integer comparison per step.

    python scripts/bench_grad_norms.py [--depth 8] [--width 256] [--batch 128] [--reps 7]

Appends one row to experiments/performance/grad_norms.csv (--csv to change, --csv '' for none).
"""

from __future__ import annotations

import argparse
import csv
import datetime
import platform
import statistics
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from harness import probes
from harness.train import models


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--depth", type=int, default=8)
    p.add_argument("--width", type=int, default=256)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--reps", type=int, default=7)
    p.add_argument("--calls", type=int, default=50)
    p.add_argument("--csv", default="experiments/performance/grad_norms.csv")
    a = p.parse_args()
    torch.manual_seed(0)
    model = models.deep_mlp(3 * 28 * 28, a.width, a.depth, "relu", False)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x, y = torch.randn(a.batch, 3, 28, 28), torch.randint(0, 10, (a.batch,))

    def step():
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), y).backward()
        opt.step()

    step()
    ratios, steps, norms = [], [], []
    for _ in range(a.reps):
        t = time.perf_counter()
        for _ in range(a.calls):
            step()
        s = (time.perf_counter() - t) / a.calls
        t = time.perf_counter()
        for _ in range(a.calls):
            probes.gradient_norms(model)
        n = (time.perf_counter() - t) / a.calls
        steps.append(s)
        norms.append(n)
        ratios.append(n / s)
    r = statistics.median(ratios)
    if a.csv:
        path = Path(a.csv)
        new = not path.exists()
        with path.open("a", newline="") as f:
            w = csv.writer(f)
            if new:
                w.writerow(
                    [
                        "date",
                        "machine",
                        "threads",
                        "depth",
                        "width",
                        "batch",
                        "step_ms",
                        "norms_ms",
                        "ratio",
                        "ratio_min",
                        "ratio_max",
                    ]
                )
            w.writerow(
                [
                    datetime.date.today().isoformat(),
                    platform.machine(),
                    torch.get_num_threads(),
                    a.depth,
                    a.width,
                    a.batch,
                    round(1e3 * statistics.median(steps), 3),
                    round(1e3 * statistics.median(norms), 4),
                    round(r, 4),
                    round(min(ratios), 4),
                    round(max(ratios), 4),
                ]
            )
    print(
        f"mlp_deep depth={a.depth} width={a.width} batch={a.batch} threads={torch.get_num_threads()}: "
        f"step {1e3 * statistics.median(steps):.2f} ms, gradient_norms {1e3 * statistics.median(norms):.3f} ms, "
        f"ratio {r:.3f} (range {min(ratios):.3f}-{max(ratios):.3f}); every 10 steps: +{100 * r / 10:.1f}% per step"
    )


if __name__ == "__main__":
    main()
