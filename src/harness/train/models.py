"""The models of Zhang et al. 2017, Table 1 (parameter counts as in docs/claims.md, C1), a CIFAR
ResNet-18 and WRN-16-4. `build(cfg, input_shape)` is the only entry point the trainer uses."""

from __future__ import annotations

import math

import torch
from torch import nn

from ..names import NUM_CLASSES

ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}


def deep_mlp(in_features: int, width: int, depth: int, activation: str, batch_norm: bool) -> nn.Sequential:
    """`depth` hidden layers of `width` units (Linear [-> BatchNorm] -> activation): the gradient-flow
    experiment's network, where gradients vanish or explode without the standard remedies."""
    layers, w = [nn.Flatten()], in_features
    for _ in range(depth):
        layers += [nn.Linear(w, width), *([nn.BatchNorm1d(width)] if batch_norm else []), ACTIVATIONS[activation]()]
        w = width
    model = nn.Sequential(*layers, nn.Linear(w, NUM_CLASSES))
    model.activation = activation  # for init=scaled
    return model


def mlp(in_features: int, hidden: int, depth: int) -> nn.Sequential:
    layers, width = [nn.Flatten()], in_features
    for _ in range(depth):
        layers += [nn.Linear(width, hidden), nn.ReLU(inplace=True)]
        width = hidden
    return nn.Sequential(*layers, nn.Linear(width, NUM_CLASSES))


class ConvModule(nn.Sequential):
    """conv (with bias) -> BatchNorm without affine parameters (optional) -> ReLU."""

    def __init__(self, cin, cout, kernel, stride=1, batch_norm=True):
        layers = [nn.Conv2d(cin, cout, kernel, stride, padding=kernel // 2)]
        if batch_norm:
            layers.append(nn.BatchNorm2d(cout, affine=False))
        super().__init__(*layers, nn.ReLU(inplace=True))


class Inception(nn.Module):
    """Inc(a, b): concat of a 1x1 conv module with a channels and a 3x3 one with b channels."""

    def __init__(self, cin, a, b, batch_norm):
        super().__init__()
        self.branch1 = ConvModule(cin, a, 1, batch_norm=batch_norm)
        self.branch3 = ConvModule(cin, b, 3, batch_norm=batch_norm)

    def forward(self, x):
        return torch.cat([self.branch1(x), self.branch3(x)], 1)


class Downsample(nn.Module):
    """Down(c): concat of a 3x3 stride-2 conv module with c channels and a 3x3 stride-2 max-pool."""

    def __init__(self, cin, c, batch_norm):
        super().__init__()
        self.conv = ConvModule(cin, c, 3, stride=2, batch_norm=batch_norm)
        self.pool = nn.MaxPool2d(3, stride=2, padding=1)

    def forward(self, x):
        return torch.cat([self.conv(x), self.pool(x)], 1)


def small_inception(batch_norm: bool = True) -> nn.Sequential:
    bn = batch_norm
    return nn.Sequential(
        ConvModule(3, 96, 3, batch_norm=bn),
        Inception(96, 32, 32, bn),
        Inception(64, 32, 48, bn),
        Downsample(80, 80, bn),
        Inception(160, 112, 48, bn),
        Inception(160, 96, 64, bn),
        Inception(160, 80, 80, bn),
        Inception(160, 48, 96, bn),
        Downsample(144, 96, bn),
        Inception(240, 176, 160, bn),
        Inception(336, 176, 160, bn),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(336, NUM_CLASSES),
    )


def small_alexnet(input_size: int = 28) -> nn.Sequential:
    """Two [conv 5x5 -> max-pool 3x3/2 'same' -> local response norm] blocks, FC 384, FC 192, linear."""

    def block(cin):
        # TF's lrn(depth_radius=4, alpha=0.001/9): PyTorch divides alpha by size, hence 0.001.
        return [
            nn.Conv2d(cin, 64, 5, padding=2),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(3, stride=2, padding=1),
            nn.LocalResponseNorm(9, alpha=0.001, beta=0.75, k=1.0),
        ]

    side = math.ceil(math.ceil(input_size / 2) / 2)
    return nn.Sequential(
        *block(3),
        *block(64),
        nn.Flatten(),
        nn.Linear(64 * side * side, 384),
        nn.ReLU(inplace=True),
        nn.Linear(384, 192),
        nn.ReLU(inplace=True),
        nn.Linear(192, NUM_CLASSES),
    )


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(cin, cout, 3, stride, 1, bias=False),
            nn.BatchNorm2d(cout),
            nn.ReLU(inplace=True),
            nn.Conv2d(cout, cout, 3, 1, 1, bias=False),
            nn.BatchNorm2d(cout),
        )
        self.shortcut = nn.Sequential()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        return torch.relu(self.body(x) + self.shortcut(x))


def resnet18() -> nn.Sequential:
    """ResNet-18 for 32x32 inputs: 3x3 stem, no max-pool, stages of 64-128-256-512 channels."""
    layers, cin = [nn.Conv2d(3, 64, 3, 1, 1, bias=False), nn.BatchNorm2d(64), nn.ReLU(inplace=True)], 64
    for cout, stride in [(64, 1), (128, 2), (256, 2), (512, 2)]:
        layers += [BasicBlock(cin, cout, stride), BasicBlock(cout, cout, 1)]
        cin = cout
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(512, NUM_CLASSES))


