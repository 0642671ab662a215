"""Example-based tests of ``sparsesim.sparsity``: basics, dtypes, edge cases and bad input.

The mathematical properties (optimality by brute force, tie rule, batching)
are proved by hypothesis in ``tests/test_sparsity_properties.py``; this module
pins down concrete values, the dtype/shape contract and argument validation
(every bad argument raises ``ValueError``/``TypeError`` whose message names the
argument, and where it is a scalar, its value and the allowed range).
"""

import re

import numpy as np
import pytest

import sparsesim as ss
from sparsesim.sparsity import keep_count

FLOAT_DTYPES = [np.float16, np.float32, np.float64]
INT_DTYPES = [np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint32, np.uint64]
REAL_DTYPES = FLOAT_DTYPES + INT_DTYPES
SIGNED_DTYPES = [np.int8, np.int16, np.int32, np.int64]


# --------------------------------------------------------------------------- basics


def test_apply_mask_zeroes_outside_mask_and_keeps_dtype():
    w = np.array([[1.5, -2.0], [3.0, -0.5]], dtype=np.float32)
    out = ss.apply_mask(w, np.array([[True, False], [False, True]]))
    np.testing.assert_array_equal(out, [[1.5, 0.0], [0.0, -0.5]])
    assert out.dtype == np.float32 and out.shape == w.shape


@pytest.mark.parametrize("mask_dtype", [np.int8, np.int64, np.uint8, np.float32, np.float64])
def test_apply_mask_accepts_numeric_zero_one_masks(mask_dtype):
    w = np.array([4, -5, 6], dtype=np.int32)
    out = ss.apply_mask(w, np.array([1, 0, 1], dtype=mask_dtype))
    np.testing.assert_array_equal(out, [4, 0, 6])
    assert out.dtype == np.int32


def test_apply_mask_does_not_modify_inputs_and_handles_empty():
    w = np.array([1.0, 2.0])
    mask = np.array([False, True])
    ss.apply_mask(w, mask)
    np.testing.assert_array_equal(w, [1.0, 2.0])
    assert ss.apply_mask(np.zeros((0, 2)), np.zeros((0, 2), dtype=bool)).shape == (0, 2)


def test_l0_norm_and_density():
    x = np.array([[0.0, 1.0, -0.0], [2.0, 0.0, -3.0]])
    assert ss.l0_norm(x) == 3 and isinstance(ss.l0_norm(x), int)
    np.testing.assert_array_equal(ss.l0_norm(x, axis=1), [1, 2])
    np.testing.assert_array_equal(ss.l0_norm(x, axis=0), [1, 1, 1])
    np.testing.assert_array_equal(ss.l0_norm(x, axis=-1), [1, 2])
    assert ss.density(x) == 0.5
    assert ss.l0_norm(np.array([True, False, True])) == 2
    assert ss.l0_norm(np.zeros(0)) == 0
    assert ss.density(np.array([7], dtype=np.int8)) == 1.0


def test_l0_norm_counts_nan_and_inf_as_non_zero():
    # ‖x‖₀ counts non-zeros; NaN and inf are non-zero (l0_norm does not check finiteness).
    assert ss.l0_norm(np.array([np.nan, np.inf, 0.0])) == 2


def test_keep_count_rounds_half_up():
    assert keep_count(0.25, 10) == 3  # 2.5 -> 3, not Python's round-half-even 2
    assert keep_count(0.35, 10) == 4  # 3.5 -> 4
    assert keep_count(0.45, 10) == 5  # 4.5 -> 5 (float 0.45 * 10 = 4.5)
    assert keep_count(0.3, 10) == 3
    assert keep_count(0.0, 10) == 0
    assert keep_count(1.0, 10) == 10
    assert keep_count(0.5, 1) == 1
    assert keep_count(0.04, 25) == 1
    assert keep_count(0.02, 4096 * 4096) == 335544  # 335544.32


