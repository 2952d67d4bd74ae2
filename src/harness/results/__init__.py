"""The results wing: run records (`records`) turned into reports (`report`, `analysis/`), the
claims and their verdicts (`claims`, `stats`), the dashboard and the plan that reproduces it
(`dashboard`, `plan`, `reproduce`) and the comparison of a sweep's runs (`compare`). It reads
run dirs and records only: it never imports the training wing."""
