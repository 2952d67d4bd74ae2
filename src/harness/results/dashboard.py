"""The claims dashboard: one row per claim, from each report's computed verdicts.

    python -m harness.dashboard [--root experiments] [--rebuild]

Reads `experiments/<name>/verdicts.csv` and `report.json` for every report of the reproduction
plan (`results.plan.PLAN`), one row per claim its experiment module declares (`analysis.CLAIMS`), and writes
`experiments/README.md`, `experiments/claims.csv` and the claims spec `docs/claims.md`. A claim
whose report has no committed run records is listed as "not computed", never with a verdict. A
committed re-run (`<name>/rerun_*/`) shows beside the verdict it re-ran, and a claim whose verdict
differs between the two on the same basis is at most "partly". A claim that `needs` another (C5's
curvature and the pre-screen experiment) gets the combination of the two (`claims.combine`).
`--rebuild` first rebuilds every report, and every re-run's verdicts, from their committed records
(`runs.jsonl.gz`), with no training: `make report`.
"""

from __future__ import annotations

import argparse
import csv
import io
import shutil
import sys
import tempfile
from pathlib import Path

from .. import rundir
from ..names import REPORT_FILES
from . import analysis, claims, records
from .plan import PLAN, command

GOAL_HOURS = 4  # issue 12: `make reproduce` of the whole set on the 2-core machine

COLUMNS = [
    "claim",
    "source",
    "paper",
    "measured",
    "replicates",
    "varied",
    "runs",
    "scale",
    "hardware",
    "wall_time_min",
    "verdict",
    "criterion",
    "figure",
    "report",
    "command",
]


def _read_csv(path: Path) -> list[dict]:
    return list(csv.DictReader(io.StringIO(path.read_text()))) if path.is_file() else []


def rows(root: Path) -> list[dict]:
    out = []
    for rep in PLAN:
        folder = root / rep.name
        facts = rundir.read_json(folder / REPORT_FILES.REPORT) if (folder / records.RECORDS).is_file() else None
        verdicts = {v["claim"]: v for v in _read_csv(folder / REPORT_FILES.VERDICTS)} if facts else {}
        for claim in analysis.of_report(rep.name):
            v = verdicts.get(claim.name)
            base = {
                "claim": claim.name,
                "source": claim.source,
                "paper": claim.paper,
                "criterion": claim.criterion,
                "report": f"{rep.name}/README.md",
                "command": command(rep),
            }
            if v is None:
                why = "no run records committed" if facts is None else "its analysis computes no verdict yet"
                out.append({**base, "verdict": "not computed", "measured": f"({why})"})
                continue
            row = {
                **base,
                **{k: v.get(k, "") for k in ("measured", "replicates", "varied", "verdict")},
                "figure": f"{rep.name}/{v['figure']}" if v.get("figure") else "",
                "runs": facts["runs"],
                "scale": ", ".join(facts["scales"]),
                "hardware": "; ".join(facts["hardware"]),
                "wall_time_min": f"{facts['wall_time_s'] / 60:.1f}",
            }
            out.append(_with_reruns(row, v, folder))
    return _combined(out)


def _with_reruns(row: dict, v: dict, folder: Path) -> dict:
    """A committed re-run's verdict beside the claim's; on the same basis, a different word caps the
    claim at "partly" (a verdict that flips when the same runs are made again is not robust)."""
    for rerun in sorted(p.parent for p in folder.glob("rerun_*/verdicts.csv")):
        again = next((r for r in _read_csv(rerun / REPORT_FILES.VERDICTS) if r["claim"] == row["claim"]), None)
        if again is None:
            continue
        # comparable only on the same basis, and only when the re-run holds runs of it (a re-run of the
        # exploratory seeds says nothing about the confirmatory set's verdict)
        same_basis = (
            again.get("basis", "all runs") == v.get("basis", "all runs") and (again.get("replicates") or "0") != "0"
        )
        row["measured"] += f"; re-run ({rerun.name}, {again.get('basis') or 'all runs'}): {again['verdict']}"
        if same_basis and again["verdict"] != row["verdict"] and claims.RANK[row["verdict"]] > claims.RANK["partly"]:
            row["verdict"] = "partly"
            row["measured"] += " (the verdicts differ: at most partly)"
    return row