@pytest.mark.parametrize("n", [1, 2, 3, 7, 10, 99, 1000, 4096])
def test_keep_count_half_points_round_up(n):
    """At density = (2j+1)/(2n) the exact product is j + 1/2, which rounds up to j + 1.

    Falsified by a half point rounded down (the float product may land a hair
    below j + 1/2; the documented guard must still round it up).
    """
    for j in range(n):
        assert keep_count((2 * j + 1) / (2 * n), n) == j + 1


def test_group_labels_and_neuron_groups():
    np.testing.assert_array_equal(ss.group_labels(6, 2), [0, 0, 1, 1, 2, 2])
    np.testing.assert_array_equal(ss.group_labels(4, 4), [0, 0, 0, 0])
    assert ss.group_labels(6, 3).dtype == np.int64
    out = ss.neuron_groups((2, 3), "out")
    np.testing.assert_array_equal(out, [[0, 1, 2], [0, 1, 2]])
    np.testing.assert_array_equal(ss.neuron_groups((2, 3), "in"), [[0, 0, 0], [1, 1, 1]])
    assert ss.neuron_groups((5, 2, 3)).shape == (2, 3)  # leading axes are not in the labels
    out[0, 0] = 99  # a writable copy, not a broadcast view
    assert ss.neuron_groups((2, 3))[0, 0] == 0


# --------------------------------------------------------------------------- best_k_term examples


def test_best_k_term_module_examples():
    w = np.array([0.5, -2.0, 0.5, 1.0])
    np.testing.assert_array_equal(ss.best_k_term(w, 2)[1], [False, True, False, True])
    np.testing.assert_array_equal(ss.best_k_term(w, 3)[1], [True, True, False, True])


def test_best_k_term_axis_examples():
    w = np.array([[3.0, -1.0, 2.0], [0.1, 0.2, -0.3]])
    pruned, mask = ss.best_k_term(w, 1, axis=1)
    np.testing.assert_array_equal(pruned, [[3.0, 0.0, 0.0], [0.0, 0.0, -0.3]])
    pruned0, mask0 = ss.best_k_term(w, 1, axis=0)
    np.testing.assert_array_equal(mask0, [[True, True, True], [False, False, False]])
    # Global: the 4 largest of the flattened array.
    np.testing.assert_array_equal(ss.best_k_term(w, 4)[1],
                                  [[True, True, True], [False, False, True]])


def test_best_k_term_all_equal_keeps_the_first_k_in_row_major_order():
    w = np.full((3, 4), -2.0)
    mask = ss.best_k_term(w, 5)[1]
    np.testing.assert_array_equal(mask.ravel(), [True] * 5 + [False] * 7)
    mask_cols = ss.best_k_term(w, 2, axis=0)[1]
    np.testing.assert_array_equal(mask_cols, [[True] * 4, [True] * 4, [False] * 4])


def test_best_k_term_negative_and_positive_zero_tie():
    # -0.0 and 0.0 have equal magnitude: the lower index wins.
    w = np.array([1.0, 0.0, -0.0, 0.0])
    np.testing.assert_array_equal(ss.best_k_term(w, 2)[1], [True, True, False, False])
    w = np.array([1.0, -0.0, 0.0])
    np.testing.assert_array_equal(ss.best_k_term(w, 2)[1], [True, True, False])


def test_best_k_term_k_zero_and_k_n():
    w = np.array([[1.0, -2.0], [3.0, 0.0]])
    pruned, mask = ss.best_k_term(w, 0)
    assert not mask.any() and not pruned.any()
    pruned, mask = ss.best_k_term(w, 4)
    assert mask.all()
    np.testing.assert_array_equal(pruned, w)


def test_best_k_term_zero_dimensional_and_single_element():
    pruned, mask = ss.best_k_term(np.array(-3.0), 1)
    assert pruned.shape == () and mask.shape == () and bool(mask) and float(pruned) == -3.0
    assert not bool(ss.best_k_term(np.array(-3.0), 0)[1])
    with pytest.raises(ValueError, match="axis"):
        ss.best_k_term(np.array(-3.0), 0, axis=0)


def test_best_k_term_does_not_modify_its_input():
    w = np.array([3.0, -1.0, 2.0])
    ss.best_k_term(w, 1)
    np.testing.assert_array_equal(w, [3.0, -1.0, 2.0])


