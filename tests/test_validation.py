"""Tests of the shared argument checks in ``sparsesim._validation``.

Every check must raise ``TypeError`` for a value of the wrong kind and
``ValueError`` for a value out of range, with a message that names the
argument, shows the offending value and states what is allowed.  Nothing may
be clipped: an accepted value comes back unchanged (as a Python int/float, or
the very same array object).
"""

import math
import re
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sparsesim._validation import (
    as_float,
    as_numeric,
    check_array,
    check_bool,
    check_choice,
    check_int,
    check_int_array,
    check_log_prob_array,
    check_real,
    check_real_array,
    check_same_shape,
    first_bad,
    interval_text,
)

# --------------------------------------------------------------------------- check_int


@pytest.mark.parametrize("value", [0, 3, 10, np.int8(4), np.int64(7), np.uint16(9)])
def test_check_int_accepts_integers_in_range_as_python_int(value):
    # Falsified by a value that changes or a type other than a plain int.
    out = check_int("k", value, low=0, high=10)
    assert out == int(value)
    assert type(out) is int


@pytest.mark.parametrize(
    ("value", "bounds"),
    [(-1, "[0, 10]"), (11, "[0, 10]"), (10**30, "[0, 10]")],
)
def test_check_int_out_of_range_message_names_argument_value_and_range(value, bounds):
    with pytest.raises(ValueError, match=rf"^k must be in {re.escape(bounds)}; got {value}$"):
        check_int("k", value, low=0, high=10)


def test_check_int_open_bounds_are_written_as_infinity():
    with pytest.raises(ValueError, match=r"^n must be in \[1, inf\]; got 0$"):
        check_int("n", 0, low=1)
    with pytest.raises(ValueError, match=r"^n must be in \[-inf, 5\]; got 6$"):
        check_int("n", 6, high=5)
    assert check_int("n", -(10**20)) == -(10**20)  # no bounds: any integer


@pytest.mark.parametrize(
    "value",
    [2.0, 2.5, np.float64(2.0), float("nan"), True, False, np.bool_(True), "2", None,
     Fraction(2, 1), np.array(2), [2]],
)
def test_check_int_rejects_non_integers_with_type_error(value):
    # bool is an int subclass and 2.0 is integral, but a count given as either
    # is a bug: both must be refused, never converted.
    with pytest.raises(TypeError, match=r"^k must be an integer; got "):
        check_int("k", value, low=0, high=10)


def test_check_int_type_error_shows_value_and_type():
    with pytest.raises(TypeError, match=r"got 2\.5 of type float"):
        check_int("k", 2.5)
    with pytest.raises(TypeError, match=r"got '2' of type str"):
        check_int("k", "2")


def test_check_int_truncates_a_long_repr_in_the_message():
    with pytest.raises(TypeError) as info:
        check_int("k", "x" * 500)
    # The message stays readable: the value is cut to 80 characters.
    assert len(str(info.value)) < 160
    assert "..." in str(info.value)


@settings(max_examples=150, deadline=None)
@given(st.integers(-1000, 1000), st.integers(-1000, 1000), st.integers(-1000, 1000))
def test_check_int_accepts_exactly_the_closed_interval(value, a, b):
    """``low <= value <= high`` is accepted unchanged, anything else raises ValueError.

    Falsified by a value inside the interval that raises, or one outside that
    is returned (silently clipped or passed through).
    """
    low, high = min(a, b), max(a, b)
    if low <= value <= high:
        assert check_int("k", value, low=low, high=high) == value
    else:
        with pytest.raises(ValueError, match=r"^k must be in "):
            check_int("k", value, low=low, high=high)


# --------------------------------------------------------------------------- check_real


@pytest.mark.parametrize("value", [0, 0.5, 1, np.float32(0.25), np.float64(1.0), np.int64(1),
                                   Fraction(1, 3)])
def test_check_real_accepts_reals_in_range_as_python_float(value):
    out = check_real("density", value, low=0.0, high=1.0)
    assert type(out) is float
    assert out == float(value)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf"), np.float32("nan")])
def test_check_real_rejects_non_finite_values(value):
    with pytest.raises(ValueError, match=r"^t must be finite; got (nan|inf|-inf)$"):
        check_real("t", value, low=0.0)


