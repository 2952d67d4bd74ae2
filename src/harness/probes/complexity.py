"""Complexity-based generalization bounds of a trained fully-connected ReLU network (C9).

Each bound is computed from the network's weights and its training set, in its most favourable
form: the constants as the papers state them and the multiclass factors dropped (the bounds are
stated for binary classification; multiclass versions are larger). So a bound found vacuous (> 1
on the 0-1 error scale) is vacuous for the real reason, not for a loose constant of ours.

Biases are folded into the weight matrices: layer i's input is augmented by a constant 1, carried
through the ReLUs by an extra unit, so A_i = [[W_i, b_i], [0, 1]] (the last layer: [W_L, b_L]) and
the bounds' input norm is that of [x, 1]. All bounds hold with probability 1 - delta.

- VC: Bartlett, Harvey, Liaw & Mehrabian (JMLR 2019), Theorem 7: VCdim = O(W L log W) for a
  piecewise-linear network with W parameters and L layers; taken with constant 1, d = W L log2 W,
  in Vapnik's bound err <= train err + sqrt(8 (d ln(2em/d) + ln(4/delta)) / m) (vacuous when d >= m).
- Neyshabur, Tomioka & Srebro (COLT 2015), Theorem 1 with p = q = 2 (as restated by Golowich et
  al. 2018, eq. 1): Rademacher complexity <= B 2^L prod_i ||A_i||_F / sqrt(m).
- Golowich, Rakhlin & Shamir (COLT 2018), Theorem 1: <= B (sqrt(2 ln(2) L) + 1) prod_i ||A_i||_F / sqrt(m).
  Both in the margin bound err <= R_gamma + 2 Rad / gamma + 3 sqrt(ln(2/delta) / (2m))
  (Mohri, Rostamizadeh & Talwalkar, Theorem 5.8).
- Bartlett, Foster & Telgarsky (NeurIPS 2017), Theorem 1.1: err <= R_gamma + 8/m
  + 72 ||X||_F ln(2 Wmax) ln(m) R_A / (gamma m) + 3 sqrt(ln(1/delta) / (2m)), with the spectral
  complexity R_A = prod_i ||A_i||_sigma (sum_i (||A_i^T||_{2,1} / ||A_i||_sigma)^(2/3))^(3/2)
  (reference matrices 0, ReLU 1-Lipschitz).

gamma: the 10th percentile of the training margins f(x)_y - max_{j != y} f(x)_j (so R_gamma, the
fraction of training points with margin <= gamma, is about 0.1), as in Jiang et al. (ICLR 2020).
"""

from __future__ import annotations

import math

import torch
from torch import nn

MARGIN_QUANTILE = 0.1
DELTA = 0.05


def layer_matrices(model: nn.Module) -> list[torch.Tensor]:
    """The network's weight matrices with the biases folded in (see the module's docstring), in the
    order the input passes them. Only Flatten, Linear and ReLU layers: the bounds are for those."""
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    other = {type(m).__name__ for m in model.modules() if len(list(m.children())) == 0} - {"Flatten", "Linear", "ReLU"}
    if other or not linears:
        raise ValueError(f"complexity bounds need a fully-connected ReLU network; this one has {sorted(other)}")
    mats = []
    for i, lin in enumerate(linears):
        w = lin.weight.detach().double()
        b = lin.bias.detach().double() if lin.bias is not None else torch.zeros(w.shape[0], dtype=torch.float64)
        a = torch.cat([w, b[:, None]], 1)
        if i < len(linears) - 1:  # carry the constant 1 to the next layer
            one = torch.zeros(1, a.shape[1], dtype=torch.float64)
            one[0, -1] = 1.0
            a = torch.cat([a, one], 0)
        mats.append(a)
    return mats


def margins(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """f(x)_y - max_{j != y} f(x)_j per example."""
    true = logits.gather(1, y[:, None]).squeeze(1)
    other = logits.scatter(1, y[:, None], float("-inf")).max(1).values
    return true - other


def vc_bound(params: int, layers: int, m: int, train_err: float, delta: float = DELTA) -> tuple[float, float]:
    """(d, Vapnik's bound with d = W L log2 W); the bound is inf (vacuous) when d >= m."""
    d = params * layers * math.log2(params)
    if d >= m:
        return d, math.inf
    return d, train_err + math.sqrt(8 * (d * math.log(2 * math.e * m / d) + math.log(4 / delta)) / m)


def spectral_complexity(mats) -> float:
    """Bartlett et al.'s R_A, reference matrices 0: prod ||A||_s (sum (||A^T||_{2,1} / ||A||_s)^(2/3))^(3/2)."""
    sigma = [float(torch.linalg.matrix_norm(a, ord=2)) for a in mats]
    row_norms = [float(a.norm(dim=1).sum()) for a in mats]  # ||A^T||_{2,1}: the sum of A's row norms
    return math.prod(sigma) * sum((r / s) ** (2 / 3) for r, s in zip(row_norms, sigma)) ** 1.5


def bounds(model: nn.Module, x: torch.Tensor, y: torch.Tensor, delta: float = DELTA) -> dict:
    """Every bound and the quantities it is made of, for the network on its training set (x as the
    model's input, y its labels)."""
    mats = layer_matrices(model)
    model.eval()
    with torch.no_grad():
        logits = torch.cat([model(x[i : i + 1000]) for i in range(0, len(x), 1000)]).double()
    m, layers = len(y), len(mats)
    params = sum(p.numel() for p in model.parameters())
    train_err = float((logits.argmax(1) != y).double().mean())
    marg = margins(logits, y)
    gamma = float(torch.quantile(marg, MARGIN_QUANTILE))
    margin_err = float((marg <= gamma).double().mean())
    norms = (x.flatten(1).double().pow(2).sum(1) + 1).sqrt()  # ||[x, 1]||
    b_max, x_frob = float(norms.max()), float(norms.pow(2).sum().sqrt())
    frob = math.prod(float(a.norm()) for a in mats)
    widths = [mats[0].shape[1]] + [a.shape[0] for a in mats]
    d, vc = vc_bound(params, layers, m, train_err, delta)
    rad_nts = b_max * 2**layers * frob / math.sqrt(m)
    rad_grs = b_max * (math.sqrt(2 * math.log(2) * layers) + 1) * frob / math.sqrt(m)
    r_a = spectral_complexity(mats)
    conf = 3 * math.sqrt(math.log(2 / delta) / (2 * m))

    def margin_bound(rad):
        return margin_err + 2 * rad / gamma + conf if gamma > 0 else math.inf

    bft = (
        margin_err + 8 / m + 72 * x_frob * math.log(2 * max(widths)) * math.log(m) * r_a / (gamma * m)
        + 3 * math.sqrt(math.log(1 / delta) / (2 * m))
        if gamma > 0
        else math.inf
    )  # fmt: skip
    return {
        "params": params,
        "layers": layers,
        "m": m,
        "train_err": train_err,
        "gamma": gamma,
        "margin_err": margin_err,
        "input_norm_max": b_max,
        "frobenius_product": frob,
        "spectral_complexity": r_a,
        "vc_dim": d,
        "vc_bound": vc,
        "nts_bound": margin_bound(rad_nts),
        "grs_bound": margin_bound(rad_grs),
        "bft_bound": bft,
    }
