"""Curvature of the empirical risk: one Hessian-vector product, several estimators (docs/claims.md, C3, C5).

    risk = EmpiricalRisk(model, batches, bn_mode="eval")   # batches: [(x, y), ...] already on device
    top_eigenvalues(risk, k=1)        # Lanczos (scipy's ARPACK eigsh, matvec = HVP)
    hutchinson_trace(risk, 64)        # trace with its standard error
    hutchpp_trace(risk, 60)           # Hutch++: same budget, smaller error on low-rank-dominated H
    gauss_newton_trace(risk)          # exact per example; = tr(H) for ReLU / max-pool networks
    slq_density(risk, ...)            # eigenvalue density by stochastic Lanczos quadrature
    eps_sharpness(risk, 1e-3)         # Keskar et al. 2017's sharpness, the baseline measure

The HVP is forward-over-reverse with torch.func (jvp of grad), accumulated exactly over the
batches: H v = sum_b (n_b / n) H_b v. Nothing is left on the model (no .grad, no graph kept), and
the parameters are only read. Vectors are flat (float64 numpy for scipy, float32 torch inside).

BatchNorm is the caller's explicit choice (`bn_mode`): "eval" uses the running statistics (the
network as it predicts); "train" uses each batch's own statistics (the loss SGD sees), and then
the risk is the mean over the given batches, each normalised with its own statistics. In both
modes running statistics are never updated and the module's train/eval flags are restored.
"""

from __future__ import annotations

import contextlib
import math
import time
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call, grad, jvp, vjp

BN_MODES = ("eval", "train")
HVP_MODES = ("forward_over_reverse", "reverse_over_reverse")
_BN = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)


@contextlib.contextmanager
def bn_mode(model: nn.Module, mode: str):
    """Every module in eval mode except BatchNorm in `mode`; batch statistics never written to the
    running buffers (track_running_stats off for the duration); everything restored on exit."""
    if mode not in BN_MODES:
        raise ValueError(f"bn_mode={mode!r}; allowed: {' | '.join(BN_MODES)}")
    saved = [(m, m.training, getattr(m, "track_running_stats", None)) for m in model.modules()]
    try:
        for m in model.modules():
            is_bn = isinstance(m, _BN)
            m.training = is_bn and mode == "train"
            if is_bn and mode == "train":
                m.track_running_stats = False  # batch stats used, running stats left alone
        yield model
    finally:
        for m, training, track in saved:
            m.training = training
            if track is not None:
                m.track_running_stats = track


class HessianOperator:
    """What every estimator needs: dim, device, dtype, hvp(v) (counted in `hvps`), operator()."""

    hvps: int = 0

    def matvec(self, v: np.ndarray) -> np.ndarray:
        """numpy float64 in and out: the matvec of scipy's LinearOperator."""
        v = torch.from_numpy(np.ascontiguousarray(v).reshape(-1))
        return self.hvp(v).double().cpu().numpy()

    def operator(self):
        from scipy.sparse.linalg import LinearOperator

        return LinearOperator((self.dim, self.dim), matvec=self.matvec, dtype=np.float64)


class MatrixOperator(HessianOperator):
    """A known symmetric matrix behind the same interface: for tests and benchmarks."""

    def __init__(self, matrix: torch.Tensor):
        self.matrix, self.dim, self.device, self.dtype, self.hvps = (
            matrix,
            matrix.shape[0],
            matrix.device,
            matrix.dtype,
            0,
        )

    def hvp(self, v: torch.Tensor) -> torch.Tensor:
        self.hvps += 1
        return self.matrix @ v.to(self.device, self.dtype)


