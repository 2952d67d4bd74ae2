"""`make reproduce`: carries out the cpu-scale plan (`harness/results/plan.py`).

    python -m harness.reproduce [--only NAME ...] [--root multirun] [--out experiments] [--jobs 2] [OVERRIDE ...]

runs every sweep of the plan (or of the reports named), one after another, each into its own
`<root>/<sweep dir>`, then rebuilds that report and finally the dashboard. A sweep runs `--jobs`
runs at once (the joblib launcher, one torch thread per run on the 2-core machine: small models use
two cores better as two runs than as one run on two threads, though a sweep of one run then leaves
a core idle; `--jobs 1`: one run at a time on every core). Run it again after a stop and it goes
on where it stopped: completed runs are skipped, an interrupted one resumes from its checkpoint.
Extra Hydra overrides (e.g. `scale=smoke logger=none`) go to every sweep. Needs HARNESS_DATA
pointing at the real CIFAR-10 (unless the overrides choose synthetic data).

The time of each report is kept in `<root>/reproduce_time.json` across re-runs, saved after every
sweep and on a stop (SIGTERM, Ctrl-C), so a report finished over several sittings adds up its
pieces. The clock counts wall time while this process runs, not while it is paused (Ctrl-Z or
`kill -TSTP <pid>`, which pause the sweep too until `fg` / `kill -CONT <pid>`; a suspended laptop).
With the whole plan and no overrides, the minutes so far go to `<out>/reproduce.json` after every
report (`complete` when all are done), which the dashboard shows as the measured cost of the set.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from ..names import REPORT_FILES
from .plan import PLAN


class ActiveClock:
    """Wall time that stops while the process is stopped: a thread ticks every `tick` seconds and a
    gap longer than `gap` between two ticks (the process was not running) counts as `tick`."""

    def __init__(self, tick: float = 1.0, gap: float = 5.0):
        self.tick, self.gap, self._seconds = tick, gap, 0.0
        self._last = time.monotonic()
        self._lock = threading.Lock()
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        while True:
            time.sleep(self.tick)
            self._advance()

    def _advance(self) -> float:
        with self._lock:
            now = time.monotonic()
            step = now - self._last
            self._seconds += step if step <= self.gap else self.tick
            self._last = now
            return self._seconds

    def minutes(self) -> float:
        return self._advance() / 60


def _sweep(overrides: str, sweep_dir: Path, extra: list[str]) -> int:
    cmd = [sys.executable, "-m", "harness", "-m", *overrides.split(), *extra, f"hydra.sweep.dir={sweep_dir}"]
    print("  $ " + " ".join(cmd[1:]), flush=True)
    # The sweep runs in a process group of its own, and a stop (SIGTERM, or Ctrl-C) is passed on to
    # the whole group: every run, in the sweep's process or in a joblib worker, checkpoints and stops;
    # then the sweep exits and the time is saved (signalling only the sweep's parent would orphan or
    # kill its workers without a checkpoint).
    # A pause likewise (Ctrl-Z, `kill -TSTP`): the sweep stops with it, and goes on with it (SIGCONT);
    # the clock does not count the pause. (A SIGSTOP to this process alone cannot be caught: it
    # would stop the clock while the sweep trains on.)
    child = subprocess.Popen(cmd, start_new_session=True)

    def forward(signum, _frame=None):
        try:
            os.killpg(child.pid, signum)
        except ProcessLookupError:
            pass

    def pause(_signum, _frame):
        forward(signal.SIGSTOP)
        os.kill(os.getpid(), signal.SIGSTOP)  # resumed by a SIGCONT, which `forward` passes on

    handlers = {signal.SIGTERM: forward, signal.SIGINT: forward, signal.SIGTSTP: pause, signal.SIGCONT: forward}
    previous = {s: signal.signal(s, h) for s, h in handlers.items()}
    try:
        return child.wait()
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def _save(timing: dict, path: Path) -> None:
    tmp = path.with_suffix(".tmp")  # never a half-written file: the minutes so far are the measurement
    tmp.write_text(json.dumps(timing, indent=1, sort_keys=True))
    tmp.replace(path)


def minutes_left(left: list, done: list, timing: dict) -> float:
    """The plan's estimate for the reports `left`, scaled by how the reports `done` went against
    theirs: their measured minutes (earlier sittings included) over their planned minutes; the part
    of the first report `left` measured in earlier sittings counts as done."""
    planned = sum(r.minutes for r in done)
    pace = sum(timing[r.name] for r in done) / planned if planned else 1.0
    started = timing.get(left[0].name, 0.0) if left else 0.0
    return max(sum(r.minutes for r in left) * pace - started, 0.0)


def _save_total(done: list, timing: dict, args) -> None:
    """`<out>/reproduce.json`: the measured minutes of the reports done so far, `complete` once the
    whole plan is (the dashboard shows a set in progress as such)."""
    total = {
        "minutes": round(sum(timing[r.name] for r in done), 1),
        "per_report_minutes": {r.name: round(timing[r.name], 1) for r in done},
        "reports_done": len(done),
        "reports_total": len(PLAN),
        "complete": len(done) == len(PLAN),
        "minutes_left_estimate": round(minutes_left(PLAN[len(done) :], done, timing)),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "jobs": args.jobs,
        "updated": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    _save(total, args.out / REPORT_FILES.REPRODUCE)


def _launcher(jobs: int) -> list[str]:
    return [] if jobs == 1 else ["hydra/launcher=joblib", f"hydra.launcher.n_jobs={jobs}"]


def main(argv=None):
    from . import dashboard
    from .report import report

    p = argparse.ArgumentParser(prog="python -m harness.reproduce", description=__doc__.split("\n")[0])
    p.add_argument("--only", nargs="+", default=None, metavar="NAME", help="only these reports of the plan")
    p.add_argument("--root", type=Path, default=Path("multirun"), help="where the sweep dirs go")
    p.add_argument("--out", type=Path, default=Path("experiments"), help="where the reports go")
    p.add_argument("--jobs", type=int, default=2, help="runs at once in each sweep (1: one run on every core)")
    p.add_argument("overrides", nargs="*", help="Hydra overrides for every sweep, e.g. scale=smoke logger=none")
    args = p.parse_args(argv)
    unknown = set(args.only or ()) - {r.name for r in PLAN}
    if unknown:
        p.error(f"unknown report(s) {sorted(unknown)}; the plan has {[r.name for r in PLAN]}")
    if args.jobs < 1:
        p.error(f"--jobs must be >= 1, got {args.jobs}")
    todo = [r for r in PLAN if args.only is None or r.name in args.only]
    clock, done = ActiveClock(), []
    timing_file = args.root / REPORT_FILES.REPRODUCE_TIME
    timing = json.loads(timing_file.read_text()) if timing_file.is_file() else {}  # report -> measured minutes
    args.root.mkdir(parents=True, exist_ok=True)
    for k, rep in enumerate(todo, 1):
        print(
            f"[{k}/{len(todo)}] {rep.name}: {len(rep.sweeps)} sweep(s); elapsed {clock.minutes():.1f} min "
            f"({sum(timing.get(r.name, 0.0) for r in todo):.1f} min with earlier sittings), "
            f"about {minutes_left(todo[k - 1 :], done, timing):.0f} min left",
            flush=True,
        )
        dirs = [args.root / d for d, _ in rep.sweeps]
        before, report_started = timing.get(rep.name, 0.0), clock.minutes()
        for sweep_dir, (_, overrides) in zip(dirs, rep.sweeps):
            code = _sweep(overrides, sweep_dir, _launcher(args.jobs) + args.overrides)
            timing[rep.name] = before + clock.minutes() - report_started
            _save(timing, timing_file)
            if code != 0:
                print(
                    f"error: a sweep of {rep.name} stopped (exit {code}); run the same command again to go on "
                    f"from there ({timing[rep.name]:.1f} min of it so far, in {timing_file})",
                    file=sys.stderr,
                )
                return 1
        report([d for d in dirs if d.is_dir()], args.out / rep.name, wandb_mode="disabled")
        timing[rep.name] = before + clock.minutes() - report_started
        _save(timing, timing_file)
        done.append(rep)
        if args.only is None and not args.overrides:  # the whole cpu-scale set, as the plan has it
            _save_total(done, timing, args)
    dashboard.write(args.out)
    print(
        f"done: {len(todo)} report(s) in {clock.minutes():.1f} min; dashboard in {args.out / 'README.md'}",
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
