"""Data parallel training over processes (`torchrun --nproc_per_node=N -m harness ...`).

Every rank holds the whole dataset and draws the same batch order and augmentation (same seed);
each global batch is transformed once per rank and each rank takes its contiguous shard of it, so
a run's numbers do not depend on N beyond float noise. Gradients are averaged by
DistributedDataParallel (nccl on CUDA, gloo on CPU) with the loss scaled so that the average is
the gradient of the global batch's mean loss even for unequal shards. Only rank 0 writes the run
dir and the W&B run (`rundir` writes nothing elsewhere).
"""

from __future__ import annotations

import os

import torch
import torch.distributed as dist


def world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


def rank() -> int:
    return int(os.environ.get("RANK", "0"))


def is_main() -> bool:
    return rank() == 0


def init(device_type: str) -> None:
    """Join the process group torchrun describes (no-op for a single process)."""
    if world_size() == 1 or dist.is_initialized():
        return
    if device_type == "cuda":
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    dist.init_process_group("nccl" if device_type == "cuda" else "gloo")


def broadcast(obj):
    """Rank 0's value of obj on every rank."""
    if world_size() == 1:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def shard(n: int) -> tuple[int, int]:
    """[lo, hi) of this rank's part of n items (the first n % world ranks get one more)."""
    base, extra = divmod(n, world_size())
    r = rank()
    lo = r * base + min(r, extra)
    return lo, lo + base + (r < extra)


def all_reduce_sum(t: torch.Tensor) -> torch.Tensor:
    if world_size() > 1:
        dist.all_reduce(t)
    return t
