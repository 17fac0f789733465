"""course_lib.proof: the one-line checks lessons use instead of raw asserts."""

import numpy as np
import pytest

from course_lib.proof import agree, holds


def test_agree_prints_the_largest_difference_and_returns_nothing(capsys):
    assert agree("a vs b", np.array([1.0, 2.0]), np.array([1.0, 2.0 + 3e-8])) is None
    assert capsys.readouterr().out == "a vs b: max |Δ| 3e-08 ✓\n"


def test_agree_says_identical_for_equal_arrays_with_nan_and_inf(capsys):
    values = np.array([np.nan, np.inf, -1.5])
    agree("same", values, values.copy())
    assert capsys.readouterr().out == "same: identical ✓\n"


@pytest.mark.parametrize(("actual", "expected", "why"), [
    ([1.0, 2.0], [1.0, 2.1], "do not agree"),
    ([1.0, np.nan], [1.0, 1.0], "do not agree"),
    ([np.inf], [-np.inf], "do not agree"),
    ([1.0], [[1.0]], "shapes differ, (1,) vs (1, 1)"),
])
def test_agree_raises_naming_the_claim(actual, expected, why, capsys):
    with pytest.raises(AssertionError, match=r"^claim X: " + why.replace("(", r"\(")
                       .replace(")", r"\)")):
        agree("claim X", np.array(actual), np.array(expected))
    assert capsys.readouterr().out == ""


def test_agree_uses_the_given_tolerances():
    agree("loose", [1.0], [1.05], rtol=0.1)
    with pytest.raises(AssertionError):
        agree("tight", [1.0], [1.05], rtol=1e-3, atol=0)


def test_holds_prints_a_tick_or_raises(capsys):
    holds("two is even", 2 % 2 == 0)
    holds("all positive", np.array([1, 2]) > 0)
    assert capsys.readouterr().out == "✓ two is even\n✓ all positive\n"
    with pytest.raises(AssertionError, match="does not hold: all negative"):
        holds("all negative", np.array([1, -2]) < 0)
