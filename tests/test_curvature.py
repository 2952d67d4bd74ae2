"""The curvature estimators against exact Hessians of tiny networks (issue 5)."""

import numpy as np
import pytest
import torch
from torch import nn

from harness.probes import curvature as C
from harness.probes import reparameterize as R


def tiny_mlp():
    return nn.Sequential(nn.Flatten(), nn.Linear(12, 16), nn.ReLU(inplace=True), nn.Linear(16, 10))


def tiny_cnn(batch_norm):
    layers = [nn.Conv2d(3, 4, 3, padding=1)] + ([nn.BatchNorm2d(4)] if batch_norm else [])
    return nn.Sequential(*layers, nn.ReLU(inplace=True), nn.AdaptiveAvgPool2d(2), nn.Flatten(), nn.Linear(16, 10))


CASES = {  # name: (model, input shape, bn modes to check)
    "mlp": (tiny_mlp, (3, 2, 2), ["eval"]),
    "cnn": (lambda: tiny_cnn(False), (3, 6, 6), ["eval"]),
    "cnn_bn": (lambda: tiny_cnn(True), (3, 6, 6), ["eval", "train"]),
}


def make_risk(name, bn_mode, n=64, chunk=32, dtype=torch.float32):
    torch.manual_seed(0)
    build, shape, _ = CASES[name]
    model = build().to(dtype)
    x, y = torch.randn(n, *shape, dtype=dtype), torch.randint(0, 10, (n,))
    if name == "cnn_bn":  # non-trivial running statistics
        model.train()
        with torch.no_grad():
            model(x * 2 + 1)
    model.eval()
    return C.EmpiricalRisk(model, C.make_batches(x, y, chunk), bn_mode)


@pytest.mark.parametrize("name,bn_mode", [(n, m) for n, (_, _, modes) in CASES.items() for m in modes])
def test_estimators_match_exact_hessian(name, bn_mode):
    risk = make_risk(name, bn_mode)
    state = {k: v.clone() for k, v in risk.model.state_dict().items()}
    flags = [m.training for m in risk.model.modules()]
    H = C.exact_hessian(risk).double()
    assert risk.dim < 400 and torch.allclose(H, H.T, atol=1e-6)
    exact = torch.linalg.eigvalsh(H).numpy()

    v = torch.randn(risk.dim)
    for mode in C.HVP_MODES:
        hv = C.EmpiricalRisk(risk.model, risk.batches, bn_mode, mode).hvp(v).double()
        assert torch.allclose(hv, H @ v.double(), rtol=1e-4, atol=1e-5), mode

    for solver in ("arpack", "lanczos"):
        top = C.top_eigenvalues(risk, k=2, tol=1e-8, solver=solver)
        np.testing.assert_allclose(top["eigenvalues"], exact[::-1][:2], rtol=1e-4)
        bottom = C.top_eigenvalues(risk, k=1, which="SA", tol=1e-8, solver=solver)
        np.testing.assert_allclose(bottom["eigenvalues"][0], exact[0], rtol=1e-4)

    trace = float(exact.sum())
    for estimate in (C.hutchinson_trace(risk, 100, seed=1), C.hutchpp_trace(risk, 60, seed=1)):
        assert abs(estimate["trace"] - trace) <= 3 * estimate["se"], (estimate, trace)
    gn = C.gauss_newton_trace(risk)
    assert gn["exact_hessian_trace"] == (bn_mode == "eval")
    if gn["exact_hessian_trace"]:  # ReLU network: the Gauss-Newton trace is the Hessian's, no noise
        assert gn["trace"] == pytest.approx(trace, rel=1e-4) and gn["se"] == 0

    # nothing left behind: running statistics, train/eval flags, gradients
    assert all(torch.equal(state[k], t) for k, t in risk.model.state_dict().items())
    assert [m.training for m in risk.model.modules()] == flags
    assert all(p.grad is None for p in risk.model.parameters())


def test_train_mode_batchnorm_reference_matches_finite_differences():
    """The exact reference used with batch statistics (see exact_hessian) against central
    differences of the gradient, in float64; and the HVP against the same."""
    risk = make_risk("cnn_bn", "train", dtype=torch.float64)
    H = C.exact_hessian(risk)
    v = torch.randn(risk.dim, dtype=torch.float64)
    p0, h = risk.flat_params(), 1e-7  # small: a ReLU kink lies within 1e-5 of this point
    fd = (risk.loss_and_grad(p0 + h * v)[1] - risk.loss_and_grad(p0 - h * v)[1]) / (2 * h)
    assert torch.allclose(H @ v, fd, rtol=1e-6, atol=1e-8)
    assert torch.allclose(risk.hvp(v), fd, rtol=1e-6, atol=1e-8)


