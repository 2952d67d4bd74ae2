"""Kawaguchi, Kaelbling & Bengio 2017 (docs/claims.md, C4): generalization guaranteed through validation.

For a [0,1]-bounded loss, with probability >= 1 - delta, simultaneously for every model f among the
|F_val| models whose choice used a validation set of m_val examples:
    test_error(f) <= val_error(f) + sqrt(ln(|F_val| / delta) / (2 m_val)).
"""

from __future__ import annotations

import math


def validation_bound(m_val: int, num_models: int, delta: float = 0.05) -> float:
    """The slack sqrt(ln(|F_val| / delta) / (2 m_val)) added to the validation error."""
    if m_val < 1 or num_models < 1 or not 0 < delta < 1:
        raise ValueError(f"need m_val >= 1, num_models >= 1, 0 < delta < 1; got {m_val}, {num_models}, {delta}")
    return math.sqrt(math.log(num_models / delta) / (2 * m_val))


def bound_rows(runs: list[dict], delta: float = 0.05) -> tuple[list[dict], dict | None]:
    """Rows (one per model compared) and the row of the model selected by validation error.

    runs: dicts with `name`, `val_acc`, `test_acc`, `val_size`. |F_val| is the number of runs.
    """
    usable = [r for r in runs if r.get("val_acc") is not None and r.get("val_size")]
    rows = []
    for r in usable:
        slack = validation_bound(r["val_size"], len(usable), delta)
        val_err, test_err = 1 - r["val_acc"], 1 - r["test_acc"]
        rows.append(
            {
                "run": r["name"],
                "m_val": r["val_size"],
                "num_models": len(usable),
                "delta": delta,
                "val_error": val_err,
                "bound": slack,
                "val_error_plus_bound": val_err + slack,
                "test_error": test_err,
                "holds": test_err <= val_err + slack,
            }
        )
    selected = min(rows, key=lambda row: row["val_error"]) if rows else None
    return rows, selected
