"""Timings of the local SLURM (scripts/slurm_local.sh) and of its tests (tests/test_slurm.py), as CSV
rows, so that the SLURM timings in docs/scale-out.md have a committed file behind them.

    python scripts/slurm_timings.py [--cycles 3] [--out experiments/performance/slurm_timings.csv] [--note TEXT]
    make slurm-timings

Where SLURM is missing it runs `scripts/slurm_local.sh install` first (root or passwordless sudo,
apt). Then, on a fresh state folder each time, it times `scripts/slurm_local.sh start` (munged,
slurmctld, slurmd up and the node idle) and `stop` (`--cycles` times), and runs
`pytest tests/test_slurm.py --durations=0`: the setup, call and teardown time of each test (the
first test's setup includes the module fixture's cluster start, the last teardown its stop), the
2-job sweep's end-to-end time printed by the test itself, and the whole pytest run. One row per
measurement: date (UTC, the run's start), machine, commit, slurm version, what, seconds, note.
Exits non-zero, writing no test rows, where the tests fail or are skipped.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

from bench import PERF_DIR, REPO, append_csv, provenance  # scripts/bench.py: the shared CSV provenance

SCRIPT = REPO / "scripts" / "slurm_local.sh"
FIELDS = ["date", "machine", "commit", "slurm", "what", "seconds", "note"]
DURATION = re.compile(r"^\s*([\d.]+)s (setup|call|teardown)\s+(\S+)\s*$")


def slurm_installed() -> bool:
    return all(shutil.which(b) for b in ("slurmctld", "slurmd", "munged", "sbatch"))


def timed(cmd, env, timeout=300) -> float:
    t0 = time.perf_counter()
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    seconds = time.perf_counter() - t0
    if out.returncode != 0:
        raise SystemExit(
            f"{' '.join(map(str, cmd))} failed ({out.returncode}):\n{out.stdout[-2000:]}{out.stderr[-2000:]}"
        )
    return seconds


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--cycles", type=int, default=3, help="start/stop cycles to time")
    p.add_argument("--skip-tests", action="store_true", help="only the start/stop cycles")
    p.add_argument("--out", default=str(PERF_DIR / "slurm_timings.csv"), help="CSV file the rows are appended to")
    p.add_argument(
        "--note",
        default=os.environ.get("BENCH_NOTE", ""),
        help="free text for the CSV's note column, e.g. the machine's load (default: $BENCH_NOTE)",
    )
    args = p.parse_args()

    if not slurm_installed():
        print("SLURM missing: scripts/slurm_local.sh install", flush=True)
        if subprocess.run([str(SCRIPT), "install"]).returncode != 0 or not slurm_installed():
            raise SystemExit(
                "SLURM is not installed and `scripts/slurm_local.sh install` could not install it "
                "(needs root or passwordless sudo, and apt)"
            )
    version = subprocess.run(["slurmctld", "-V"], capture_output=True, text=True).stdout.strip()
    meta = {k: v for k, v in provenance("cpu").items() if k in FIELDS}
    meta.update(slurm=version, note=args.note)
    append_csv(args.out, FIELDS, [])  # header now (new file) or refuse a file with other columns before measuring
    print(f"{version}; {meta['machine']}; commit {meta['commit']}", flush=True)

    rows = []
    for i in range(args.cycles):
        with tempfile.TemporaryDirectory(prefix="slurm-timings-") as state:
            env = {**os.environ, "SLURM_LOCAL_DIR": state}
            start = timed([str(SCRIPT), "start"], env)
            stop = timed([str(SCRIPT), "stop"], env)
        print(f"cycle {i + 1}: start {start:.2f} s, stop {stop:.2f} s", flush=True)
        rows += [
            {**meta, "what": "cluster start (slurm_local.sh start)", "seconds": f"{start:.2f}"},
            {**meta, "what": "cluster stop (slurm_local.sh stop)", "seconds": f"{stop:.2f}"},
        ]
    append_csv(args.out, FIELDS, rows)
    if args.skip_tests:
        print(f"rows appended to {args.out}")
        return

    cmd = [
        sys.executable,
        "-m",
        "pytest",
        "tests/test_slurm.py",
        "-m",
        "slurm",
        "-s",
        "-q",
        "--durations=0",
        "-p",
        "no:cacheprovider",
    ]
    print(" ".join(cmd), flush=True)
    t0 = time.perf_counter()
    out = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=1800)
    whole = time.perf_counter() - t0
    print(out.stdout[-4000:], out.stderr[-2000:], sep="\n", flush=True)
    summary = out.stdout.strip().splitlines()[-1] if out.stdout.strip() else ""
    if out.returncode != 0 or "skipped" in summary or "passed" not in summary:
        raise SystemExit(f"tests/test_slurm.py did not pass ({summary or out.returncode}); no test timings written")
    rows = []
    for line in out.stdout.splitlines():
        if m := DURATION.match(line):
            seconds, phase, test = m.groups()
            rows.append({**meta, "what": f"pytest {phase} {test.split('::')[-1]}", "seconds": seconds})
        if m := re.search(r"2-job SLURM sweep: ([\d.]+) s", line):
            rows.append(
                {
                    **meta,
                    "what": "2-job sweep end to end (timer in test_two_job_sweep_runs_as_two_slurm_jobs)",
                    "seconds": m.group(1),
                }
            )
    rows.append({**meta, "what": "pytest tests/test_slurm.py whole run (wall)", "seconds": f"{whole:.1f}"})
    append_csv(args.out, FIELDS, rows)
    for r in rows:
        print(f"  {r['seconds']:>8} s  {r['what']}")
    print(f"rows appended to {args.out}")


if __name__ == "__main__":
    main()
