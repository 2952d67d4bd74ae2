import sys

import hydra

from .app import main, register_resolvers

register_resolvers()
_hydra_main = hydra.main(config_path="configs", config_name="config", version_base="1.3")(main)


def hydra_main():
    """`python -m harness` / `harness`. An empty output dir is refused here, before Hydra would
    write its files (and the run) into the current directory."""
    for arg in sys.argv[1:]:
        key, _, value = arg.lstrip("+").partition("=")
        if key in ("hydra.run.dir", "hydra.sweep.dir") and "=" in arg and value.strip(" '\"") == "":
            print(f"error: invalid config: {key}={value!r}; allowed: a directory path", file=sys.stderr)
            sys.exit(2)
    _hydra_main()


if __name__ == "__main__":
    hydra_main()
