"""CNNs on CPU: eager vs channels_last vs torch.compile, training steps on a fixed batch.

What the trainer could turn on for the CNNs on CPU (on CUDA it uses channels_last, and compile on
request). Per model, the three variants are measured interleaved in one process, `--repeats`
rounds (the machine's speed drifts between runs; only ratios measured together mean anything);
compilation happens before the first round and is not timed.

    python scripts/bench_cpu_cnn.py [--models alexnet_small,inception_small,resnet18] [--batch 128]
                                    [--steps 10] [--repeats 3] [--out experiments/performance/cpu_cnn.csv]

Prints one line per model and variant; appends one CSV row per model and variant (median img/s over
the rounds, its ratio to eager, and the ratio's min-max over the rounds).
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F
from bench import PERF_DIR, append_csv, config, provenance

from harness.app import register_resolvers
from harness.train import models
from harness.train.transforms import input_shape

FIELDS = ["date", "machine", "torch", "commit", "threads", "model", "batch", "steps", "repeats", "variant",
          "img_s", "vs_eager", "vs_eager_min", "vs_eager_max", "compile_s"]  # fmt: skip


def variant(cfg, name: str, batch: int):
    """(step function, seconds spent compiling) for one variant."""
    torch.manual_seed(0)
    shape = input_shape(cfg.data.preprocess)
    model = models.build(cfg.model, shape)
    x, y = torch.randn(batch, *shape), torch.randint(0, 10, (batch,))
    if name == "channels_last":
        model, x = model.to(memory_format=torch.channels_last), x.contiguous(memory_format=torch.channels_last)
    forward = torch.compile(model) if name == "compile" else model
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

    def step():
        loss = F.cross_entropy(forward(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    start = time.perf_counter()
    step()  # compiles (and warms up the others)
    step()
    return step, time.perf_counter() - start


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--models", default="alexnet_small,inception_small,resnet18")
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--out", default=str(PERF_DIR / "cpu_cnn.csv"))
    a = p.parse_args()
    register_resolvers()
    meta = {**provenance("cpu"), "threads": torch.get_num_threads(), "batch": a.batch, "steps": a.steps}
    append_csv(a.out, FIELDS, [])
    for name in a.models.split(","):
        cfg = config(name, a.batch, a.steps, "cpu", 1000)
        steps, compile_s = {}, {}
        for v in ("eager", "channels_last", "compile"):
            steps[v], compile_s[v] = variant(cfg, v, a.batch)
        rates = {v: [] for v in steps}
        for _ in range(a.repeats):
            for v, step in steps.items():
                start = time.perf_counter()
                for _ in range(a.steps):
                    step()
                rates[v].append(a.steps * a.batch / (time.perf_counter() - start))
        rows = []
        for v, r in rates.items():
            ratios = [x / e for x, e in zip(r, rates["eager"])]
            row = {**meta, "model": name, "repeats": a.repeats, "variant": v, "img_s": f"{statistics.median(r):.0f}",
                   "vs_eager": f"{statistics.median(ratios):.3f}", "vs_eager_min": f"{min(ratios):.3f}",
                   "vs_eager_max": f"{max(ratios):.3f}", "compile_s": f"{compile_s[v]:.1f}"}  # fmt: skip
            rows.append(row)
            print(f"model={name} variant={v} img_s={row['img_s']} vs_eager={row['vs_eager']} "
                  f"(min {row['vs_eager_min']}, max {row['vs_eager_max']})", flush=True)  # fmt: skip
        append_csv(a.out, FIELDS, rows)


if __name__ == "__main__":
    main()
