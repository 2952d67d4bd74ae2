"""Turn a sweep's runs into a claim's tables, figures and computed verdict:

    python -m harness.report SOURCE [SOURCE ...] [--out DIR | --publish [--force]] [--wandb-mode MODE]

SOURCE is a sweep dir (every run dir below it) or a run-records file (`runs.jsonl.gz`). Writes CSV +
Markdown tables, PNG figures, the validation-bound table (C4), `verdicts.csv` (each claim's verdict
by its declared test: the CLAIMS of `analysis/<experiment>.py`), `report.json` (runs, seeds, hardware,
wall time) and the run
records `runs.jsonl.gz`, from which the same command rebuilds byte-identical files without
training; prints the verdicts. Where: `--out DIR`; by default `<first sweep dir>/report` (or
`reports/<experiment>` from records alone), never the committed evidence. `--publish` updates
`experiments/<experiment>/` and refuses runs of another scale than the committed ones (smoke over
cpu) and a set that would drop committed runs (add the committed `runs.jsonl.gz` to the sources),
unless `--force`. Repeated runs (same resolved config) are counted once. Logs the tables and images
to W&B as one analysis run.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import sys
from pathlib import Path

from .. import rundir
from ..names import REPORT_FILES, S
from ..probes.bound import bound_rows
from . import analysis, records
from .claims import VERDICTS
from .records import Run, load  # noqa: F401  (Run: what the analyses receive)


def fmt(value) -> str:
    if isinstance(value, bool) or value is None:
        return "" if value is None else ("yes" if value else "no")
    if isinstance(value, float):
        return "" if value != value else f"{value:.6g}"  # nan (no interval from one seed): empty
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
    rundir.write_text(out / f"{name}.csv", buf.getvalue())
    md = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    md += ["| " + " | ".join(fmt(r.get(k)) for k in columns) + " |" for r in rows]
    rundir.write_text(out / f"{name}.md", "\n".join(md) + "\n")


def validation_bound_table(runs: list[Run], delta: float = 0.05):
    rows, selected = bound_rows(
        [
            {
                "name": r.label,
                "val_acc": r.summary.get(S.VAL_ACC),
                "test_acc": r.summary.get(S.TEST_ACC),
                "val_size": r.summary.get(S.VAL_SIZE),
            }
            for r in runs
            if r.summary.get(S.STATUS) == "completed"
        ],
        delta,
    )
    for row in rows:
        row["selected"] = row is selected
    return rows


def run_facts(runs: list[Run]) -> dict:
    """What the dashboard says about a report's runs: how many, seeds, scale, hardware, wall time."""
    machines = sorted({r.summary.get(S.DEVICE, "?") for r in runs})
    return {
        "runs": len(runs),
        "completed": sum(r.summary.get(S.STATUS) == "completed" for r in runs),
        "seeds": len({r.config.get("seed") for r in runs}),
        "scales": sorted({str(r.config.get("scale")) for r in runs}),
        "hardware": machines,
        "wall_time_s": round(sum(r.summary.get(S.WALL_TIME) or 0 for r in runs), 1),
        "torch_versions": sorted({str(r.summary.get(S.TORCH_VERSION)) for r in runs}),
        "commits": sorted({str(r.summary.get(S.GIT_COMMIT))[:8] for r in runs}),
    }


def check_verdicts(rows: list[dict], experiment: str) -> None:
    """Every verdict is one of the four words, for a claim its experiment module declares (CLAIMS)."""
    for row in rows:
        if row.get("verdict") not in VERDICTS:
            raise ValueError(f"verdict {row.get('verdict')!r} of {row.get('claim')!r} is not one of {VERDICTS}")
        claim = analysis.BY_NAME.get(row.get("claim"))
        if claim is None or claim.report != experiment:
            raise ValueError(f"claim {row.get('claim')!r} is not among the CLAIMS of analysis/{experiment}.py")


BEGIN, END = "<!-- computed:begin -->", "<!-- computed:end -->"


def computed_section(verdicts: list[dict], facts: dict) -> str:
    """The part of an experiment's README that the report writes: verdicts and run facts."""
    lines = [
        BEGIN,
        "<!-- written by `python -m harness.report` / `make report` from the run records: do not edit -->",
        "",
        f"Runs: {facts['runs']} ({facts['completed']} completed; {facts['repeats_dropped']} repeats dropped), "
        f"seeds: {facts['seeds']}, scale: {', '.join(facts['scales'])}, hardware: {'; '.join(facts['hardware'])}, "
        f"torch {', '.join(facts['torch_versions'])}, summed run wall time {facts['wall_time_s'] / 60:.1f} min. "
        "Records: [runs.jsonl.gz](runs.jsonl.gz).",
        "",
    ]
    for v in verdicts:
        lines += [
            f"**{v['claim']}: {v['verdict']}.** {v['measured']}.  ",
            f"Paper: {v['paper'] or '-'}. Criterion (fixed in the analysis code): {v['criterion']}.",
            "",
        ]
    return "\n".join(lines + [END])


def update_readme(out: Path, verdicts: list[dict], facts: dict) -> None:
    """Replace the computed section of <out>/README.md, if the README has one."""
    readme = out / "README.md"
    if not readme.is_file():
        return
    text = readme.read_text()
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        tail = rest.split(END, 1)[1]
        rundir.write_text(readme, head + computed_section(verdicts, facts) + tail)


