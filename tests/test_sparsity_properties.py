"""Property-based proofs of the mathematics behind ``sparsesim.sparsity``.

Each property states in its docstring what would falsify it.  Optimality is
checked against exhaustive search with *exact* rational arithmetic
(``fractions.Fraction``), so no tolerance is involved anywhere: a projection is
either optimal or it is not.

Notation: ``w`` has n entries, ``k`` is the budget, ``|w|`` the magnitudes.
The documented tie rule orders entries by magnitude, descending, and then by
index, ascending (row-major for ``axis=None``, position along the axis
otherwise); ``best_k_term`` keeps the first k in that order.  The reference
for that order is a *stable* sort, ``np.argsort(-|w|, kind="stable")``.
"""

import itertools
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import sparsesim as ss
from sparsesim.sparsity import keep_count

# --------------------------------------------------------------------------- strategies

FLOAT_DTYPES = (np.float16, np.float32, np.float64)
# Signed integers are drawn from [-max, max]: the most negative value has no
# representable |.| in its own dtype and is tested on its own in test_sparsity.py.
INT_DTYPES = (np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16)
ALL_DTYPES = FLOAT_DTYPES + INT_DTYPES


def _elements(dtype, ties: bool):
    """Element strategy for ``dtype``; with ``ties`` a handful of values only."""
    dtype = np.dtype(dtype)
    if ties:
        if dtype.kind == "u":
            return st.integers(0, 3)
        if dtype.kind == "i":
            return st.integers(-3, 3)
        return st.sampled_from([0.0, -0.0, 1.0, -1.0, 2.5, -2.5])
    if dtype.kind == "f":
        return st.floats(width=8 * dtype.itemsize, allow_nan=False, allow_infinity=False)
    info = np.iinfo(dtype)
    # Keep |w| exactly representable in float64 so the reference sort is exact.
    top = min(int(info.max), 2**53)
    return st.integers(0 if dtype.kind == "u" else -top, top)


@st.composite
def weight_arrays(draw, *, max_dims=3, max_side=5, min_size=1, dtypes=ALL_DTYPES):
    """Real arrays of 1..max_dims dimensions, any dtype, with or without heavy ties."""
    dtype = np.dtype(draw(st.sampled_from(dtypes)))
    ties = draw(st.booleans())
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=max_dims, min_side=1, max_side=max_side))
    assume(int(np.prod(shape)) >= min_size)
    return draw(hnp.arrays(dtype, shape, elements=_elements(dtype, ties)))


@st.composite
def vectors(draw, *, max_size=12, dtypes=ALL_DTYPES):
    dtype = np.dtype(draw(st.sampled_from(dtypes)))
    ties = draw(st.booleans())
    n = draw(st.integers(1, max_size))
    return draw(hnp.arrays(dtype, n, elements=_elements(dtype, ties)))


@st.composite
def distinct_magnitude_arrays(draw):
    """Arrays (1-3 dims, >= 2 entries) whose magnitudes are pairwise distinct."""
    dtype = np.dtype(draw(st.sampled_from(ALL_DTYPES)))
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=5))
    assume(int(np.prod(shape)) >= 2)
    if dtype.kind == "f":
        elements = st.floats(min_value=0.0, width=8 * dtype.itemsize, allow_infinity=False)
    else:
        elements = st.integers(0, min(int(np.iinfo(dtype).max), 2**53))
    mags = draw(hnp.arrays(dtype, shape, elements=elements, unique=True))
    if dtype.kind == "u":
        return mags
    negative = draw(hnp.arrays(np.bool_, shape))
    return np.where(negative, -mags, mags).astype(dtype)


def exact_magnitudes(w):
    """|w| as float64 (exact for every dtype/value range drawn here)."""
    return np.abs(np.asarray(w).astype(np.float64))


def exact_squares(w):
    return [Fraction(float(x)) ** 2 if np.asarray(w).dtype.kind == "f" else Fraction(int(x)) ** 2
            for x in np.asarray(w).ravel()]


