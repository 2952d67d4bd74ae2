"""Smith & Le 2018 (docs/claims.md, C7): the optimal batch size grows with the learning rate, the
training-set size and 1/(1 - momentum).

Each line's law is tested as a log-log slope told apart from square-root scaling (CLAIMS below). B_opt ~
eps is decided by its confirmatory seeds alone (docs/confirmatory.md); the earlier seeds' eps line is
shown beside it as exploratory. The N, 1/(1-m) and equal-updates lines are fitted on all runs."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import NamedTuple

import numpy as np
from matplotlib.ticker import NullFormatter

from ...names import S
from .. import stats
from ..claims import SMITH_LE, Claim
from .common import plt, save_figure, verdict_row

# -- the experiment: its claims (declared before its deciding runs; docs/claims.md), the sweeps whose runs
# its report reads, and their expected minutes on the 2-core machine (`make reproduce`)
_C7_TEST = (
    "95% interval of the log-log slope of B_opt (union of the OLS t-interval over settings and a paired bootstrap "
    "over seeds) holds {linear:g} and excludes {sqrt:g} (square-root scaling) -> reproduced; excludes {linear:g} -> "
    "not reproduced; holds both -> inconclusive; optima on the grid's edge left out, fewer than {min_optima} "
    "bracketed optima -> inconclusive"
)

_C7 = dict(linear=1.0, sqrt=0.5, min_optima=3)

C7_EPS = Claim(
    "C7 B_opt ~ eps",
    SMITH_LE,
    "linear B_opt trends (log-log slope 1; Figure 5b)",
    "the optimal batch size grows linearly with the learning rate",
    _C7_TEST + "; decided by the confirmatory seeds {confirm_seeds} only (none in the records -> inconclusive); "
    "the other seeds' slope is exploratory and decides nothing",
    "slope 1, told apart from 0.5 (square-root scaling)",
    "a seed (its own init and order at every grid point)",
    "batch_lr_scaling",
    {**_C7, "confirm_seeds": (3, 4, 5, 6, 7, 8)},
    confirmatory="the eps grid with seeds 3-8; seeds 0-2 are exploratory",
)

C7_N = Claim(
    "C7 B_opt ~ N",
    SMITH_LE,
    "linear B_opt trends (log-log slope 1; Figure 6b)",
    "the optimal batch size grows linearly with the training-set size",
    _C7_TEST,
    "slope 1, told apart from 0.5",
    "a seed",
    "batch_lr_scaling",
    _C7,
)

C7_M = Claim(
    "C7 B_opt ~ 1/(1-m)",
    SMITH_LE,
    "linear B_opt trends (log-log slope 1; Figure 7b)",
    "the optimal batch size grows linearly with 1/(1 - momentum)",
    _C7_TEST,
    "slope 1, told apart from 0.5",
    "a seed",
    "batch_lr_scaling",
    _C7,
)

C7_N_UPDATES = Claim(
    "C7 B_opt ~ N at equal updates",
    "this project (a variant of Smith & Le's Figure 6b, not a claim of the paper)",
    "none: the paper trains each N to convergence",
    "at an equal budget of examples seen, the optimal batch size still grows linearly with N",
    _C7_TEST,
    "slope 1, told apart from 0.5",
    "a seed",
    "batch_lr_scaling",
    _C7,
)

CLAIMS = (
    C7_EPS,
    C7_N,
    C7_M,
    C7_N_UPDATES,
)
SWEEPS = (
    (
        "batch_lr_scaling/eps",
        "experiment=batch_lr_scaling seed=0,1,2 optimizer.lr=0.01,0.025,0.05,0.1,0.2 "
        "trainer.batch_size=16,32,64,128,256,512,1024,2048,4096",
    ),
    # the confirmatory set for B_opt ~ eps (docs/confirmatory.md): new seeds, the same grid
    (
        "batch_lr_scaling/eps_confirm",
        "experiment=batch_lr_scaling seed=3,4,5,6,7,8 optimizer.lr=0.01,0.025,0.05,0.1,0.2 "
        "trainer.batch_size=16,32,64,128,256,512,1024,2048,4096",
    ),
    # N = 10,000 and m = 0 come from the eps sweep; B = 16 is left out where the optimum is far above it
    (
        "batch_lr_scaling/n",
        "experiment=batch_lr_scaling seed=0,1,2 optimizer.lr=0.05 data.subset=2500,5000,20000 "
        "trainer.batch_size=32,64,128,256,512,1024,2048",
    ),
    (
        "batch_lr_scaling/m",
        "experiment=batch_lr_scaling seed=0,1,2 optimizer.lr=0.01 "
        "optimizer.momentum=0.5,0.9,0.95 trainer.batch_size=32,64,128,256,512,1024,2048",
    ),
    # B x N at equal updates: epochs x N = 100,000 examples (N = 10,000 x 10 epochs is in the eps sweep)
    *(
        (
            f"batch_lr_scaling/updates/n{n}",
            f"experiment=batch_lr_scaling seed=0,1,2 optimizer.lr=0.05 data.subset={n} "
            f"trainer.max_epochs={100_000 // n} trainer.batch_size=16,32,64,128,256,512,1024,2048",
        )
        for n in (2500, 5000, 20000)
    ),
)
MINUTES = 100
ORDER = 12  # its place on the dashboard and in `make reproduce`


def refine_optimum(log_b, acc) -> float:
    """log2 B at the maximum of acc(log2 B): the argmax, refined by the vertex of the parabola
    through it and its two neighbours (kept between them); the argmax itself at the grid's edge.
    The grid need not be regular: a missing (diverged) batch size is simply not in it."""
    i = int(np.argmax(acc))
    if i == 0 or i == len(acc) - 1:
        return float(log_b[i])
    a, b, _ = np.polyfit(log_b[i - 1 : i + 2], acc[i - 1 : i + 2], 2)
    if a >= 0:
        return float(log_b[i])
    return float(np.clip(-b / (2 * a), log_b[i - 1], log_b[i + 1]))


def b_opt_of(by_batch: dict[int, dict], seeds) -> tuple[float, bool] | None:
    """(B_opt, at the grid's edge) from {B: {seed: test accuracy}} using only `seeds` (a multiset:
    a bootstrap resample). Batch sizes with no run among those seeds (diverged, missing) are left
    out; None when fewer than 3 batch sizes remain."""
    batches, acc = [], []
    for b in sorted(by_batch):
        values = [by_batch[b][s] for s in seeds if s in by_batch[b]]
        if values:
            batches.append(b)
            acc.append(np.mean(values))
    if len(batches) < 3:
        return None
    i = int(np.argmax(acc))
    return float(2 ** refine_optimum(np.log2(batches), np.array(acc))), i in (0, len(acc) - 1)


def optimal_batch_size(by_batch: dict[int, dict], boots: int = 1000, seed: int = 0) -> dict:
    """B_opt of one setting with a percentile 95% interval from a bootstrap over seeds that keeps
    each seed's runs together across the batch sizes (a seed's whole row of the grid is resampled)."""
    seeds = sorted({s for runs in by_batch.values() for s in runs})
    point = b_opt_of(by_batch, seeds)
    if point is None:
        return {"b_opt": None, "at_grid_edge": None, "ci_low": None, "ci_high": None}
    ci = stats.cluster_bootstrap(
        lambda ss: (lambda o: o[0] if o else None)(b_opt_of(by_batch, ss)), seeds, n_boot=boots, seed=seed
    )
    return {"b_opt": point[0], "at_grid_edge": point[1], "ci_low": ci["low"], "ci_high": ci["high"]}


class Setting(NamedTuple):
    """What a B grid is swept at: learning rate, training-set size, momentum, epochs per run."""

    lr: float
    train_size: int
    momentum: float
    max_epochs: int | None

    def held(self, line: str) -> dict:
        """The values held fixed along a line of kind `line` (see LINES)."""
        fixed = {"lr": self.lr, "train_size": self.train_size, "momentum": self.momentum, "max_epochs": self.max_epochs}
        if line == "N at equal updates":
            # equal epochs x N = equal examples seen = equal updates at every B (None: budget unknown)
            examples = self.train_size * self.max_epochs if self.max_epochs is not None else None
            return {"lr": self.lr, "momentum": self.momentum, "examples": examples}
        return {k: v for k, v in fixed.items() if k != LINES[line][0]}


# the lines along which Smith & Le's law is tested: label -> (the variable, how it enters the law).
# "N" keeps the epochs fixed (the paper's protocol: a larger N also means more updates);
# "N at equal updates" keeps epochs x N fixed, the test of that confound (issue 12 item 6).
LINES = {
    "eps": ("lr", lambda s: s.lr),
    "N": ("train_size", lambda s: s.train_size),
    "1/(1-m)": ("momentum", lambda s: 1 / (1 - s.momentum)),
    "N at equal updates": ("train_size", lambda s: s.train_size),
}
BY_LINE = {"eps": C7_EPS, "N": C7_N, "1/(1-m)": C7_M, "N at equal updates": C7_N_UPDATES}
GRID_NAMES = {"eps": "lr", "N": "N", "1/(1-m)": "m", "N at equal updates": "N"}  # for the `varied` column
ALL_RUNS = "all runs"


class Basis(NamedTuple):
    """The runs some lines are fitted on: its label (a verdict's basis), its seeds, the line kinds."""

    label: str
    seeds: frozenset
    lines: tuple


def seeds_label(seeds) -> str:
    """'seeds 3-8' for consecutive seeds, else 'seeds 0, 2'."""
    s = sorted(seeds)
    if len(s) > 2 and s == list(range(s[0], s[-1] + 1)):
        return f"seeds {s[0]}-{s[-1]}"
    return ("seed " if len(s) == 1 else "seeds ") + ", ".join(map(str, s))


def _bases(seeds) -> list[Basis]:
    """B_opt ~ eps is decided by its confirmatory seeds alone (docs/confirmatory.md: the eps grid was
    looked at before they were declared); the other seeds' eps line is kept as exploratory. The N, m
    and equal-updates lines were not looked at twice: they are fitted on the other seeds, so the eps
    confirmatory runs (which share two of their settings) do not change them."""
    confirm = frozenset(C7_EPS.params["confirm_seeds"])
    explore = frozenset(seeds) - confirm
    bases = [Basis(seeds_label(confirm), confirm & frozenset(seeds), ("eps",))]
    if explore:
        bases.append(Basis(f"{seeds_label(explore)}, exploratory", explore, ("eps",)))
    return bases + [Basis(_others_label(seeds), explore or frozenset(seeds), ("N", "1/(1-m)", "N at equal updates"))]


def _others_label(seeds) -> str:
    """The basis of the N, m and equal-updates lines: the seeds outside the eps confirmatory set."""
    explore = frozenset(seeds) - frozenset(C7_EPS.params["confirm_seeds"])
    return seeds_label(explore) if explore else ALL_RUNS


def _restrict(groups, seeds) -> dict:
    """{Setting: {B: {seed: acc}}} with only `seeds`' runs; settings left with none are dropped."""
    out = {}
    for setting, by_batch in groups.items():
        kept = {b: {s: a for s, a in runs.items() if s in seeds} for b, runs in by_batch.items()}
        kept = {b: runs for b, runs in kept.items() if runs}
        if kept:
            out[setting] = kept
    return out


def _lines(groups) -> dict:
    """For each line kind: {held values (sorted items): [settings along it]} with >= 3 values of its variable."""
    out = {}
    for label, (variable, _) in LINES.items():
        lines = defaultdict(list)
        for setting in groups:
            held = setting.held(label)
            if held.get("examples", 0) is None:
                continue  # a record without its epoch budget cannot be placed on an equal-updates line
            lines[tuple(sorted(held.items()))].append(setting)
        out[label] = {k: sorted(v) for k, v in lines.items() if len({getattr(s, variable) for s in v}) >= 3}
    return out


def loglog_slope_of(groups, settings, x_of, seeds):
    """Slope of log B_opt on log x over the settings whose optimum the grid brackets; None if < 3."""
    pts = []
    for s in settings:
        o = b_opt_of(groups[s], seeds)
        if o is not None and not o[1]:
            pts.append((x_of(s), o[0]))
    if len({x for x, _ in pts}) < 3:
        return None
    return stats.slope_ci(*zip(*pts), log=True)["slope"]


def slope_verdict(low, high, linear: float, sqrt: float) -> str:
    """Proportional scaling (log-log slope `linear`) told apart from square-root scaling (`sqrt`), both
    ways: the 95% interval holds `linear` and excludes `sqrt` -> reproduced; excludes `linear` ->
    not reproduced (no growth, square-root growth, or faster); holds both -> inconclusive."""
    if low is None or not (np.isfinite(low) and np.isfinite(high)):
        return "inconclusive"
    if not low <= linear <= high:
        return "not reproduced"
    return "inconclusive" if low <= sqrt <= high else "reproduced"


def batch_lr_scaling(runs, out: Path):
    groups = defaultdict(lambda: defaultdict(dict))  # Setting -> B -> {seed: test acc}
    diverged = []  # (Setting, seed) of every diverged run: left out of its grid
    tried = defaultdict(set)  # Setting -> the batch sizes run, diverged or not (the grid as swept)
    for r in runs:
        tried[_setting(r)].add(r.config["trainer"]["batch_size"])
        if r.summary.get(S.STATUS) == "completed":
            groups[_setting(r)][r.config["trainer"]["batch_size"]][r.config["seed"]] = r.summary[S.TEST_ACC]
        if r.summary.get(S.STATUS) == "diverged":
            diverged.append((_setting(r), r.config["seed"]))
    seeds = sorted({r.config["seed"] for r in runs})
    optima, fits, b_opt_rows = {}, [], []  # optima: basis label -> {Setting: its row of b_opt.csv}
    for basis in _bases(seeds):
        sub = _restrict(groups, basis.seeds)
        lines = _lines(sub)
        optima[basis.label] = _optima({s: by_batch for s, by_batch in sub.items() if _shown(s, basis, lines)})
        fits += [
            _fit(label, dict(held), settings, sub, optima[basis.label], basis, (diverged, tried))
            for label in basis.lines
            for held, settings in sorted(lines[label].items(), key=lambda kv: str(kv[0]))
        ]
        b_opt_rows += [{"basis": basis.label, **row} for row in optima[basis.label].values()]
    fits = [f for f in fits if f is not None]
    figures = [_heat_map(groups, out), _optimum_plots(optima, fits, out), _collapse(runs, out)]
    verdicts = [_verdict(label, [f for f in fits if f["b_opt_vs"] == label], seeds) for label in BY_LINE]
    return {"b_opt": b_opt_rows, "b_opt_fits": fits, "verdicts": verdicts}, [f for f in figures if f is not None]


def _optima(groups) -> dict:
    """{Setting: its row of b_opt.csv} for the settings whose grid gives a B_opt."""
    optima = {}
    for setting, by_batch in sorted(groups.items(), key=lambda kv: _order(kv[0])):
        o = optimal_batch_size(by_batch)
        if o["b_opt"] is None:
            continue
        best = max(by_batch, key=lambda b: np.mean(list(by_batch[b].values())))
        optima[setting] = {
            **setting._asdict(),
            "batch_sizes": len(by_batch),
            "seeds": min(len(v) for v in by_batch.values()),
            "b_opt": o["b_opt"],
            "b_opt_ci95_low": o["ci_low"],
            "b_opt_ci95_high": o["ci_high"],
            "b_argmax": best,
            "best_test_acc": float(np.mean(list(by_batch[best].values()))),
            # the maximum sits on the smallest/largest B tried: B_opt is only a bound there
            "at_grid_edge": o["at_grid_edge"],
        }
    return optima


def _on_a_line(setting, lines, kinds) -> bool:
    return any(setting in settings for kind in kinds for settings in lines[kind].values())


def _shown(setting, basis, lines) -> bool:
    """Whether a basis's B_opt of a setting goes in b_opt.csv: the settings on its lines, and under
    the N lines' basis also those on no line at all (so every setting is listed once at least)."""
    on_no_line = not _on_a_line(setting, lines, LINES)
    return _on_a_line(setting, lines, basis.lines) or ("N" in basis.lines and on_no_line)


def _fit(label, held, settings, groups, optima, basis, swept) -> dict | None:
    """The log-log slope of B_opt along one line on one basis's runs, with the union of its OLS interval
    over the settings and a paired bootstrap over seeds; None with too few bracketed optima.
    `swept`: the diverged runs' (Setting, seed) and each setting's batch sizes as swept."""
    claim, x_of = BY_LINE[label], LINES[label][1]
    diverged, tried = swept
    bracketed = [s for s in settings if s in optima and not optima[s]["at_grid_edge"]]
    if len(bracketed) < claim.params["min_optima"]:
        return None
    ols = stats.slope_ci([x_of(s) for s in bracketed], [optima[s]["b_opt"] for s in bracketed], log=True)
    line_seeds = sorted({seed for s in settings for runs in groups[s].values() for seed in runs})
    boot = stats.cluster_bootstrap(lambda ss: loglog_slope_of(groups, settings, x_of, ss), line_seeds, n_boot=1000)
    low, high = min(ols["low"], boot["low"]), max(ols["high"], boot["high"])
    grid = sorted(len(tried[s]) for s in settings)
    return {
        "basis": basis.label,
        "b_opt_vs": label,
        **{k: held.get(k) for k in ("lr", "train_size", "momentum", "max_epochs", "examples")},
        "settings": len(settings),
        "batch_sizes": f"{grid[0]}" if grid[0] == grid[-1] else f"{grid[0]}-{grid[-1]}",
        # the independent replicates behind every point of the line (a setting shared with another sweep may have more)
        "seeds": min(len({seed for runs in groups[s].values() for seed in runs}) for s in settings),
        "diverged": sum(s in settings and seed in basis.seeds for s, seed in diverged),
        "points": len(bracketed),
        "loglog_slope": ols["slope"],
        "ols_ci95_low": ols["low"],
        "ols_ci95_high": ols["high"],
        "seed_bootstrap_ci95_low": boot["low"],
        "seed_bootstrap_ci95_high": boot["high"],
        "ci95_low": low,
        "ci95_high": high,
        "r2_loglog": ols["r2"],
        "verdict": slope_verdict(low, high, claim.params["linear"], claim.params["sqrt"]),
    }


def _deciding_basis(label, seeds) -> str:
    return seeds_label(C7_EPS.params["confirm_seeds"]) if label == "eps" else _others_label(seeds)


def _slope_text(fit) -> str:
    left_out = f" ({fit['diverged']} diverged runs left out)" if fit["diverged"] else ""
    return (
        f"log-log slope {fit['loglog_slope']:.2f} [{fit['ci95_low']:.2f}, {fit['ci95_high']:.2f}] over "
        f"{fit['points']} bracketed optima{left_out}"
    )


def _verdict(label, fits, seeds) -> dict:
    """A line's verdict from its deciding basis (its longest line there); the eps line's exploratory
    fit is shown beside it and decides nothing."""
    claim, basis = BY_LINE[label], _deciding_basis(label, seeds)
    longest = {
        b: max((f for f in fits if f["basis"] == b), key=lambda f: f["points"])
        for b in dict.fromkeys(f["basis"] for f in fits)
    }
    aside = "".join(f"; {b}: {_slope_text(f)}" for b, f in longest.items() if b != basis)
    line = longest.get(basis)
    if line is None:
        used = set(seeds) & set(C7_EPS.params["confirm_seeds"]) if label == "eps" else set(seeds)
        why = (
            f"fewer than {claim.params['min_optima']} bracketed optima on any line"
            if used
            else f"the confirmatory set ({basis}) is not in the records yet"
        )
        figure = "b_opt_fits.png" if longest else ""
        return verdict_row(claim, "inconclusive", why + aside, replicates=len(used), figure=figure, basis=basis)
    varied = f"{line['settings']} {GRID_NAMES[label]} x {line['batch_sizes']} B"
    if label == "N":
        varied += f", {line['max_epochs']} epochs"
    if label == "N at equal updates":
        varied += f", {line['examples']:,} examples"
    measured = (f"{basis}: " if basis != ALL_RUNS else "") + _slope_text(line) + aside
    return verdict_row(
        claim,
        line["verdict"],
        measured,
        replicates=line["seeds"],
        varied=varied,
        figure="b_opt_fits.png",
        basis=basis,
    )


def _setting(run) -> Setting:
    c = run.config
    epochs = c["trainer"].get("max_epochs")
    return Setting(c["optimizer"]["lr"], run.summary[S.TRAIN_SIZE], c["optimizer"]["momentum"], epochs)


def _order(setting: Setting):
    """Sort key that tolerates a missing epoch budget (old or fake records)."""
    return (setting.lr, setting.train_size, setting.momentum, setting.max_epochs or 0)


def _heat_map(groups, out):
    keys = list(groups)
    if not keys:
        return None
    rest = max((k[1:] for k in keys), key=lambda r: sum(k[1:] == r for k in keys))  # most common (N, m, epochs)
    lrs = sorted({k.lr for k in keys if k[1:] == rest})
    batches = sorted({b for k in keys if k[1:] == rest for b in groups[k]})
    grid = np.full((len(lrs), len(batches)), np.nan)
    for i, eps in enumerate(lrs):
        for j, b in enumerate(batches):
            if groups[Setting(eps, *rest)].get(b):
                grid[i, j] = np.mean(list(groups[Setting(eps, *rest)][b].values()))
    fig, ax = plt.subplots(figsize=(6, 3.8))
    im = ax.imshow(grid, origin="lower", aspect="auto", cmap="viridis")
    ax.set_xticks(range(len(batches)), [str(b) for b in batches])
    ax.set_yticks(range(len(lrs)), [f"{e:g}" for e in lrs])
    ax.set(xlabel="batch size B", ylabel="learning rate eps", title=f"test accuracy (N={rest[0]}, m={rest[1]})")
    fig.colorbar(im)
    return save_figure(fig, out / "heatmap_test_acc.png")


# one panel per variable; both kinds of N line share the N panel
PANELS = (("eps", ("eps",)), ("N", ("N", "N at equal updates")), ("1/(1-m)", ("1/(1-m)",)))


def _optimum_plots(optima, fits, out):
    """B_opt (95% seed-bootstrap interval) against each variable, log-log, with the fitted slope
    and the proportional law through the first point for comparison. `optima`: basis -> {Setting: row}."""
    if not any(optima.values()):
        return None
    fig, axes = plt.subplots(1, len(PANELS), figsize=(12, 3.6))
    for ax, (xlabel, labels) in zip(axes, PANELS):
        for fit in (f for f in fits if f["b_opt_vs"] in labels):
            label, x_of, basis_optima = fit["b_opt_vs"], LINES[fit["b_opt_vs"]][1], optima[fit["basis"]]
            on_line = [
                s
                for s, o in basis_optima.items()
                if not o["at_grid_edge"] and all(fit[k] == v for k, v in s.held(label).items())
            ]
            xs = np.array([x_of(s) for s in on_line])
            ys = np.array([basis_optima[s]["b_opt"] for s in on_line])
            err = np.array(
                [
                    [y - (basis_optima[s]["b_opt_ci95_low"] or y) for y, s in zip(ys, on_line)],
                    [(basis_optima[s]["b_opt_ci95_high"] or y) - y for y, s in zip(ys, on_line)],
                ]
            )
            bars = ax.errorbar(xs, ys, yerr=np.clip(err, 0, None), fmt="o", capsize=3)
            grid = np.geomspace(xs.min(), xs.max(), 20)
            c = np.exp(np.mean(np.log(ys) - fit["loglog_slope"] * np.log(xs)))
            # the eps line is fitted on two bases (confirmatory, exploratory): say which
            prefix = {"N at equal updates": "equal updates: ", "N": "equal epochs: ", "eps": f"{fit['basis']}: "}
            kind = prefix.get(label, "")
            ax.plot(
                grid,
                c * grid ** fit["loglog_slope"],
                "--",
                color=bars[0].get_color(),
                label=f"{kind}slope {fit['loglog_slope']:.2f} [{fit['ci95_low']:.2f}, {fit['ci95_high']:.2f}]",
            )
            ax.plot(grid, ys[0] * grid / xs[0], ":", color="grey")
        if ax.get_legend_handles_labels()[0]:
            ax.plot([], [], ":", color="grey", label="proportional")
            ax.legend(fontsize=7)
        ax.set(xscale="log", yscale="log", xlabel=xlabel, ylabel="B_opt", title=f"B_opt vs {xlabel}")
        ax.xaxis.set_minor_formatter(NullFormatter())  # minor labels overlap on a short log axis
    return save_figure(fig, out / "b_opt_fits.png")


def _collapse(runs, out):
    pts = [
        (r.summary[S.NOISE_SCALE], r.summary[S.TEST_ACC])
        for r in runs
        if r.summary.get(S.STATUS) == "completed" and r.summary.get(S.NOISE_SCALE)
    ]
    if not pts:
        return None
    fig, ax = plt.subplots(figsize=(5, 3.6))
    ax.scatter(*zip(*pts), s=12)
    ax.set(
        xscale="log",
        xlabel="noise scale g = eps (N/B - 1) / (1 - m)",
        ylabel="test accuracy",
        title="test accuracy vs noise scale",
    )
    return save_figure(fig, out / "test_acc_vs_noise_scale.png")