@pytest.mark.parametrize("value", [True, np.bool_(False), "0.5", None, 1j, np.array(0.5), [0.5]])
def test_check_real_rejects_non_reals_with_type_error(value):
    with pytest.raises(TypeError, match=r"^density must be a real number; got "):
        check_real("density", value, low=0.0, high=1.0)


@pytest.mark.parametrize(
    ("kwargs", "value", "message"),
    [
        (dict(low=0.0, high=1.0), -0.1, r"^density must be in \[0, 1\]; got -0\.1$"),
        (dict(low=0.0, high=1.0), 1.5, r"^density must be in \[0, 1\]; got 1\.5$"),
        (dict(low=0.0, low_open=True), 0.0, r"^density must be in \(0, inf\); got 0\.0$"),
        (dict(high=1.0, high_open=True), 1.0, r"^density must be in \(-inf, 1\); got 1\.0$"),
        (dict(low=0.0, high=1.0, high_open=True), 1.0, r"^density must be in \[0, 1\); got 1\.0$"),
        (dict(low=-2.0), -3.0, r"^density must be in \[-2, inf\); got -3\.0$"),
    ],
)
def test_check_real_out_of_range_message(kwargs, value, message):
    with pytest.raises(ValueError, match=message):
        check_real("density", value, **kwargs)


def test_check_real_open_bounds_accept_values_just_inside():
    # Falsified if an open bound also rejected its neighbours.
    assert check_real("s", math.nextafter(0.0, 1.0), low=0.0, low_open=True) > 0.0
    assert check_real("s", math.nextafter(1.0, 0.0), high=1.0, high_open=True) < 1.0
    assert check_real("s", 0.0, low=0.0) == 0.0  # closed bound accepts the bound itself
    assert check_real("s", 1.0, high=1.0) == 1.0


@settings(max_examples=150, deadline=None)
@given(st.floats(allow_nan=False, allow_infinity=False), st.floats(-10, 10), st.floats(-10, 10),
       st.booleans(), st.booleans())
def test_check_real_accepts_exactly_the_interval(value, a, b, low_open, high_open):
    """The accepted set is exactly the (half-)open/closed interval.

    Falsified by an accepted value outside the interval or a rejected value
    inside it; an accepted value must be returned unchanged.
    """
    low, high = min(a, b), max(a, b)
    inside = ((value > low or (not low_open and value == low))
              and (value < high or (not high_open and value == high)))
    if inside:
        assert check_real("x", value, low=low, high=high, low_open=low_open,
                          high_open=high_open) == value
    else:
        with pytest.raises(ValueError, match=r"^x must be in "):
            check_real("x", value, low=low, high=high, low_open=low_open, high_open=high_open)


# --------------------------------------------------------------------------- element-wise checks


@pytest.mark.parametrize(
    ("args", "kwargs", "text"),
    [((0.0, 1.0), {}, "[0, 1]"), ((0.0, None), {"low_open": True}, "(0, inf)"),
     ((None, 5), {"infinite_open": False}, "[-inf, 5]"), ((1e-300, 2.5), {"high_open": True},
                                                         "[1e-300, 2.5)"),
     ((0, 2 ** 63), {}, "[0, 9223372036854775808]"), ((1234567.0, 1e20), {}, "[1234567, 1e+20]")],
)
def test_interval_text(args, kwargs, text):
    # Falsified by a wrong bracket for an open/infinite end or a float-formatted integer bound.
    assert interval_text(*args, **kwargs) == text


def test_first_bad_names_value_and_index():
    assert first_bad(np.array([[1, 2], [3, -4]]), np.array([[False, False], [False, True]])) \
        == "-4 (at index (1, 1))"
    assert first_bad(np.array(-0.5), np.array(True)) == "-0.5"   # 0-d: no index
    assert first_bad(np.array([np.nan, 1.0]), np.array([True, False])) == "nan (at index (0,))"


def test_as_float_and_as_numeric_refuse_booleans_and_wrong_kinds():
    assert as_float("a", np.float32(0.5)) == 0.5 and type(as_float("a", 3)) is float
    assert math.isnan(as_float("a", float("nan")))            # as_float checks no range
    for bad in (True, "1", None):
        with pytest.raises(TypeError, match=r"^a must be a real number; got "):
            as_float("a", bad)
    with pytest.raises(ValueError, match=r"^a must be finite; got an integer beyond the float"):
        as_float("a", 2 ** 1100)
    with pytest.raises(TypeError, match=r"^v must be numeric; got True of type bool$"):
        as_numeric("v", True)
    with pytest.raises(TypeError, match=r"^v must have a dtype of kind \['i', 'u'\]; got "):
        as_numeric("v", [1.5], "iu")
    with pytest.raises(TypeError, match=r"^v must be a count; got \[1\.5\] of dtype float64$"):
        as_numeric("v", [1.5], "iu", what="a count")


