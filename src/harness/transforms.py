"""Preprocessing and augmentation of whole uint8 batches on the device (no per-sample Python).

Two pipelines (CLAIMS.md C1):
- `zhang`: pixels / 255, a 28x28 crop (center for eval, random when augment.crop), per-image
  whitening (x - mean) / max(std, 1/sqrt(numel)) as in TensorFlow's per_image_standardization.
- `standard`: 32x32, per-channel normalisation with the training set's mean and std; augment.crop
  is a random translate by up to 4 pixels (zero padding), augment.flip a horizontal flip.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

ZHANG_CROP = 28
TRANSLATE_PAD = 4


def input_shape(preprocess: str) -> tuple[int, int, int]:
    return (3, ZHANG_CROP, ZHANG_CROP) if preprocess == "zhang" else (3, 32, 32)


def crop(x: torch.Tensor, size: int, top: torch.Tensor, left: torch.Tensor) -> torch.Tensor:
    """Per-sample crops of x (B, C, H, W) at offsets top/left (B,), by one gather."""
    ar = torch.arange(size, device=x.device)
    rows = (top[:, None] + ar)[:, :, None]  # (B, S, 1)
    cols = (left[:, None] + ar)[:, None, :]  # (B, 1, S)
    batch = torch.arange(x.shape[0], device=x.device)[:, None, None]
    return x[batch, :, rows, cols].permute(0, 3, 1, 2)  # advanced indices first: (B, S, S, C)


def random_crop(x: torch.Tensor, size: int, pad: int, generator: torch.Generator | None) -> torch.Tensor:
    if pad:
        x = F.pad(x, (pad, pad, pad, pad))
    span = x.shape[-1] - size + 1
    offsets = torch.randint(0, span, (2, x.shape[0]), device=x.device, generator=generator)
    return crop(x, size, offsets[0], offsets[1])


def random_flip(x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    flip = torch.rand(x.shape[0], device=x.device, generator=generator) < 0.5
    return torch.where(flip[:, None, None, None], x.flip(3), x)


def per_image_whitening(x: torch.Tensor) -> torch.Tensor:
    numel = x[0].numel()
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    std = x.std(dim=(1, 2, 3), keepdim=True, correction=0)
    return (x - mean) / std.clamp_min(numel**-0.5)


class BatchTransform:
    """uint8 (B, 3, 32, 32) on the device -> float model input, with or without augmentation."""

    def __init__(self, preprocess: str, crop: bool, flip: bool, channel_mean, channel_std):
        self.preprocess, self.crop, self.flip = preprocess, crop, flip
        self.mean = torch.as_tensor(channel_mean, dtype=torch.float32).view(1, 3, 1, 1)
        self.std = torch.as_tensor(channel_std, dtype=torch.float32).view(1, 3, 1, 1)

    def __call__(self, x: torch.Tensor, train: bool, generator: torch.Generator | None = None):
        return self.normalize(self.pixels(x, train, generator))

    def pixels(self, x: torch.Tensor, train: bool = False, generator: torch.Generator | None = None):
        """uint8 -> float pixels in [0, 1], cropped/flipped: the space adversarial eps lives in."""
        augment = train
        if self.preprocess == "zhang":
            if augment and self.crop:
                x = random_crop(x, ZHANG_CROP, 0, generator)
            else:
                o = (x.shape[-1] - ZHANG_CROP) // 2
                x = x[:, :, o : o + ZHANG_CROP, o : o + ZHANG_CROP]
        elif augment and self.crop:
            x = random_crop(x, x.shape[-1], TRANSLATE_PAD, generator)
        if augment and self.flip:
            x = random_flip(x, generator)
        return x.float().div_(255)

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        """[0, 1] pixels -> model input (differentiable: attacks go through it)."""
        if self.preprocess == "zhang":
            return per_image_whitening(x)
        mean, std = self.mean.to(x.device), self.std.to(x.device)
        return (x - mean) / std
