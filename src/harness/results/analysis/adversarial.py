"""Adversarial non-robustness (C2): accuracy vs eps, and the "panda"-style figure."""

from __future__ import annotations

from collections import Counter

import numpy as np

from ...names import FILES, S
from .. import stats
from ..claims import Claim
from .common import pct, plt, save_figure, verdict_row

# -- the experiment: its claims (declared before its deciding runs; docs/claims.md), the sweeps whose runs
# its report reads, and their expected minutes on the 2-core machine (`make reproduce`)
C2 = Claim(
    "C2 adversarial non-robustness",
    "Goodfellow, Shlens, Szegedy (ICLR 2015); the survey's Figure 1",
    "maxout net, eps 0.1: 87.15% error; standard CIFAR-10 nets fall to a small fraction under PGD 8/255",
    "small input perturbations flip the predictions of networks that generalize",
    "a true-label run counts when its clean accuracy's 95% lower bound is >= {min_clean:.0%} (2x chance: a network "
    "that generalizes; the random-label contrast never counts); it is flipped when the strongest PGD's accuracy at "
    "{eps_255}/255 has a 95% upper bound < {flipped:g} x clean accuracy's 95% lower bound (our threshold: the survey "
    "gives no number) and random sign noise of the same eps keeps >= {control:g} x clean accuracy (its 95% lower "
    "bound vs clean's upper bound; else the size, not the direction, flips). Every counted run flipped -> reproduced; "
    "some -> partly; none -> not reproduced; no run counts, or none flipped and a control not run -> inconclusive",
    "accuracy under attack below half the clean accuracy",
    "a seed (one trained victim)",
    "adversarial",
    {"eps_255": 8, "flipped": 0.5, "control": 0.8, "min_clean": 0.2},
)

CLAIMS = (C2,)
CLAIM = C2
SWEEPS = (("adversarial/cpu", "experiment=adversarial"),)
MINUTES = 60
ORDER = 5  # its place on the dashboard and in `make reproduce`

CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


def _victim(r):
    return r.config.get("row") or r.config["model"]["name"]


def _binomial(acc, n):
    """Wilson 95% interval of an accuracy measured on n images."""
    return stats.binomial_ci(round(acc * n), n)


def adversarial(runs, out):
    done = [r for r in runs if r.summary.get(S.STATUS) == "completed" and r.summary.get(S.ADVERSARIAL)]
    rows, figures = [], []
    for r in done:
        results = r.files[r.summary[S.ADVERSARIAL]]
        clean_row = next(x for x in results if x["attack"] == "none")
        clean, clean_ci = clean_row["accuracy"], _binomial(clean_row["accuracy"], clean_row["images"])
        for x in results:
            if x["attack"] != "none":
                lo, hi = _binomial(x["accuracy"], x["images"])
                rows.append(
                    {
                        "victim": _victim(r),
                        "seed": r.config.get("seed", 0),
                        "model": r.config["model"]["name"],
                        "split": r.config["adversarial"]["split"],
                        "true_labels": _true_labels(r),
                        "train_acc": r.summary[S.TRAIN_ACC],
                        "clean_acc": clean,
                        "clean_acc_ci95_low": clean_ci[0],
                        "clean_acc_ci95_high": clean_ci[1],
                        "attack": x["attack"],
                        "eps_255": x["eps_255"],
                        "accuracy": x["accuracy"],
                        "accuracy_ci95_low": lo,
                        "accuracy_ci95_high": hi,
                        "images": x["images"],
                    }
                )
    tables = {"adversarial": rows, "adversarial_by_victim": _by_victim(rows)}
    if rows:
        figures.append(_accuracy_figure(tables["adversarial_by_victim"], out))
        first = {}
        for r in done:  # one example per victim (its first seed)
            first.setdefault(_victim(r), r)
        figures.append(_panda_figure(list(first.values()), out))
    tables["verdicts"] = [_c2_verdict(rows, figures[0].name if figures else "")]
    return tables, figures