def reference_mask(w, k):
    """The documented rule as a stable sort on the flattened array."""
    flat = exact_magnitudes(w).ravel()
    mask = np.zeros(flat.size, dtype=bool)
    mask[np.argsort(-flat, kind="stable")[:k]] = True
    return mask.reshape(np.shape(w))


def rows_along(x, axis):
    """The 1-D slices of ``x`` along ``axis`` with their index tuples."""
    moved = np.moveaxis(x, axis, -1)
    return moved, list(np.ndindex(moved.shape[:-1]))


# ------------------------------------------------------------------ best_k_term: optimality


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_best_k_term_attains_the_brute_force_minimum(data):
    """best_k_term solves min ‖u − w‖₂ s.t. ‖u‖₀ ≤ k, checked over every support.

    For a fixed support S the best u is w on S and 0 elsewhere, with squared
    error Σ_{i∉S} w_i²; the global optimum is the minimum of that over all
    |S| ≤ k.  Exact rational arithmetic, n ≤ 12.
    Falsified by an instance where some support of size ≤ k has a strictly
    smaller error than the returned u, or where ‖u‖₀ > k.
    """
    w = data.draw(vectors(max_size=12))
    n = w.size
    rows = data.draw(st.sampled_from([r for r in range(1, n + 1) if n % r == 0]))
    w = w.reshape(rows, n // rows)  # axis=None prunes the flattened array
    k = data.draw(st.integers(0, n))
    pruned, mask = ss.best_k_term(w, k)
    sq = exact_squares(w)
    total = sum(sq, Fraction(0))
    got = sum((s for s, keep in zip(sq, mask.ravel()) if not keep), Fraction(0))
    u_error = sum(((Fraction(float(u)) - Fraction(float(x))) ** 2
                   for u, x in zip(pruned.ravel(), w.ravel())), Fraction(0))
    best = min(total - sum((sq[i] for i in support), Fraction(0))
               for size in range(k + 1) for support in itertools.combinations(range(n), size))
    assert np.count_nonzero(pruned) <= k
    assert u_error == got  # u is w on its support, zero elsewhere
    assert got == best


@settings(max_examples=150, deadline=None)
@given(w=weight_arrays(max_side=8), data=st.data())
def test_squared_error_is_the_sum_of_the_smallest_squares(w, data):
    """‖w − best_k_term(w, k)‖² = sum of the n − k smallest w_i² (exactly).

    Falsified by any difference between the two exact rational sums.
    """
    k = data.draw(st.integers(0, w.size))
    pruned, mask = ss.best_k_term(w, k)
    sq = exact_squares(w)
    dropped = sum((s for s, keep in zip(sq, mask.ravel()) if not keep), Fraction(0))
    assert dropped == sum(sorted(sq)[: w.size - k], Fraction(0))


# --------------------------------------------------------------------------- best_k_term: structure


@settings(max_examples=200, deadline=None)
@given(w=weight_arrays(max_side=6), data=st.data())
def test_exactly_k_kept_and_u_agrees_with_w_on_its_support(w, data):
    """mask has exactly k True; u = w where mask, u = 0 elsewhere; dtype/shape kept.

    Holds for any input, including all-equal and integer-valued (tie-heavy) ones.
    Falsified by a count other than k, a kept entry that differs from w
    (bitwise, so the sign of a kept -0.0 counts), or a non-zero dropped entry.
    """
    k = data.draw(st.integers(0, w.size))
    pruned, mask = ss.best_k_term(w, k)
    assert mask.dtype == np.bool_ and mask.shape == w.shape
    assert pruned.dtype == w.dtype and pruned.shape == w.shape
    assert int(mask.sum()) == k
    assert pruned[mask].tobytes() == w[mask].tobytes()
    assert not np.any(pruned[~mask])


@settings(max_examples=200, deadline=None)
@given(w=weight_arrays(max_side=6), data=st.data())
def test_tie_rule_is_the_stable_sort_order(w, data):
    """Kept set = first k of np.argsort(-|w|, kind="stable") on the flattened array.

    A stable sort of −|w| orders equal magnitudes by increasing (row-major)
    index, which is exactly the documented "lower index wins" rule.
    Falsified by any mask that differs from the reference, e.g. a tie at the
    k-th magnitude resolved toward a higher index.
    """
    k = data.draw(st.integers(0, w.size))
    np.testing.assert_array_equal(ss.best_k_term(w, k)[1], reference_mask(w, k))


@settings(max_examples=150, deadline=None)
@given(w=weight_arrays(max_side=6), data=st.data())
def test_idempotence(w, data):
    """best_k_term(u, k) returns u and the same mask, where (u, mask) = best_k_term(w, k).

    This holds unconditionally, zeros and ties included: if the k-th largest
    magnitude m is > 0, u has exactly k non-zeros, which strictly beat u's
    zeros; if m = 0, every non-zero of w was kept, so u = w bit for bit and
    the same deterministic rule picks the same zeros.
    Falsified by any change of u (bitwise) or of the mask on the second pass.
    """
    k = data.draw(st.integers(0, w.size))
    pruned, mask = ss.best_k_term(w, k)
    again, mask_again = ss.best_k_term(pruned, k)
    np.testing.assert_array_equal(mask_again, mask)
    assert again.tobytes() == pruned.tobytes()


@settings(max_examples=150, deadline=None)
@given(w=weight_arrays(max_side=6), data=st.data())
def test_supports_are_nested_in_k(w, data):
    """The support for k is contained in the support for k + j.

    A consequence of keeping a prefix of one total order (magnitude, then
    index).  Falsified by an entry kept at budget k but dropped at a larger one.
    """
    k1 = data.draw(st.integers(0, w.size))
    k2 = data.draw(st.integers(k1, w.size))
    small, large = ss.best_k_term(w, k1)[1], ss.best_k_term(w, k2)[1]
    assert not np.any(small & ~large)


@settings(max_examples=150, deadline=None)
@given(w=weight_arrays(max_side=6), data=st.data())
def test_l0_norm_of_the_projection(w, data):
    """‖u‖₀ = min(k, ‖w‖₀), density(u) = ‖u‖₀ / n, apply_mask(w, mask) = u.

    Falsified by a projection that keeps a zero while a non-zero is dropped,
    or by disagreement between l0_norm/density/apply_mask and the projection.
    """
    k = data.draw(st.integers(0, w.size))
    pruned, mask = ss.best_k_term(w, k)
    assert ss.l0_norm(pruned) == min(k, ss.l0_norm(w))
    assert ss.density(pruned) == ss.l0_norm(pruned) / w.size
    assert ss.apply_mask(w, mask).tobytes() == pruned.tobytes()
    assert ss.apply_mask(w, mask.astype(np.uint8)).tobytes() == pruned.tobytes()


# --------------------------------------------------------------------------- batching


@settings(max_examples=150, deadline=None)
@given(w=weight_arrays(max_side=5), data=st.data())
def test_batched_best_k_term_equals_row_by_row(w, data):
    """With an int axis (negative too), each 1-D slice is pruned on its own.

    The reference calls best_k_term on every slice separately, and the stable
    sort rule on each slice.  Falsified by any slice whose mask or values
    differ, i.e. information leaking between slices or a wrong axis.
    """
    axis = data.draw(st.integers(-w.ndim, w.ndim - 1))
    k = data.draw(st.integers(0, w.shape[axis]))
    pruned, mask = ss.best_k_term(w, k, axis=axis)
    moved_w, rows = rows_along(w, axis)
    moved_mask = np.moveaxis(mask, axis, -1)
    moved_pruned = np.moveaxis(pruned, axis, -1)
    for idx in rows:
        row_pruned, row_mask = ss.best_k_term(moved_w[idx], k)
        np.testing.assert_array_equal(moved_mask[idx], row_mask)
        np.testing.assert_array_equal(moved_mask[idx], reference_mask(moved_w[idx], k))
        assert moved_pruned[idx].tobytes() == row_pruned.tobytes()


@settings(max_examples=100, deadline=None)
@given(w=weight_arrays(max_side=5), data=st.data())
def test_batched_prune_to_density_equals_row_by_row(w, data):
    """prune_to_density(axis=a) keeps keep_count(density, n_a) in every slice.

    Falsified by a slice with another count or another mask than the 1-D call.
    """
    axis = data.draw(st.integers(-w.ndim, w.ndim - 1))
    density = data.draw(st.floats(0.0, 1.0))
    _, mask = ss.prune_to_density(w, density, axis=axis)
    k = keep_count(density, w.shape[axis])
    assert np.all(mask.sum(axis=axis) == k)
    moved_w, rows = rows_along(w, axis)
    moved_mask = np.moveaxis(mask, axis, -1)
    for idx in rows:
        one_row = ss.prune_to_density(moved_w[idx], density)[1]
        np.testing.assert_array_equal(moved_mask[idx], one_row)


# --------------------------------------------------------------------------- density and thresholds


@settings(max_examples=200, deadline=None)
@given(n=st.integers(1, 10**6), digits=st.integers(1, 4), data=st.data())
def test_keep_count_is_decimal_round_half_up(n, digits, data):
    """For a density written with ≤ 4 decimals and n ≤ 10⁶, keep = floor(ρ·n + ½) exactly.

    ρ·n is computed from the decimal value (what the user wrote), so half
    points such as 0.15 · 10 = 1.5 round up to 2 although the binary float
    0.15 is a hair below 3/20.  Falsified by any other count.
    """
    numerator = data.draw(st.integers(0, 10**digits))
    density = Fraction(numerator, 10**digits)
    expected = int(density * n + Fraction(1, 2))  # floor of a non-negative rational
    assert keep_count(float(density), n) == expected


@settings(max_examples=200, deadline=None)
@given(n=st.integers(1, 2**20), numerator=st.integers(0, 2**10))
def test_keep_count_with_exactly_representable_density(n, numerator):
    """ρ = j/2¹⁰ and n ≤ 2²⁰ make ρ·n + ½ exact in float64: keep = floor(ρ·n + ½).

    Falsified by any other count (e.g. round-half-even, or truncation).
    """
    density = numerator / 2**10
    assert keep_count(density, n) == int(Fraction(numerator, 2**10) * n + Fraction(1, 2))


@settings(max_examples=150, deadline=None)
@given(w=weight_arrays(max_side=6), density=st.floats(0.0, 1.0))
def test_prune_to_density_keeps_floor_density_n_plus_half(w, density):
    """prune_to_density(w, ρ) = best_k_term(w, keep_count(ρ, n)), and 0 ≤ k ≤ n.

    Falsified by a different mask/values, or a count outside [0, n] or more
    than ½ + 1e-9 away from ρ·n.
    """
    pruned, mask = ss.prune_to_density(w, density)
    k = keep_count(density, w.size)
    assert 0 <= k <= w.size
    assert abs(k - density * w.size) <= 0.5 + 1e-9
    ref_pruned, ref_mask = ss.best_k_term(w, k)
    np.testing.assert_array_equal(mask, ref_mask)
    assert pruned.tobytes() == ref_pruned.tobytes()


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_threshold_at_the_next_magnitude_equals_best_k_term(data):
    """With distinct magnitudes, magnitude_threshold(w, t_{(k+1)}) = best_k_term(w, k).

    t_{(k+1)} is the (k+1)-th largest |w|; keeping |w| > t strictly keeps
    exactly the k larger ones.  Falsified by any difference in mask or values
    (e.g. a non-strict comparison keeping k + 1 entries).
    """
    w = data.draw(distinct_magnitude_arrays())
    mags = exact_magnitudes(w)
    assert np.unique(mags).size == w.size
    k = data.draw(st.integers(0, w.size - 1))
    t = float(np.sort(mags.ravel())[::-1][k])
    pruned, mask = ss.magnitude_threshold(w, t)
    ref_pruned, ref_mask = ss.best_k_term(w, k)
    np.testing.assert_array_equal(mask, ref_mask)
    assert pruned.tobytes() == ref_pruned.tobytes()


@settings(max_examples=200, deadline=None)
@given(w=weight_arrays(max_side=6), data=st.data())
def test_magnitude_threshold_keeps_exactly_the_entries_above_t(w, data):
    """mask = (|w| > t) compared exactly; u = w on the mask, 0 elsewhere.

    t is drawn from the magnitudes present (ties at t must be dropped) or as
    a non-negative integer; both are exact in every dtype drawn here.
    Falsified by an entry equal to t that is kept, or any other disagreement.
    """
    mags = exact_magnitudes(w).ravel()
    t = data.draw(st.one_of(st.sampled_from(sorted(set(mags.tolist()))), st.integers(0, 10)))
    pruned, mask = ss.magnitude_threshold(w, t)
    np.testing.assert_array_equal(mask, exact_magnitudes(w) > t)
    assert pruned[mask].tobytes() == w[mask].tobytes()
    assert not np.any(pruned[~mask])


# --------------------------------------------------------------------------- groups

# Dyadic values with few bits: every group's sum of squares is exact in
# float64 whatever the summation order, so ties between group norms are real
# ties and the exact optimum is what the float64 code must find.
DYADIC = st.integers(-16, 16).map(lambda v: v / 4)


def group_error(w_flat, labels_flat, kept_groups):
    """Exact squared error of keeping the groups in ``kept_groups``."""
    return sum((Fraction(float(x)) ** 2 for x, g in zip(w_flat, labels_flat)
                if int(g) not in kept_groups), Fraction(0))


def reference_group_mask(w_flat, labels_flat, n_groups, q):
    norms = np.zeros(n_groups)
    np.add.at(norms, labels_flat.astype(np.int64), np.asarray(w_flat, dtype=np.float64) ** 2)
    kept = set(np.argsort(-norms, kind="stable")[:q].tolist())
    return np.array([int(g) in kept for g in labels_flat]), kept


@settings(max_examples=80, deadline=None)
@given(data=st.data())
def test_group_best_q_attains_the_brute_force_minimum(data):
    """group_best_q is the exact projection onto {u : at most q groups non-zero}.

    For a fixed set Q of groups the best u is w on ∪Q; the optimum is the
    minimum over all |Q| ≤ q of Σ_{i ∉ ∪Q} w_i².  Also: the mask is constant on
    each group, and the kept groups follow the stable-sort order of the norms
    (lower label wins ties).  Falsified by a strictly better group set, a
    group kept only partly, or another tie resolution.
    """
    n = data.draw(st.integers(1, 10))
    n_groups_drawn = data.draw(st.integers(1, 6))
    labels = data.draw(hnp.arrays(np.int64, n, elements=st.integers(0, n_groups_drawn - 1)))
    w = data.draw(hnp.arrays(data.draw(st.sampled_from([np.float32, np.float64])), n,
                             elements=DYADIC))
    n_groups = int(labels.max()) + 1
    q = data.draw(st.integers(0, n_groups))
    pruned, mask = ss.group_best_q(w, labels, q)
    kept_groups = set(labels[mask].tolist())
    assert len(kept_groups) <= q
    for g in range(n_groups):  # all or nothing per group
        assert mask[labels == g].all() or not mask[labels == g].any()
    best = min(group_error(w, labels, set(Q)) for size in range(q + 1)
               for Q in itertools.combinations(range(n_groups), size))
    assert group_error(w, labels, kept_groups) == best
    ref_mask, _ = reference_group_mask(w, labels, n_groups, q)
    np.testing.assert_array_equal(mask, ref_mask)
    assert pruned[mask].tobytes() == w[mask].tobytes() and not np.any(pruned[~mask])


@settings(max_examples=80, deadline=None)
@given(data=st.data())
def test_group_best_q_with_trailing_axis_labels_is_batched(data):
    """Labels shaped like w's trailing axes: every leading index is its own problem.

    Falsified by a leading index whose mask differs from the unbatched call on
    that slice or from the reference (stable sort of that slice's norms).
    """
    label_shape = data.draw(hnp.array_shapes(min_dims=1, max_dims=2, min_side=1, max_side=4))
    lead = data.draw(hnp.array_shapes(min_dims=1, max_dims=2, min_side=1, max_side=3))
    n_groups_drawn = data.draw(st.integers(1, 5))
    labels = data.draw(hnp.arrays(np.int32, label_shape,
                                  elements=st.integers(0, n_groups_drawn - 1)))
    w = data.draw(hnp.arrays(np.float64, lead + label_shape, elements=DYADIC))
    n_groups = int(labels.max()) + 1
    q = data.draw(st.integers(0, n_groups))
    pruned, mask = ss.group_best_q(w, labels, q)
    assert mask.shape == w.shape and pruned.dtype == w.dtype
    for idx in np.ndindex(lead):
        one_pruned, one_mask = ss.group_best_q(w[idx], labels, q)
        np.testing.assert_array_equal(mask[idx], one_mask)
        assert pruned[idx].tobytes() == one_pruned.tobytes()
        ref, _ = reference_group_mask(w[idx].ravel(), labels.ravel(), n_groups, q)
        np.testing.assert_array_equal(mask[idx].ravel(), ref)


@settings(max_examples=80, deadline=None)
@given(data=st.data())
def test_neuron_groups_prune_whole_units_per_model(data):
    """neuron_groups((n_models, fan_in, fan_out), kind): q whole neurons kept per model.

    kind="out": q columns W[m, :, j] of largest norm per model m;
    kind="in": q rows W[m, i, :].  Reference: stable sort of the exact
    column/row norms of each model.  Falsified by a partial neuron, another
    count, or another choice than the reference.
    """
    n_models, fan_in, fan_out = (data.draw(st.integers(1, 4)) for _ in range(3))
    kind = data.draw(st.sampled_from(["out", "in"]))
    w = data.draw(hnp.arrays(np.float64, (n_models, fan_in, fan_out), elements=DYADIC))
    labels = ss.neuron_groups(w.shape, kind)
    assert labels.shape == (fan_in, fan_out)
    units = fan_out if kind == "out" else fan_in
    q = data.draw(st.integers(0, units))
    _, mask = ss.group_best_q(w, labels, q)
    other_axis = 1 if kind == "out" else 2
    unit_kept = mask.all(axis=other_axis)
    assert np.array_equal(unit_kept, mask.any(axis=other_axis))  # whole units only
    assert np.all(unit_kept.sum(axis=1) == q)
    norms = (w**2).sum(axis=other_axis)  # (n_models, units), exact for DYADIC
    for m in range(n_models):
        expected = np.zeros(units, dtype=bool)
        expected[np.argsort(-norms[m], kind="stable")[:q]] = True
        np.testing.assert_array_equal(unit_kept[m], expected)


@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_group_best_q_with_singleton_groups_is_best_k_term(data):
    """With one group per entry, group_best_q(w, arange(n), q) = best_k_term(w, q).

    |w_i| orders like w_i², so both projections and both tie rules coincide.
    Falsified by any difference in the masks.
    """
    # float32 and int16 values have exact squares in float64 (no rounding, no
    # underflow), so distinct magnitudes keep distinct group norms.
    w = data.draw(vectors(max_size=20, dtypes=(np.float32, np.int16)))
    q = data.draw(st.integers(0, w.size))
    np.testing.assert_array_equal(ss.group_best_q(w, np.arange(w.size), q)[1],
                                  ss.best_k_term(w, q)[1])


@pytest.mark.parametrize("n,size", [(1, 1), (6, 2), (12, 4), (12, 12)])
def test_group_labels_are_contiguous_blocks(n, size):
    labels = ss.group_labels(n, size)
    np.testing.assert_array_equal(labels, np.repeat(np.arange(n // size), size))
