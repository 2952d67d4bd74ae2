"""The training wing: the one loop (`trainer.train`) and what it is made of: its state and
checkpoint (`state`), the parts built from a config (`parts`), the data on the device (`data`,
`randomize`, `transforms`, `cpu_kernels`), the models, the schedules, the progress line and the
multi-process helpers. It may call the probes (`harness.probes`), never the results wing."""