def _combined(table: list[dict]) -> list[dict]:
    """Claims that need another claim's evidence too: their verdict is the combination of the two."""
    by_name = {r["claim"]: r for r in table}
    for r in table:
        needed = by_name.get(analysis.BY_NAME[r["claim"]].needs)
        if needed is None or r["verdict"] == "not computed" or needed["verdict"] == "not computed":
            continue
        own = r["verdict"]
        r["verdict"] = claims.combine(own, needed["verdict"])
        r["measured"] += f"; on its own: {own}; with the prospective test ({needed['claim']}): {needed['verdict']}"
    return table


def _cell(text) -> str:
    return str(text if text is not None else "").replace("|", "\\|").replace("\n", " ")


def markdown(table: list[dict], root: Path | None = None) -> str:
    lines = [
        "# Claims dashboard",
        "",
        "Generated by `make report` (`python -m harness.dashboard --rebuild`) from each report's committed",
        "run records (`<report>/runs.jsonl.gz`): every verdict below is computed by the report's analysis",
        "by the test declared for its claim in its experiment's module (`src/harness/results/analysis/`)",
        "before the deciding runs were read",
        "([docs/claims.md](../docs/claims.md), [docs/confirmatory.md](../docs/confirmatory.md)), not written",
        "by hand. Machine-readable: [claims.csv](claims.csv).",
        "Rows marked *not computed* have no committed run records yet; their reports' older text is",
        "not evidence.",
        "",
        "Replicates: independent seeds (each with its own init, order and, where labels are randomized, label",
        "draw); what else varied within a claim's runs is in its own column. The claims, their tests and the",
        "papers' numbers: [docs/claims.md](../docs/claims.md).",
        "",
        "| claim | paper | measured (interval) | replicates | also varied | runs | scale | hardware | wall time (min) "
        "| verdict | figure |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in table:
        fig = f'<a href="{r["figure"]}"><img src="{r["figure"]}" width="160"></a>' if r.get("figure") else ""
        verdict = f"**{r['verdict']}**" if r["verdict"] != "not computed" else "*not computed*"
        lines.append(
            "| "
            + " | ".join(
                _cell(x)
                for x in (
                    f"[{r['claim']}]({r['report']})"
                    + (" (this project's test)" if r["source"].startswith("this") else ""),
                    r.get("paper"),
                    r.get("measured"),
                    r.get("replicates"),
                    r.get("varied"),
                    r.get("runs"),
                    r.get("scale"),
                    r.get("hardware"),
                    r.get("wall_time_min"),
                    verdict,
                    fig,
                )
            )
            + " |"
        )
    lines += ["", *cost(table, root), "", "## Criteria and commands", ""]
    for r in table:
        lines.append(f"- **{r['claim']}**: {r.get('criterion') or 'no verdict computed'}.  ")
        lines.append(f"  `{r['command']}`")
    return "\n".join(lines) + "\n"


def cost(table: list[dict], root: Path | None = None) -> list[str]:
    """What the whole cpu-scale set costs: the committed runs' summed wall time, the plan's
    estimate, and the measured end-to-end `make reproduce` when one has finished (reproduce.json)."""
    per_report = {r["report"]: float(r["wall_time_min"]) for r in table if r.get("wall_time_min")}
    planned = sum(r.minutes for r in PLAN) / 60
    lines = [
        "## What the whole set costs",
        "",
        f"- Summed wall time of the committed runs: **{sum(per_report.values()) / 60:.1f} h** over "
        f"{len(per_report)} reports (each run's own wall time; the runs used 1 torch thread each, several at "
        "once on the 2-core machine, so this is not the time of one end-to-end run).",
        f"- The plan's estimate for `make reproduce` (one sweep at a time, the machine to itself): {planned:.1f} h "
        f"(goal: under {GOAL_HOURS} h).",
    ]
    measured = rundir.read_json(root / REPORT_FILES.REPRODUCE) if root else None
    if not measured:
        return [*lines, "- Measured end to end: not yet (no `make reproduce` of the whole set has finished)."]
    if measured.get("complete", True):  # (files before partial saves had no "complete")
        lines.append(
            f"- Measured end to end: **{measured['minutes'] / 60:.1f} h** ({measured['machine']}, finished "
            f"{measured.get('finished') or measured['updated']}): the {GOAL_HOURS}-hour goal is "
            f"{'met' if measured['minutes'] < GOAL_HOURS * 60 else 'not met'}."
        )
    else:
        lines.append(
            f"- Measured end to end, in progress: **{measured['minutes'] / 60:.1f} h** for the first "
            f"{measured['reports_done']} of {measured['reports_total']} reports ({measured['machine']}, "
            f"{measured['updated']}); the rest by the plan scaled by the pace so far: about "
            f"{measured['minutes_left_estimate'] / 60:.1f} h more."
        )
    if measured.get("note"):
        lines.append(f"  {measured['note']}")
    return lines


def write(root: Path) -> list[dict]:
    table = rows(root)
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n", extrasaction="ignore")
    w.writeheader()
    w.writerows(table)
    rundir.write_text(root / REPORT_FILES.CLAIMS, buf.getvalue())
    rundir.write_text(root / "README.md", markdown(table, root))
    return table


def rebuild(root: Path) -> None:
    """Every report from its committed records, no training (the W&B analysis run is skipped), and
    every committed re-run's verdicts (`rerun_*/verdicts.csv`, the rest of its report left out)."""
    from .report import report

    for rep in PLAN:
        rec = root / rep.name / records.RECORDS
        if rec.is_file():
            print(f"rebuilding {rep.name} from {rec}", flush=True)
            report([rec], root / rep.name, wandb_mode="disabled")
        for rerun in sorted(p.parent for p in (root / rep.name).glob(f"rerun_*/{records.RECORDS}")):
            print(f"rebuilding the verdicts of {rerun}", flush=True)
            with tempfile.TemporaryDirectory() as tmp:
                report([rerun / records.RECORDS], Path(tmp), wandb_mode="disabled")
                for name in (REPORT_FILES.VERDICTS, "verdicts.md"):
                    shutil.copyfile(Path(tmp) / name, rerun / name)


def claims_spec() -> str:
    """docs/claims.md: every declared claim, its paper, test and replicate unit (from the experiment modules)."""
    lines = [
        "# The claims",
        "",
        "Generated by `make report` from the claims each experiment module declares",
        "(`src/harness/results/analysis/<experiment>.py`, `CLAIMS`): edit those, not",
        "this file. Each claim: the paper and its number, the claim in words, the test that gives the",
        "verdict (fixed before the data is read), the effect or range the claim implies, what counts as",
        "one independent replicate, and the report whose records decide it. Confirmatory run sets are",
        "described in [confirmatory.md](confirmatory.md); the verdicts are on the",
        "[claims dashboard](../experiments/README.md).",
        "",
    ]
    for c in analysis.CLAIMS:
        lines += [
            f"## {c.name}",
            "",
            f"- **Source**: {c.source}."
            + (" A test of this project's, not a claim of the paper." if c.own_test else ""),
            f"- **Paper**: {c.paper}.",
            f"- **Claim**: {c.hypothesis}.",
            f"- **Test**: {c.criterion}.",
            f"- **Effect the claim implies**: {c.effect}.",
            f"- **Replicate**: {c.replicate}.",
            f"- **Report**: [experiments/{c.report}](../experiments/{c.report}/README.md).",
        ]
        if c.confirmatory:
            lines.append(f"- **Confirmatory set**: {c.confirmatory}.")
        if c.needs:
            lines.append(f"- **Also needs**: {c.needs} (the dashboard combines the two verdicts).")
        lines.append("")
    return "\n".join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m harness.dashboard", description=__doc__.split("\n")[0])
    p.add_argument("--root", type=Path, default=Path("experiments"))
    p.add_argument("--rebuild", action="store_true", help="rebuild every report from its records first")
    p.add_argument(
        "--claims-doc", type=Path, default=None, help="also write the claims spec here (make report: docs/claims.md)"
    )
    args = p.parse_args(argv)
    if args.rebuild:
        rebuild(args.root)
    table = write(args.root)
    if args.claims_doc:
        rundir.write_text(args.claims_doc, claims_spec())
    done = sum(r["verdict"] != "not computed" for r in table)
    written = f"{args.root / 'README.md'}, {args.root / REPORT_FILES.CLAIMS}"
    print(f"dashboard: {done} of {len(table)} claims computed -> {written}")


if __name__ == "__main__":
    sys.exit(main())
