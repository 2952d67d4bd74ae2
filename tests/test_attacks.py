"""FGSM and PGD: the eps-ball, the pixel range, their relative strength, the analytic linear case."""

import pytest
import torch
from torch import nn

from harness.probes import attacks
from harness.train.transforms import BatchTransform

IDENTITY = lambda x: x  # noqa: E731


def test_fgsm_on_a_linear_model_is_the_signed_weight_difference():
    torch.manual_seed(0)
    model = nn.Linear(50, 2)
    x = torch.rand(8, 50) * 0.4 + 0.3  # inside (0, 1) by more than eps: clipping does not bind
    y = torch.randint(0, 2, (8,))
    eps = 0.01
    adv = attacks.fgsm(model, IDENTITY, x, y, eps)
    # d CE / d x = (p - onehot(y)) W; for two classes its sign is sign(W[other] - W[y])
    w = model.weight.detach()
    expected = eps * (w[1 - y] - w[y]).sign()
    assert torch.allclose(adv - x, expected, atol=1e-7)
    assert all(p.grad is None for p in model.parameters())


def small_trained_model():
    torch.manual_seed(0)
    x = torch.rand(512, 3, 8, 8)
    y = ((x - 0.5).flatten(1) @ torch.randn(192) > 0).long()  # a learnable rule
    model = nn.Sequential(nn.Flatten(), nn.Linear(192, 64), nn.ReLU(), nn.Linear(64, 2))
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    for _ in range(300):
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    return model.eval(), x, y


@pytest.mark.parametrize("attack", ["fgsm", "pgd"])
def test_attacks_stay_in_the_eps_ball_and_the_pixel_range(attack):
    model, x, y = small_trained_model()
    x = x.clone()
    x[:10] = 0.0  # pixels at the edges of the range: clipping must bind there
    x[10:20] = 1.0
    eps = 8 / 255
    if attack == "fgsm":
        adv = attacks.fgsm(model, IDENTITY, x, y, eps)
    else:
        adv = attacks.pgd(model, IDENTITY, x, y, eps, steps=10, generator=torch.Generator().manual_seed(0))
    assert (adv - x).abs().max() <= eps + 1e-6
    assert adv.min() >= 0 and adv.max() <= 1
    assert (adv - x).abs().max() > 0.9 * eps  # it did move


def test_pgd_is_at_least_as_strong_as_fgsm_and_both_hurt():
    model, x, y = small_trained_model()
    clean = attacks.robust_accuracy(model, IDENTITY, x, y, "none", 0)
    for eps in (0.01, 0.03):
        f = attacks.robust_accuracy(model, IDENTITY, x, y, "fgsm", eps)
        p = attacks.robust_accuracy(
            model, IDENTITY, x, y, "pgd", eps, steps=10, generator=torch.Generator().manual_seed(0)
        )
        assert p <= f < clean, (eps, clean, f, p)
    assert clean > 0.9


def test_eps_is_in_pixel_units_before_normalisation():
    """Through the zhang pipeline (per-image whitening), the perturbation is still <= eps in [0, 1]
    pixels, and the normalisation is differentiable (the attack changes predictions)."""
    torch.manual_seed(0)
    t = BatchTransform("zhang", False, False, (0.5,) * 3, (0.25,) * 3)
    x = t.pixels(torch.randint(0, 256, (16, 3, 32, 32), dtype=torch.uint8))
    assert x.shape == (16, 3, 28, 28) and 0 <= x.min() and x.max() <= 1
    model = nn.Sequential(nn.Flatten(), nn.Linear(3 * 28 * 28, 10))
    y = torch.zeros(16, dtype=torch.long)
    adv = attacks.pgd(model, t.normalize, x, y, 4 / 255, steps=5)
    assert (adv - x).abs().max() <= 4 / 255 + 1e-6
    loss = lambda z: nn.functional.cross_entropy(model(t.normalize(z)), y).item()
    assert loss(adv) > loss(x)


def test_random_sign_noise_is_the_control_it_should_be():
    """Noise of the same size sits on the eps-ball's surface like FGSM, but hurts far less."""
    model, x, y = small_trained_model()
    eps = 0.03
    noisy = attacks.random_sign_noise(x, eps, torch.Generator().manual_seed(0))
    inside = (x > eps) & (x < 1 - eps)
    assert torch.allclose((noisy - x).abs()[inside], torch.full_like(x[inside], eps), atol=1e-6)
    clean = attacks.robust_accuracy(model, IDENTITY, x, y, "none", 0)
    noise = attacks.robust_accuracy(model, IDENTITY, x, y, "noise", eps, generator=torch.Generator().manual_seed(0))
    fgsm = attacks.robust_accuracy(model, IDENTITY, x, y, "fgsm", eps)
    assert clean - noise < 0.5 * (clean - fgsm), (clean, noise, fgsm)


def test_pgd_restarts_can_only_lower_accuracy():
    model, x, y = small_trained_model()
    one = attacks.robust_accuracy(
        model, IDENTITY, x, y, "pgd", 0.02, steps=3, generator=torch.Generator().manual_seed(0)
    )
    five = attacks.robust_accuracy(
        model, IDENTITY, x, y, "pgd", 0.02, steps=3, restarts=5, generator=torch.Generator().manual_seed(0)
    )
    assert five <= one  # the first restart is the single run; the others can only add failures


def test_pgd_restarts_attack_only_the_survivors():
    """A restart spends its steps only on images the earlier ones did not fool: with an eps that
    fools every image at once, 5 restarts see exactly as many images as 1."""
    model, x, y = small_trained_model()
    seen = []
    hook = model.register_forward_hook(lambda m, i, o: seen.append(len(i[0])))
    runs = {}
    for restarts, eps in ((1, 0.5), (5, 0.5), (5, 0.02)):
        seen.clear()
        acc = attacks.robust_accuracy(
            model, IDENTITY, x, y, "pgd", eps, steps=3, restarts=restarts, generator=torch.Generator().manual_seed(0)
        )
        runs[restarts, eps] = acc, sum(seen)
    hook.remove()
    assert runs[1, 0.5][0] == runs[5, 0.5][0] == 0.0
    assert runs[5, 0.5][1] == runs[1, 0.5][1]  # no image left to restart on
    # at a small eps some survive the first restart, so later restarts run, but on fewer images
    assert runs[1, 0.5][1] < runs[5, 0.02][1] < 5 * runs[1, 0.5][1]
