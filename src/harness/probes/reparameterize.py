"""Dinh et al. 2017's reparameterizations of a ReLU network (docs/claims.md, C3).

ReLU is positively homogeneous, so multiplying layer i's weights by a_i > 0 (and its bias by
a_1 ... a_i, the scale its pre-activation now carries) leaves the function unchanged whenever
a_1 ... a_L = 1. In the new coordinates the Hessian is D H D with D = diag(1 / scale of each
parameter), so its top eigenvalue and trace can be made as large as one likes.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

_LAYERS = (nn.Linear, nn.Conv2d)


def layers(model: nn.Module) -> list[nn.Module]:
    return [m for m in model.modules() if isinstance(m, _LAYERS)]


def check_reparameterizable(model: nn.Module) -> None:
    """Only ReLU networks of linear/conv layers without normalisation are covered by the argument."""
    for m in model.modules():
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d, nn.LocalResponseNorm)):
            raise ValueError(f"alpha-scale reparameterization needs a network without normalisation; found {m}")


def two_layer_scales(model: nn.Module, alpha: float) -> list[float]:
    """T_alpha: first layer x alpha, second layer / alpha, the rest unchanged."""
    n = len(layers(model))
    if n < 2:
        raise ValueError("T_alpha needs at least two layers")
    return [alpha, 1 / alpha] + [1.0] * (n - 2)


def multi_layer_scales(model: nn.Module, alpha: float) -> list[float]:
    """Every layer but the last x alpha, the last / alpha^(L-1): product of scales 1."""
    n = len(layers(model))
    return [alpha] * (n - 1) + [alpha ** -(n - 1)]


@torch.no_grad()
def rescale(model: nn.Module, scales: list[float]) -> nn.Module:
    """A copy of `model` with layer i's weight x scales[i] and bias x prod(scales[:i+1])."""
    check_reparameterizable(model)
    out = copy.deepcopy(model)
    targets = layers(out)
    if len(scales) != len(targets):
        raise ValueError(f"{len(scales)} scales for {len(targets)} layers")
    cumulative = 1.0
    for layer, a in zip(targets, scales):
        cumulative *= a
        layer.weight.mul_(a)
        if layer.bias is not None:
            layer.bias.mul_(cumulative)
    return out


def parameter_scales(model: nn.Module, scales: list[float]) -> torch.Tensor:
    """The per-parameter factor of `rescale`, flat, in model.parameters() order (for D = 1 / it)."""
    factor, cumulative = {}, 1.0
    for layer, a in zip(layers(model), scales):
        cumulative *= a
        factor[id(layer.weight)] = a
        if layer.bias is not None:
            factor[id(layer.bias)] = cumulative
    return torch.cat([torch.full((p.numel(),), factor.get(id(p), 1.0), dtype=p.dtype) for p in model.parameters()])