def test_best_k_term_on_non_contiguous_views():
    base = np.arange(24.0).reshape(4, 6) - 11.5
    view = base[:, ::2].T  # (3, 4), non-contiguous
    pruned, mask = ss.best_k_term(view, 2, axis=1)
    ref = ss.best_k_term(np.ascontiguousarray(view), 2, axis=1)
    np.testing.assert_array_equal(mask, ref[1])
    np.testing.assert_array_equal(pruned, ref[0])


@pytest.mark.parametrize("dtype", REAL_DTYPES)
@pytest.mark.parametrize("axis", [None, 0, 1, -1])
def test_best_k_term_preserves_dtype_and_shape(dtype, axis):
    w = (np.arange(12).reshape(3, 4) % 5 + 1).astype(dtype)
    k = 2
    pruned, mask = ss.best_k_term(w, k, axis=axis)
    assert pruned.dtype == np.dtype(dtype) and pruned.shape == w.shape
    assert mask.dtype == np.bool_ and mask.shape == w.shape
    per_slice = mask.sum() if axis is None else mask.sum(axis=axis)
    assert np.all(per_slice == k)
    np.testing.assert_array_equal(pruned, np.where(mask, w, 0).astype(dtype))


@pytest.mark.parametrize("dtype", REAL_DTYPES)
def test_magnitude_threshold_and_prune_to_density_preserve_dtype(dtype):
    w = (np.arange(8) % 4).astype(dtype).reshape(2, 4)
    for pruned, mask in (ss.magnitude_threshold(w, 1.5), ss.prune_to_density(w, 0.5),
                         ss.prune_to_density(w, 0.5, axis=1),
                         ss.group_best_q(w, ss.neuron_groups(w.shape), 1),
                         ss.best_k_term(w, 3)):
        assert pruned.dtype == np.dtype(dtype) and pruned.shape == w.shape
        assert mask.dtype == np.bool_ and mask.shape == w.shape


# ------------------------------------------------------------------ signed-integer magnitudes


@pytest.mark.parametrize("dtype", SIGNED_DTYPES)
def test_signed_integer_minimum_has_the_largest_magnitude(dtype):
    """|iinfo.min| = iinfo.max + 1 is the largest magnitude of a signed dtype.

    ``abs`` of the most negative integer overflows back to itself in two's
    complement (``np.abs(np.int8(-128)) == -128``), so a magnitude computed
    with ``abs`` in the input dtype ranks it as the *smallest* entry.
    Falsified by any projection that drops the most negative entry while
    keeping a smaller magnitude.
    """
    lo = np.iinfo(dtype).min
    w = np.array([1, lo, 2, 3], dtype=dtype)
    pruned, mask = ss.best_k_term(w, 1)
    np.testing.assert_array_equal(mask, [False, True, False, False])
    assert pruned[1] == lo
    np.testing.assert_array_equal(ss.best_k_term(w[None, :], 1, axis=1)[1][0],
                                  [False, True, False, False])
    np.testing.assert_array_equal(ss.prune_to_density(w, 0.25)[1], [False, True, False, False])
    # |lo| > 5, so thresholding at 5 keeps it.
    np.testing.assert_array_equal(ss.magnitude_threshold(w, 5.0)[1], [False, True, False, False])


# --------------------------------------------------------------------------- magnitude_threshold


def test_magnitude_threshold_is_strict():
    w = np.array([0.5, -1.0, 1.5, -2.0, 1.0])
    np.testing.assert_array_equal(ss.magnitude_threshold(w, 1.0)[1],
                                  [False, False, True, True, False])
    np.testing.assert_array_equal(ss.magnitude_threshold(w, 0.0)[1], [True] * 5)
    zeros = np.array([0.0, -0.0, 1e-300])
    np.testing.assert_array_equal(ss.magnitude_threshold(zeros, 0.0)[1], [False, False, True])
    assert ss.magnitude_threshold(np.zeros((0, 3)), 1.0)[1].shape == (0, 3)