def _true_labels(r) -> bool:
    """Trained on the real labels and images (the survey's claim is about networks that generalize)."""
    data = r.config.get("data", {})
    return float(data.get("corruption_prob") or 0.0) == 0.0 and data.get("input_randomization", "none") == "none"


def _by_victim(rows):
    """Mean accuracy over a victim's seeds (runs) per attack and eps, with the seeds' range."""
    out = []
    for key in dict.fromkeys((r["victim"], r["split"], r["attack"], r["eps_255"]) for r in rows):
        sub = [r for r in rows if (r["victim"], r["split"], r["attack"], r["eps_255"]) == key]
        acc, clean = [r["accuracy"] for r in sub], [r["clean_acc"] for r in sub]
        out.append(
            {
                "victim": key[0],
                "split": key[1],
                "attack": key[2],
                "eps_255": key[3],
                "runs": len(sub),
                "clean_acc": float(np.mean(clean)),
                "accuracy": float(np.mean(acc)),
                "accuracy_min": min(acc),
                "accuracy_max": max(acc),
                "images": sub[0]["images"],
            }
        )
    return out


EPS_255 = CLAIM.params["eps_255"]  # the CIFAR-10 standard budget
FLIPPED = CLAIM.params["flipped"]  # the survey gives no number: PGD leaves at most this share of clean accuracy
CONTROL = CLAIM.params["control"]  # random sign noise of the same eps keeps at least this share
MIN_CLEAN = CLAIM.params["min_clean"]  # 2x chance: below it a victim does not "generalize", nothing to flip


def _evidence(r, noise):
    """What one true-label run (victim seed) says, both sides of every comparison at its conservative
    Wilson 95% bound: "near chance" (clean accuracy's lower bound < MIN_CLEAN: not a network that
    generalizes), "flipped" (PGD's upper bound < FLIPPED x clean's lower bound, and the noise control's
    lower bound >= CONTROL x clean's upper bound), "noise flips too" (the control fails: the size of the
    perturbation, not its direction, flips), "no control" (noise not run) or "not flipped"."""
    if r["clean_acc_ci95_low"] < MIN_CLEAN:
        return "near chance"
    if not r["accuracy_ci95_high"] < FLIPPED * r["clean_acc_ci95_low"]:
        return "not flipped"
    if noise is None:
        return "no control"
    return "flipped" if noise["accuracy_ci95_low"] >= CONTROL * r["clean_acc_ci95_high"] else "noise flips too"


def _c2_verdict(rows, figure):
    """C2 by its declared test (CLAIMS above): over the true-label runs that generalize (clean accuracy
    above 2x chance), the strongest PGD (pgd_strong where run, else pgd) at 8/255 flips every run ->
    reproduced; some -> partly; none -> not reproduced; no run that counts, or flipped only where
    the noise control was not run -> inconclusive. The random-label contrast victim never counts."""
    at_eps = [r for r in rows if r["true_labels"] and r["eps_255"] == EPS_255]
    by_run = {}  # per run (victim, seed): its strongest PGD (pgd_strong where run, else pgd) and the control
    for attack in ("pgd", "pgd_strong", "noise"):
        for r in (r for r in at_eps if r["attack"] == attack):
            by_run.setdefault((r["victim"], r["seed"]), {})["noise" if attack == "noise" else "pgd"] = r
    pgd = [x["pgd"] for x in by_run.values() if "pgd" in x]
    noise = {k: x["noise"] for k, x in by_run.items() if "noise" in x}
    states = [_evidence(r, noise.get((r["victim"], r["seed"]))) for r in pgd]
    counted = [(r, s) for r, s in zip(pgd, states) if s != "near chance"]
    per_victim = Counter(r["victim"] for r, _ in counted)
    varied = f"{len(per_victim)} victims: {', '.join(per_victim)}" if per_victim else ""
    shown = [s == "flipped" for _, s in counted]
    if all(shown) and counted:
        verdict = "reproduced"
    elif any(shown):
        verdict = "partly"
    elif counted and "no control" not in states:
        verdict = "not reproduced"
    else:
        verdict = "inconclusive"
    measured = "; ".join(_measured(r, noise.get((r["victim"], r["seed"])), s) for r, s in zip(pgd, states))
    if not pgd:
        measured = f"no true-label victim attacked by PGD at {EPS_255}/255"
    elif not counted:
        measured += f"; no run's clean accuracy is shown above {pct(MIN_CLEAN, 0)} (2x chance): nothing to flip"
    return verdict_row(
        CLAIM,
        verdict,
        measured,
        replicates=min(per_victim.values(), default=0),
        varied=varied,
        figure=figure,
    )


