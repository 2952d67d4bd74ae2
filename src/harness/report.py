"""Turn a sweep's run dirs into a claim's tables and figures:

    python -m harness.report <sweep dir> [--out experiments/<name>] [--wandb-mode offline|online|disabled]

Writes CSV + Markdown tables and PNG figures into the experiment's folder (the same files for the
same run dirs), with the validation-bound table (CLAIMS.md C4) in every report, and logs them to
W&B as one analysis run per sweep (tables and images).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from dataclasses import dataclass
from pathlib import Path

from omegaconf import OmegaConf

from . import rundir
from .bound import bound_rows


@dataclass
class Run:
    dir: Path
    config: dict
    summary: dict
    metrics: list

    @property
    def label(self) -> str:
        """The job's own overrides (what distinguishes it within its sweep), else its folder name."""
        overrides = self.dir / ".hydra" / "overrides.yaml"
        if overrides.is_file():
            own = [o for o in OmegaConf.load(overrides) if not o.startswith(("experiment=", "hydra."))]
            if own:
                return " ".join(own)
        return self.dir.name


def load_runs(sweep_dir: Path) -> list[Run]:
    """Every run dir under sweep_dir (any depth) that has a summary; sorted by job number."""
    runs = []
    for summary in Path(sweep_dir).rglob(rundir.SUMMARY):
        d = summary.parent
        cfg = OmegaConf.to_container(OmegaConf.load(d / rundir.CONFIG))
        runs.append(Run(d, cfg, json.loads(summary.read_text()), rundir.read_metrics(d)))
    key = lambda r: (int(r.dir.name) if r.dir.name.isdigit() else 10**9, str(r.dir))
    return sorted(runs, key=key)


def fmt(value) -> str:
    if isinstance(value, bool) or value is None:
        return "" if value is None else ("yes" if value else "no")
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def write_table(out: Path, name: str, rows: list[dict]) -> None:
    """<name>.csv and <name>.md, columns in the order of the first row."""
    if not rows:
        return
    columns = list(rows[0])
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    w.writeheader()
    w.writerows({k: fmt(r.get(k)) for k in columns} for r in rows)
    (out / f"{name}.csv").write_text(buf.getvalue())
    md = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    md += ["| " + " | ".join(fmt(r.get(k)) for k in columns) + " |" for r in rows]
    (out / f"{name}.md").write_text("\n".join(md) + "\n")


def validation_bound_table(runs: list[Run], delta: float = 0.05):
    rows, selected = bound_rows([{"name": r.label, "val_acc": r.summary.get("val_acc"),
                                  "test_acc": r.summary.get("test_acc"), "val_size": r.summary.get("data_val_size")}
                                 for r in runs if r.summary.get("status") == "completed"], delta)
    for row in rows:
        row["selected"] = row is selected
    return rows


def log_to_wandb(mode: str, sweep_dir: Path, name: str, tables: dict, figures: list[Path]) -> None:
    if mode == "disabled":
        return
    import wandb

    run = wandb.init(project="harness", group=name, job_type="analysis", name=f"report-{Path(sweep_dir).name}",
                     dir=str(sweep_dir), mode=mode, config={"sweep_dir": str(sweep_dir)})
    try:
        for table_name, rows in tables.items():
            if rows:
                columns = list(rows[0])
                run.log({table_name: wandb.Table(columns=columns, data=[[fmt(r.get(c)) for c in columns] for r in rows])})
        for fig in figures:
            run.log({fig.stem: wandb.Image(str(fig))})
    finally:
        run.finish()


def report(sweep_dir: Path, out: Path | None = None, wandb_mode: str = "offline") -> Path:
    from . import analysis

    runs = load_runs(sweep_dir)
    if not runs:
        raise SystemExit(f"error: no run dirs with {rundir.SUMMARY} under {sweep_dir}")
    names = sorted({r.config["name"] for r in runs})
    if len(names) != 1:
        raise SystemExit(f"error: a report covers one experiment; {sweep_dir} holds {names}")
    name = names[0]
    if name not in analysis.ANALYSES:
        raise SystemExit(f"error: no analysis for experiment {name!r}; known: {sorted(analysis.ANALYSES)}")
    out = Path(out or Path("experiments") / name)
    out.mkdir(parents=True, exist_ok=True)
    tables, figures = analysis.ANALYSES[name](runs, out)
    tables["validation_bound"] = validation_bound_table(runs)
    for table_name, rows in tables.items():
        write_table(out, table_name, rows)
    log_to_wandb(wandb_mode, Path(sweep_dir), name, tables, figures)
    return out


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m harness.report", description=__doc__.split("\n")[0])
    p.add_argument("sweep_dir", type=Path)
    p.add_argument("--out", type=Path, default=None, help="default: experiments/<experiment name>")
    p.add_argument("--wandb-mode", default="offline", choices=["online", "offline", "disabled"])
    args = p.parse_args(argv)
    out = report(args.sweep_dir, args.out, args.wandb_mode)
    print(f"report written to {out}")


if __name__ == "__main__":
    sys.exit(main())
