"""The validation bound of Kawaguchi et al. (docs/claims.md, C4), against hand-computed values."""

import math

import pytest

from harness.probes.bound import bound_rows, validation_bound


def test_matches_hand_computed_values():
    # docs/claims.md, C4: m_val = 10,000, |F_val| = 100, delta = 0.05 -> 0.0195
    assert validation_bound(10_000, 100, 0.05) == pytest.approx(0.0195, abs=5e-5)
    # ln(6 / 0.05) = ln 120 = 4.78749; / (2 * 5000) -> sqrt(4.78749e-4) = 0.021880
    assert validation_bound(5_000, 6, 0.05) == pytest.approx(0.021880, abs=1e-6)
    assert validation_bound(1, 1, 0.5) == pytest.approx(math.sqrt(math.log(2) / 2))


def test_more_models_or_less_data_loosen_the_bound():
    assert validation_bound(5_000, 100) > validation_bound(5_000, 10) > validation_bound(50_000, 10)


def test_bad_arguments_are_rejected():
    for args in [(0, 10, 0.05), (100, 0, 0.05), (100, 10, 1.5)]:
        with pytest.raises(ValueError):
            validation_bound(*args)


def test_rows_select_the_lowest_validation_error_and_check_the_bound():
    runs = [
        {"name": "a", "val_acc": 0.50, "test_acc": 0.49, "val_size": 5000},
        {"name": "b", "val_acc": 0.55, "test_acc": 0.40, "val_size": 5000},
    ]
    rows, selected = bound_rows(runs)
    assert selected["run"] == "b"
    slack = validation_bound(5000, 2)
    assert rows[0]["bound"] == pytest.approx(slack) and rows[0]["holds"]  # 0.51 <= 0.50 + 0.027
    assert not rows[1]["holds"]  # test error 0.60 > 0.45 + 0.027
