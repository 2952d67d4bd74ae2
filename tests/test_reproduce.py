"""`make reproduce`: the plan's sweeps, reports and dashboard end to end, resumable, with progress."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from helpers import REPO

from harness.results import records
from harness.results.plan import PLAN
from harness.results.reproduce import minutes_left


def reproduce(tmp_path, *args):
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "harness.reproduce",
            "--root",
            str(tmp_path / "multirun"),
            "--out",
            str(tmp_path / "experiments"),
            *args,
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.mark.sweeps  # CLI sweeps: make test-sweeps
def test_reproduce_runs_sweeps_reports_and_dashboard_and_resumes(tmp_path):
    args = [
        "--only",
        "random_labels",
        "validation_bound",
        "--",
        "scale=smoke",
        "logger=none",
        "trainer.max_epochs=1",
        "data.train_size=300",
        "model=mlp_1x512",
        "optimizer.lr=0.01,0.02",
    ]
    out = reproduce(tmp_path, *args)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "[1/2] random_labels" in out.stdout and "[2/2] validation_bound" in out.stdout
    assert "min left" in out.stdout and "done: 2 report(s)" in out.stdout
    for name in ("random_labels", "validation_bound"):
        assert (tmp_path / "experiments" / name / records.RECORDS).is_file()
    timing = json.loads((tmp_path / "multirun" / "reproduce_time.json").read_text())
    assert set(timing) == {"random_labels", "validation_bound"} and all(m > 0 for m in timing.values())
    assert not (tmp_path / "experiments" / "reproduce.json").exists()  # a part of the plan, with overrides
    dashboard = (tmp_path / "experiments" / "README.md").read_text()
    assert dashboard.count("| *not computed* |") == sum(len(r.claims) for r in PLAN) - 3  # 1 + 2 claims computed
    # again: every run is completed, so nothing trains and the same reports come out
    before = (tmp_path / "experiments" / "validation_bound" / records.RECORDS).read_bytes()
    again = reproduce(tmp_path, *args)
    assert again.returncode == 0, again.stderr[-2000:]
    assert (tmp_path / "experiments" / "validation_bound" / records.RECORDS).read_bytes() == before


def test_reproduce_refuses_an_unknown_report(tmp_path):
    out = reproduce(tmp_path, "--only", "nope")
    assert out.returncode == 2 and "unknown report(s) ['nope']" in out.stderr


def test_the_dashboard_shows_what_the_whole_set_costs(tmp_path):
    from harness.results import dashboard

    table = [{"report": "a/README.md", "wall_time_min": "60"}, {"report": "b/README.md", "wall_time_min": "30"}]
    text = "\n".join(dashboard.cost(table, tmp_path))
    assert "committed runs: **1.5 h** over 2 reports" in text and "not yet" in text
    (tmp_path / "reproduce.json").write_text(
        json.dumps({"minutes": 222, "machine": "x86_64, 2 cores", "finished": "t"})
    )
    text = "\n".join(dashboard.cost(table, tmp_path))
    assert "Measured end to end: **3.7 h** (x86_64, 2 cores" in text and "the 4-hour goal is met." in text
    (tmp_path / "reproduce.json").write_text(json.dumps({"minutes": 411.5, "machine": "m", "updated": "t"}))
    assert "**6.9 h** (m, finished t): the 4-hour goal is not met." in "\n".join(dashboard.cost(table, tmp_path))
    partial = {"minutes": 90, "reports_done": 3, "reports_total": 14, "complete": False, "minutes_left_estimate": 300}
    partial.update(machine="x86_64, 2 cores", updated="t", note="Caveat: contention.")
    (tmp_path / "reproduce.json").write_text(json.dumps(partial))
    text = "\n".join(dashboard.cost(table, tmp_path))
    assert "in progress: **1.5 h** for the first 3 of 14 reports" in text and "about 5.0 h more" in text
    assert "Caveat: contention." in text and "Measured end to end: **" not in text


def test_the_minutes_left_scale_the_plan_by_the_measured_pace():
    from types import SimpleNamespace as Report

    a, b, c = Report(name="a", minutes=10), Report(name="b", minutes=30), Report(name="c", minutes=60)
    assert minutes_left([a, b, c], [], {}) == 100  # nothing measured: the plan as it is
    # a took 20 min (twice its plan), over two sittings: b and c by the same pace
    assert minutes_left([b, c], [a], {"a": 20.0}) == 180
    # b is 50 min in from an earlier sitting: that part is done
    assert minutes_left([b, c], [a], {"a": 20.0, "b": 50.0}) == 130
    assert minutes_left([], [a, b], {"a": 5.0, "b": 15.0}) == 0


def test_the_set_in_progress_is_saved_after_every_report(tmp_path):
    from types import SimpleNamespace

    from harness.results.reproduce import _save_total

    args = SimpleNamespace(out=tmp_path, jobs=2)
    timing = {r.name: 2.0 * r.minutes for r in PLAN[:2]}  # the first two reports took twice their plan
    _save_total(PLAN[:2], timing, args)
    saved = json.loads((tmp_path / "reproduce.json").read_text())
    assert saved["reports_done"] == 2 and not saved["complete"]
    assert saved["minutes"] == round(2.0 * (PLAN[0].minutes + PLAN[1].minutes), 1)
    assert saved["minutes_left_estimate"] == round(2.0 * sum(r.minutes for r in PLAN[2:]))
    _save_total(PLAN, {r.name: 2.0 * r.minutes for r in PLAN}, args)
    saved = json.loads((tmp_path / "reproduce.json").read_text())
    assert saved["complete"] and saved["minutes_left_estimate"] == 0 and len(saved["per_report_minutes"]) == len(PLAN)


def test_the_clock_counts_running_time_not_time_stopped():
    from harness.results.reproduce import ActiveClock

    clock = ActiveClock(tick=0.05, gap=0.5)
    time.sleep(0.3)
    running = clock.minutes() * 60
    assert 0.25 < running < 0.6
    with clock._lock:
        clock._last -= 3600  # as if the process had been stopped for an hour since the last tick
    assert clock.minutes() * 60 < running + 0.2  # the hour counts as one tick, not as an hour


def _start(tmp_path, seeds: str, running: int = 1):
    """`make reproduce` of random_labels at smoke scale in the background, once `running` of its runs
    are training: (the process, its sweep's process group)."""
    # no target: at smoke scale the runs fit their labels in ~20 epochs (~1 s) and could finish before
    # the stop arrives; all 300 epochs take ~10 s
    args = ["--only", "random_labels", "--", "scale=smoke", "logger=none", "trainer.max_epochs=300"]
    args += ["trainer.target_train_acc=null", f"seed={seeds}"]
    cmd = [sys.executable, "-m", "harness.reproduce", "--root", str(tmp_path / "multirun")]
    proc = subprocess.Popen([*cmd, "--out", str(tmp_path / "experiments"), *args], cwd=REPO, text=True)
    deadline = time.monotonic() + 120  # (a loaded machine starts the second worker's run seconds later)
    while len(list((tmp_path / "multirun").rglob("metrics.jsonl"))) < running and time.monotonic() < deadline:
        time.sleep(0.2)
    sweep = int(subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True, text=True).stdout.split()[0])
    return proc, sweep, args