def test_bn_modes_differ_and_eval_chunking_is_exact():
    """Eval mode is one risk however the sample is chunked; train mode uses batch statistics."""
    a, b = make_risk("cnn_bn", "eval", chunk=64), make_risk("cnn_bn", "eval", chunk=16)
    v = torch.randn(a.dim)
    assert torch.allclose(a.hvp(v), b.hvp(v), rtol=1e-4, atol=1e-6)
    assert abs(a.loss() - make_risk("cnn_bn", "train").loss()) > 1e-3
    with pytest.raises(ValueError, match="bn_mode"):
        C.EmpiricalRisk(a.model, a.batches, "running")


def test_hvp_is_symmetric():
    risk = make_risk("cnn", "eval")
    u, v = torch.randn(risk.dim), torch.randn(risk.dim)
    assert float(u @ risk.hvp(v)) == pytest.approx(float(v @ risk.hvp(u)), rel=1e-5)


def test_hutchinson_on_known_diagonal_matrix():
    d = torch.linspace(-1, 5, 300, dtype=torch.float64)
    op = C.MatrixOperator(torch.diag(d))
    est = C.hutchinson_trace(op, 10)
    # Rademacher vectors have v_i^2 = 1: exact on a diagonal matrix, with zero spread
    assert est["trace"] == pytest.approx(float(d.sum()), rel=1e-12) and est["se"] == pytest.approx(0, abs=1e-9)
    assert est["hvps"] == 10


def spiked(dim=400, seed=0, top=(100.0, 97, 94, 90, 85)):
    """A symmetric matrix dominated by a few large, clustered eigenvalues (as Hessians of networks
    are: about one outlier per class), over a bulk near zero."""
    g = torch.Generator().manual_seed(seed)
    q, _ = torch.linalg.qr(torch.randn(dim, dim, generator=g, dtype=torch.float64))
    eig = torch.cat([torch.tensor(top), torch.rand(dim - len(top), generator=g) * 0.5]).double()
    return (q * eig) @ q.T, eig


def test_hutchpp_beats_hutchinson_on_low_rank_dominated_matrix():
    a, eig = spiked()
    trace = float(eig.sum())
    err = {"hutchinson": [], "hutchpp": []}
    for seed in range(20):
        err["hutchinson"].append(abs(C.hutchinson_trace(C.MatrixOperator(a), 30, seed)["trace"] - trace))
        err["hutchpp"].append(abs(C.hutchpp_trace(C.MatrixOperator(a), 30, seed)["trace"] - trace))
    assert np.mean(err["hutchpp"]) < 0.25 * np.mean(err["hutchinson"])


def test_lanczos_needs_far_fewer_hvps_than_power_iteration():
    a, eig = spiked()
    top = float(eig.max())
    power = C.power_iteration(C.MatrixOperator(a), max_hvps=2000, rtol=1e-6)
    # HVPs until power iteration's estimate is within 1% of the top eigenvalue
    power_to_1pct = next(i + 1 for i, e in enumerate(power["history"]) if abs(e - top) <= 0.01 * top)
    for solver in ("arpack", "lanczos"):
        lanczos = C.top_eigenvalues(C.MatrixOperator(a), k=1, tol=1e-2, solver=solver)
        assert abs(lanczos["eigenvalues"][0] - top) <= 0.01 * top
        assert lanczos["hvps"] * 4 <= power_to_1pct, (solver, lanczos["hvps"], power_to_1pct)


def test_slq_density_is_a_probability_measure_on_the_spectrum():
    a, eig = spiked(dim=200)
    slq = C.slq_density(C.MatrixOperator(a), steps=40, vectors=4)
    assert slq["weights"].sum() == pytest.approx(1.0)
    assert slq["nodes"].min() >= float(eig.min()) - 1e-6 and slq["nodes"].max() <= float(eig.max()) + 1e-6
    assert slq["nodes"].max() == pytest.approx(float(eig.max()), rel=1e-6)  # extremes converge first
    grid = np.linspace(-5, 105, 4000)
    assert np.trapezoid(slq["density"](grid, 0.5), grid) == pytest.approx(1.0, abs=1e-3)


def test_eps_sharpness_grows_with_eps_and_with_curvature():
    risk = make_risk("mlp", "eval")
    small, large = C.eps_sharpness(risk, 1e-3)["sharpness"], C.eps_sharpness(risk, 1e-2)["sharpness"]
    assert 0 < small < large
    sharper = R.rescale(risk.model, [0.1, 10.0])  # same function, sharper in the first layer
    sharp = C.eps_sharpness(C.EmpiricalRisk(sharper, risk.batches), 1e-3)["sharpness"]
    assert sharp > small