def test_check_int_array_checks_every_element():
    out = check_int_array("k", [[0, 3], [2, 9]], high=9)
    assert out.dtype == np.int64 and out.tolist() == [[0, 3], [2, 9]]
    assert check_int_array("k", 5).shape == ()                 # a scalar comes back 0-d
    assert check_int_array("k", np.uint64(2 ** 63 - 1), high=None) == 2 ** 63 - 1
    with pytest.raises(ValueError, match=r"^k must be in \[0, 9\]; got 10 \(at index \(1, 1\)\)$"):
        check_int_array("k", [[0, 3], [2, 10]], high=9)
    with pytest.raises(ValueError, match=r"^k must be in \[1, inf\); got 0$"):
        check_int_array("k", 0, low=1)
    with pytest.raises(ValueError, match=r"^k must be in \[0, inf\); got 18446744073709551615$"):
        check_int_array("k", np.array([2 ** 64 - 1], dtype=np.uint64))
    with pytest.raises(ValueError, match=r"^k must be in \[0, inf\); got 36893488147419103232$"):
        check_int_array("k", 2 ** 65)                          # beyond int64: refused, not wrapped
    for bad in (True, 2.0, [1.0], ["a"]):
        with pytest.raises(TypeError, match=r"^k must be an integer or an array of integers; "):
            check_int_array("k", bad)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(-(2 ** 63), 2 ** 63 - 1), min_size=1, max_size=6),
       st.integers(-50, 50), st.integers(-50, 50))
def test_check_int_array_accepts_exactly_the_interval(values, a, b):
    # Falsified by an accepted element outside [low, high] or a refused array inside it.
    low, high = min(a, b), max(a, b)
    if all(low <= v <= high for v in values):
        assert check_int_array("x", values, low=low, high=high).tolist() == values
    else:
        with pytest.raises(ValueError, match=r"^x must be in "):
            check_int_array("x", values, low=low, high=high)


def test_check_real_array_checks_every_element():
    out = check_real_array("s", [1, 2.5], low=0.0, low_open=True)
    assert out.dtype == np.float64 and out.tolist() == [1.0, 2.5]
    with pytest.raises(ValueError, match=r"^s must be in \(0, inf\); got 0\.0 \(at index \(1,\)\)$"):
        check_real_array("s", [1.0, 0.0], low=0.0, low_open=True)
    with pytest.raises(ValueError, match=r"^s must be in \[0, 1\); got 1\.0$"):
        check_real_array("s", 1.0, low=0.0, high=1.0, high_open=True)
    with pytest.raises(ValueError, match=r"^s must be finite; got inf \(at index \(0,\)\)$"):
        check_real_array("s", [np.inf, 1.0])
    for bad in (False, "x", [1 + 2j]):
        with pytest.raises(TypeError, match=r"^s must be a real number or an array of reals; "):
            check_real_array("s", bad)


def test_check_log_prob_array_and_check_bool():
    assert check_log_prob_array("lp", [0, -np.inf]).tolist() == [0.0, -np.inf]
    for bad, shown in ((0.5, "0.5"), ([-1.0, np.nan], r"nan \(at index \(1,\)\)")):
        with pytest.raises(ValueError, match=rf"^lp must be in \[-inf, 0\]; got {shown}$"):
            check_log_prob_array("lp", bad)
    assert check_bool("log", np.bool_(True)) is True
    for bad in (1, 0.0, "yes", None):
        with pytest.raises(TypeError, match=r"^log must be a bool; got "):
            check_bool("log", bad)


def test_theory_and_stats_word_a_bad_element_alike():
    """theory and stats check arrays through _validation: one wording for one mistake."""
    from sparsesim import stats, theory

    with pytest.raises(ValueError) as t_err:
        theory.support_recovery_prob(10, [2, -1], 1.0)
    with pytest.raises(ValueError) as s_err:
        stats.binom_test_log(1, 10, [-1.0, 0.5])
    assert re.search(r"got -1 \(at index \(1,\)\)$", str(t_err.value))
    assert re.search(r"got 0\.5 \(at index \(1,\)\)$", str(s_err.value))


