import sys
from pathlib import Path

import hydra

from .app import main, register_resolvers

CONFIGS = Path(__file__).parent / "configs"

register_resolvers()
_hydra_main = hydra.main(config_path="configs", config_name="config", version_base="1.3")(main)


def describe(experiment: Path) -> str:
    """An experiment's one-line description: the comment line under its `# @package` line."""
    line = experiment.read_text().splitlines()[1]
    return line[1:].strip() if line.startswith("#") else ""


def usage() -> str:
    """`python -m harness --help`: the commands, the experiments with a line each, the main groups."""
    experiments = sorted((CONFIGS / "experiment").glob("*.yaml"))
    group = lambda g: ", ".join(sorted(p.stem for p in (CONFIGS / g).glob("*.yaml") if not p.stem.startswith("_")))  # noqa: E731
    lines = [
        "python -m harness [experiment=NAME] [scale=smoke|cpu|paper] [key=value ...]   one run",
        "python -m harness -m experiment=NAME [key=a,b ...]                            a sweep (Hydra multirun)",
        "",
        "Experiments (their reports: experiments/<name>/, the claims: docs/claims.md):",
        *(f"  {p.stem:<20} {describe(p)}" for p in experiments),
        "",
        "Groups (group=option):",
        *(f"  {g:<12} {group(g)}" for g in ("model", "schedule", "data", "scale", "logger", "optimizer")),
        "",
        "Keys: seed, device (auto | cpu | cuda), data.root (or $HARNESS_DATA), trainer.max_epochs, optimizer.lr, ...",
        "  every key with its meaning: docs/config.md; the composed config of a command: add --cfg job",
        "Reports and comparisons: python -m harness.report <sweep dir>; python -m harness.compare <sweep dir>",
        "Tab completion: python -m harness --shell-completion install=bash (Hydra's own options: --hydra-help)",
    ]
    return "\n".join(lines)


def unwritable_output(args: list[str]) -> str | None:
    """The one-line refusal of an output dir this user cannot create: its nearest existing folder is
    not writable (Hydra would create it before the run starts, with a traceback). The dir is the
    command's own `hydra.run.dir=` / `hydra.sweep.dir=` when literal, else the default under the
    current directory; None when it can be created."""
    import os

    key = "hydra.sweep.dir" if any(a in ("-m", "--multirun") for a in args) else "hydra.run.dir"
    given = [a.partition("=")[2].strip(" '\"") for a in args if a.lstrip("+").startswith(key + "=")]
    literal = given and "${" not in given[-1]
    path = Path(given[-1]) if literal else Path.cwd() / ("multirun" if key == "hydra.sweep.dir" else "runs")
    folder = path.absolute()
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if folder.is_dir() and not os.access(folder, os.W_OK | os.X_OK):
        shown = str(path) if literal else f"{path}/... (the default)"
        return f"invalid config: {key}={shown!r}: {folder} is not writable; allowed: a directory you may write"
    return None


def hydra_main():
    """`python -m harness` / `harness`. `--help` is ours (the experiments, not Hydra's internals). Refused
    here, in one line: an override of a key the config does not have (Hydra's message is six lines), an
    empty output dir, before Hydra would write its files (and the run) into the current directory, and
    one this user cannot create (Hydra makes it before the run starts, with a traceback)."""
    if any(a in ("--help", "-h") for a in sys.argv[1:]):
        print(usage())
        return
    from .config import unknown_override

    for arg in sys.argv[1:]:
        if refusal := unknown_override(arg):
            print(f"error: {refusal}", file=sys.stderr)
            sys.exit(2)
        key, _, value = arg.lstrip("+").partition("=")
        if key in ("hydra.run.dir", "hydra.sweep.dir") and "=" in arg and value.strip(" '\"") == "":
            print(f"error: invalid config: {key}={value!r}; allowed: a directory path", file=sys.stderr)
            sys.exit(2)
    if refusal := unwritable_output(sys.argv[1:]):
        print(f"error: {refusal}", file=sys.stderr)
        sys.exit(2)
    _hydra_main()


if __name__ == "__main__":
    hydra_main()