def test_magnitude_threshold_integers_against_fractional_threshold():
    w = np.array([-3, -2, 0, 2, 3], dtype=np.int16)
    np.testing.assert_array_equal(ss.magnitude_threshold(w, 2.5)[1],
                                  [True, False, False, False, True])
    np.testing.assert_array_equal(ss.magnitude_threshold(w, 2)[1],
                                  [True, False, False, False, True])


@pytest.mark.parametrize("dtype", [np.float16, np.float32])
def test_magnitude_threshold_compares_exactly_not_in_the_weight_dtype(dtype):
    """``|w| > t`` must hold for the real numbers, not after rounding ``t`` to w's dtype.

    With ``lo = 1`` and ``hi`` the next value of the dtype, ``t = lo + 0.75 (hi - lo)``
    lies strictly between them and rounds *up* to ``hi``; comparing in the
    dtype then reads ``hi > t`` as ``hi > hi`` and drops ``hi`` although
    ``hi > t``.  (In float32, ``t = 0.1`` already does this: float32(0.1) is
    0.10000000149... > 0.1.)  Falsified by a kept/dropped decision that
    disagrees with the exact comparison of the stored value with ``t``.
    """
    lo = dtype(1.0)
    hi = np.nextafter(lo, dtype(2.0))
    t = float(lo) + 0.75 * (float(hi) - float(lo))  # exact in float64
    assert float(lo) < t < float(hi) and float(dtype(t)) == float(hi)
    w = np.array([hi, -hi, lo, -lo], dtype=dtype)
    np.testing.assert_array_equal(ss.magnitude_threshold(w, t)[1], [True, True, False, False])
    if dtype is np.float32:
        x = np.array([0.1, -0.1], dtype=np.float32)
        np.testing.assert_array_equal(ss.magnitude_threshold(x, 0.1)[1], [True, True])


@pytest.mark.parametrize("dtype", [np.float16, np.float32])
def test_magnitude_threshold_above_dtype_range_keeps_nothing_without_warning(dtype):
    # A threshold above the dtype's largest finite value is legal (finite, >= 0)
    # and keeps nothing; it must not overflow while being compared
    # (pyproject turns RuntimeWarnings from sparsesim into errors).
    w = np.array([1.0, -np.finfo(dtype).max], dtype=dtype)
    t = float(np.finfo(dtype).max) * 4.0
    pruned, mask = ss.magnitude_threshold(w, t)
    assert not mask.any() and not pruned.any()


# --------------------------------------------------------------------------- group_best_q examples


def test_group_best_q_example_and_ties_to_lower_label():
    w = np.array([1.0, 1.0, 0.0, 3.0, 0.1, 0.1])
    labels = ss.group_labels(6, 2)
    np.testing.assert_array_equal(ss.group_best_q(w, labels, 1)[0], [0, 0, 0, 3.0, 0, 0])
    tied = np.array([3.0, 4.0, 5.0, 0.0, 0.0, -5.0])  # norms 5, 5, 5
    np.testing.assert_array_equal(ss.group_best_q(tied, labels, 2)[1],
                                  [True, True, True, True, False, False])
    np.testing.assert_array_equal(ss.group_best_q(tied, labels, 0)[1], [False] * 6)
    np.testing.assert_array_equal(ss.group_best_q(tied, labels, 3)[1], [True] * 6)


def test_group_best_q_empty_label_is_a_zero_norm_group():
    # Labels 0 and 2 used, 1 unused: G = 3, the empty group 1 has norm 0.
    w = np.array([1.0, 2.0, 3.0])
    labels = np.array([0, 2, 2])
    pruned, mask = ss.group_best_q(w, labels, 3)
    assert mask.all()
    np.testing.assert_array_equal(ss.group_best_q(w, labels, 1)[1], [False, True, True])
    np.testing.assert_array_equal(ss.group_best_q(w, labels, 2)[1], [True, True, True])


def test_group_best_q_with_non_contiguous_labels():
    w = np.array([1.0, 5.0, 1.0, 5.0, 2.0])
    labels = np.array([0, 1, 0, 1, 2], dtype=np.uint8)
    np.testing.assert_array_equal(ss.group_best_q(w, labels, 1)[1],
                                  [False, True, False, True, False])
    np.testing.assert_array_equal(ss.group_best_q(w, labels, 2)[1],
                                  [False, True, False, True, True])


