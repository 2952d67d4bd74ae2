"""Probes: plain functions of a trained (or freshly initialised) model, called by the trainer when
the `curvature` config asks (at init, every N epochs, at the end), or by anyone on any model.

    curvature_probe(model, x, y, cfg.curvature) -> {"curvature/top_eig": ..., "curvature/trace": ..., ...}
    reparameterization_rows(model, x, y, test_x, test_y, cfg.curvature) -> one row per alpha (C3)
    adversarial_rows(model, pixels, normalize, test_x, test_y, cfg.adversarial) -> accuracy per attack, eps (C2)
    end_of_run(cfg, model, ...) -> the last two, as a completed run's config asks, written to its run dir
"""

from __future__ import annotations

import logging
import time

import numpy as np
import torch

from ..names import FILES, M, S
from . import attacks, curvature, reparameterize
from .modes import eval_mode

log = logging.getLogger("harness")


def curvature_sample(train_x, train_y, to_input, size: int, seed: int):
    """A fixed random sample of the training set (the same for every init of a sweep: its own seed),
    preprocessed without augmentation, so every probe of a run measures the same risk."""
    g = torch.Generator().manual_seed(seed)
    idx = torch.randperm(len(train_y), generator=g)[: min(size, len(train_y))].to(train_y.device)
    return to_input(train_x[idx], False), train_y[idx]


def curvature_probe(model, x, y, cfg) -> dict:
    """Top eigenvalue(s) by Lanczos, trace by Hutchinson or Hutch++, the risk on the sample, and
    optionally the most negative eigenvalue and Keskar's eps-sharpness. Keys curvature/*."""
    risk = curvature.EmpiricalRisk(model, curvature.make_batches(x, y, cfg.chunk_size), cfg.bn_mode, cfg.hvp)
    t0 = time.perf_counter()
    h = M.curvature
    out = {h("loss"): risk.loss()}
    top = curvature.top_eigenvalues(risk, k=cfg.top_k, tol=cfg.tol, seed=cfg.seed, solver=cfg.solver)
    out[h("top_eig")] = top["eigenvalues"][0]
    for i, value in enumerate(top["eigenvalues"][1:], start=2):
        out[h(f"eig_{i}")] = value
    if cfg.negative:
        out[h("min_eig")] = curvature.top_eigenvalues(
            risk, k=1, which="SA", tol=cfg.tol, seed=cfg.seed, solver=cfg.solver
        )["eigenvalues"][0]
    if cfg.trace == "gauss_newton":
        tr = curvature.gauss_newton_trace(risk)
        if not tr["exact_hessian_trace"]:
            log.warning("curvature.trace=gauss_newton: this network is not piecewise linear, so it is tr(G), not tr(H)")
        out[h("trace")], out[h("trace_se")] = tr["trace"], tr["se"]
        out[h("trace_se_examples")] = tr["se_examples"]
    elif cfg.trace != "none":
        estimate = curvature.hutchinson_trace if cfg.trace == "hutchinson" else curvature.hutchpp_trace
        tr = estimate(risk, cfg.trace_hvps, seed=cfg.seed)
        out[h("trace")], out[h("trace_se")] = tr["trace"], tr["se"]
    if cfg.eps_sharpness:
        out[h("eps_sharpness")] = curvature.eps_sharpness(risk, cfg.eps_sharpness)["sharpness"]
    out[h("hvps")] = risk.hvps
    out[h("seconds")] = time.perf_counter() - t0
    return out


def layers(model) -> list:
    """The linear and convolutional layers in the order an input passes them (module order)."""
    return [m for m in model.modules() if isinstance(m, (torch.nn.Linear, torch.nn.Conv2d))]


@torch.no_grad()
def gradient_norms(model) -> dict:
    """Per layer (L01 = the first): the norm of its weight's gradient and of the weight, after a
    backward pass; keys grad_norm/Lnn, weight_norm/Lnn (the survey's exploding / vanishing gradients)."""
    out = {}
    for i, m in enumerate(layers(model), start=1):
        if m.weight.grad is not None:
            out[M.grad_norm(i)] = float(m.weight.grad.norm())
        out[M.weight_norm(i)] = float(m.weight.norm())
    return out