@pytest.mark.sweeps
def test_a_stopped_reproduce_keeps_its_minutes_and_goes_on(tmp_path):
    proc, sweep, args = _start(tmp_path, "0,1,2,3", running=2)  # four runs on two joblib workers: two wait
    time.sleep(1)  # both runs are mid-way (300 epochs take ~10 s)
    proc.send_signal(signal.SIGTERM)  # to reproduce alone: it passes the stop on to its sweep
    assert proc.wait(timeout=120) == 1
    # nothing of the sweep trains on: a worker whose run was stopped takes no queued run
    deadline = time.monotonic() + 30
    while [s for s in _states(sweep) if s != "Z"] and time.monotonic() < deadline:
        time.sleep(0.5)
    assert [s for s in _states(sweep) if s != "Z"] == []
    started = [p.parent.name for p in (tmp_path / "multirun").rglob("metrics.jsonl")]
    assert sorted(started) == ["0", "1"], started
    timing = json.loads((tmp_path / "multirun" / "reproduce_time.json").read_text())
    assert timing["random_labels"] > 0  # the interrupted report's minutes are kept
    # the stop reached the runs in the joblib workers: they checkpointed and said so
    statuses = [json.loads(p.read_text())["status"] for p in (tmp_path / "multirun").rglob("summary.json")]
    assert "interrupted" in statuses, statuses
    again = reproduce(tmp_path, *args)
    assert again.returncode == 0, again.stderr[-2000:]
    later = json.loads((tmp_path / "multirun" / "reproduce_time.json").read_text())
    assert later["random_labels"] > timing["random_labels"]


def _state(pid) -> str:
    """A process's state (R, S, T, ...); "" once it has gone."""
    try:
        return open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return ""


def _states(pgid: int) -> list[str]:
    """The states of the members of process group `pgid`."""
    found = subprocess.run(["pgrep", "-g", str(pgid)], capture_output=True, text=True).stdout.split()
    return [_state(pid) for pid in found]


@pytest.mark.sweeps
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads process states from /proc")
def test_a_paused_reproduce_pauses_its_sweep_and_goes_on_with_it(tmp_path):
    # the sweep runs in a session of its own, so Ctrl-Z (SIGTSTP to the terminal's group) would not
    # reach it: reproduce passes the pause on, else the sweep would train on while the clock stops
    proc, sweep, _ = _start(tmp_path, "0,1")
    try:
        proc.send_signal(signal.SIGTSTP)
        time.sleep(1)
        states = _states(sweep)
        assert len(states) >= 2 and set(states) == {"T"}, states  # the sweep and its joblib workers
        assert _state(proc.pid) == "T"
        proc.send_signal(signal.SIGCONT)
        time.sleep(1)
        assert "T" not in [*_states(sweep), _state(proc.pid)]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=120) == 1
    finally:  # nothing left behind, stopped or training, whatever failed
        for kill in (lambda: os.killpg(sweep, signal.SIGKILL), proc.kill):
            try:
                kill()
            except ProcessLookupError:
                pass
        proc.wait()