class WideBasic(nn.Module):
    """Pre-activation wide residual block (BN-ReLU-conv, twice)."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.bn1, self.conv1 = nn.BatchNorm2d(cin), nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn2, self.conv2 = nn.BatchNorm2d(cout), nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.shortcut = None if stride == 1 and cin == cout else nn.Conv2d(cin, cout, 1, stride, bias=False)

    def forward(self, x):
        o = torch.relu(self.bn1(x))
        y = self.conv2(torch.relu(self.bn2(self.conv1(o))))
        return y + (x if self.shortcut is None else self.shortcut(o))


def wide_resnet(depth: int = 16, widen: int = 4) -> nn.Sequential:
    """WRN-depth-widen (Zagoruyko & Komodakis), as in Smith et al. 2018's CIFAR-10 runs (WRN-16-4)."""
    blocks = (depth - 4) // 6
    layers, cin = [nn.Conv2d(3, 16, 3, 1, 1, bias=False)], 16
    for cout, stride in [(16 * widen, 1), (32 * widen, 2), (64 * widen, 2)]:
        for i in range(blocks):
            layers.append(WideBasic(cin, cout, stride if i == 0 else 1))
            cin = cout
    return nn.Sequential(
        *layers,
        nn.BatchNorm2d(cin),
        nn.ReLU(inplace=True),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(cin, NUM_CLASSES),
    )


INITS = {
    "kaiming_normal": lambda w: nn.init.kaiming_normal_(w, nonlinearity="relu"),
    "kaiming_uniform": lambda w: nn.init.kaiming_uniform_(w, nonlinearity="relu"),
    "xavier_normal": nn.init.xavier_normal_,
    "xavier_uniform": nn.init.xavier_uniform_,
    "orthogonal": nn.init.orthogonal_,
}


@torch.no_grad()
def initialize(model: nn.Module, scheme: str, gain: float) -> None:
    """Re-initialize conv/linear weights (biases to zero) unless scheme is `default`; then scale
    every weight by `gain` (init gain spreads curvature at initialization, docs/claims.md, C5). `scaled`:
    normal with std = gain(activation) / sqrt(fan_in), the standard remedy for vanishing and exploding
    signals (He et al. for ReLU, LeCun / Glorot-like for tanh and sigmoid)."""
    act_gain = nn.init.calculate_gain(getattr(model, "activation", "relu"))
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            if scheme == "scaled":
                fan_in = m.weight[0].numel()
                nn.init.normal_(m.weight, 0.0, act_gain / math.sqrt(fan_in))
            elif scheme != "default":
                INITS[scheme](m.weight)
            if scheme != "default" and m.bias is not None:
                m.bias.zero_()
            m.weight.mul_(gain)


# model.name -> builder(cfg, (C, H, W)); the names are names.MODELS (tests/test_names.py holds them equal)
BUILDERS = {
    "mlp_1x512": lambda cfg, chw: mlp(math.prod(chw), 512, 1),
    "mlp_3x512": lambda cfg, chw: mlp(math.prod(chw), 512, 3),
    "inception_small": lambda cfg, chw: small_inception(batch_norm=True),
    "inception_no_bn": lambda cfg, chw: small_inception(batch_norm=False),
    "alexnet_small": lambda cfg, chw: small_alexnet(chw[1]),
    "resnet18": lambda cfg, chw: resnet18(),
    "wrn16_4": lambda cfg, chw: wide_resnet(16, 4),
    "mlp_deep": lambda cfg, chw: deep_mlp(math.prod(chw), cfg.width, cfg.depth, cfg.activation, cfg.batch_norm),
}


def build(cfg, input_shape: tuple[int, int, int]) -> nn.Module:
    """cfg: the `model` config group. input_shape: (C, H, W) after preprocessing."""
    if cfg.name not in BUILDERS:
        raise ValueError(f"unknown model.name={cfg.name!r}")
    model = BUILDERS[cfg.name](cfg, input_shape)
    initialize(model, cfg.init, cfg.init_gain)
    return model


def has_conv(model: nn.Module) -> bool:
    """A CNN (channels_last pays off for it; an MLP would only copy its input)."""
    return any(isinstance(m, nn.Conv2d) for m in model.modules())


def num_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
