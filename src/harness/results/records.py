"""Run records: everything a report reads from a run dir, in one small file that travels with it.

A sweep's run dirs hold checkpoints and W&B folders that never go into git. The report needs only
each run's resolved config, summary, metrics history and a few small result files (attacks,
reparameterization table, init probe, per-example correctness), so those are written as one JSON
line per run into `experiments/<name>/runs.jsonl.gz`, and `python -m harness.report` rebuilds the
same tables from that file as from the run dirs. The file is deterministic (sorted keys, gzip
without a time stamp): the same runs give the same bytes.

Runs are keyed by their resolved config minus the keys that only say where and how a run was
logged (`fingerprint`): a run that appears twice (two sweeps that share a setting, a relaunch
into a new dir) is counted once, and the report says which it dropped.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from .. import names, rundir
from ..names import FILES, REPORT_FILES, S
from ..rundir import NOT_IDENTITY, flat, identity  # noqa: F401  (a run's identity: owned by rundir)

RECORDS = REPORT_FILES.RECORDS
# small result files a run may leave beside summary.json; the analyses read them through Run.files
RESULT_FILES = (
    FILES.PROBE_INIT,
    FILES.REPARAMETERIZATION,
    FILES.ADVERSARIAL,
    FILES.ADVERSARIAL_EXAMPLE,
    FILES.PREDICTIONS,
    FILES.COMPLEXITY,
)


@dataclass
class Run:
    """One run as the analyses see it, from a run dir or from a record."""

    job: str  # the run's path relative to the source it was read from (sweep dir or record file)
    config: dict
    summary: dict
    metrics: list
    overrides: list = field(default_factory=list)  # the job's own Hydra overrides
    files: dict = field(default_factory=dict)  # RESULT_FILES present, loaded (npz -> dict of lists)

    @property
    def label(self) -> str:
        """The job's own overrides (what distinguishes it within its sweep), else its folder name."""
        own = [o for o in self.overrides if not o.startswith(("experiment=", "hydra.", "logger", "trainer.progress="))]
        return " ".join(own) if own else Path(self.job).name

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.config)

    def to_record(self) -> dict:
        return {
            "job": self.job,
            "overrides": self.overrides,
            "config": self.config,
            "summary": self.summary,
            "metrics": self.metrics,
            "files": self.files,
        }


def fingerprint(config: dict) -> str:
    """A short hash of the resolved config minus NOT_IDENTITY: equal for two runs of the same thing."""
    return hashlib.sha256(json.dumps(identity(config), sort_keys=True).encode()).hexdigest()[:16]


def _migrated(run: Run) -> Run:
    """The run in today's names (names.migrate_*): records and run dirs written before a rename read the same."""
    run.config = names.migrate_config(run.config)
    run.summary = names.migrate_names(run.summary)
    run.metrics = [names.migrate_names(m) for m in run.metrics]
    return run


def read_run_dir(d: Path, root: Path) -> Run:
    run = rundir.RunDir(d)
    return _migrated(
        Run(
            d.relative_to(root).as_posix() if d != root else d.name,
            run.config(),
            run.read_result(FILES.SUMMARY),
            run.history(),
            run.overrides(),
            {name: run.read_result(name) for name in RESULT_FILES if run.has(name)},
        )
    )


def _sort_key(run: Run):
    name = Path(run.job).name
    return (int(name) if name.isdigit() else 10**9, run.job)


def read_records(path: Path) -> list[Run]:
    with gzip.open(path, "rt") as f:
        return [_migrated(Run(**json.loads(line))) for line in f if line.strip()]


def load(sources) -> list[Run]:
    """Runs from sweep dirs (every run dir below, any depth) and/or record files, sorted by job
    number then path. Jobs of several sources are prefixed by the source's name to stay distinct."""
    sources = [Path(s) for s in sources]
    runs = []
    for src in sources:
        if src.is_file():
            try:
                found = read_records(src)
            except (OSError, EOFError, json.JSONDecodeError, TypeError) as e:
                raise SystemExit(f"error: {src} is not a run-records file ({RECORDS}): {e}") from None
        elif src.is_dir():
            try:
                found = [read_run_dir(s.parent, src) for s in sorted(src.rglob(rundir.SUMMARY))]
            except rundir.RunDirError as e:  # a damaged file: one line naming it
                raise SystemExit(f"error: {e}") from None
        else:
            raise SystemExit(f"error: {src}: no such sweep dir or records file")
        if len(sources) > 1 and src.is_dir():
            for r in found:
                r.job = f"{src.name}/{r.job}"
        runs += found
    return _unique_jobs(sorted(runs, key=_sort_key))


def _unique_jobs(runs: list[Run]) -> list[Run]:
    """Job names that say one run each: a name that two runs share (two sweeps merged under one folder
    name) gets a suffix on its later runs (`keskar/0~2`), so tables and warnings never mean two runs."""
    seen: dict[str, int] = {}
    for r in runs:
        seen[r.job] = seen.get(r.job, 0) + 1
        if seen[r.job] > 1:
            r.job = f"{r.job}~{seen[r.job]}"
    return runs


def deduplicate(runs: list[Run]) -> tuple[list[Run], list[tuple[str, str]]]:
    """Keep one run per fingerprint (the first completed one, else the first); return the kept runs
    and the (dropped job, kept job) pairs."""
    kept: dict[str, Run] = {}
    for r in runs:
        first = kept.get(r.fingerprint)
        if first is None or (first.summary.get(S.STATUS) != "completed" and r.summary.get(S.STATUS) == "completed"):
            kept[r.fingerprint] = r
    chosen = {id(r) for r in kept.values()}
    dropped = [(r.job, kept[r.fingerprint].job) for r in runs if id(r) not in chosen]
    return [r for r in runs if id(r) in chosen], dropped


def write_records(path: Path, runs: list[Run]) -> None:
    """One JSON line per run, gzip without a time stamp: the same runs give the same bytes."""
    text = "".join(json.dumps(r.to_record(), sort_keys=True, separators=(",", ":")) + "\n" for r in runs)
    rundir.atomic_write(Path(path), lambda f: f.write(gzip.compress(text.encode(), compresslevel=9, mtime=0)))
