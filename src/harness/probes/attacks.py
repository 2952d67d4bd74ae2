"""L-infinity adversarial attacks (docs/claims.md, C2): FGSM (Goodfellow et al. 2015) and PGD (Madry et
al. 2018). Perturbations live in [0, 1] pixel units, before normalisation: `normalize` maps pixels
to the model's input (differentiably), so eps = 8/255 means 8 grey levels whatever the
preprocessing. Adversarial images are clipped to the valid pixel range [0, 1]. The model is
used in eval mode; only gradients with respect to the input are taken (parameters untouched).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .modes import eval_mode


def _input_grad(model, normalize, x, y):
    x = x.detach().requires_grad_(True)
    loss = F.cross_entropy(model(normalize(x)).float(), y)
    (g,) = torch.autograd.grad(loss, x)
    return g


def fgsm(model, normalize, x, y, eps: float):
    """One signed-gradient step of size eps from x, clipped to [0, 1]."""
    return (x + eps * _input_grad(model, normalize, x, y).sign()).clamp(0, 1).detach()


def pgd(
    model,
    normalize,
    x,
    y,
    eps: float,
    steps: int = 10,
    step_size: float | None = None,
    random_start: bool = True,
    generator: torch.Generator | None = None,
):
    """`steps` signed-gradient steps of `step_size` (default 2.5 eps / steps, Madry et al.), each
    projected back onto the eps-ball around x and onto [0, 1]; optionally from a uniform random
    point of the ball."""
    step_size = 2.5 * eps / steps if step_size is None else step_size
    x_adv = x.clone()
    if random_start:
        noise = torch.rand(x.shape, generator=generator, device="cpu").to(x.device)
        x_adv = (x + (2 * noise - 1) * eps).clamp(0, 1)
    for _ in range(steps):
        x_adv = x_adv + step_size * _input_grad(model, normalize, x_adv, y).sign()
        x_adv = torch.minimum(torch.maximum(x_adv, x - eps), x + eps).clamp(0, 1).detach()
    return x_adv


def random_sign_noise(x, eps: float, generator: torch.Generator | None = None):
    """The control for an attack: a random +-eps per pixel (the corner of the eps-ball FGSM also
    lands on, but not chosen by the gradient), clipped to [0, 1]."""
    signs = torch.randint(0, 2, x.shape, generator=generator, device="cpu").to(x.device) * 2 - 1
    return (x + eps * signs).clamp(0, 1)


@torch.no_grad()
def predict(model, normalize, x):
    """(predicted class, its softmax probability)."""
    p = F.softmax(model(normalize(x)).float(), 1)
    conf, cls = p.max(1)
    return cls, conf


def robust_accuracy(
    model,
    normalize,
    x,
    y,
    attack: str,
    eps: float,
    batch_size: int = 500,
    restarts: int = 1,
    generator: torch.Generator | None = None,
    **pgd_kwargs,
) -> float:
    """Accuracy on the attacked images (attack: "none", "fgsm", "pgd" or "noise"). With PGD
    restarts, an image counts as correct only if it survives every restart (from its own random
    start): the accuracy under the strongest of them. A restart attacks only the images that
    survived the ones before (the others are already counted wrong), which makes 5 restarts cost
    little more than one where the first already fools most images."""
    with eval_mode(model):
        correct = 0
        for i in range(0, len(y), batch_size):
            xb, yb = x[i : i + batch_size], y[i : i + batch_size]
            ok = torch.ones_like(yb, dtype=torch.bool)
            for _ in range(restarts if attack == "pgd" else 1):
                live = ok.nonzero().squeeze(1)
                if len(live) == 0:
                    break
                xl, yl = xb[live], yb[live]
                if attack == "fgsm":
                    xa = fgsm(model, normalize, xl, yl, eps)
                elif attack == "pgd":
                    xa = pgd(model, normalize, xl, yl, eps, generator=generator, **pgd_kwargs)
                elif attack == "noise":
                    xa = random_sign_noise(xl, eps, generator)
                else:
                    xa = xl
                ok[live] = predict(model, normalize, xa)[0] == yl
            correct += int(ok.sum())
    return correct / len(y)
