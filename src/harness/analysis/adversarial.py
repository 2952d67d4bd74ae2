"""Adversarial non-robustness (CLAIMS.md C2): accuracy vs eps, and the "panda"-style figure."""

from __future__ import annotations


import numpy as np

from .common import plt, save_figure

CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


def _victim(r):
    return r.config.get("victim") or r.config["model"]["name"]


def adversarial(runs, out):
    done = [r for r in runs if r.summary.get("status") == "completed" and r.summary.get("adversarial")]
    rows, figures = [], []
    for r in done:
        results = r.files[r.summary["adversarial"]]
        clean = next(x["accuracy"] for x in results if x["attack"] == "none")
        for x in results:
            if x["attack"] != "none":
                rows.append({"victim": _victim(r), "model": r.config["model"]["name"],
                             "split": r.config["adversarial"]["split"], "train_acc": r.summary["train_acc"],
                             "clean_acc": clean, "attack": x["attack"], "eps_255": x["eps_255"],
                             "accuracy": x["accuracy"], "images": x["images"]})
    tables = {"adversarial": rows}
    if rows:
        figures.append(_accuracy_figure(rows, out))
        figures.append(_panda_figure(done, out))
    return tables, figures


def _accuracy_figure(rows, out):
    fig, ax = plt.subplots(figsize=(6, 4))
    for i, victim in enumerate(dict.fromkeys(r["victim"] for r in rows)):
        for attack, ls in (("fgsm", "--"), ("pgd", "-")):
            sub = sorted((r for r in rows if r["victim"] == victim and r["attack"] == attack), key=lambda r: r["eps_255"])
            if sub:
                ax.plot([0] + [r["eps_255"] for r in sub], [sub[0]["clean_acc"]] + [r["accuracy"] for r in sub],
                        ls, marker="o", color=f"C{i}", label=f"{victim} ({sub[0]['split']}), {attack}")
    ax.set(xlabel="eps (x 1/255, L-inf, pixel units)", ylabel="accuracy", ylim=(0, 1))
    ax.legend(fontsize=7)
    return save_figure(fig, out / "accuracy_vs_eps.png")


def _panda_figure(runs, out):
    """One row per model: clean image, amplified perturbation, adversarial image."""
    fig, axes = plt.subplots(len(runs), 3, figsize=(7.5, 2.6 * len(runs)), squeeze=False)
    for row, r in zip(axes, runs):
        ex = {k: np.asarray(v) for k, v in r.files["adversarial_example.npz"].items()}
        clean, adv = ex["clean"].transpose(1, 2, 0), ex["adversarial"].transpose(1, 2, 0)
        delta = adv - clean
        amplified = 0.5 + delta / (2 * max(np.abs(delta).max(), 1e-12))  # to [0, 1], grey = no change
        label = ("training label: " if r.config["adversarial"]["split"] == "train" else "label: ") + CLASSES[int(ex["label"])]
        row[0].imshow(clean, interpolation="nearest")
        row[0].set_title(f"{_victim(r)}\n\"{CLASSES[int(ex['clean_pred'])]}\" {float(ex['clean_conf']):.0%}"
                         f" ({label})", fontsize=8)
        row[1].imshow(amplified, interpolation="nearest")
        row[1].set_title(f"+ {int(ex['eps_255'])}/255 x sign(grad)\n(amplified)", fontsize=8)
        row[2].imshow(adv, interpolation="nearest")
        row[2].set_title(f"= \"{CLASSES[int(ex['adv_pred'])]}\" {float(ex['adv_conf']):.0%}", fontsize=8)
        for ax in row:
            ax.axis("off")
    return save_figure(fig, out / "panda_figure.png")