def _measured(r, noise, state):
    return (
        f"{r['victim']} seed {r['seed']}: clean {pct(r['clean_acc'])} [{pct(r['clean_acc_ci95_low'])}, "
        f"{pct(r['clean_acc_ci95_high'])}] -> {r['attack']} {pct(r['accuracy'])} [{pct(r['accuracy_ci95_low'])}, "
        f"{pct(r['accuracy_ci95_high'])}]"
        + (
            f", random sign noise {pct(noise['accuracy'])} [{pct(noise['accuracy_ci95_low'])}, "
            f"{pct(noise['accuracy_ci95_high'])}]"
            if noise
            else ""
        )
        + f" ({r['images']} images): {state}"
        + (" (not counted: not a network that generalizes)" if state == "near chance" else "")
    )


def _accuracy_figure(rows, out):
    fig, ax = plt.subplots(figsize=(6, 4))
    for i, victim in enumerate(dict.fromkeys(r["victim"] for r in rows)):
        for attack, ls in (("fgsm", "--"), ("pgd", "-"), ("pgd_strong", "-."), ("noise", ":")):
            sub = sorted(
                (r for r in rows if r["victim"] == victim and r["attack"] == attack), key=lambda r: r["eps_255"]
            )
            if sub:
                ax.plot(
                    [0] + [r["eps_255"] for r in sub],
                    [sub[0]["clean_acc"]] + [r["accuracy"] for r in sub],
                    ls,
                    marker="o",
                    color=f"C{i}",
                    label=f"{victim} ({sub[0]['split']}), {attack}",
                )
    ax.set(xlabel="eps (x 1/255, L-inf, pixel units)", ylabel="accuracy", ylim=(0, 1))
    ax.legend(fontsize=7)
    return save_figure(fig, out / "accuracy_vs_eps.png")


def _panda_figure(runs, out):
    """One row per model: clean image, amplified perturbation, adversarial image."""
    fig, axes = plt.subplots(len(runs), 3, figsize=(7.5, 2.6 * len(runs)), squeeze=False)
    for row, r in zip(axes, runs):
        ex = {k: np.asarray(v) for k, v in r.files[FILES.ADVERSARIAL_EXAMPLE].items()}
        clean, adv = ex["clean"].transpose(1, 2, 0), ex["adversarial"].transpose(1, 2, 0)
        delta = adv - clean
        amplified = 0.5 + delta / (2 * max(np.abs(delta).max(), 1e-12))  # to [0, 1], grey = no change
        label = ("training label: " if r.config["adversarial"]["split"] == "train" else "label: ") + CLASSES[
            int(ex["label"])
        ]
        row[0].imshow(clean, interpolation="nearest")
        row[0].set_title(
            f'{_victim(r)}\n"{CLASSES[int(ex["clean_pred"])]}" {float(ex["clean_conf"]):.0%} ({label})', fontsize=8
        )
        row[1].imshow(amplified, interpolation="nearest")
        row[1].set_title(f"+ {int(ex['eps_255'])}/255 x sign(grad)\n(amplified)", fontsize=8)
        row[2].imshow(adv, interpolation="nearest")
        row[2].set_title(f'= "{CLASSES[int(ex["adv_pred"])]}" {float(ex["adv_conf"]):.0%}', fontsize=8)
        for ax in row:
            ax.axis("off")
    return save_figure(fig, out / "panda_figure.png")