def prescreen_seeds(seed: int, k: int) -> list[int]:
    """The run's own seed first (so candidate 0 is the plain run's init), then k - 1 seeds derived
    from it (numpy's SeedSequence: independent streams, the same for every resume)."""
    derived = np.random.SeedSequence(seed).generate_state(max(k - 1, 0), dtype=np.uint64) >> np.uint64(1)
    return [seed, *(int(s) for s in derived)]


def prescreen_inits(build, x, y, k: int, seed: int, bn_mode: str = "eval") -> tuple[dict, list[dict]]:
    """Pre-screen k initializations (the survey's advice, docs/claims.md, C5): for each, its risk and exact
    Hessian trace (Gauss-Newton, = tr(H) for ReLU networks) on (x, y); the chosen one is the least
    curved among those whose risk is at most the median risk. `build()` makes a fresh model from the
    current torch seed. Returns the chosen model's state dict and one row per candidate."""
    rows, states = [], []
    for i, s in enumerate(prescreen_seeds(seed, k)):
        torch.manual_seed(s)
        model = build()
        risk = curvature.EmpiricalRisk(model, curvature.make_batches(x, y, 2048), bn_mode)
        rows.append(
            {"candidate": i, "seed": s, "risk": risk.loss(), "trace": curvature.gauss_newton_trace(risk)["trace"]}
        )
        states.append({n: t.detach().clone() for n, t in model.state_dict().items()})
    median = float(np.median([r["risk"] for r in rows]))
    chosen = min((r for r in rows if r["risk"] <= median), key=lambda r: r["trace"])
    for r in rows:
        r["low_risk"], r["chosen"] = r["risk"] <= median, r is chosen
    return states[chosen["candidate"]], rows


@torch.no_grad()
def _logits(model, x, batch_size=1000):
    with eval_mode(model):
        out = torch.cat([model(x[i : i + batch_size]).float() for i in range(0, len(x), batch_size)])
    return out


def reparameterization_rows(model, x, y, test_x, test_y, cfg) -> list[dict]:
    """For each alpha in cfg.alphas and each variant (two_layer: T_alpha; multi_layer: product of
    scales 1): max |f_alpha(x) - f(x)| over the test set (logits), test accuracy and the Hessian
    probe on the curvature sample. test_x must already be preprocessed."""
    base = _logits(model, test_x)
    rows = []
    for variant in cfg.variants:
        scales_of = reparameterize.two_layer_scales if variant == "two_layer" else reparameterize.multi_layer_scales
        for alpha in cfg.alphas:
            scaled = reparameterize.rescale(model, scales_of(model, alpha))
            logits = _logits(scaled, test_x)
            probe = curvature_probe(scaled, x, y, cfg)
            rows.append(
                {
                    "variant": variant,
                    "alpha": alpha,
                    "max_abs_output_change": float((logits - base).abs().max()),
                    "max_rel_output_change": float((logits - base).abs().max() / base.abs().max()),
                    "test_acc": float((logits.argmax(1) == test_y).float().mean()),
                    **{k.removeprefix(M.curvature("")): v for k, v in probe.items()},
                }
            )
    return rows