@dataclass
class EmpiricalRisk(HessianOperator):
    """Mean cross-entropy of `model` over `batches` (list of (inputs, labels) on the model's device)."""

    model: nn.Module
    batches: list
    bn_mode: str = "eval"
    # forward_over_reverse: jvp of grad (less memory); reverse_over_reverse: vjp of grad (on CPU
    # measured 1.8-2.0 gradients per HVP against 2.4-2.8, scripts/bench_curvature.py)
    hvp_mode: str = "forward_over_reverse"
    hvps: int = 0  # HVPs computed so far: the cost unit every estimator reports
    names: list = field(init=False)
    shapes: list = field(init=False)

    def __post_init__(self):
        if self.bn_mode not in BN_MODES:
            raise ValueError(f"bn_mode={self.bn_mode!r}; allowed: {' | '.join(BN_MODES)}")
        if self.hvp_mode not in HVP_MODES:
            raise ValueError(f"hvp_mode={self.hvp_mode!r}; allowed: {' | '.join(HVP_MODES)}")
        named = [(n, p) for n, p in self.model.named_parameters() if p.requires_grad]
        self.names = [n for n, _ in named]
        self.shapes = [p.shape for _, p in named]
        self.n = sum(len(y) for _, y in self.batches)

    @property
    def dim(self) -> int:
        return sum(math.prod(s) for s in self.shapes)

    @property
    def device(self):
        return next(self.model.parameters()).device

    @property
    def dtype(self):
        return next(self.model.parameters()).dtype

    def params(self) -> dict:
        named = dict(self.model.named_parameters())
        return {n: named[n].detach() for n in self.names}

    def flat_params(self) -> torch.Tensor:
        return torch.cat([p.reshape(-1) for p in self.params().values()])

    def unflatten(self, v: torch.Tensor) -> dict:
        out, i = {}, 0
        for n, s in zip(self.names, self.shapes):
            k = math.prod(s)
            out[n] = v[i : i + k].view(s)
            i += k
        return out

    def _batch_loss(self, params: dict, x, y):
        return F.cross_entropy(functional_call(self.model, params, (x,)), y)

    def loss(self, params: dict | None = None) -> float:
        params = self.params() if params is None else params
        with torch.no_grad(), bn_mode(self.model, self.bn_mode):
            return sum(self._batch_loss(params, x, y).item() * len(y) for x, y in self.batches) / self.n

    def loss_and_grad(self, flat: torch.Tensor | None = None) -> tuple[float, torch.Tensor]:
        """Risk and its gradient at the flat parameters `flat` (default: the model's own)."""
        params = self.params() if flat is None else self.unflatten(flat)
        value_and_grad = torch.func.grad_and_value(self._batch_loss)
        total, g = 0.0, None
        with bn_mode(self.model, self.bn_mode):
            for x, y in self.batches:
                gb, lb = value_and_grad(params, x, y)
                w = len(y) / self.n
                gb = torch.cat([t.reshape(-1) for t in gb.values()]) * w
                g = gb if g is None else g + gb
                total += lb.item() * w
        return total, g

    def hvp(self, v: torch.Tensor) -> torch.Tensor:
        """H v for a flat vector v (moved to the parameters' device and dtype)."""
        params, tangent = self.params(), self.unflatten(v.to(self.device, self.dtype))
        out = None
        with bn_mode(self.model, self.bn_mode):
            for x, y in self.batches:
                grad_fn = grad(lambda p, x=x, y=y: self._batch_loss(p, x, y))
                if self.hvp_mode == "forward_over_reverse":
                    _, hv = jvp(grad_fn, (params,), (tangent,))
                else:
                    _, pullback = vjp(grad_fn, params)
                    (hv,) = pullback(tangent)
                hv = torch.cat([t.reshape(-1) for t in hv.values()]) * (len(y) / self.n)
                out = hv if out is None else out + hv
        self.hvps += 1
        return out.detach()


def make_batches(x: torch.Tensor, y: torch.Tensor, chunk_size: int) -> list:
    """Split an already-transformed sample into chunks (memory bound only; the risk is exact)."""
    return [(x[i : i + chunk_size], y[i : i + chunk_size]) for i in range(0, len(y), chunk_size)]


def exact_hessian(risk: EmpiricalRisk) -> torch.Tensor:
    """The full d x d Hessian, for tiny networks and tests: torch.func.hessian, except with
    BatchNorm on batch statistics, where torch 2.14's vmapped second derivatives of batch_norm are
    wrong (2.6% off finite differences on a tiny CNN; tests/test_curvature.py checks this reference
    against finite differences) and the un-vmapped torch.autograd.functional.hessian is used."""
    flat0 = risk.flat_params()

    def f(flat):
        params = risk.unflatten(flat)
        return sum(risk._batch_loss(params, x, y) * (len(y) / risk.n) for x, y in risk.batches)

    batch_stats = risk.bn_mode == "train" and any(isinstance(m, _BN) for m in risk.model.modules())
    with bn_mode(risk.model, risk.bn_mode):
        if batch_stats:
            return torch.autograd.functional.hessian(f, flat0).detach()
        return torch.func.hessian(f)(flat0).detach()


