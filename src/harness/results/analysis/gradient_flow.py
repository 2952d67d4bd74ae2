"""Numerical instability (the survey's paradox): do gradients vanish or explode through depth without
the standard remedies (scaled init, BatchNorm)? Per-layer weight-gradient norms logged by the trainer
(`trainer.grad_norms_every_steps`; the record at step 1 is the gradient at initialization)."""

from __future__ import annotations

from collections import Counter

import numpy as np

from ...names import M, S
from ..claims import Claim
from .common import plt, save_figure, verdict_row

# -- the experiment: its claims (declared before its deciding runs; docs/claims.md), the sweeps whose runs
# its report reads, and their expected minutes on the 2-core machine (`make reproduce`)
GRADIENT_FLOW = Claim(
    "Gradients vanish or explode without the standard remedies",
    "the survey (Glorot & Bengio 2010; Ioffe & Szegedy 2015)",
    "exploding / vanishing gradients (numerical instability) are part of the paradox; no number given",
    "deep nets without normalization or scaled init have gradients that vanish or explode across layers",
    "at the largest depth, the gradient at init (step 1, before any update): no remedy (default init, no BatchNorm) "
    "-> hidden-layer gradient norms span >= {span:g}x for some activation (whether or not that net then trains: "
    "not training is what vanishing predicts); with BatchNorm -> < {healthy:g}x and trains (train acc >= {trains:g}) "
    "for every activation -> reproduced; the first only -> partly; no span >= {span:g}x -> not reproduced; a "
    "non-finite norm is not a measured span; cells missing, or no span >= {span:g}x among those measured but some "
    "not measured -> inconclusive",
    "a span >= 100x without remedies",
    "a seed (one per cell)",
    "gradient_flow",
    {"span": 100.0, "healthy": 10.0, "trains": 0.2},
)

CLAIMS = (GRADIENT_FLOW,)
CLAIM = GRADIENT_FLOW
SWEEPS = (("gradient_flow/cpu", "experiment=gradient_flow"),)
MINUTES = 15
ORDER = 10  # its place on the dashboard and in `make reproduce`

SPAN = CLAIM.params["span"]  # "vanish or explode": hidden layers' gradient norms differ by >= this factor
HEALTHY = CLAIM.params["healthy"]  # with a remedy: within this factor
TRAINS = CLAIM.params["trains"]  # train accuracy at least this after the budget (chance: 0.1): it trained


def _norms(record, depth):
    """Weight-gradient norms of the hidden-to-hidden layers (same shape, L02 .. L<depth>)."""
    return [record.get(M.grad_norm(i)) for i in range(2, depth + 1)]


def _span(norms):
    """max / min of the norms; nan (not measured) when fewer than 2 or any is not finite: a nan or inf
    norm is a broken record (or an overflow), never a measured vanishing or explosion."""
    norms = [n for n in norms if n is not None]
    if len(norms) < 2 or not all(np.isfinite(norms)):
        return float("nan")
    return float("inf") if min(norms) == 0 else max(norms) / min(norms)


def gradient_flow(runs, out):
    rows, profiles = [], {}
    for r in (r for r in runs if r.summary.get(S.STATUS) in ("completed", "diverged")):
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
                # at init only if the first record is step 1 (before any update)
                "span_at_init": _span(_norms(first, depth)) if first.get(M.STEP) == 1 else float("nan"),
                "span_at_end": _span(_norms(last, depth)),
                "first_layer_grad_at_init": first[M.grad_norm(1)],
                "last_layer_grad_at_init": first[M.grad_norm(depth + 1)],
                "train_acc": r.summary.get(S.TRAIN_ACC),
                "test_acc": r.summary.get(S.TEST_ACC),
                # a run that diverged did not train, whatever accuracy it had reached
                "trained": r.summary[S.STATUS] == "completed" and (r.summary.get(S.TRAIN_ACC) or 0) >= TRAINS,
            }
        )
        profiles[(depth, *key)] = [first.get(M.grad_norm(i)) for i in range(1, depth + 2)]
    rows.sort(key=lambda x: (x["activation"], x["batch_norm"], x["init"], x["depth"]))
    figures = [_figure(profiles, out)] if profiles else []
    tables = {"gradient_flow": rows, "verdicts": [_verdict(rows, figures[0].name if figures else "")]}
    return tables, figures


def _verdict(rows, figure):
    """By the declared test (CLAIMS above), at the largest depth: (a) with neither remedy (default init,
    no BatchNorm) the hidden layers' gradient norms at init span >= SPAN for some activation; (b)
    with BatchNorm they span < HEALTHY and the network trains, for every activation. (a) and (b) ->
    reproduced; (a) only -> partly; not (a) -> not reproduced; cells missing, or no measured span
    without a remedy -> inconclusive. The span is the gradient at init (step 1, before any update):
    a net that then fails to train cannot have made it, so the no-remedy nets count whether or not
    they train (not training is what vanishing gradients predict); the BatchNorm nets must train."""
    cells = Counter((r["depth"], r["activation"], r["batch_norm"], r["init"]) for r in rows)
    varied = (
        f"{len({c[0] for c in cells})} depths x {len({c[1] for c in cells})} activations x "
        f"{len({c[2:] for c in cells})} remedy settings (BatchNorm, init)"
    )
    if not rows:
        return verdict_row(CLAIM, "inconclusive", "no runs with gradient norms", replicates=0)
    deepest = max(r["depth"] for r in rows)
    bare = [r for r in rows if r["depth"] == deepest and not r["batch_norm"] and r["init"] == "default"]
    bn = [r for r in rows if r["depth"] == deepest and r["batch_norm"]]
    unremedied = {r["activation"] for r in bare} - {r["activation"] for r in bn}
    measured = [r for r in bare if not np.isnan(r["span_at_init"])]
    a = any(r["span_at_init"] >= SPAN for r in measured)
    b = all(r["span_at_init"] < HEALTHY and r["trained"] for r in bn)
    if not bare or not bn or unremedied or (not a and len(measured) < len(bare)):
        verdict = "inconclusive"
    else:
        verdict = "reproduced" if a and b else "partly" if a else "not reproduced"
    text = (
        f"depth {deepest}, no remedy: "
        + (", ".join(f"{r['activation']} span {r['span_at_init']:.3g}x{_trained(r)}" for r in bare) or "no runs")
        + "; with BatchNorm: "
        + (", ".join(f"{r['activation']}/{r['init']} {r['span_at_init']:.3g}x{_trained(r)}" for r in bn) or "no runs")
        + (f"; no BatchNorm run for {', '.join(sorted(unremedied))}" if unremedied else "")
    )
    return verdict_row(CLAIM, verdict, text, replicates=min(cells.values()), varied=varied, figure=figure)


def _trained(r):
    return "" if r["trained"] else " (did not train)"


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