def log_to_wandb(mode: str, where: Path, name: str, tables: dict, figures: list[Path], project: str) -> None:
    if mode == "disabled":
        return
    import wandb

    run = wandb.init(
        project=project,
        group=name,
        job_type="analysis",
        name=f"report-{name}",
        dir=str(where),
        mode=mode,
        config={"sources": str(where)},
    )
    try:
        for table_name, rows in tables.items():
            if rows:
                columns = list(rows[0])
                run.log(
                    {table_name: wandb.Table(columns=columns, data=[[fmt(r.get(c)) for c in columns] for r in rows])}
                )
        for fig in figures:
            run.log({fig.stem: wandb.Image(str(fig))})
    finally:
        run.finish()


def wandb_project(runs) -> str:
    """The W&B project the runs logged to (their config's logger.project), else $WANDB_PROJECT, else
    "harness": the analysis run lands beside the runs it analyses."""
    projects = {r.config.get("logger", {}).get("project") for r in runs} - {None}
    return sorted(projects)[0] if projects else os.environ.get("WANDB_PROJECT", "harness")


def default_out(sources, name: str) -> Path:
    """Beside the runs: `<first sweep dir>/report`, or `reports/<experiment>` from record files alone."""
    first_dir = next((Path(s) for s in sources if Path(s).is_dir()), None)
    return first_dir / "report" if first_dir else Path("reports") / name


def check_publish(runs: list[Run], folder: Path) -> None:
    """What --publish may not do to committed evidence: mix in runs of another scale, or drop runs."""
    committed = folder / records.RECORDS
    if not committed.is_file():
        return
    old = records.read_records(committed)
    scales = lambda rs: {str(r.config.get("scale")) for r in rs}  # noqa: E731
    if scales(runs) - scales(old):
        raise SystemExit(
            f"error: --publish would put {'/'.join(sorted(scales(runs) - scales(old)))}-scale runs into {folder}, "
            f"whose records are {'/'.join(sorted(scales(old)))}-scale; write elsewhere with --out, or --force"
        )
    missing = sorted({r.fingerprint for r in old} - {r.fingerprint for r in runs})
    if missing:
        raise SystemExit(
            f"error: --publish would drop {len(missing)} of the {len(old)} committed runs of {folder}; add "
            f"{committed} to the sources, or --force"
        )


def report(
    sources,
    out: Path | None = None,
    wandb_mode: str = "offline",
    project: str | None = None,
    publish: bool = False,
    force: bool = False,
) -> Path:
    from . import analysis

    sources = [sources] if isinstance(sources, (str, Path)) else list(sources)
    runs = load(sources)
    if not runs:
        raise SystemExit(
            f"error: no runs (run dirs with {rundir.SUMMARY}, or records) in {', '.join(map(str, sources))}"
        )
    names = sorted({r.config["name"] for r in runs})
    if len(names) != 1:
        raise SystemExit(f"error: a report covers one experiment; {', '.join(map(str, sources))} holds {names}")
    name = names[0]
    if name not in analysis.ANALYSES:
        raise SystemExit(f"error: no analysis for experiment {name!r}; known: {sorted(analysis.ANALYSES)}")
    for r in [r for r in runs if r.summary.get(S.STATUS) == "invalid"]:
        print(f"warning: run {r.job} was refused ({r.summary.get('error')}): left out", file=sys.stderr)
    runs = [r for r in runs if r.summary.get(S.STATUS) != "invalid"]
    runs, dropped = records.deduplicate(runs)
    for job, kept in dropped:
        print(f"warning: run {job} repeats run {kept} (same resolved config): counted once", file=sys.stderr)
    if publish:
        out = Path("experiments") / name
        if not force:
            check_publish(runs, out)
    out = Path(out or default_out(sources, name))
    out.mkdir(parents=True, exist_ok=True)
    tables, figures = analysis.ANALYSES[name](runs, out)
    tables.setdefault("validation_bound", validation_bound_table(runs))
    check_verdicts(tables.get("verdicts", []), name)
    for table_name, rows in tables.items():
        write_table(out, table_name, rows)
    facts = {
        "experiment": name,
        **run_facts(runs),
        "repeats_dropped": len(dropped),
        "figures": [f.name for f in figures],
    }
    rundir.write_json(out / REPORT_FILES.REPORT, facts)
    update_readme(out, tables.get("verdicts", []), facts)
    records.write_records(out / records.RECORDS, runs)
    where = sources[0] if Path(sources[0]).is_dir() else out
    log_to_wandb(wandb_mode, Path(where), name, tables, figures, project or wandb_project(runs))
    return out


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m harness.report", description=__doc__.split("\n")[0])
    p.add_argument("sources", type=Path, nargs="+", help="sweep dirs and/or runs.jsonl.gz record files")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--out", type=Path, default=None, help="default: <first sweep dir>/report")
    where.add_argument("--publish", action="store_true", help="update experiments/<experiment>/ (committed evidence)")
    p.add_argument("--force", action="store_true", help="with --publish: allow another scale, or dropping runs")
    p.add_argument("--wandb-mode", default="offline", choices=["online", "offline", "disabled"])
    p.add_argument(
        "--wandb-project", default=None, help="default: the runs' logger.project, else $WANDB_PROJECT, else harness"
    )
    args = p.parse_args(argv)
    out = report(args.sources, args.out, args.wandb_mode, args.wandb_project, args.publish, args.force)
    for v in (
        csv.DictReader(io.StringIO((out / REPORT_FILES.VERDICTS).read_text()))
        if (out / REPORT_FILES.VERDICTS).is_file()
        else []
    ):
        print(f"{v['claim']}: {v['verdict']} ({v['measured']})")
    print(f"report written to {out}")


if __name__ == "__main__":
    sys.exit(main())
