"""Numerical instability (the survey's paradox): do gradients vanish or explode through depth without
the standard remedies (scaled init, BatchNorm)? Per-layer weight-gradient norms logged by the trainer
(`trainer.grad_norms_every_steps`; the record at step 1 is the gradient at initialization)."""

from __future__ import annotations

import numpy as np

from ..names import M
from .common import plt, save_figure, verdict_row

SPAN = 100.0  # "vanish or explode": the gradient norm differs by >= 100x between hidden layers (our threshold)
HEALTHY = 10.0  # with a remedy: within 10x
FAILS = 0.2  # train accuracy below this after the budget (chance: 0.1): did not train
CLAIM = "Gradients vanish or explode without the standard remedies"
PAPER = "exploding / vanishing gradients (numerical instability) are part of the paradox; no number given"


def _norms(record, depth):
    """Weight-gradient norms of the hidden-to-hidden layers (same shape, L02 .. L<depth>)."""
    return [record.get(M.grad_norm(i)) for i in range(2, depth + 1)]


def _span(norms):
    norms = [n for n in norms if n is not None]
    if len(norms) < 2:
        return float("nan")
    return float("inf") if min(norms) == 0 else max(norms) / min(norms)


def gradient_flow(runs, out):
    rows, profiles = [], {}
    for r in (r for r in runs if r.summary.get("status") in ("completed", "diverged")):
        m, depth = r.config["model"], r.config["model"]["depth"]
        grads = [x for x in r.metrics if M.grad_norm(1) in x]
        if not grads:
            continue
        first, last = grads[0], grads[-1]
        key = (m["activation"], bool(m["batch_norm"]), m["init"])
        rows.append(
            {
                "depth": depth,
                "activation": key[0],
                "batch_norm": key[1],
                "init": key[2],
                "span_at_init": _span(_norms(first, depth)),
                "span_at_end": _span(_norms(last, depth)),
                "first_layer_grad_at_init": first[M.grad_norm(1)],
                "last_layer_grad_at_init": first[M.grad_norm(depth + 1)],
                "train_acc": r.summary.get("train_acc"),
                "test_acc": r.summary.get("test_acc"),
                "trained": bool((r.summary.get("train_acc") or 0) >= FAILS),
            }
        )
        profiles[(depth, *key)] = [first.get(M.grad_norm(i)) for i in range(1, depth + 2)]
    rows.sort(key=lambda x: (x["activation"], x["batch_norm"], x["init"], x["depth"]))
    figures = [_figure(profiles, out)] if profiles else []
    tables = {"gradient_flow": rows, "verdicts": [_verdict(rows, figures[0].name if figures else "")]}
    return tables, figures


def _verdict(rows, figure):
    """Criterion (fixed before the data), at the largest depth: (a) with neither remedy (default
    init, no BatchNorm) the hidden layers' gradient norms at init span >= SPAN (100x) for some
    activation; (b) with BatchNorm they span < HEALTHY (10x) and the network trains (train accuracy
    >= FAILS) for every activation. (a) and (b) -> reproduced; (a) only -> partly; not (a) -> not
    reproduced; the configurations missing -> inconclusive."""
    criterion = (
        f"at the largest depth: no remedy -> hidden-layer gradient norms span >= {SPAN:g}x for some activation; "
        f"with BatchNorm -> < {HEALTHY:g}x and trains (train acc >= {FAILS:g}) for every activation"
    )
    if not rows:
        return verdict_row(CLAIM, "inconclusive", criterion, "no runs with gradient norms", paper=PAPER, seeds=0)
    deepest = max(r["depth"] for r in rows)
    bare = [r for r in rows if r["depth"] == deepest and not r["batch_norm"] and r["init"] == "default"]
    bn = [r for r in rows if r["depth"] == deepest and r["batch_norm"]]
    if not bare or not bn:
        return verdict_row(
            CLAIM,
            "inconclusive",
            criterion,
            f"depth {deepest}: runs without or with BatchNorm missing",
            paper=PAPER,
            seeds=1,
        )
    a = any(r["span_at_init"] >= SPAN for r in bare)
    b = all(r["span_at_init"] < HEALTHY and r["trained"] for r in bn)
    verdict = "reproduced" if a and b else "partly" if a else "not reproduced"
    measured = (
        f"depth {deepest}, no remedy: "
        + ", ".join(
            f"{r['activation']} span {r['span_at_init']:.3g}x{'' if r['trained'] else ' (did not train)'}" for r in bare
        )
        + "; with BatchNorm: "
        + ", ".join(
            f"{r['activation']}/{r['init']} {r['span_at_init']:.3g}x{'' if r['trained'] else ' (did not train)'}"
            for r in bn
        )
    )
    return verdict_row(CLAIM, verdict, criterion, measured, paper=PAPER, seeds=1, figure=figure)


def _figure(profiles, out):
    """Gradient norm at init against layer, at the largest depth, one panel per activation."""
    deepest = max(k[0] for k in profiles)
    activations = sorted({k[1] for k in profiles})
    fig, axes = plt.subplots(1, len(activations), figsize=(4.2 * len(activations), 3.6), squeeze=False)
    for ax, act in zip(axes[0], activations):
        for (depth, a, bn, init), norms in sorted(profiles.items()):
            if depth == deepest and a == act:
                ys = np.array([np.nan if n is None or n <= 0 else n for n in norms], float)
                ax.plot(range(1, len(ys) + 1), ys, marker=".", label=f"{'BN' if bn else 'no BN'}, init {init}")
        ax.set(
            yscale="log",
            xlabel="layer (1 = input side)",
            ylabel="weight-gradient norm at init",
            title=f"{act}, depth {deepest}",
        )
        ax.legend(fontsize=7)
    return save_figure(fig, out / "gradient_norm_vs_layer.png")
