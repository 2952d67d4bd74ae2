"""Compare runs locally: what differs between them, against how they ended, and their curves.

    python -m harness.compare SOURCE [SOURCE ...] [--by KEY] [--metric test/acc] [--out FIGURE.png]

SOURCE is a sweep dir, a run dir or a run-records file (`runs.jsonl.gz`). Prints one row per
setting (the config keys whose values differ between the runs; seeds are aggregated: mean and t 95%
interval over them) with the final metrics, writes the same table as `compare.csv` and a figure
overlaying the curves of `metrics.jsonl` (mean over seeds), grouped by `--by` (default: every key that
differs), next to the first source. Printed at the end of every multirun by a Hydra callback
(`harness.callbacks.CompareAtTheEnd`, configs/config.yaml).
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

from .. import rundir
from ..names import REPORT_FILES, M, S
from . import records, stats

# where and how a run was logged, and what tells seeds apart: never a "setting"
IGNORED = ("seed", "name") + tuple(rundir.NOT_IDENTITY)
FINAL = (S.TRAIN_ACC, S.TEST_ACC, S.TEST_LOSS, S.GAP_ERR, S.STEPS, S.WALL_TIME)


def settings(runs) -> list[str]:
    """The config keys (dotted) whose values differ between the runs; seeds, keys that follow the
    seed one to one (a label draw per seed) and where a run was logged left out."""
    flats = [rundir.flat(rundir.identity(r.config, IGNORED)) for r in runs]
    seeds = [r.config.get("seed") for r in runs]
    keys = sorted({k for f in flats for k in f})
    differ = [k for k in keys if len({repr(f.get(k)) for f in flats}) > 1]

    def follows_seed(k):
        pairs = {(s, repr(f.get(k))) for s, f in zip(seeds, flats)}
        return len(pairs) == len(set(seeds)) == len({v for _, v in pairs})

    return [k for k in differ if not follows_seed(k)]


def _label(run, keys) -> str:
    f = rundir.flat(run.config)
    return " ".join(f"{k}={f.get(k)}" for k in keys) or "all runs"


def table(runs, keys) -> list[dict]:
    """One row per setting: seeds, and each final metric's mean with its t 95% interval over seeds."""
    groups = defaultdict(list)
    for r in runs:
        groups[_label(r, keys)].append(r)
    rows = []
    for label, group in groups.items():
        row = {"setting": label, "seeds": len(group)}
        for m in FINAL:
            c = stats.mean_ci([r.summary.get(m) for r in group])
            row[m], row[f"{m}_ci95"] = c["mean"], (c["low"], c["high"])
        rows.append(row)
    return rows


def _fmt(v) -> str:
    if isinstance(v, tuple):
        return "" if any(x != x for x in v) else f"[{v[0]:.4g}, {v[1]:.4g}]"
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def render(rows) -> str:
    """The table as aligned text: setting, seeds, then each metric with its interval."""
    cols = ["setting", "seeds"] + [c for m in FINAL for c in (m, f"{m}_ci95")]
    cells = [cols] + [[_fmt(r[c]) for c in cols] for r in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(cols))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip() for line in cells)


def overlay(runs, keys, metric: str, path: Path) -> Path:
    """The curves of `metric` against epochs, one line per setting (mean over its seeds)."""
    from .analysis.common import plt, save_figure

    groups = defaultdict(list)
    for r in runs:
        groups[_label(r, keys)].append({m[M.EPOCH]: m[metric] for m in r.metrics if metric in m and M.EPOCH in m})
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for label, curves in groups.items():
        epochs = sorted(set.intersection(*(set(c) for c in curves))) if curves else []
        if epochs:
            ax.plot(epochs, [np.mean([c[e] for c in curves]) for e in epochs], label=f"{label} ({len(curves)})")
    ax.set(xlabel="epoch", ylabel=metric, title=f"{metric}, mean over seeds (runs per line)")
    ax.legend(fontsize=7)
    return save_figure(fig, path)


def compare(sources, by: str | None = None, metric: str = M.TEST_ACC, out: Path | None = None) -> tuple[str, Path]:
    runs = [r for r in records.load(sources) if r.summary.get(S.STATUS) != "invalid"]
    if not runs:
        raise SystemExit(f"error: no runs (run dirs with {rundir.SUMMARY}) in {', '.join(map(str, sources))}")
    keys = settings(runs)
    if by is not None and by not in keys:
        raise SystemExit(f"error: --by {by}: not a setting that differs between these runs; they differ in {keys}")
    rows = table(runs, keys)
    first = Path(sources[0])
    folder = first if first.is_dir() else first.parent
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
    w.writeheader()
    w.writerows({k: _fmt(v) for k, v in r.items()} for r in rows)
    rundir.write_text(folder / REPORT_FILES.COMPARE, buf.getvalue())
    figure = overlay(runs, [by] if by else keys, metric, Path(out or folder / "compare.png"))
    return render(rows), figure


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m harness.compare", description=__doc__.split("\n")[0])
    p.add_argument("sources", type=Path, nargs="+", help="sweep dirs, run dirs and/or runs.jsonl.gz record files")
    p.add_argument("--by", default=None, help="group the curves by this config key (default: every key that differs)")
    p.add_argument("--metric", default=M.TEST_ACC, help="the curve to overlay (a metrics.jsonl key)")
    p.add_argument("--out", type=Path, default=None, help="the figure (default: compare.png next to the first source)")
    args = p.parse_args(argv)
    text, figure = compare(args.sources, args.by, args.metric, args.out)
    print(text)
    print(f"curves: {figure}")


if __name__ == "__main__":
    sys.exit(main())
