"""The harness's sweeper (a Hydra plugin: plugins live in the `hydra_plugins` namespace package)."""
