"""`make reproduce`: carries out the cpu-scale plan (`harness/plan.py`).

    python -m harness.reproduce [--only NAME ...] [--root multirun] [--out experiments] [OVERRIDE ...]

runs every sweep of the plan (or of the reports named), one after another, each into its own
`<root>/<sweep dir>`, then rebuilds that report and finally the dashboard. Run it again after a
stop and it goes on where it stopped: completed runs are skipped, an interrupted one resumes from
its checkpoint. Extra Hydra overrides (e.g. `scale=smoke logger=none`) go to every sweep. Needs
HARNESS_DATA pointing at the real CIFAR-10 (unless the overrides choose synthetic data).

The wall time of each report's sweeps is kept in `<root>/reproduce_time.json` across re-runs (a
resumed report adds its new minutes). When the whole plan has run with no overrides, the total goes
to `<out>/reproduce.json`, which the dashboard shows as the measured cost of the whole set.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

from .plan import PLAN


def _sweep(overrides: str, sweep_dir: Path, extra: list[str]) -> int:
    cmd = [sys.executable, "-m", "harness", "-m", *overrides.split(), *extra, f"hydra.sweep.dir={sweep_dir}"]
    print("  $ " + " ".join(cmd[1:]), flush=True)
    return subprocess.run(cmd).returncode


def main(argv=None):
    from . import dashboard
    from .report import report

    p = argparse.ArgumentParser(prog="python -m harness.reproduce", description=__doc__.split("\n")[0])
    p.add_argument("--only", nargs="+", default=None, metavar="NAME", help="only these reports of the plan")
    p.add_argument("--root", type=Path, default=Path("multirun"), help="where the sweep dirs go")
    p.add_argument("--out", type=Path, default=Path("experiments"), help="where the reports go")
    p.add_argument("overrides", nargs="*", help="Hydra overrides for every sweep, e.g. scale=smoke logger=none")
    args = p.parse_args(argv)
    unknown = set(args.only or ()) - {r.name for r in PLAN}
    if unknown:
        p.error(f"unknown report(s) {sorted(unknown)}; the plan has {[r.name for r in PLAN]}")
    todo = [r for r in PLAN if args.only is None or r.name in args.only]
    planned = sum(r.minutes for r in todo)
    started, done_minutes = time.monotonic(), 0.0
    timing_file = args.root / "reproduce_time.json"
    timing = json.loads(timing_file.read_text()) if timing_file.is_file() else {}  # report -> measured minutes
    for k, rep in enumerate(todo, 1):
        elapsed = (time.monotonic() - started) / 60
        # the plan's estimates, corrected by how fast the reports so far went against theirs
        pace = elapsed / done_minutes if done_minutes and elapsed > 0 else 1.0
        left = (planned - done_minutes) * pace
        print(
            f"[{k}/{len(todo)}] {rep.name}: {len(rep.sweeps)} sweep(s); elapsed {elapsed:.1f} min, "
            f"about {left:.0f} min left",
            flush=True,
        )
        dirs = [args.root / d for d, _ in rep.sweeps]
        report_started = time.monotonic()
        for sweep_dir, (_, overrides) in zip(dirs, rep.sweeps):
            if _sweep(overrides, sweep_dir, args.overrides) != 0:
                print(
                    f"error: a sweep of {rep.name} failed; run the same command again to go on from there",
                    file=sys.stderr,
                )
                return 1
        report([d for d in dirs if d.is_dir()], args.out / rep.name, wandb_mode="disabled")
        done_minutes += rep.minutes
        timing[rep.name] = timing.get(rep.name, 0.0) + (time.monotonic() - report_started) / 60
        args.root.mkdir(parents=True, exist_ok=True)
        timing_file.write_text(json.dumps(timing, indent=1, sort_keys=True))
    if args.only is None and not args.overrides:  # the whole cpu-scale set, as the plan has it
        total = {
            "minutes": round(sum(timing[r.name] for r in PLAN), 1),
            "per_report_minutes": {r.name: round(timing[r.name], 1) for r in PLAN},
            "machine": f"{platform.machine()}, {os.cpu_count()} cores",
            "finished": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        }
        (args.out / "reproduce.json").write_text(json.dumps(total, indent=1) + "\n")
    dashboard.write(args.out)
    print(
        f"done: {len(todo)} report(s) in {(time.monotonic() - started) / 60:.1f} min; dashboard in "
        f"{args.out / 'README.md'}",
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
