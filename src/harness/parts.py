"""What a run trains with, built once from the config: the model (and the forward it is called
through: DDP-wrapped, compiled), the optimizer, and the input pipeline from uint8 images to model
inputs. The training loop (harness/trainer.py) and the evaluations only call these."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from . import distributed, models
from .transforms import BatchTransform, input_shape


@dataclass
class Parts:
    device: torch.device
    model: torch.nn.Module
    forward: torch.nn.Module  # the model as the loop calls it: DDP-wrapped and/or compiled
    optimizer: torch.optim.Optimizer
    transform: BatchTransform
    packed: torch.Tensor | None  # the training set packed once, so a cropped batch is one gather
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

    def train_input(self, train_x, idx, gen):
        """The training batch `idx`, augmented: from the packed copy when there is one (bit-identical)."""
        if self.packed is None:
            return self.to_input(train_x[idx], True, gen)
        return self.as_model_input(self.transform.train_batch(self.packed, idx, gen))


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
    optimizer = torch.optim.SGD(
        model.parameters(), lr=o.lr, momentum=o.momentum, nesterov=o.nesterov, weight_decay=o.weight_decay
    )
    world = distributed.world_size()
    forward = model
    if world > 1:
        from torch.nn.parallel import DistributedDataParallel

        forward = DistributedDataParallel(model)
    forward = torch.compile(forward) if t.compile else forward
    packed = transform.packed(data.train_x)
    if packed is not None and device.type == "cpu":  # the compiled loop loads now, not in step 1
        transform.train_batch(packed, torch.zeros(1, dtype=torch.long), torch.Generator())  # own generator
    return Parts(device, model, forward, optimizer, transform, packed, channels_last, t.amp, world)