@pytest.mark.parametrize("variant", ["two_layer", "multi_layer"])
def test_reparameterization_keeps_the_function_and_scales_the_hessian(variant):
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Flatten(), nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 3)
    ).double()
    x, y = torch.randn(32, 6, dtype=torch.float64), torch.randint(0, 3, (32,))
    risk = C.EmpiricalRisk(model, [(x, y)])
    H = C.exact_hessian(risk)
    top = float(torch.linalg.eigvalsh(H)[-1])
    scales_of = R.two_layer_scales if variant == "two_layer" else R.multi_layer_scales
    for alpha in (0.01, 0.1, 10.0, 100.0):
        scales = scales_of(model, alpha)
        assert np.prod(scales) == pytest.approx(1.0)
        scaled = R.rescale(model, scales)
        assert torch.allclose(scaled(x), model(x), rtol=1e-10, atol=1e-10)
        d = 1 / R.parameter_scales(model, scales)  # the chain rule: H_alpha = D H D
        h_scaled = C.exact_hessian(C.EmpiricalRisk(scaled, [(x, y)]))
        assert torch.allclose(h_scaled, d[:, None] * H * d[None, :], rtol=1e-6, atol=1e-8)
        top_scaled = C.top_eigenvalues(C.EmpiricalRisk(scaled, [(x, y)]), tol=1e-8)["eigenvalues"][0]
        assert top_scaled == pytest.approx(float(torch.linalg.eigvalsh(d[:, None] * H * d[None, :])[-1]), rel=1e-5)
        if alpha in (0.01, 100.0):  # far from 1 the top eigenvalue grows (as 1/alpha^2 or alpha^2)
            assert top_scaled > 10 * top


def test_reparameterization_rejects_normalised_networks():
    with pytest.raises(ValueError, match="normalisation"):
        R.rescale(tiny_cnn(True), [2.0, 0.5])


def test_gauss_newton_trace_per_layer_shortcut_matches_per_example_jacobians():
    """The Linear / Conv2d shortcut against torch.func per-example Jacobians, on the harness MLP (its
    in-place ReLUs must not corrupt the kept layer outputs) and on a ReLU / max-pool CNN whose second
    convolution takes the Gram route; and on that CNN, against the exact Hessian trace."""
    from harness.train import models

    torch.manual_seed(1)
    cnn = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(2),
        nn.Conv2d(8, 8, 3, stride=2),
        nn.ReLU(inplace=True),
        nn.Flatten(),
        nn.Linear(8, 10),
    )  # second conv: 1 position and o * i = 576 > 2 P^2 -> Gram route; the first: direct route
    for model, shape in ((cnn, (3, 6, 6)), (models.mlp(12, 16, 2), (3, 2, 2))):
        model = model.double().eval()
        x, y = torch.randn(20, *shape, dtype=torch.double), torch.randint(0, 10, (20,))
        risk = C.EmpiricalRisk(model, C.make_batches(x, y, 8))
        fast = torch.cat([C._gn_per_example_layers(risk, xb) for xb, _ in risk.batches])
        slow = C._gn_per_example_generic(risk, x, 4).double()
        torch.testing.assert_close(fast, slow, rtol=1e-6, atol=1e-8)
        gn = C.gauss_newton_trace(risk)
        assert gn["exact_hessian_trace"]
        assert gn["trace"] == pytest.approx(float(C.exact_hessian(risk).diagonal().sum()), rel=1e-6)


@pytest.mark.parametrize("positions,o,i", [(1, 5, 7), (9, 4, 3), (3, 16, 16)])
def test_outer_sum_sq_norm_both_routes(positions, o, i):
    d, a = torch.randn(6, positions, o, dtype=torch.double), torch.randn(6, positions, i, dtype=torch.double)
    brute = torch.einsum("npo,npi->noi", d, a).pow(2).sum((1, 2))
    torch.testing.assert_close(C._outer_sum_sq_norm(d, a, budget=40), brute)


def test_gauss_newton_trace_is_not_the_hessian_trace_of_a_tanh_network():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 5), nn.Tanh(), nn.Linear(5, 4)).double()
    x, y = torch.randn(30, 6, dtype=torch.double), torch.randint(0, 4, (30,))
    risk = C.EmpiricalRisk(model, C.make_batches(x, y, 7))
    gn = C.gauss_newton_trace(risk)
    assert not gn["exact_hessian_trace"]
    assert abs(gn["trace"] - float(C.exact_hessian(risk).diagonal().sum())) > 1e-4


def test_local_response_norm_makes_the_gauss_newton_trace_inexact():
    """Zhang's small AlexNet has LocalResponseNorm: curved in its input, so GN trace != tr(H)."""
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(1, 4, 3), nn.ReLU(), nn.LocalResponseNorm(3, alpha=0.5), nn.Flatten(), nn.Linear(4 * 4 * 4, 3)
    ).double()
    x, y = torch.randn(12, 1, 6, 6, dtype=torch.double), torch.randint(0, 3, (12,))
    risk = C.EmpiricalRisk(model, C.make_batches(x, y, 6))
    gn = C.gauss_newton_trace(risk)
    assert not gn["exact_hessian_trace"]
    assert abs(gn["trace"] - float(C.exact_hessian(risk).diagonal().sum())) > 1e-6
