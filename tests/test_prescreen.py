"""Initialization pre-screening (init.prescreen; the survey's advice, docs/claims.md, C5)."""

import json

import torch
from torch import nn

from harness import probes
from harness.app import run


def test_candidate_seeds_start_with_the_runs_own_and_are_reproducible():
    seeds = probes.prescreen_seeds(7, 5)
    assert seeds[0] == 7 and len(set(seeds)) == 5 and seeds == probes.prescreen_seeds(7, 5)
    assert probes.prescreen_seeds(8, 5)[1:] != seeds[1:]
    assert all(0 <= s < 2**63 for s in seeds)


def test_the_choice_is_the_least_curved_among_the_low_risk_half():
    torch.manual_seed(0)
    x, y = torch.randn(64, 12), torch.randint(0, 10, (64,))
    gains = iter([0.5, 3.0, 1.0, 2.0, 0.8, 4.0])  # spread risk and curvature over the candidates

    def build():
        model = nn.Sequential(nn.Linear(12, 32), nn.ReLU(), nn.Linear(32, 10))
        with torch.no_grad():
            g = next(gains)
            for p in model.parameters():
                p.mul_(g)
        return model

    state, rows = probes.prescreen_inits(build, x, y, 6, seed=0)
    median = sorted(r["risk"] for r in rows)[2:4]
    low = [r for r in rows if r["risk"] <= sum(median) / 2]
    best = min(low, key=lambda r: r["trace"])
    assert [r["chosen"] for r in rows].count(True) == 1 and best["chosen"]
    assert all(r["low_risk"] == (r in low) for r in rows)
    assert min(r["trace"] for r in rows) <= best["trace"]  # the least curved overall may be high-risk


def test_one_candidate_is_exactly_the_plain_run_and_k_candidates_are_recorded(make_cfg, tmp_path):
    plain = run(make_cfg("trainer.max_epochs=2"), run_dir=tmp_path / "plain")
    one = run(make_cfg("trainer.max_epochs=2", "init.prescreen=1"), run_dir=tmp_path / "one")
    for key in ("train_loss", "test_loss", "test_acc", "steps"):
        assert one[key] == plain[key], key  # candidate 0 is the run's own init; nothing else moves
    four = run(make_cfg("trainer.max_epochs=2", "init.prescreen=4"), run_dir=tmp_path / "four")
    record = json.loads((tmp_path / "four" / "prescreen.json").read_text())
    rows = record["candidates"]
    assert len(rows) == 4 and record["summary"]["own_trace"] == rows[0]["trace"]
    chosen = min((r for r in rows if r["low_risk"]), key=lambda r: r["trace"])
    assert four["prescreen_chosen"] == chosen["candidate"] and four["prescreen_chosen_trace"] == chosen["trace"]