# --------------------------------------------------------------------------- check_choice


def test_check_choice_accepts_members_and_returns_them():
    assert check_choice("kind", "in", ("out", "in")) == "in"
    assert check_choice("n", 2, (1, 2, 3)) == 2


def test_check_choice_rejects_unknown_value_listing_the_choices():
    with pytest.raises(ValueError, match=r"^kind must be one of \('out', 'in'\); got 'both'$"):
        check_choice("kind", "both", ("out", "in"))
    with pytest.raises(ValueError, match=r"^n must be one of \(1, 2\); got 3$"):
        check_choice("n", 3, (1, 2))


@pytest.mark.parametrize("value", [None, 1, b"out", ("out",)])
def test_check_choice_rejects_non_string_for_string_choices(value):
    with pytest.raises(TypeError, match=r"^kind must be one of \('out', 'in'\); got .* of type "):
        check_choice("kind", value, ("out", "in"))


def test_check_choice_is_case_sensitive():
    # "Out" is not "out": a choice is never normalised silently.
    with pytest.raises(ValueError, match="kind"):
        check_choice("kind", "Out", ("out", "in"))


# --------------------------------------------------------------------------- check_array


def test_check_array_returns_the_same_object():
    x = np.arange(6.0).reshape(2, 3)
    assert check_array("w", x) is x


@pytest.mark.parametrize("value", [[1.0, 2.0], (1.0,), 3.0, None, "abc"])
def test_check_array_refuses_non_arrays(value):
    with pytest.raises(TypeError, match=r"^w must be a NumPy or CuPy array; got "):
        check_array("w", value)


@pytest.mark.parametrize(
    ("x", "kinds"),
    [
        (np.array([1 + 2j]), "biuf"),
        (np.array(["a"]), "biuf"),
        (np.array([True]), "iuf"),
        (np.array([1.0]), "iu"),
        (np.array([1], dtype=object), "biuf"),
    ],
)
def test_check_array_rejects_other_dtype_kinds(x, kinds):
    with pytest.raises(TypeError, match=rf"^w must have a dtype of kind .*; got {x.dtype}$"):
        check_array("w", x, kinds=kinds)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_check_array_rejects_non_finite_entries(bad, dtype):
    x = np.array([[1.0, 2.0], [3.0, bad]], dtype=dtype)
    with pytest.raises(ValueError, match=r"^w must not contain NaN or infinity$"):
        check_array("w", x)
    assert check_array("w", x, finite=False) is x  # allowed when asked


def test_check_array_size_and_dimension_limits():
    with pytest.raises(ValueError, match=r"^w must have at least 1 elements; got shape \(0, 3\)$"):
        check_array("w", np.zeros((0, 3)), min_size=1)
    assert check_array("w", np.zeros((0, 3))).shape == (0, 3)  # empty is fine by default
    with pytest.raises(ValueError, match=r"^w must have 2 dimensions; got shape \(3,\)$"):
        check_array("w", np.zeros(3), ndim=2)
    message = r"^w must have at least 3 dimensions; got shape \(2, 2\)$"
    with pytest.raises(ValueError, match=message):
        check_array("w", np.zeros((2, 2)), min_ndim=3)
    assert check_array("w", np.zeros((1, 1, 1)), min_ndim=3).ndim == 3


def test_check_array_accepts_integer_and_bool_arrays_without_finiteness_check():
    assert check_array("m", np.array([True, False])).dtype == bool
    assert check_array("m", np.array([np.iinfo(np.int64).min])).dtype == np.int64


# --------------------------------------------------------------------------- check_same_shape


def test_check_same_shape():
    check_same_shape("mask", np.zeros((2, 3)), "w", np.ones((2, 3)))  # no error
    with pytest.raises(ValueError, match=r"^mask must have the shape of w \(2, 3\); got \(3, 2\)$"):
        check_same_shape("mask", np.zeros((3, 2)), "w", np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"^mask must have the shape of w \(6,\); got \(1, 6\)$"):
        check_same_shape("mask", np.zeros((1, 6)), "w", np.ones(6))
