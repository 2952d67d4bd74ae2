"""What a run trains with, built once from the config: the model (and the forward it is called
through: DDP-wrapped, compiled), the optimizer, and the input pipeline from uint8 images to model
inputs. The training loop (harness/train/trainer.py) and the evaluations only call these."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from . import distributed, models
from .transforms import BatchTransform, PackedImages, compiled_loop, input_shape


@dataclass
class Parts:
    device: torch.device
    model: torch.nn.Module
    forward: torch.nn.Module  # the model as the loop calls it: DDP-wrapped and/or compiled
    optimizer: torch.optim.Optimizer
    transform: BatchTransform
    packed: PackedImages | None  # the training set packed once, so a cropped batch is one gather
    channels_last: bool
    amp: bool  # bf16 autocast (CUDA only)
    world: int  # processes in the DDP group (1: no DDP)

    def autocast(self):
        return torch.autocast("cuda", dtype=torch.bfloat16, enabled=self.device.type == "cuda" and self.amp)

    def as_model_input(self, x):
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last else x

    def to_input(self, x_uint8, train, gen=None):
        """uint8 images -> the model's input (augmented when `train`, with `gen`'s draws)."""
        return self.as_model_input(self.transform(x_uint8, train=train, generator=gen))

    def cpu_loop(self) -> bool:
        """Whether training batches come from the compiled CPU loop (numba)."""
        return self.packed is not None and compiled_loop(self.device)


class EpochBatches:
    """One epoch's training batches: slices of its order, its augmentation draws and its labels
    (gathered once per epoch), made into the model's input from the packed copy when there is one
    (bit-identical to the eager path). For the compiled CPU loop the order and the draws are numpy
    views, made once: a step then slices arrays rather than making tensors."""

    def __init__(self, parts: Parts, train_x, train_y, perm, draws):
        self.p, self.train_x, self.labels = parts, train_x, train_y.index_select(0, perm)
        self.perm, self.draws = (perm.numpy(), draws.numpy()) if parts.cpu_loop() else (perm, draws)

    def __call__(self, lo: int, hi: int):
        """The batch of positions lo..hi-1: (model input, labels)."""
        p, idx, draws = self.p, self.perm[lo:hi], self.draws[:, lo:hi]
        if p.packed is None:
            x = p.as_model_input(p.transform(self.train_x[idx], True, draws=draws))
        else:
            x = p.as_model_input(p.transform.train_batch(p.packed, idx, draws))
        return x, self.labels[lo:hi]


FUSED_SGD_DEVICES = ("cpu", "cuda")  # where torch has a fused SGD kernel


def sgd(params, o, device: torch.device) -> torch.optim.SGD:
    """The run's optimizer from the `optimizer` config group (also the bench's limit and baseline).
    `o.fused`: torch's fused kernel, one pass over parameter, gradient and momentum buffer instead of
    one per op (and, with weight decay, no decayed-gradient tensor per parameter): the same update
    within float rounding (most steps bit-identical; tests/test_trainer.py); the optimizer step
    1.2-2x faster on CPU, an MLP step 1.03x without weight decay and 1.09x with it
    (docs/performance.md). A resumed run keeps the step its checkpoint was made with."""
    fused = bool(o.get("fused", False)) and device.type in FUSED_SGD_DEVICES
    return torch.optim.SGD(
        params, lr=o.lr, momentum=o.momentum, nesterov=o.nesterov, weight_decay=o.weight_decay, fused=fused or None
    )


def build(cfg, data, device: torch.device) -> Parts:
    """Seeds torch with cfg.seed and builds the model: the same seed gives the same init."""
    t, o = cfg.trainer, cfg.optimizer
    transform = BatchTransform(
        cfg.data.preprocess, cfg.data.augment.crop, cfg.data.augment.flip, data.channel_mean, data.channel_std
    )
    torch.manual_seed(cfg.seed)
    model = models.build(cfg.model, input_shape(cfg.data.preprocess)).to(device)
    # channels_last for the CNNs, on CUDA and on CPU too (scripts/bench_cpu_cnn.py: 1.14x AlexNet, 1.25x Inception)
    channels_last = t.channels_last and models.has_conv(model)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    optimizer = sgd(model.parameters(), o, device)
    world = distributed.world_size()
    forward = model
    if world > 1:
        from torch.nn.parallel import DistributedDataParallel

        forward = DistributedDataParallel(model)
    forward = torch.compile(forward) if t.compile else forward
    packed = transform.packed(data.train_x)
    p = Parts(device, model, forward, optimizer, transform, packed, channels_last, t.amp, world)
    if p.cpu_loop():  # the compiled loop loads now, not in step 1 (no draw from the run's generator)
        transform.train_batch(packed, torch.zeros(1, dtype=torch.long), torch.zeros(3, 1, dtype=torch.uint8))
    return p