def _start_vector(dim: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(dim)


def top_eigenvalues(
    risk: EmpiricalRisk,
    k: int = 1,
    which: str = "LA",
    tol: float = 1e-3,
    seed: int = 0,
    maxiter: int | None = None,
    ncv: int = 10,
    solver: str = "arpack",
) -> dict:
    """The k largest (which="LA") or most negative ("SA") Hessian eigenvalues by implicitly
    restarted Lanczos (ARPACK via scipy.sparse.linalg.eigsh), with relative tolerance `tol`.
    `ncv` is the Lanczos basis size: ARPACK's first pass alone costs ncv + 1 HVPs.
    solver="lanczos": lanczos_top below, same test, stops at the first step that passes it
    (scripts/bench_curvature.py measures both).
    Returns {"eigenvalues" (descending for LA, ascending for SA), "eigenvectors", "hvps", "seconds"}."""
    from scipy.sparse.linalg import eigsh

    if solver == "lanczos":
        return lanczos_top(risk, k, which, tol, seed)
    if solver != "arpack":
        raise ValueError(f"solver={solver!r}; allowed: arpack | lanczos")
    start, t0 = risk.hvps, time.perf_counter()
    vals, vecs = eigsh(
        risk.operator(),
        k=k,
        which=which,
        tol=tol,
        v0=_start_vector(risk.dim, seed),
        maxiter=maxiter,
        ncv=max(2 * k + 1, min(ncv, risk.dim - 1)),
    )
    order = np.argsort(-vals if which == "LA" else vals)
    return {
        "eigenvalues": vals[order].tolist(),
        "eigenvectors": vecs[:, order],
        "hvps": risk.hvps - start,
        "seconds": time.perf_counter() - t0,
    }


def _lanczos(risk: HessianOperator, v0: torch.Tensor, steps: int):
    """Lanczos from v0 with full reorthogonalisation (float32 HVPs lose orthogonality otherwise;
    twice is enough, Kahan). After each step yields (alphas, betas, beta, basis): the tridiagonal
    matrix so far (betas one shorter), the norm of the next residual, and the basis used."""
    basis, alphas, betas = [v0 / v0.norm()], [], []
    for j in range(min(steps, risk.dim)):
        w = risk.hvp(basis[-1])
        alphas.append(float(w @ basis[-1]))
        vs = torch.stack(basis, 1)
        w = w - vs @ (vs.T @ w)
        w = w - vs @ (vs.T @ w)
        beta = float(w.norm())
        yield alphas, betas, beta, basis
        if j == steps - 1 or beta < 1e-10:
            return
        betas.append(beta)
        basis.append(w / beta)


def lanczos_top(
    risk: EmpiricalRisk, k: int = 1, which: str = "LA", tol: float = 1e-3, seed: int = 0, max_steps: int = 100
) -> dict:
    """The same eigenvalues as top_eigenvalues, by plain Lanczos that checks ARPACK's convergence
    test (Ritz residual |beta_j s_ji| <= tol |theta_i|) after every step and stops at the first step
    where the k wanted Ritz values pass it: ARPACK must first fill its whole basis of ncv vectors,
    so for k = 1 this needs fewer HVPs (scripts/bench_curvature.py)."""
    from scipy.linalg import eigh_tridiagonal

    t0, start = time.perf_counter(), risk.hvps
    v0 = torch.from_numpy(_start_vector(risk.dim, seed)).to(risk.device, risk.dtype)
    for alphas, betas, beta, basis in _lanczos(risk, v0, max_steps):  # noqa: B007 (basis is used after)
        theta, s = eigh_tridiagonal(alphas, betas)
        order = np.argsort(-theta if which == "LA" else theta)[:k]
        if len(alphas) >= k and np.all(np.abs(beta * s[-1, order]) <= tol * np.abs(theta[order])):
            break
    vecs = torch.stack(basis[: len(alphas)], 1).double().cpu().numpy() @ s[:, order]
    return {
        "eigenvalues": theta[order].tolist(),
        "eigenvectors": vecs,
        "hvps": risk.hvps - start,
        "seconds": time.perf_counter() - t0,
    }


def power_iteration(risk: EmpiricalRisk, max_hvps: int = 1000, rtol: float = 1e-3, seed: int = 0) -> dict:
    """Plain power iteration on H (the baseline Lanczos is compared to). Converges to the
    eigenvalue of largest magnitude; stops when the Rayleigh quotient changes by < rtol.
    `history` holds the estimate after each HVP."""
    v = torch.from_numpy(_start_vector(risk.dim, seed)).to(risk.device, risk.dtype)
    v /= v.norm()
    history, start = [], risk.hvps
    for _ in range(max_hvps):
        hv = risk.hvp(v)
        history.append(float(v @ hv))
        v = hv / hv.norm()
        if len(history) > 1 and abs(history[-1] - history[-2]) <= rtol * abs(history[-1]):
            break
    return {"eigenvalue": history[-1], "history": history, "hvps": risk.hvps - start}


def _rademacher(n: int, dim: int, generator: torch.Generator, device, dtype) -> torch.Tensor:
    return (torch.randint(0, 2, (n, dim), generator=generator) * 2 - 1).to(device, dtype)


def hutchinson_trace(risk: EmpiricalRisk, samples: int = 64, seed: int = 0) -> dict:
    """tr(H) ~ mean of v^T H v over Rademacher v; `se` is the standard error of that mean."""
    g = torch.Generator().manual_seed(seed)
    start = risk.hvps
    quad = []
    for _ in range(samples):
        v = _rademacher(1, risk.dim, g, risk.device, risk.dtype)[0]
        quad.append(float(v @ risk.hvp(v)))
    q = np.array(quad)
    se = q.std(ddof=1) / math.sqrt(len(q)) if len(q) > 1 else float("nan")
    return {"trace": float(q.mean()), "se": float(se), "hvps": risk.hvps - start}


def hutchpp_trace(risk: EmpiricalRisk, hvps: int = 60, seed: int = 0) -> dict:
    """Hutch++ (Meyer, Musco, Musco, Persson 2021): the trace of H on a sketched top subspace
    exactly, Hutchinson on the rest. Uses `hvps` HVPs (a third each for sketch, projection,
    residual). `se` is the standard error of the residual Hutchinson part."""
    if hvps < 3:
        raise ValueError("hutchpp_trace needs at least 3 HVPs")
    g = torch.Generator().manual_seed(seed)
    s = hvps // 3
    m = hvps - 2 * s  # residual samples get the remainder
    sketch = torch.stack([risk.hvp(v) for v in _rademacher(s, risk.dim, g, risk.device, risk.dtype)], 1)
    q, _ = torch.linalg.qr(sketch.double())
    q = q.to(risk.dtype)
    start = risk.hvps - s
    hq = torch.stack([risk.hvp(q[:, i]) for i in range(q.shape[1])], 1)
    top = float((q * hq).sum())
    quad = []
    for v in _rademacher(m, risk.dim, g, risk.device, risk.dtype):
        r = v - q @ (q.T @ v)  # project out the sketched subspace
        quad.append(float(r @ risk.hvp(r)))
    q_arr = np.array(quad)
    se = q_arr.std(ddof=1) / math.sqrt(m) if m > 1 else float("nan")
    return {"trace": top + float(q_arr.mean()), "se": float(se), "hvps": risk.hvps - start + s}


# Modules whose output is not piecewise linear in their input: with them tr(G) != tr(H)
_CURVED = (
    *(nn.Tanh, nn.Sigmoid, nn.GELU, nn.SiLU, nn.ELU, nn.Softplus, nn.LogSigmoid, nn.Softmax, nn.LayerNorm),
    nn.LocalResponseNorm,  # small AlexNet's: it divides by a power of its neighbours' squares
)


def piecewise_linear(risk: EmpiricalRisk) -> bool:
    """Is the network, as the risk sees it, linear in each single parameter (almost everywhere)?
    ReLU, max-pool, linear and convolutional layers, BatchNorm on running statistics: yes."""
    batch_stats = risk.bn_mode == "train" and any(isinstance(m, _BN) for m in risk.model.modules())
    return not batch_stats and not any(isinstance(m, _CURVED) for m in risk.model.modules())


def _logit_hessian_root(f: torch.Tensor) -> torch.Tensor:
    """S with S S^T = diag(p) - p p^T (the cross-entropy's Hessian in the logits), p = softmax(f),
    per example: S = diag(sqrt p) - p sqrt(p)^T, column k = sqrt(p_k) (e_k - p). Shape (n, C, C)."""
    p = torch.softmax(f.detach().float(), -1)
    return torch.diag_embed(p.sqrt()) - p[:, :, None] * p.sqrt()[:, None, :]


def _gn_per_example_generic(risk: EmpiricalRisk, x: torch.Tensor, chunk: int) -> torch.Tensor:
    """Any network: torch.func per-example Jacobians (memory chunk x classes x parameters; slow)."""
    params = risk.params()

    def one(p, xi):
        def logits(q):
            return functional_call(risk.model, q, (xi.unsqueeze(0),))[0]

        s = _logit_hessian_root(logits(p)[None])[0]
        jac = torch.func.jacrev(lambda q: s.T.to(xi.dtype) @ logits(q))(p)
        return sum(j.float().pow(2).reshape(j.shape[0], -1).sum(1) for j in jac.values()).sum()

    return torch.cat([torch.vmap(one, in_dims=(None, 0))(params, x[i : i + chunk]) for i in range(0, len(x), chunk)])


def _outer_sum_sq_norm(d: torch.Tensor, a: torch.Tensor, budget: int = 1 << 24) -> torch.Tensor:
    """|sum_p d_p a_p^T|_F^2 per example, d (n, P, out), a (n, P, in): the squared norm of a layer's
    per-example weight gradient, without materialising more than `budget` floats at once."""
    n, positions, o = d.shape
    i = a.shape[2]
    if positions == 1:  # |d a^T|^2 = |d|^2 |a|^2
        return (d.pow(2).sum((1, 2)) * a.pow(2).sum((1, 2))).double()
    gram = positions * positions * 2 < o * i  # via (D D^T) . (A A^T) when that is smaller
    size = positions * positions if gram else o * i
    step = max(1, budget // size)
    out = []
    for k in range(0, n, step):
        dk, ak = d[k : k + step], a[k : k + step]
        if gram:
            out.append((dk @ dk.transpose(1, 2) * (ak @ ak.transpose(1, 2))).sum((1, 2)))
        else:
            out.append((dk.transpose(1, 2) @ ak).pow(2).sum((1, 2)))
    return torch.cat(out).double()


def _gn_per_example_layers(risk: EmpiricalRisk, x: torch.Tensor) -> torch.Tensor | None:
    """Networks whose parameters all sit in Linear / Conv2d layers, each called once: a per-example
    weight gradient is delta a^T (summed over positions for a convolution), so its norm needs only
    each layer's input a and output gradient delta, from one forward and one backward per class.
    None when the network is not of that kind."""
    layers = [m for m in risk.model.modules() if any(True for _ in m.parameters(recurse=False))]
    if not all(type(m) in (nn.Linear, nn.Conv2d) for m in layers):
        return None
    seen: dict = {}

    def keep(m, i, o):  # downstream gets a copy, so that an in-place ReLU cannot rewrite the output kept
        seen.setdefault(m, []).append((i[0].detach(), o))
        return o.clone()

    hooks = [m.register_forward_hook(keep) for m in layers]
    try:
        f = risk.model(x)
    finally:
        for h in hooks:
            h.remove()
    if any(len(seen.get(m, [])) != 1 for m in layers):  # shared or unused layer: the shortcut does not hold
        return None
    z = torch.einsum("nkc,nk->nc", _logit_hessian_root(f).to(f.dtype), f)  # z_c = S_c . f, per example
    outs = [seen[m][0][1] for m in layers]
    total = torch.zeros(len(x), dtype=torch.float64, device=x.device)
    for c in range(z.shape[1]):
        deltas = torch.autograd.grad(z[:, c].sum(), outs, retain_graph=c < z.shape[1] - 1)
        for m, d in zip(layers, deltas):
            a = seen[m][0][0]
            if isinstance(m, nn.Linear):
                a, d = a.reshape(len(x), -1, a.shape[-1]), d.reshape(len(x), -1, d.shape[-1])
            elif m.groups == 1:
                # (n, positions, in k k) and (n, positions, out)
                a = F.unfold(a, m.kernel_size, m.dilation, m.padding, m.stride).transpose(1, 2)
                d = d.reshape(len(x), d.shape[1], -1).transpose(1, 2)
            else:
                return None
            total += _outer_sum_sq_norm(d, a)
            if m.bias is not None:
                total += d.sum(1).pow(2).sum(1).double()
    return total


def gauss_newton_trace(risk: EmpiricalRisk, chunk: int = 8) -> dict:
    """tr(G), G the Gauss-Newton matrix of the cross-entropy risk, computed exactly example by example:
    tr(G) = mean_i sum_c |grad_theta S_c . f(x_i)|^2 with S S^T the loss's Hessian in the logits
    (held fixed). tr(H) - tr(G) = sum_c dL/df_c tr(d2 f_c / d theta2), and that trace is a sum of
    second derivatives in single parameters, which are 0 almost everywhere for a network linear in
    each parameter (ReLU, max-pool, BatchNorm on running statistics): there tr(G) is the Hessian's
    trace exactly, with no estimator noise (`se` 0; tests/test_curvature.py checks it against the
    exact Hessian). `se_examples` is the standard error over the sample's examples: how far the
    sample's trace may be from the whole training set's."""
    start = time.perf_counter()
    values = []
    with bn_mode(risk.model, risk.bn_mode):
        for x, _ in risk.batches:
            with torch.enable_grad():
                t = _gn_per_example_layers(risk, x)
            values.append((t if t is not None else _gn_per_example_generic(risk, x, chunk)).double().cpu())
    t = torch.cat(values).numpy()
    se = t.std(ddof=1) / math.sqrt(len(t)) if len(t) > 1 else float("nan")
    return {
        "trace": float(t.mean()),
        "se": 0.0,
        "se_examples": float(se),
        "exact_hessian_trace": piecewise_linear(risk),
        "seconds": time.perf_counter() - start,
    }


def slq_density(risk: EmpiricalRisk, steps: int = 30, vectors: int = 4, seed: int = 0) -> dict:
    """Stochastic Lanczos quadrature (Ubaru, Chen, Saad 2017; Ghorbani et al. 2019): for each of
    `vectors` Rademacher starts, Lanczos gives nodes (Ritz values) and weights (squared first
    components) of a quadrature for the spectral measure. Returns all nodes and weights (weights of
    each vector sum to 1/vectors) and `density(grid, sigma)` with Gaussian smoothing."""
    from scipy.linalg import eigh_tridiagonal

    g = torch.Generator().manual_seed(seed)
    nodes, weights = [], []
    for v in _rademacher(vectors, risk.dim, g, risk.device, risk.dtype):
        for alphas, betas, _, _ in _lanczos(risk, v, steps):  # noqa: B007 (the last ones are used) ARPACK's restarts would lose the moments
            pass
        theta, u = eigh_tridiagonal(alphas, betas)
        nodes.append(theta)
        weights.append(u[0] ** 2 / vectors)
    nodes, weights = np.concatenate(nodes), np.concatenate(weights)

    def density(grid, sigma):
        grid = np.asarray(grid, dtype=float)[:, None]
        k = np.exp(-((grid - nodes[None]) ** 2) / (2 * sigma**2)) / (sigma * math.sqrt(2 * math.pi))
        return (k * weights[None]).sum(1)

    return {
        "nodes": nodes,
        "weights": weights,
        "density": density,
        "trace_estimate": float(risk.dim * (nodes @ weights)),
    }


def eps_sharpness(risk: EmpiricalRisk, eps: float = 1e-3, maxiter: int = 10) -> dict:
    """Keskar et al. 2017, metric 2.1 in the full space: the largest relative rise of the risk in
    the box |y_i| <= eps (|x_i| + 1) around the parameters x, found (as in the paper) by
    L-BFGS-B, here scipy's, with `maxiter` iterations:  100 * (max f(x + y) - f(x)) / (1 + f(x))."""
    from scipy.optimize import Bounds, minimize

    x0 = risk.flat_params()
    f0, _ = risk.loss_and_grad(x0)
    radius = (eps * (x0.abs() + 1)).double().cpu().numpy()
    evals = 0

    def neg(y):
        nonlocal evals
        evals += 1
        f, g = risk.loss_and_grad(x0 + torch.from_numpy(y).to(x0.device, x0.dtype))
        return -f, -g.double().cpu().numpy()

    # Start at a random corner-ish point: at y = 0 of a minimum the gradient is ~0 and L-BFGS-B stops.
    y0 = np.random.default_rng(0).uniform(-1, 1, size=radius.shape) * radius * 0.5
    # Bounds, not (lo, hi) pairs: scipy converts a million pairs one by one, seconds per call
    res = minimize(neg, y0, jac=True, method="L-BFGS-B", bounds=Bounds(-radius, radius), options={"maxiter": maxiter})
    f_max = max(-res.fun, f0)
    return {"sharpness": 100 * (f_max - f0) / (1 + f0), "loss": f0, "max_loss": f_max, "evaluations": evals}
