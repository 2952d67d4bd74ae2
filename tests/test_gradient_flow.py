"""Per-layer gradient norms (trainer.grad_norms_every_steps) and the deep MLP of the gradient-flow
experiment: without the standard remedies gradients vanish through depth, with them they do not."""

import pytest
import torch
import torch.nn.functional as F

from harness import probes, rundir
from harness.app import run
from harness.train import models


def hidden_span(activation, batch_norm, init, depth=20):
    """max / min over the hidden-to-hidden layers (same shape) of the weight-gradient norm at init."""
    torch.manual_seed(0)
    model = models.deep_mlp(3 * 8 * 8, 64, depth, activation, batch_norm)
    models.initialize(model, init, 1.0)
    x, y = torch.randn(256, 3, 8, 8), torch.randint(0, 10, (256,))
    F.cross_entropy(model(x), y).backward()
    norms = probes.gradient_norms(model)
    hidden = [norms[f"grad_norm/L{i:02d}"] for i in range(2, depth + 1)]
    assert len(norms) == 2 * (depth + 1)  # gradient and weight norm of every layer
    return max(hidden) / min(hidden)


@pytest.mark.parametrize(
    "activation, batch_norm, init, low, high",
    [
        ("relu", False, "default", 1e3, float("inf")),  # PyTorch's default init: variance 1/(3 fan_in) per layer
        ("relu", False, "scaled", 1, 10),  # He init keeps the scale
        ("sigmoid", False, "default", 1e6, float("inf")),
        ("sigmoid", True, "default", 1, 10),  # BatchNorm keeps it
    ],
)
def test_gradients_vanish_without_remedies_and_not_with_them(activation, batch_norm, init, low, high):
    assert low <= hidden_span(activation, batch_norm, init) < high


def test_gradient_norms_are_logged_at_their_cadence_and_resume_exactly(make_cfg, tmp_path):
    overrides = ["model=mlp_deep", "model.depth=3", "trainer.grad_norms_every_steps=2", "trainer.max_epochs=2"]
    whole = run(make_cfg(*overrides), run_dir=tmp_path / "whole")
    logged = [m for m in rundir.read_metrics(tmp_path / "whole") if "grad_norm/L01" in m]
    assert [m["step"] for m in logged] == list(range(1, whole["steps"] + 1, 2))  # step 1: the gradient at init
    assert all(
        set(m) == {"step", *(f"{k}/L{i:02d}" for k in ("grad_norm", "weight_norm") for i in range(1, 5))}
        for m in logged
    )
    run(make_cfg(*overrides, "trainer.interrupt_at_step=3"), run_dir=tmp_path / "cut")
    run(make_cfg(*overrides), run_dir=tmp_path / "cut")
    strip = lambda rs: [{k: v for k, v in r.items() if k != "wall_time_s"} for r in rs]  # noqa: E731
    assert strip(rundir.read_metrics(tmp_path / "cut")) == strip(rundir.read_metrics(tmp_path / "whole"))