def test_neuron_groups_prune_whole_neurons_per_model():
    w = np.array([[[1.0, 0.0], [1.0, 5.0]], [[9.0, 0.0], [0.0, 1.0]]])
    mask = ss.group_best_q(w, ss.neuron_groups(w.shape), 1)[1]
    np.testing.assert_array_equal(mask, [[[False, True], [False, True]],
                                         [[True, False], [True, False]]])
    mask_in = ss.group_best_q(w, ss.neuron_groups(w.shape, "in"), 1)[1]
    np.testing.assert_array_equal(mask_in, [[[False, False], [True, True]],
                                            [[True, True], [False, False]]])


def test_group_best_q_extreme_magnitudes_use_exact_norms():
    # Squared norms of |w| above ~1e154 used to overflow to inf and tie (the lowest
    # label won), and those of |w| below ~1e-162 underflow to 0 and tie the same way.
    # Each problem is scaled by a power of two first; falsified by a wrong group or a
    # RuntimeWarning.
    import warnings

    huge = np.finfo(np.float64).max
    labels = np.array([0, 0, 1, 1, 2, 2])
    cases = [
        (np.array([1e200, 0.0, 1e200, 1.0, 2e200, 0.0]), 2),
        (np.array([huge, 0.0, 0.75 * huge, 0.75 * huge, 0.0, 0.0]), 1),   # norm 1.06 * max
        (np.array([1e-200, 0.0, 2e-200, 0.0, 0.0, 1.5e-200]), 1),
        (np.array([5e-324, 0.0, 0.0, 1e-323, 5e-324, 5e-324]), 1),        # subnormals
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        for w, best in cases:
            np.testing.assert_array_equal(ss.group_best_q(w, labels, 1)[1], labels == best)
        # batched: every row (problem) is scaled on its own
        rows = np.array([[1e300, 0.0, 0.0, 2e300], [3e-300, 0.0, 0.0, 2e-300],
                         [1.0, 2.0, 3.0, 0.0]])
        mask = ss.group_best_q(rows, np.array([0, 0, 1, 1]), 1)[1]
        np.testing.assert_array_equal(mask, [[False, False, True, True],
                                             [True, True, False, False],
                                             [False, False, True, True]])
        # integers at the int64 extremes: 2**63 beats 2**62 * sqrt(2)
        w = np.array([-(2**63), 0, 2**62, 2**62], dtype=np.int64)
        np.testing.assert_array_equal(ss.group_best_q(w, np.array([0, 0, 1, 1]), 1)[1],
                                      [True, True, False, False])


@pytest.mark.parametrize("exponent", [-1000, -500, 0, 500, 900])
def test_group_best_q_is_invariant_to_power_of_two_scaling(exponent):
    # Scaling by 2**e is exact, and so is the per-problem scaling: the masks (ties
    # included) are those of the unscaled weights.  Falsified by any mask change.
    rng = np.random.default_rng(17)
    w = rng.standard_normal((20, 12)) * 10.0 ** rng.integers(-5, 6, size=(20, 1))
    w[:, 6:8] = w[:, 0:2]                      # equal group norms: ties to the lower label
    labels = ss.group_labels(12, 2)
    expected = ss.group_best_q(w, labels, 3)[1]
    np.testing.assert_array_equal(ss.group_best_q(np.ldexp(w, exponent), labels, 3)[1],
                                  expected)


def _group_best_q_reference(w, labels, q):
    """Dense reference: every label 0..max is a group (absent ones have norm 0), ordered
    by (norm descending, label ascending)."""
    n_groups = int(labels.max()) + 1
    norms = np.bincount(labels, weights=np.asarray(w, np.float64) ** 2, minlength=n_groups)
    order = np.lexsort((np.arange(n_groups), -norms))
    return np.isin(labels, order[:q])


def test_group_best_q_sparse_labels_match_the_dense_reference():
    # Labels with gaps (absent labels are empty groups of norm 0) and zero-norm
    # groups, which tie with the absent ones: falsified by a wrong tie break between
    # present and absent zero-norm groups, or a wrong q-th group.  Seeded.
    rng = np.random.default_rng(5)
    for _ in range(300):
        n = int(rng.integers(1, 9))
        label_set = rng.choice(12, size=int(rng.integers(1, 6)), replace=False)
        labels = rng.choice(label_set, size=n)
        w = rng.integers(-2, 3, size=n).astype(np.float64)   # small ints: ties and zeros
        q = int(rng.integers(0, labels.max() + 2))
        np.testing.assert_array_equal(ss.group_best_q(w, labels, q)[1],
                                      _group_best_q_reference(w, labels, q))
    # huge label values cost nothing (the table holds the labels present only)
    w = np.array([[0.5, -2.0, 0.0, 1.0]])
    labels = np.array([2**62, 7, 2**40, 2**62])
    np.testing.assert_array_equal(ss.group_best_q(w, labels, 1)[1], [[False, True, False, False]])
    np.testing.assert_array_equal(ss.group_best_q(w, labels, 2)[1], [[True, True, False, True]])
    with pytest.raises(ValueError, match=r"^groups must hold labels below 2\*\*63"):
        ss.group_best_q(np.ones(2), np.array([0, 2**64 - 1], dtype=np.uint64), 1)


def test_label_builders_reject_impossible_sizes_by_name():
    # More than 2**31 labels (16 GiB of int64) is refused before allocating; numpy's
    # MemoryError used to escape for n = 2**53 + 1.
    with pytest.raises(ValueError, match=_scalar_range_message("n", 2**53 + 1, 1, 2**31)):
        ss.group_labels(2**53 + 1, 3)
    with pytest.raises(ValueError, match=re.escape("shape: fan_in * fan_out = 65536 * 32769")):
        ss.neuron_groups((2**16, 2**15 + 1))
    with pytest.raises(ValueError, match=r"^shape: "):
        ss.neuron_groups((1, 10**18))
    assert ss.neuron_groups((10**9, 2, 3)).shape == (2, 3)   # leading axes allocate nothing


# --------------------------------------------------------------------------- bad input


def _scalar_range_message(name, value, low, high):
    return rf"^{re.escape(name)} must be in \[{low}, {high}\]; got {re.escape(str(value))}$"


@pytest.mark.parametrize("k", [-1, 7, 100])
def test_best_k_term_k_out_of_range(k):
    with pytest.raises(ValueError, match=_scalar_range_message("k", k, 0, 6)):
        ss.best_k_term(np.arange(6.0), k)


def test_best_k_term_k_range_is_per_slice_with_axis():
    w = np.ones((3, 5))
    with pytest.raises(ValueError, match=_scalar_range_message("k", 4, 0, 3)):
        ss.best_k_term(w, 4, axis=0)
    assert ss.best_k_term(w, 5, axis=1)[1].all()


@pytest.mark.parametrize("k", [2.0, 2.5, True, False, "2", None, np.float32(2.0), np.array(2)])
def test_best_k_term_non_integer_k(k):
    with pytest.raises(TypeError, match=r"^k must be an integer; got "):
        ss.best_k_term(np.arange(6.0), k)


def test_best_k_term_accepts_numpy_integer_k():
    assert ss.best_k_term(np.arange(6.0), np.int64(2))[1].sum() == 2


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_weights_are_rejected_by_every_projection(bad):
    w = np.array([1.0, bad, 2.0, 3.0])
    calls = [
        lambda: ss.best_k_term(w, 1),
        lambda: ss.best_k_term(w, 1, axis=0),
        lambda: ss.prune_to_density(w, 0.5),
        lambda: ss.magnitude_threshold(w, 1.0),
        lambda: ss.group_best_q(w, ss.group_labels(4, 2), 1),
        lambda: ss.apply_mask(w, np.ones(4, dtype=bool)),
    ]
    for call in calls:
        with pytest.raises(ValueError, match=r"^w must not contain NaN or infinity$"):
            call()


@pytest.mark.parametrize("w", [[1.0, 2.0], (1.0,), 3.0, None])
def test_non_arrays_are_rejected(w):
    with pytest.raises(TypeError, match=r"^w must be a NumPy or CuPy array"):
        ss.best_k_term(w, 1)
    with pytest.raises(TypeError, match=r"^w must be a NumPy or CuPy array"):
        ss.magnitude_threshold(w, 1.0)


@pytest.mark.parametrize("w", [np.array([True, False]), np.array([1 + 1j, 2j]),
                               np.array(["a", "b"])])
def test_non_real_weights_are_rejected(w):
    with pytest.raises(TypeError, match=r"^w must have a dtype of kind "):
        ss.best_k_term(w, 1)
    with pytest.raises(TypeError, match=r"^w must have a dtype of kind "):
        ss.prune_to_density(w, 0.5)


@pytest.mark.parametrize("shape", [(0,), (0, 3), (3, 0)])
def test_empty_weights_are_rejected_where_meaningless(shape):
    w = np.zeros(shape)
    with pytest.raises(ValueError, match=r"^w must have at least 1 elements"):
        ss.best_k_term(w, 0)
    with pytest.raises(ValueError, match=r"^w must have at least 1 elements"):
        ss.prune_to_density(w, 0.5)
    with pytest.raises(ValueError, match=r"^x must have at least 1 elements"):
        ss.density(w)


def test_empty_group_problem_is_rejected():
    with pytest.raises(ValueError, match=r"^w must have at least 1 elements"):
        ss.group_best_q(np.zeros(0), np.zeros(0, dtype=np.int64), 0)


@pytest.mark.parametrize("axis", [2, -3, 5])
def test_axis_out_of_range(axis):
    w = np.ones((2, 3))
    with pytest.raises(ValueError, match=_scalar_range_message("axis", axis, -2, 1)):
        ss.best_k_term(w, 1, axis=axis)
    with pytest.raises(ValueError, match=_scalar_range_message("axis", axis, -2, 1)):
        ss.prune_to_density(w, 0.5, axis=axis)
    with pytest.raises(ValueError, match=_scalar_range_message("axis", axis, -2, 1)):
        ss.l0_norm(w, axis=axis)


@pytest.mark.parametrize("axis", [1.0, True, "0", (0, 1)])
def test_axis_of_wrong_type(axis):
    with pytest.raises(TypeError, match=r"^axis must be an integer"):
        ss.best_k_term(np.ones((2, 3)), 1, axis=axis)


@pytest.mark.parametrize("density", [-0.1, 1.01, 2.0, -1e-12])
def test_density_out_of_range(density):
    message = rf"^density must be in \[0, 1\]; got {re.escape(str(density))}$"
    with pytest.raises(ValueError, match=message):
        ss.prune_to_density(np.ones(4), density)


@pytest.mark.parametrize("density", [np.nan, np.inf, -np.inf])
def test_density_not_finite(density):
    with pytest.raises(ValueError, match=r"^density must be finite; got "):
        ss.prune_to_density(np.ones(4), density)


@pytest.mark.parametrize("density", ["0.5", True, None, 1j])
def test_density_of_wrong_type(density):
    with pytest.raises(TypeError, match=r"^density must be a real number; got "):
        ss.prune_to_density(np.ones(4), density)


@pytest.mark.parametrize("t", [-0.5, -1e-300])
def test_threshold_negative(t):
    with pytest.raises(ValueError, match=rf"^t must be in \[0, inf\); got {re.escape(str(t))}$"):
        ss.magnitude_threshold(np.ones(4), t)


@pytest.mark.parametrize("t", [np.nan, np.inf, -np.inf])
def test_threshold_not_finite(t):
    with pytest.raises(ValueError, match=r"^t must be finite; got "):
        ss.magnitude_threshold(np.ones(4), t)


@pytest.mark.parametrize("t", ["1", None, True])
def test_threshold_of_wrong_type(t):
    with pytest.raises(TypeError, match=r"^t must be a real number"):
        ss.magnitude_threshold(np.ones(4), t)


@pytest.mark.parametrize("shape", [(4,), (2, 2, 1), (3, 2), (2,)])
def test_mask_of_another_shape(shape):
    with pytest.raises(ValueError, match=r"^mask must have the shape of w \(2, 2\); got "):
        ss.apply_mask(np.ones((2, 2)), np.ones(shape, dtype=bool))


@pytest.mark.parametrize("mask", [np.array([0, 2]), np.array([0.5, 1.0]), np.array([-1, 1]),
                                  np.array([1.0, np.nan]), np.array([1.0, np.inf])])
def test_mask_not_boolean_or_zero_one(mask):
    with pytest.raises(ValueError, match=r"^mask must "):
        ss.apply_mask(np.ones(2), mask)


@pytest.mark.parametrize("mask", [[True, False], np.array(["1", "0"]), np.array([1j, 0j])])
def test_mask_of_wrong_type(mask):
    with pytest.raises(TypeError, match=r"^mask must "):
        ss.apply_mask(np.ones(2), mask)


@pytest.mark.parametrize("shape", [(4,), (3, 3), (2, 2, 2), (1, 3)])
def test_group_labels_of_another_shape(shape):
    w = np.ones((2, 3))
    with pytest.raises(ValueError, match=r"^groups must have the shape of w \(2, 3\) or of its "
                                         r"trailing axes; got "):
        ss.group_best_q(w, np.zeros(shape, dtype=np.int64), 1)


def test_group_labels_negative():
    with pytest.raises(ValueError, match=r"^groups must hold labels >= 0; got minimum -1$"):
        ss.group_best_q(np.ones(3), np.array([0, -1, 1]), 1)


@pytest.mark.parametrize("groups", [np.array([0.0, 1.0, 1.0]), np.array([True, False, True]),
                                    [0, 1, 1]])
def test_group_labels_not_integer(groups):
    with pytest.raises(TypeError, match=r"^groups must "):
        ss.group_best_q(np.ones(3), groups, 1)


@pytest.mark.parametrize("q", [-1, 3, 10])
def test_q_out_of_range(q):
    # labels 0..2: G = 3, so q = 3 is allowed and q = 4 is not.
    w = np.ones(6)
    labels = ss.group_labels(6, 2)
    if q == 3:
        assert ss.group_best_q(w, labels, q)[1].all()
        q = 4
    with pytest.raises(ValueError, match=_scalar_range_message("q", q, 0, 3)):
        ss.group_best_q(w, labels, q)


@pytest.mark.parametrize("q", [1.0, True, "1"])
def test_q_non_integer(q):
    with pytest.raises(TypeError, match=r"^q must be an integer"):
        ss.group_best_q(np.ones(4), ss.group_labels(4, 2), q)


def test_group_labels_bad_arguments():
    with pytest.raises(ValueError, match=r"^n must be a multiple of size=4; got n=6$"):
        ss.group_labels(6, 4)
    with pytest.raises(ValueError, match=_scalar_range_message("size", 7, 1, 6)):
        ss.group_labels(6, 7)
    with pytest.raises(ValueError, match=_scalar_range_message("n", 0, 1, 2**31)):
        ss.group_labels(0, 1)
    with pytest.raises(TypeError, match=r"^size must be an integer"):
        ss.group_labels(6, 2.0)


def test_neuron_groups_bad_arguments():
    with pytest.raises(ValueError, match=r"^shape must be a tuple of at least 2 ints"):
        ss.neuron_groups((5,))
    with pytest.raises(ValueError, match=r"^shape must be a tuple"):
        ss.neuron_groups(5)
    with pytest.raises(ValueError, match=re.escape("shape[-2] must be in [1, inf]; got 0")):
        ss.neuron_groups((0, 3))
    with pytest.raises(TypeError, match=re.escape("shape[-1] must be an integer")):
        ss.neuron_groups((2, 3.0))
    with pytest.raises(ValueError, match=r"^kind must be one of \('out', 'in'\); got 'both'$"):
        ss.neuron_groups((2, 3), "both")


def test_keep_count_bad_arguments():
    with pytest.raises(ValueError, match=r"^density must be in \[0, 1\]"):
        keep_count(1.5, 10)
    with pytest.raises(ValueError, match=_scalar_range_message("n", -1, 0, "inf")):
        keep_count(0.5, -1)
    assert keep_count(0.5, 0) == 0
