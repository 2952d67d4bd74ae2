"""The README stays a map: short, its links and the docs' links resolve, and its quick-start commands run."""

import json
import re
import shlex
from pathlib import Path

import pytest
from helpers import REPO, run_cli

README = REPO / "README.md"
PAGES = [README, *sorted((REPO / "docs").glob("*.md"))]
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)|(?:href|src)=\"([^\"]+)\"")
SMOKE = ("scale=smoke", "logger=none")


def prose(text: str) -> str:
    """The text outside code: fenced and indented code blocks and inline code spans removed."""
    out, fenced, code, blank = [], False, False, True
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        code = (line.startswith("    ") or line.startswith("\t")) and (blank or code) and line.strip() != ""
        blank = line.strip() == ""
        if not fenced and not code:
            out.append(re.sub(r"`[^`]*`", "", line))
    return "\n".join(out)


def slug(heading: str) -> str:
    """The anchor a Markdown renderer (GitHub's rule) makes of a heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    return {slug(m) for m in re.findall(r"^#{1,6}\s+(.+?)\s*#*\s*$", prose(page.read_text()), re.M)}


def links(page: Path):
    for m in LINK.finditer(prose(page.read_text())):
        target = m.group(1) or m.group(2)
        if not re.match(r"^[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto: ...
            yield target


def test_readme_is_under_200_lines():
    lines = README.read_text().splitlines()
    assert len(lines) < 200, f"README.md has {len(lines)} lines: move detail into docs/"


def test_the_two_commands_are_in_the_readme():
    text = README.read_text()
    assert "make run" in text and "make test" in text


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPO)))
def test_every_relative_link_resolves(page):
    broken = []
    for target in links(page):
        path, _, anchor = target.partition("#")
        dest = (page.parent / path).resolve() if path else page
        if not dest.exists():
            broken.append(f"{target} (no {dest.relative_to(REPO) if dest.is_relative_to(REPO) else dest})")
        elif anchor and dest.suffix == ".md" and dest in PAGES and anchor not in anchors(dest):
            broken.append(f"{target} (no heading #{anchor} in {dest.relative_to(REPO)})")
    assert not broken, f"{page.relative_to(REPO)}: broken links: {broken}"


def readme_commands() -> list[list[str]]:
    """The README's `python -m harness ...` lines (its code blocks), without comments, not the paper-scale ones."""
    commands = []
    for line in README.read_text().splitlines():
        m = re.match(r"^\s{4,}python -m harness (.*)$", line)
        if m:
            args = shlex.split(m.group(1), comments=True)
            if "scale=paper" not in args:
                commands.append(args)
    return commands


def at_smoke_scale(args: list[str], where: str) -> list[str]:
    """The command with synthetic data and no W&B, into a test folder."""
    return [a for a in args if not a.startswith(("scale=", "logger="))] + [*SMOKE, where]


def jobs(args: list[str]) -> int:
    """How many runs a multirun's comma-separated values make."""
    n = 1
    for a in args:
        key, _, value = a.partition("=")
        if value and "," in value and not value.startswith(("[", "{", "'", '"')) and not key.startswith("hydra"):
            n *= len(value.split(","))
    return n


def test_the_readme_lists_the_main_job_and_a_sweep():
    commands = readme_commands()
    assert ["experiment=random_labels"] in commands, commands
    assert any(c[0] == "-m" for c in commands), commands
    makefile = (REPO / "Makefile").read_text()
    recipe = r"^run:.*\n\t\$\(PY\) -m harness experiment=random_labels(\s|$)"
    assert re.search(recipe, makefile, re.M), "the make run recipe no longer runs the README's main job"


def test_the_main_job_runs_at_smoke_scale(tmp_path):
    out = run_cli(*at_smoke_scale(["experiment=random_labels"], f"hydra.run.dir={tmp_path}"), timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    assert str(tmp_path) in out.stdout  # the last line names the run dir
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["status"] == "completed" and summary["data_corruption_prob"] == 1.0
    for name in ("config.yaml", "metrics.jsonl", "checkpoint.pt"):
        assert (tmp_path / name).is_file(), name


def test_the_readme_sweep_runs_at_smoke_scale(tmp_path):
    sweep = next(c for c in readme_commands() if c[0] == "-m" and not any("launcher" in a for a in c))
    out = run_cli(*at_smoke_scale(sweep, f"hydra.sweep.dir={tmp_path}"), timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    n = jobs(sweep)
    assert n >= 2, sweep
    summaries = [json.loads((tmp_path / str(k) / "summary.json").read_text()) for k in range(n)]
    assert [s["status"] for s in summaries] == ["completed"] * n
    assert not (tmp_path / str(n)).exists()
