"""What making a training batch costs inside the loop, and why it costs more there than alone.

The trainer's batch (`parts.EpochBatches`: the compiled CPU loop's crop/translate + flip +
normalisation or whitening into a buffer kept per batch size) timed per call, median over
`--steps` calls, in three situations measured interleaved in one process, `--repeats` rounds:
- tight: batch after batch, nothing between (caches warm, as in bench.py's augmentation-alone rate);
- after_step: each batch right after a training step of the model on the previous batch (forward,
  backward, SGD step: the trainer's situation);
- after_sweep: each batch right after one pass over a 40 MiB array (larger than this machine's
  L3), no model: caches evicted, nothing else different.
If after_step costs about what after_sweep does, the loop's extra cost is the evicted caches (the
output buffer and the images are read back from memory), not the step's threads or anything else.
Also the median training step without the batch, so `step_ms / (step_ms + after_step_ms)` bounds
harness / limit when nothing but the batch differs.

    python scripts/bench_batch_cache.py [--model mlp_1x512] [--preprocess standard,zhang] [--steps 150]
                                        [--repeats 3] [--out experiments/performance/batch_in_loop.csv]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch
import torch.nn.functional as F
from bench import PERF_DIR, append_csv, config, provenance, trainer_parts

from harness.app import register_resolvers
from harness.train import data as data_mod

FIELDS = ["date", "machine", "torch", "commit", "threads", "model", "preprocess", "batch", "steps", "repeats",
          "tight_ms", "after_step_ms", "after_sweep_ms", "step_ms", "bound_vs_limit"]  # fmt: skip
SWEEP_BYTES = 40 * 2**20


def situations(cfg, data, steps: int, reverse: bool) -> dict:
    """Median ms per batch call in each situation (in reverse order when `reverse`), and per
    training step without the batch."""
    p, batches = trainer_parts(cfg, data)
    n, b = len(data.train_x), cfg.trainer.batch_size
    sweep = np.ones(SWEEP_BYTES // 4, dtype=np.float32)
    out = {"tight": [], "after_step": [], "after_sweep": [], "step": []}
    order = ("tight", "after_step", "after_sweep")
    for situation in order[::-1] if reverse else order:
        for i in range(steps):
            lo = (i % (n // b)) * b
            if situation == "after_sweep":
                np.add(sweep, 1.0, out=sweep)
            start = time.perf_counter()
            x, y = batches(lo, lo + b)
            out[situation].append(time.perf_counter() - start)
            if situation == "after_step":
                start = time.perf_counter()
                loss = F.cross_entropy(p.forward(x), y)
                p.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                p.optimizer.step()
                out["step"].append(time.perf_counter() - start)
    return {k: 1e3 * statistics.median(v[3:]) for k, v in out.items()}


def main():
    a = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    a.add_argument("--model", default="mlp_1x512")
    a.add_argument("--preprocess", default="standard,zhang")
    a.add_argument("--steps", type=int, default=150)
    a.add_argument("--repeats", type=int, default=3)
    a.add_argument("--out", default=str(PERF_DIR / "batch_in_loop.csv"))
    args = a.parse_args()
    register_resolvers()
    meta = {**provenance("cpu"), "threads": torch.get_num_threads(), "model": args.model, "steps": args.steps,
            "repeats": args.repeats}  # fmt: skip
    append_csv(args.out, FIELDS, [])  # header now, or refuse a file with other columns before measuring
    for preprocess in args.preprocess.split(","):
        cfg = config(args.model, 128, args.steps, "cpu", 10_000, preprocess)
        data = data_mod.prepare(cfg.data, torch.device("cpu"))
        rounds = [situations(cfg, data, args.steps, reverse=r % 2 == 1) for r in range(args.repeats)]
        m = {k: statistics.median(r[k] for r in rounds) for k in rounds[0]}
        row = {**meta, "preprocess": preprocess, "batch": cfg.trainer.batch_size,
               **{f"{k}_ms": f"{v:.3f}" for k, v in m.items()},
               "bound_vs_limit": f"{m['step'] / (m['step'] + m['after_step']):.3f}"}  # fmt: skip
        print(" ".join(f"{k}={row[k]}" for k in ("model", "preprocess", *FIELDS[10:])), flush=True)
        append_csv(args.out, FIELDS, [row])


if __name__ == "__main__":
    main()