def adversarial_rows(model, pixels, normalize, test_x, test_y, cfg) -> tuple[list[dict], dict]:
    """Accuracy on a fixed random sample of the test set, clean and under each attack and eps;
    and one example (the first sample image the model gets right, attacked by FGSM at the largest
    eps) for the "panda" figure. `pixels` maps uint8 images to [0, 1] (eval cropping)."""
    g = torch.Generator().manual_seed(cfg.seed)
    idx = torch.randperm(len(test_y), generator=g)[: cfg.test_size].to(test_y.device)
    x, y = pixels(test_x[idx]), test_y[idx]
    # pgd: the standard attack; pgd_strong: more steps and restarts, to show the standard one is not weak
    pgd = {
        "pgd": (cfg.pgd_steps, cfg.pgd_restarts),
        "pgd_strong": (cfg.pgd_strong_steps, cfg.pgd_strong_restarts),
    }
    clean = attacks.robust_accuracy(model, normalize, x, y, "none", 0.0)
    rows = [{"attack": "none", "eps_255": 0, "eps": 0.0, "accuracy": clean, "images": len(y)}]
    log.info("attacks on %d images: %s x eps %s/255 (clean accuracy %.4f)", len(y), list(cfg.attacks),
             list(cfg.eps_255), clean)  # fmt: skip
    for attack in cfg.attacks:
        for k in cfg.eps_255:
            started = time.perf_counter()
            kwargs, extra = {}, {}
            if attack in pgd:
                steps, restarts = pgd[attack]
                kwargs = {
                    "steps": steps,
                    "restarts": restarts,
                    "step_size": cfg.pgd_step_size,
                    "random_start": cfg.random_start,
                }
                extra = {"pgd_steps": steps, "pgd_restarts": restarts}
            acc = attacks.robust_accuracy(
                model,
                normalize,
                x,
                y,
                "pgd" if attack in pgd else attack,
                k / 255,
                generator=torch.Generator().manual_seed(cfg.seed),
                **kwargs,
            )
            rows.append({"attack": attack, "eps_255": k, "eps": k / 255, "accuracy": acc, "images": len(y), **extra})
            log.info("  %s eps %g/255: accuracy %.4f (%.0f s)", attack, k, acc, time.perf_counter() - started)
    with eval_mode(model):
        pred, conf = attacks.predict(model, normalize, x)
        i = int((pred == y).nonzero()[0]) if (pred == y).any() else 0
        x0, y0 = x[i : i + 1], y[i : i + 1]
        eps = max(cfg.eps_255) / 255
        adv = attacks.fgsm(model, normalize, x0, y0, eps)
        adv_pred, adv_conf = attacks.predict(model, normalize, adv)
    example = {
        "clean": x0[0].cpu().numpy(),
        "adversarial": adv[0].cpu().numpy(),
        "label": int(y0),
        "clean_pred": int(pred[i]),
        "clean_conf": float(conf[i]),
        "adv_pred": int(adv_pred[0]),
        "adv_conf": float(adv_conf[0]),
        "eps_255": max(cfg.eps_255),
        "attack": "fgsm",
    }
    return rows, example


def end_of_run(cfg, model, sample, data, transform, to_input, run) -> dict:
    """The probes a completed run's config asks for at its end (C3 reparameterization, C2 attacks, C9 bounds):
    each writes its file into the run dir `run` (a rundir.RunDir); returns the summary fields that name the
    files and results."""
    out = {}
    if cfg.curvature.alphas:
        rows = reparameterization_rows(model, *sample, to_input(data.test_x, False), data.test_y, cfg.curvature)
        run.write_result(FILES.REPARAMETERIZATION, rows)
        out[S.REPARAMETERIZATION] = FILES.REPARAMETERIZATION
    if cfg.get("complexity", {}).get("bounds"):
        from . import complexity

        result = complexity.bounds(model, to_input(data.train_x, False), data.train_y)
        run.write_result(FILES.COMPLEXITY, result)
        out.update({S.complexity(k): v for k, v in result.items()})
    a = cfg.adversarial
    if a.eps_255:
        split = (data.test_x, data.test_y) if a.split == "test" else (data.train_x, data.train_y)
        rows, example = adversarial_rows(model, transform.pixels, transform.normalize, *split, a)
        run.write_result(FILES.ADVERSARIAL, rows)
        run.write_arrays(FILES.ADVERSARIAL_EXAMPLE, example)
        out.update({S.adv_acc(r["attack"], r["eps_255"]): r["accuracy"] for r in rows if r["eps_255"]})
        out[S.ADV_CLEAN] = rows[0]["accuracy"]
        out[S.ADVERSARIAL] = FILES.ADVERSARIAL
    return out
