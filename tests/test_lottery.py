"""Iterative magnitude pruning bookkeeping, controls, and the lottery sweep module."""

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sparsesim.backend import child_seed
from sparsesim.nn import init_mlp
from sparsesim.nn import lottery as L
from sparsesim.nn.lottery import (CONDITIONS, LotteryProtocol, PruningSchedule, keep_counts,
                                  magnitude_prune, mask_counts, mnist1d_densities, random_masks,
                                  run_imp)
from sparsesim.nn.saliency import shuffle_masks
from sparsesim.nn.training import TrainData, train
from sparsesim.nn.optim import Adam
from sparsesim.sparsity import keep_count

SIZES = (8, 12, 12, 4)


def _data(seed=0, n=200):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, SIZES[0]))
    y = (np.argmax(X[:, :4] + 0.3 * X[:, 4:8], axis=1)).astype(np.int64)
    return TrainData(X[:120], y[:120], X[120:160], y[120:160], X[160:], y[160:])


def _protocol(**kw):
    base = dict(sizes=SIZES, residual=True, dtype=np.float64, lr=1e-2, steps=12, batch_size=16,
                eval_every=4, rewind_step=3, synflow_iterations=3,
                schedule=PruningSchedule.fixed_fraction(0.4, 3, output_rate=0.5))
    base.update(kw)
    return LotteryProtocol(**base)


class _Recorder:
    """extra_columns hook: keeps every round's batch masks, starting params and keys."""

    def __init__(self):
        self.rounds = {}

    def __call__(self, round_index, masks, params, keys):
        assert round_index not in self.rounds
        self.rounds[round_index] = (
            [(mW.copy(), None if mb is None else mb.copy()) for mW, mb in masks],
            [(W.copy(), b.copy()) for W, b in params], list(keys))
        return [{} for _ in keys]

    def get(self, r, cond):
        """(masks, params) of condition ``cond`` in round ``r`` (S models)."""
        masks, params, keys = self.rounds[r]
        idx = np.array([i for i, (c, _) in enumerate(keys) if c == cond])
        return ([(mW[idx], None if mb is None else mb[idx]) for mW, mb in masks],
                [(W[idx], b[idx]) for W, b in params])


# --------------------------------------------------------------------------- schedules

def test_fixed_fraction_counts_with_output_half_rate():
    """k_{r+1} = floor((1 - p ρ) k_r + 0.5), ρ = 1 hidden, 1/2 output: exact integers."""
    s = PruningSchedule.fixed_fraction(0.2, 4, output_rate=0.5, prune_biases=True)
    k = keep_counts(s, (300, 100, 10))
    w_hidden = [30000]
    w_out = [1000]
    b_hidden = [100]
    for _ in range(4):
        w_hidden.append(keep_count(0.8, w_hidden[-1]))
        w_out.append(keep_count(0.9, w_out[-1]))
        b_hidden.append(keep_count(0.8, b_hidden[-1]))
    assert k[:, 0, 0].tolist() == w_hidden == [30000, 24000, 19200, 15360, 12288]
    assert k[:, 1, 0].tolist() == w_out == [1000, 900, 810, 729, 656]
    assert k[:, 0, 1].tolist() == b_hidden == [100, 80, 64, 51, 41]


def test_density_list_counts_and_mnist1d_schedule():
    d = mnist1d_densities(100)
    assert len(d) == 98 and d[0] == pytest.approx(98 / 99) and d[-1] == pytest.approx(1 / 99)
    s = PruningSchedule.from_densities(d, prune_biases=True)
    k = keep_counts(s, (40, 500, 500, 10))
    assert k[1, 0, 0] == keep_count(98 / 99, 20000)
    assert k[-1, 2, 0] == keep_count(1 / 99, 5000) == 51      # output weights, last round
    assert k[-1, 2, 1] == 0                                   # 10 biases * 1/99 rounds to 0
    assert np.all(np.diff(k[:, :, 0], axis=0) <= 0)
    half = keep_counts(PruningSchedule.from_densities([0.5], output_rate=0.5), (4, 5, 10))
    assert half[1, 0, 0] == 10 and half[1, 1, 0] == keep_count(0.75, 50)
    assert half[1, 0, 1] == 5                                 # biases not pruned


def test_global_counts():
    s = PruningSchedule.fixed_fraction(0.5, 2, scope="global", output_rate=0.0)
    k = keep_counts(s, (4, 5, 10))            # pool: first layer only (20 weights)
    assert k.tolist() == [20, 10, 5]
    s = PruningSchedule.from_densities([0.3], scope="global", prune_biases=True)
    assert keep_counts(s, (4, 5, 10)).tolist() == [85, keep_count(0.3, 85)]


@pytest.mark.parametrize("make,match", [
    (lambda: PruningSchedule.fixed_fraction(0.0, 3), "fraction"),
    (lambda: PruningSchedule.fixed_fraction(1.0, 3), "fraction"),
    (lambda: PruningSchedule.fixed_fraction(-0.2, 3), "fraction"),
    (lambda: PruningSchedule.fixed_fraction(0.2, 0), "rounds"),
    (lambda: PruningSchedule.from_densities([0.5, 0.5]), "strictly decreasing"),
    (lambda: PruningSchedule.from_densities([0.2, 0.4]), "strictly decreasing"),
    (lambda: PruningSchedule.from_densities([0.5, 0.0]), "constant network"),
    (lambda: PruningSchedule.from_densities([1.2]), "densities"),
    (lambda: PruningSchedule.from_densities([]), "at least one"),
    (lambda: PruningSchedule.fixed_fraction(0.2, 3, scope="global", output_rate=0.5),
     "output_rate"),
    (lambda: PruningSchedule.fixed_fraction(0.2, 3, scope="block"), "scope"),
])
def test_bad_schedules(make, match):
    with pytest.raises(ValueError, match=match):
        make()


# --------------------------------------------------------------------------- pruning step

@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), frac=st.floats(0.05, 0.9), prune_biases=st.booleans(),
       scope=st.sampled_from(["layerwise", "global"]))
def test_magnitude_prune_exact_counts_nested_and_largest(seed, frac, prune_biases, scope):
    """Exact per-model counts (layerwise per tensor, global over the pool); the new mask is
    inside the old one; every kept surviving entry is at least as large as every pruned
    surviving entry of the same tensor (layerwise) or of the pool (global)."""
    rng = np.random.default_rng(seed)
    params = [(rng.normal(size=(3, 5, 6)), rng.normal(size=(3, 6))),
              (rng.normal(size=(3, 6, 4)), rng.normal(size=(3, 4)))]
    old = [(rng.random((3, 5, 6)) < 0.9, rng.random((3, 6)) < 0.9 if prune_biases else None),
           (np.ones((3, 6, 4), bool), np.ones((3, 4), bool) if prune_biases else None)]
    # counts of the old masks must match a schedule: build one from the old counts
    sched = PruningSchedule.fixed_fraction(frac, 1, prune_biases=prune_biases, scope=scope)
    if scope == "layerwise":
        # each model's old counts differ: prune each model alone to the rate applied to it
        for i in range(3):
            pi = [(W[i:i + 1], b[i:i + 1]) for W, b in params]
            mi = [(mW[i:i + 1], None if mb is None else mb[i:i + 1]) for mW, mb in old]
            full = [(np.ones_like(mW), None if mb is None else np.ones_like(mb)) for mW, mb in mi]
            new = magnitude_prune([(W * mW, b) for (W, b), (mW, _) in zip(pi, mi)], full, sched, 1)
            k = keep_counts(sched, (5, 6, 4))[1]
            for l, ((nW, nb), (W, b)) in enumerate(zip(new, pi)):
                assert int(nW.sum()) == k[l, 0]
                if prune_biases:
                    assert int(nb.sum()) == k[l, 1]
                a = np.abs(W * mi[l][0])
                if 0 < k[l, 0] < a.size:
                    assert a[nW].min() >= a[~nW].max()
    else:
        full = [(np.ones_like(mW), None if mb is None else np.ones_like(mb)) for mW, mb in old]
        new = magnitude_prune(params, full, sched, 1)
        K = int(keep_counts(sched, (5, 6, 4))[1])
        for i in range(3):
            kept = sum(int(nW[i].sum()) + (int(nb[i].sum()) if nb is not None else 0)
                       for nW, nb in new)
            assert kept == K
            vals_kept = np.concatenate([np.abs(W[i][nW[i]]) for (W, _), (nW, _) in
                                        zip(params, new)])
            vals_out = np.concatenate([np.abs(W[i][~nW[i]]) for (W, _), (nW, _) in
                                       zip(params, new)])
            if prune_biases:
                vals_kept = np.concatenate([vals_kept] + [np.abs(b[i][nb[i]]) for (_, b), (_, nb)
                                                          in zip(params, new)])
                vals_out = np.concatenate([vals_out] + [np.abs(b[i][~nb[i]]) for (_, b), (_, nb)
                                                        in zip(params, new)])
            if len(vals_out):
                assert vals_kept.min() >= vals_out.max()
    # nested: a second round never revives a pruned entry
    sched2 = PruningSchedule.fixed_fraction(frac, 2, prune_biases=prune_biases, scope=scope)
    full = [(np.ones_like(mW), None if mb is None else np.ones_like(mb)) for mW, mb in old]
    m1 = magnitude_prune(params, full, sched2, 1)
    noisy = [(W + rng.normal(size=W.shape), b + rng.normal(size=b.shape)) for W, b in params]
    m2 = magnitude_prune([(W * mW, b * (1 if mb is None else mb))
                          for (W, b), (mW, mb) in zip(noisy, m1)], m1, sched2, 2)
    for (a, c), (a2, c2) in zip(m1, m2):
        assert not np.any(a2 & ~a)
        if c is not None:
            assert not np.any(c2 & ~c)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), frac=st.floats(0.05, 0.9),
       output_rate=st.sampled_from([1.0, 0.5, 0.0]))
def test_joint_bias_ranking_is_one_ranking_per_layer(seed, frac, output_rate):
    """bias_ranking='joint': per model and layer, the kept weights and biases are exactly the
    largest |.| of the layer's surviving weights and bias together (ties to the lower index,
    weights before bias), with the same layer total as separate ranking; nested over rounds."""
    rng = np.random.default_rng(seed)
    params = [(rng.normal(size=(3, 5, 6)), rng.normal(size=(3, 6)) * rng.uniform(0.1, 3)),
              (rng.normal(size=(3, 6, 4)), rng.normal(size=(3, 4)) * rng.uniform(0.1, 3))]
    kw = dict(prune_biases=True, output_rate=output_rate)
    joint = PruningSchedule.fixed_fraction(frac, 2, bias_ranking="joint", **kw)
    sep = PruningSchedule.fixed_fraction(frac, 2, **kw)
    full = [(np.ones(W.shape, bool), np.ones(b.shape, bool)) for W, b in params]
    m1 = magnitude_prune(params, full, joint, 1)
    s1 = magnitude_prune(params, full, sep, 1)
    k = keep_counts(joint, (5, 6, 4))
    for l, ((W, b), (mW, mb), (sW, sb)) in enumerate(zip(params, m1, s1)):
        for i in range(3):
            got = np.concatenate([mW[i].ravel(), mb[i]])
            assert got.sum() == int(sW[i].sum() + sb[i].sum()) == int(k[1, l].sum())
            v = np.concatenate([np.abs(W[i]).ravel(), np.abs(b[i])])
            want = np.zeros(v.size, bool)
            want[np.argsort(-v, kind="stable")[:int(k[1, l].sum())]] = True
            np.testing.assert_array_equal(got, want)
    noisy = [(W + rng.normal(size=W.shape), b + rng.normal(size=b.shape)) for W, b in params]
    m2 = magnitude_prune([(W * mW, b * mb) for (W, b), (mW, mb) in zip(noisy, m1)], m1, joint, 2)
    for l, ((a, c), (a2, c2)) in enumerate(zip(m1, m2)):
        assert not np.any(a2 & ~a) and not np.any(c2 & ~c)
        assert (a2.sum(axis=(1, 2)) + c2.sum(axis=1) == int(k[2, l].sum())).all()


@pytest.mark.parametrize("kw,match", [
    (dict(prune_biases=False, bias_ranking="joint"), "prune_biases=True"),
    (dict(prune_biases=True, scope="global", bias_ranking="joint"), "scope='layerwise'"),
    (dict(prune_biases=True, bias_ranking="together"), "bias_ranking"),
])
def test_bad_bias_ranking(kw, match):
    with pytest.raises(ValueError, match=match):
        PruningSchedule.from_densities([0.5], **kw)


def test_prune_step_ranks_the_snapshot_and_the_end_is_the_default():
    """prune_step = k: round r+1's ticket is magnitude_prune of round r's lottery model after k
    steps (recomputed here by training that model again); prune_step = steps = the default."""
    proto = _protocol(prune_step=5)
    rec = _Recorder()
    run_imp(_data(), proto, conditions=["lottery"], seeds=[3, 4], backend="numpy",
            extra_columns=rec)
    seeds = [np.random.SeedSequence(s) for s in (3, 4)]
    for r in (1, 2):
        masks, params = rec.get(r, "lottery")
        again = train(params, _data(), optimizer=Adam(lr=proto.lr), steps=proto.steps,
                      batch_size=proto.batch_size, data_seed=[child_seed(s, L._DATA) for s in seeds],
                      masks=masks, residual=True, rewind_steps=(5,))
        want = magnitude_prune(again.rewind_params[5], masks, proto.schedule, r + 1)
        late = magnitude_prune(again.params, masks, proto.schedule, r + 1)
        got, _ = rec.get(r + 1, "lottery")
        for (gW, gb), (wW, wb) in zip(got, want):
            np.testing.assert_array_equal(gW, wW)
        # the snapshot is not the end of training: some mask differs (else the test is void)
        assert any(not np.array_equal(a, b) for (a, _), (b, _) in zip(want, late))
    end = run_imp(_data(), _protocol(prune_step=proto.steps), conditions=["lottery"],
                  seeds=[3, 4], backend="numpy")
    default = run_imp(_data(), _protocol(), conditions=["lottery"], seeds=[3, 4],
                      backend="numpy")
    assert end == default


def test_random_and_shuffled_masks_keep_counts_per_model():
    """Exact per-model per-tensor counts; a permutation of the ticket (shuffled) and a fresh
    draw (random) both differ from the ticket; the same seed reproduces."""
    rng = np.random.default_rng(0)
    ticket = [(rng.random((4, 20, 30)) < np.array([0.1, 0.3, 0.5, 0.7])[:, None, None],
               rng.random((4, 30)) < 0.5)]
    seeds = [np.random.SeedSequence(s) for s in range(4)]
    for fn in (random_masks, lambda m, s: shuffle_masks(m, seed=s)):
        out = fn(ticket, seeds)
        np.testing.assert_array_equal(mask_counts(out), mask_counts(ticket))
        assert not np.array_equal(out[0][0], ticket[0][0])
        again = fn(ticket, seeds)
        np.testing.assert_array_equal(again[0][0], out[0][0])
        # model i depends only on its own seed
        alone = fn([(ticket[0][0][2:3], ticket[0][1][2:3])], seeds[2:3])
        np.testing.assert_array_equal(alone[0][0][0], out[0][0][2])


def test_shuffled_masks_is_a_deprecated_alias_of_shuffle_masks():
    """The former name gives the very masks of shuffle_masks (one implementation), warning."""
    rng = np.random.default_rng(1)
    ticket = [(rng.random((3, 6, 5)) < 0.4, rng.random((3, 5)) < 0.5),
              (rng.random((3, 5, 2)) < 0.6, None)]
    seeds = [np.random.SeedSequence(s) for s in (7, 8, 9)]
    with pytest.warns(DeprecationWarning, match="shuffle_masks"):
        old = L.shuffled_masks
    new = shuffle_masks(ticket, seed=seeds)
    for (a, b), (c, d) in zip(old(ticket, seeds), new):
        np.testing.assert_array_equal(a, c)
        assert (b is None and d is None) or np.array_equal(b, d)
    assert "shuffled_masks" not in L.__all__


# --------------------------------------------------------------------------- the IMP driver

@pytest.fixture(scope="module")
def imp_run():
    rec = _Recorder()
    proto = _protocol()
    rows = run_imp(_data(), proto, conditions=list(CONDITIONS), seeds=[11, 12],
                   seed_labels=[0, 1], backend="numpy", extra_columns=rec)
    return proto, rows, rec


def test_rows_cover_every_condition_round_and_seed(imp_run):
    proto, rows, rec = imp_run
    keys = {(r["condition"], r["round"], r["seed"]) for r in rows}
    expected = {("dense", 0, s) for s in (0, 1)} | {
        (c, r, s) for c in CONDITIONS if c != "dense" for r in (1, 2, 3) for s in (0, 1)}
    assert keys == expected and len(rows) == len(expected)
    for r in rows:
        for col in ("density", "test_accuracy", "early_stop_iter", "train_loss", "val_accuracy",
                    "test_accuracy_early_stop"):
            assert col in r
        assert 0 <= r["test_accuracy"] <= 1
        assert 0 <= r["early_stop_iter"] <= proto.steps


def test_ticket_densities_per_round_exact(imp_run):
    """The lottery ticket of round r keeps exactly the schedule's per-layer counts, output
    layer at half rate; masks are nested across rounds."""
    proto, rows, rec = imp_run
    k = keep_counts(proto.schedule, SIZES)
    prev = None
    for r in (1, 2, 3):
        masks, _ = rec.get(r, "lottery")
        counts = mask_counts(masks)[:, :, 0]
        for i in range(2):
            assert counts[i].tolist() == k[r, :, 0].tolist()
        if prev is not None:
            for (a, _), (b, _) in zip(masks, prev):
                assert not np.any(a & ~b)
        prev = masks
        # the output layer is pruned at half rate
        assert k[r, 2, 0] > k[r, 0, 0] * (SIZES[3] * SIZES[2]) / (SIZES[0] * SIZES[1]) * 0.99
        row = [x for x in rows if x["condition"] == "lottery" and x["round"] == r][0]
        total = sum(a * b for a, b in zip(SIZES[:-1], SIZES[1:]))
        assert row["density"] == pytest.approx(k[r, :, 0].sum() / total)


def test_reset_restores_w0_and_rewind_restores_w_tau(imp_run):
    """lottery/random/shuffled start from w0 exactly; rewind starts from the dense run's
    parameters after tau steps (recomputed independently here)."""
    proto, rows, rec = imp_run
    _, w0 = rec.get(0, "dense")
    seeds = [np.random.SeedSequence(s) for s in (11, 12)]
    init = init_mlp(SIZES, 2, seed=[child_seed(s, L._INIT) for s in seeds], backend="numpy",
                    dtype=np.float64, residual=True)
    for (a, _), (b, _) in zip(w0, init):
        np.testing.assert_array_equal(a, b)
    tau_run = train(w0, _data(), optimizer=Adam(lr=proto.lr), steps=proto.rewind_step,
                    batch_size=proto.batch_size, data_seed=[child_seed(s, L._DATA) for s in seeds],
                    residual=True)
    for r in (1, 2, 3):
        for cond in ("lottery", "random", "shuffled", "snip", "grasp", "synflow", "oneshot"):
            masks, params = rec.get(r, cond)
            for (W, b), (W0, b0), (mW, _) in zip(params, w0, masks):
                np.testing.assert_array_equal(W[mW], W0[mW])
                np.testing.assert_array_equal(b, b0)
        masks, params = rec.get(r, "rewind")
        for (W, _), (Wt, _) in zip(params, tau_run.params):
            np.testing.assert_allclose(W, Wt, rtol=1e-12, atol=1e-14)


def test_controls_match_ticket_statistics(imp_run):
    """reinit: the ticket's mask, other weights; random/shuffled: the ticket's exact per-layer
    counts, another support; snip/grasp/synflow (layerwise scope): the ticket's per-layer
    weight counts; oneshot: the round's counts."""
    proto, rows, rec = imp_run
    _, w0 = rec.get(0, "dense")
    k = keep_counts(proto.schedule, SIZES)
    for r in (1, 2, 3):
        ticket, _ = rec.get(r, "lottery")
        tc = mask_counts(ticket)
        m, p = rec.get(r, "reinit")
        for (a, _), (b, _) in zip(m, ticket):
            np.testing.assert_array_equal(a, b)
        assert not np.any(p[0][0][m[0][0]] == w0[0][0][m[0][0]])
        for cond in ("random", "shuffled", "snip", "grasp", "synflow", "oneshot"):
            m, _ = rec.get(r, cond)
            np.testing.assert_array_equal(mask_counts(m)[:, :, 0], tc[:, :, 0], err_msg=cond)
            same = all(np.array_equal(a, b) for (a, _), (b, _) in zip(m, ticket))
            # round 1: the one-shot mask IS the first IMP mask (both prune the trained dense
            # net once); every other control differs from the ticket
            assert same == (cond == "oneshot" and r == 1), cond
        m, _ = rec.get(r, "oneshot")
        assert mask_counts(m)[0, :, 0].tolist() == k[r, :, 0].tolist()
    # reinit weights are fresh every round
    _, p1 = rec.get(1, "reinit")
    _, p2 = rec.get(2, "reinit")
    assert not np.array_equal(p1[0][0], p2[0][0])


def test_late_start_of_rewind_rows(imp_run):
    proto, rows, rec = imp_run
    for r in rows:
        if r["condition"] == "rewind":
            assert r["early_stop_iter"] >= proto.rewind_step


def test_bias_pruning_and_global_scope_controls():
    """With biases pruned: every condition keeps the ticket's exact per-layer bias counts.
    Global scope: per-model totals equal the ticket's; the saliency conditions at global
    scope keep the ticket's total weight count."""
    rec = _Recorder()
    sched = PruningSchedule.fixed_fraction(0.5, 2, prune_biases=True, scope="global")
    proto = _protocol(schedule=sched, saliency_scope="global", steps=6, eval_every=3)
    run_imp(_data(), proto, conditions=["lottery", "random", "shuffled", "snip", "synflow",
                                        "oneshot", "reinit"],
            seeds=[1, 2], backend="numpy", extra_columns=rec)
    K = keep_counts(sched, SIZES)
    for r in (1, 2):
        ticket, _ = rec.get(r, "lottery")
        tc = mask_counts(ticket)
        assert np.all(tc.sum(axis=(1, 2)) == K[r])
        for cond in ("random", "shuffled", "snip", "synflow", "reinit"):
            m, _ = rec.get(r, cond)
            mc = mask_counts(m)
            np.testing.assert_array_equal(mc[:, :, 1], tc[:, :, 1], err_msg=cond)
            np.testing.assert_array_equal(mc[:, :, 0].sum(axis=1), tc[:, :, 0].sum(axis=1),
                                          err_msg=cond)
        m, _ = rec.get(r, "oneshot")
        assert np.all(mask_counts(m).sum(axis=(1, 2)) == K[r])


def test_results_do_not_depend_on_batch_composition():
    """A condition's rows are the same whether or not other conditions share its batch."""
    proto = _protocol(steps=8, eval_every=4)
    a = run_imp(_data(), proto, conditions=["lottery", "shuffled", "reinit"], seeds=[5],
                backend="numpy")
    b = run_imp(_data(), proto, conditions=["shuffled"], seeds=[5], backend="numpy")
    sa = [r for r in a if r["condition"] == "shuffled"]
    assert len(sa) == len(b) == 3
    for x, y in zip(sa, b):
        assert x["test_accuracy"] == y["test_accuracy"]
        assert x["val_loss"] == pytest.approx(y["val_loss"], rel=1e-12)


# --------------------------------------------------------------------------- bad input

@pytest.fixture
def no_training(monkeypatch):
    """Fails the test if any training starts."""
    def forbidden(*a, **k):
        raise AssertionError("training started before the bad input was reported")
    monkeypatch.setattr(L, "train", forbidden)


@pytest.mark.parametrize("kw,err,match", [
    (dict(conditions=["lottery", "winning"]), ValueError, "condition"),
    (dict(conditions="lottery"), TypeError, "conditions"),
    (dict(conditions=[]), TypeError, "conditions"),
    (dict(seeds=[]), TypeError, "seeds"),
    (dict(seeds=[1, 2], seed_labels=[0]), ValueError, "seed_labels"),
    (dict(data=TrainData(np.zeros((10, 5)), np.zeros(10, int), np.zeros((5, 5)),
                         np.zeros(5, int), np.zeros((5, 5)), np.zeros(5, int))),
     ValueError, "n_in"),
    (dict(protocol=_protocol(batch_size=500)), ValueError, "batch_size"),
    (dict(protocol=_protocol(rewind_step=0), conditions=["rewind"]), ValueError, "rewind_step"),
])
def test_bad_input_raises_before_training(no_training, kw, err, match):
    args = dict(data=_data(), protocol=_protocol(), conditions=["lottery"], seeds=[0],
                backend="numpy")
    args.update(kw)
    with pytest.raises(err, match=match):
        run_imp(**args)


@pytest.mark.parametrize("kw,match", [
    (dict(rewind_step=12), "rewind_step"),
    (dict(rewind_step=50), "rewind_step"),
    (dict(sizes=(8,)), "sizes"),
    (dict(optimizer="lbfgs"), "optimizer"),
    (dict(saliency_scope="per-neuron"), "saliency_scope"),
    (dict(residual=(0,)), "residual"),
    (dict(prune_step=0), "prune_step"),
    (dict(prune_step=13), "prune_step"),
])
def test_bad_protocol(kw, match):
    with pytest.raises(ValueError, match=match):
        _protocol(**kw)


# --------------------------------------------------------------------------- sweep module

def _ctx(seed=0):
    return SimpleNamespace(seed=np.random.SeedSequence(seed), sweep_seed=7, backend="numpy",
                           progress=lambda t: None)


TEACHER = dict(dataset="teacher", n_in=12, n_out=3, hidden="", teacher_hidden="",
               teacher_density=0.25, n_train=150, n_validation=40, n_test=60, residual=False,
               steps=30, eval_every=10, batch_size=25, lr=0.05, dtype="float64",
               schedule="fraction", prune_fraction=0.4, rounds=3, prune_biases=False,
               rewind_step=3, synflow_iterations=3)


def test_sim_params_prune_step_and_bias_ranking():
    from sparsesim.sim import lottery as SL
    assert SL.protocol_from_params({}).prune_step is None           # 0 = the end of training
    proto = SL.protocol_from_params({"prune_step": 1000, "bias_ranking": "joint"})
    assert proto.prune_step == 1000 and proto.schedule.bias_ranking == "joint"
    with pytest.raises(ValueError, match="prune_step"):
        SL.protocol_from_params({"prune_step": -1})
    with pytest.raises(ValueError, match="prune_step"):
        SL.protocol_from_params({"prune_step": 2000})               # beyond steps = 1501
    with pytest.raises(TypeError, match="prune_step"):
        SL.protocol_from_params({"prune_step": 2.5})
    with pytest.raises(ValueError, match="bias_ranking"):
        SL.protocol_from_params({"bias_ranking": "joint", "prune_biases": False})


def test_sim_run_cells_one_list_of_rows_per_cell():
    from sparsesim.sim import lottery as sim
    cells = [dict(TEACHER, condition=c, seed=s) for c in ("dense", "lottery", "random")
             for s in (0, 1)]
    assert len({sim.batch_key(c) for c in cells}) == 1
    out = sim.run_cells(cells, [_ctx() for _ in cells])
    assert len(out) == len(cells)
    for cell, rows in zip(cells, out):
        assert isinstance(rows, list)
        assert [r["round"] for r in rows] == ([0] if cell["condition"] == "dense" else [1, 2, 3])
        for r in rows:
            assert "condition" not in r and "seed" not in r
            assert 0 <= r["support_recall"] <= 1
    # a cell alone gives the same rows as in the batch
    alone = sim.run_cell(cells[3], _ctx())
    assert [r["test_accuracy"] for r in alone] == [r["test_accuracy"] for r in out[3]]
    assert not sim.valid_cell(dict(TEACHER, condition="rewind", seed=0, rewind_step=0))
    assert sim.valid_cell(dict(TEACHER, condition="rewind", seed=0))


def test_seed_batching_off_splits_tasks_per_seed_with_the_same_rows():
    """``seed_batching = false``: one IMP run per seed, rows identical to the joint batch."""
    from sparsesim.sim import lottery as sim
    conds = ("dense", "lottery", "reinit")
    joint = [dict(TEACHER, condition=c, seed=s) for c in conds for s in (0, 1)]
    split = [dict(c, seed_batching=False) for c in joint]
    assert len({sim.batch_key(c) for c in joint}) == 1
    keys = {sim.batch_key(c) for c in split}
    assert len(keys) == 2                                   # one task per seed
    assert {sim.batch_key(c) for c in split if c["seed"] == 0} != \
        {sim.batch_key(c) for c in split if c["seed"] == 1}
    a = sim.run_cells(joint, [_ctx() for _ in joint])
    b = []
    for s in (0, 1):
        part = [c for c in split if c["seed"] == s]
        b.append(dict(zip((c["condition"] for c in part),
                          sim.run_cells(part, [_ctx() for _ in part]))))
    for cell, rows in zip(joint, a):
        other = b[cell["seed"]][cell["condition"]]
        assert [r["round"] for r in rows] == [r["round"] for r in other]
        for x, y in zip(rows, other):
            assert x["test_accuracy"] == y["test_accuracy"]
            assert x["early_stop_iter"] == y["early_stop_iter"]
            assert x["val_loss"] == pytest.approx(y["val_loss"], rel=1e-12)


def test_sim_support_overlap_against_direct_count():
    """support_recall of the lottery rows = |M ∩ S| / |S| computed from the masks."""
    from sparsesim.nn.data import planted_teacher
    from sparsesim.sim import lottery as sim
    data = planted_teacher(n_in=12, hidden=(), n_out=3, density=0.25, n_train=150, n_val=40,
                           n_test=60, seed=0, backend="numpy", dtype=np.float64)
    hook = sim.support_columns(data.teacher_masks, ())
    S = data.teacher_masks[0][0]
    M = np.zeros((2, 12, 3), bool)
    M[0] = S
    M[1, :2] = True
    cols = hook(1, [(M, None)], None, [("lottery", 0), ("random", 0)])
    assert cols[0]["support_recall"] == 1.0 and cols[0]["support_precision"] == 1.0
    assert cols[1]["support_recall"] == pytest.approx((S[:2]).sum() / S.sum())
    assert cols[1]["recall_chance"] == pytest.approx(6 / 36)
    assert cols[1]["precision_chance"] == pytest.approx(S.sum() / 36)


def test_path_support_of_a_hidden_student_against_brute_force_paths():
    """A hidden-layer student's support = the (input, output) pairs joined by some path of
    kept weights (enumerated here path by path), whatever the order of its hidden units."""
    rng = np.random.default_rng(3)
    m1 = rng.random((2, 6, 5)) < 0.3
    m2 = rng.random((2, 5, 4)) < 0.3
    C = sim_path_support([m1, m2])
    for b in range(2):
        for i in range(6):
            for j in range(4):
                assert C[b, i, j] == any(m1[b, i, h] and m2[b, h, j] for h in range(5))
    perm = rng.permutation(5)
    assert np.array_equal(sim_path_support([m1[:, :, perm], m2[:, perm, :]]), C)


def sim_path_support(masks):
    from sparsesim.sim.lottery.cells import path_support
    return path_support(masks)


def test_support_columns_for_a_hidden_student_and_the_recall_ceiling():
    """A hidden student whose paths hold exactly the teacher's support has recall 1; a
    student with fewer paths than |S| has its recall normalised by |C| / |S|."""
    from sparsesim.nn.data import planted_teacher
    from sparsesim.sim import lottery as sim
    data = planted_teacher(n_in=12, hidden=(), n_out=3, density=0.25, n_train=150, n_val=40,
                           n_test=60, seed=0, backend="numpy", dtype=np.float64)
    S = data.teacher_masks[0][0]
    hook = sim.support_columns(data.teacher_masks, (4,))
    # student 0: one hidden unit per output j, fed by the inputs S[:, j]: paths = S
    m1 = np.zeros((2, 12, 4), bool)
    m2 = np.zeros((2, 4, 3), bool)
    for j in range(3):
        m1[0, S[:, j], j] = True
        m2[0, j, j] = True
    # student 1: a single path, from the first input of S's first column to output 0
    i0 = int(np.flatnonzero(S[:, 0])[0])
    m1[1, i0, 3] = True
    m2[1, 3, 0] = True
    cols = hook(1, [(m1, None), (m2, None)], None, [("lottery", 0), ("random", 0)])
    assert cols[0]["support_recall"] == 1.0 and cols[0]["support_precision"] == 1.0
    assert cols[1]["support_recall"] == pytest.approx(1 / S.sum())
    assert cols[1]["support_recall_normalised"] == 1.0     # 1 path of 1 possible: at ceiling
    assert cols[1]["recall_chance"] == pytest.approx(1 / 36)


#: The seed article's claims, as a sweep TOML declares them ([[claims]] tables).
SEED_DECLARATIONS = [
    dict(id="a_acc_21", x="lottery", y="dense", metric="test_accuracy", direction="greater",
         density=0.21),
    dict(id="a_es_21", x="lottery", y="dense", metric="early_stop_iter", direction="less",
         density=0.21),
    dict(id="a_acc_3.6", x="lottery", y="dense", metric="test_accuracy", direction="greater",
         density=0.036),
    dict(id="b_21", x="lottery", y="reinit", metric="test_accuracy", direction="greater",
         density=0.21),
    dict(id="b_3.6", x="lottery", y="reinit", metric="test_accuracy", direction="greater",
         density=0.036),
    dict(id="c_3.6", x="rewind", y="lottery", metric="test_accuracy", direction="greater",
         density=0.036),
] + [dict(id=f"pattern_{d}", x="lottery", y="random", metric="test_accuracy",
          direction="greater", density=d) for d in (0.08, 0.05, 0.02, 0.01)]


def _declared(claims=SEED_DECLARATIONS):
    """The canonical JSON a sweep records in every cell for ``claims``."""
    from sparsesim.sim.lottery import check_claims
    from sparsesim.sweep.config import claims_json
    cells = [dict(condition=c, seed=0, schedule="densities",
                  densities="0.5,0.21,0.08,0.05,0.036,0.02,0.01")
             for c in ("dense", "lottery", "reinit", "rewind", "random")]
    return claims_json(check_claims([dict(c) for c in claims], cells))


def _synthetic_cells(lottery_acc, reinit_acc, rewind_acc, dense_acc=0.60, dense_es=800,
                     lottery_es=600, n_seeds=3, noise=0.001, eval_every=25, n_validation=500,
                     seed=0, claims=SEED_DECLARATIONS):
    """Cells of a made-up sweep: per-seed accuracies = the given means + N(0, noise).

    ``claims``: the declarations the cells carry (None: a run made before any).
    """
    rng = np.random.default_rng(seed)
    rows = []
    declared = {} if claims is None else {"claims": _declared(claims)}
    for s in range(n_seeds):
        common = dict(seed=s, rewind_step=50, dataset="mnist1d", eval_every=eval_every,
                      n_validation=n_validation, **declared)
        rows.append(dict(condition="dense", round=0, density=1.0,
                         test_accuracy=dense_acc + noise * rng.normal(),
                         test_accuracy_early_stop=dense_acc, early_stop_iter=dense_es, **common))
        for r, d in enumerate([0.5, 0.21, 0.08, 0.05, 0.036, 0.02, 0.01], start=1):
            for cond, acc in (("lottery", lottery_acc), ("reinit", reinit_acc),
                              ("rewind", rewind_acc), ("random", reinit_acc - 0.05)):
                es = lottery_es if cond != "dense" else dense_es
                rows.append(dict(condition=cond, round=r, density=d,
                                 test_accuracy=acc + noise * rng.normal(),
                                 test_accuracy_early_stop=acc,
                                 early_stop_iter=es + int(rng.integers(-25, 26)), **common))
    return pd.DataFrame(rows)


def _claim_verdicts(cells):
    from sparsesim.report import judge
    from sparsesim.sim import lottery as sim
    tabs = [t for t in sim.tables(cells) if t.kind == "claim"]
    j = judge(tabs)
    return [list(v) for v in j.verdicts], tabs


def test_claims_verdicts_follow_the_numbers():
    """Pre-registered claims: ✓ when the paired test rejects in the claim's direction,
    ✗ when it rejects in the opposite one, inconclusive with too few seeds."""
    holds, tabs = _claim_verdicts(_synthetic_cells(0.70, 0.50, 0.75, n_seeds=12, noise=0.01))
    assert holds[0] == [True] * 6
    assert tabs[0].frame["test"].iloc[0] == "paired t-test"
    assert list(tabs[0].frame["density"]) == [0.21, 0.21, 0.036, 0.21, 0.036, 0.036]
    fails, _ = _claim_verdicts(_synthetic_cells(0.55, 0.65, 0.50, n_seeds=12, noise=0.01,
                                                lottery_es=900))
    assert fails[0] == [False] * 6
    # Three seeds: an exact sign-flip test cannot reach p = 2^-3 < alpha / m.
    few, tabs = _claim_verdicts(_synthetic_cells(0.70, 0.50, 0.71, n_seeds=3))
    assert few[0] == ["inconclusive"] * 6
    assert set(tabs[0].frame["detectable at 80 % power"]) == {"none: 2^-n > α/m"}
    assert tabs[0].frame["test"].iloc[0] == "exact sign-flip test"


def test_claims_not_testable_rows_say_why():
    cells = _synthetic_cells(0.70, 0.50, 0.71, n_seeds=12, eval_every=100)
    v, tabs = _claim_verdicts(cells[cells["condition"] != "reinit"])
    assert v[0][1].startswith("not testable: the validation loss was evaluated every 100 steps")
    assert v[0][3] == v[0][4] == "not testable: the sweep has no 'reinit' condition"
    one = _synthetic_cells(0.70, 0.50, 0.71, n_seeds=1)
    v, _ = _claim_verdicts(one)
    assert v[0][0] == "not testable: 1 paired seed(s); a paired test needs 2"
    off = _synthetic_cells(0.70, 0.50, 0.71, n_seeds=12, n_validation=0)
    v, _ = _claim_verdicts(off)
    assert v[0][1].startswith("not testable: no validation split")
    # A density the schedule never comes near: the claims there are not testable.
    coarse = off[off["round"].isin([0, 1, 2])]
    v, _ = _claim_verdicts(coarse)
    assert v[0][2].startswith("not testable: no round within a factor 1.5 of density 0.036")


def test_without_a_validation_split_no_early_stop_figure_and_the_table_says_why(tmp_path):
    """n_validation = 0: no validation loss exists, so the early-stop figure is not drawn
    and the early-stopping table says every run reads its last step; with a split both are
    there."""
    from sparsesim.sim import lottery as sim
    for n_val, drawn in ((0, False), (500, True)):
        cells = _synthetic_cells(0.70, 0.50, 0.71, n_seeds=3, n_validation=n_val)
        names = [p.name for p in sim.figures(cells, tmp_path / str(n_val))]
        assert ("early_stop_vs_density.png" in names) is drawn
        es = next(t for t in sim.tables(cells) if t.title.startswith("Early-stopping"))
        assert ("every run reads its last step" in es.note) is (not drawn)


def test_claim_density_keys_are_checked_before_any_work():
    from sparsesim.sim import lottery as sim
    with pytest.raises(ValueError, match="claim_density must be a density in"):
        sim.valid_cell({"condition": "lottery", "seed": 0, "claim_density": 1.5})
    with pytest.raises(ValueError, match="claim_density_sparse = 0.001: the pruning schedule "
                                         "never reaches it"):
        sim.valid_cell({"condition": "lottery", "seed": 0, "claim_density_sparse": 0.001,
                        "schedule": "densities", "densities": "0.5,0.2,0.05"})


def test_tables_and_figures(tmp_path):
    from sparsesim.report import judge
    from sparsesim.sim import lottery as sim
    cells = _synthetic_cells(0.70, 0.50, 0.71)
    tabs = sim.tables(cells)
    pub = [t for t in tabs if t.kind == "interval"][0]
    assert "published" in pub.title and pub.level == 0.95
    f = pub.frame
    assert list(f["published (%)"].iloc[:2]) == [75.6, 74.4]
    j = judge(tabs)
    # Our synthetic lottery tickets sit at 70 % with sd 0.1 points: 75.6 lies outside.
    assert j.verdicts[tabs.index(pub)][0] is False
    acc = tabs[0].frame
    assert list(acc["round"]) == [0, 1, 2, 3, 4, 5, 6, 7]
    assert acc.loc[acc["round"] == 1, "lottery"].iloc[0].startswith("70.")
    paths = sim.figures(cells, tmp_path)
    assert [p.name for p in paths] == ["accuracy_vs_density.png", "early_stop_vs_density.png"]
    assert all(p.stat().st_size > 1000 for p in paths)


def test_sim_config_files_load():
    from sparsesim.sweep import load_config
    for name in ("lottery_mnist1d", "lottery_teacher"):
        full = load_config(name)
        quick = load_config(name, quick=True)
        conds = {c["condition"] for c in full.cells}
        assert conds == (set(CONDITIONS) if name == "lottery_mnist1d"
                         else set(CONDITIONS) - {"rewind"})
        assert len({full.module.batch_key(c) for c in full.cells}) == 1
        assert len(quick.cells) < len(full.cells)
    proto = __import__("sparsesim.sim.lottery", fromlist=["x"]).protocol_from_params(
        dict(load_config("lottery_mnist1d").cells[0]))
    assert proto.sizes == (40, 500, 500, 10) and proto.lr == 0.02 and proto.steps == 1501
    assert proto.schedule.rounds == 98 and proto.schedule.prune_biases
    assert proto.schedule.output_rate == 1.0 and proto.residual is True


# --------------------------------------------------------------------------- the MNIST-1D notebook's protocol

def _notebook_drop(sparsity, n):
    """The notebook's get_mask: num_to_drop = int(sparsity * len(scores))."""
    return int(sparsity * n)


def test_truncate_count_rule_is_the_notebooks_int_sparsity_len():
    """count_rule='truncate' on the 98-round schedule and the 40-500-500-10 network: every
    tensor keeps n - int(s n) and a jointly ranked layer keeps n - int(s (n_w + n_b)), with s
    the notebook's own np.linspace(0, 1, 100) values; 'nearest' differs somewhere."""
    sizes = (40, 500, 500, 10)
    trunc = PruningSchedule.from_densities(mnist1d_densities(100), prune_biases=True,
                                           bias_ranking="joint", count_rule="truncate")
    near = PruningSchedule.from_densities(mnist1d_densities(100), prune_biases=True,
                                          bias_ranking="joint")
    sparsity = np.linspace(0, 1.0, 100)
    k = keep_counts(trunc, sizes)
    differs = 0
    for r in range(1, 99):
        for l, (fi, fo) in enumerate(zip(sizes[:-1], sizes[1:])):
            assert k[r, l, 0] == fi * fo - _notebook_drop(sparsity[r], fi * fo)
            assert k[r, l, 1] == fo - _notebook_drop(sparsity[r], fo)
            n = fi * fo + fo
            assert trunc.kept(r, n) == n - _notebook_drop(sparsity[r], n)
            differs += trunc.kept(r, n) != int(keep_counts(near, sizes)[r, l].sum())
    assert differs > 0


def test_truncate_joint_pruning_keeps_the_notebooks_count_per_layer():
    """magnitude_prune with joint ranking and count_rule='truncate' keeps exactly
    n_layer - int(s n_layer) entries per layer and model, the largest |w| and |b| of the
    layer among the surviving entries."""
    sizes = (7, 9, 3)
    params = init_mlp(sizes, 2, seed=5, backend="numpy", dtype=np.float64)
    params = [(W, b + np.random.default_rng(1).normal(size=b.shape)) for W, b in params]
    sched = PruningSchedule.from_densities([0.77, 0.41, 0.13], prune_biases=True,
                                           bias_ranking="joint", count_rule="truncate")
    masks = L._full_masks(params, True)
    for r in (1, 2, 3):
        prev = masks
        masks = magnitude_prune(params, masks, sched, r)
        for (W, b), (mW, mb), (pW, pb) in zip(params, masks, prev):
            n = W[0].size + b.shape[1]
            want = n - int((1.0 - sched.densities[r - 1]) * n)
            for i in range(2):
                assert not (mW[i] & ~pW[i]).any() and not (mb[i] & ~pb[i]).any()   # nested
                kept = np.concatenate([np.abs(W[i])[mW[i]], np.abs(b[i])[mb[i]]])
                dropped = np.concatenate([np.abs(W[i])[pW[i] & ~mW[i]],
                                          np.abs(b[i])[pb[i] & ~mb[i]]])
                assert kept.size == want and dropped.size > 0
                assert kept.min() >= dropped.max()
    with pytest.raises(ValueError, match="count_rule"):
        PruningSchedule.from_densities([0.5], count_rule="floor")
    with pytest.raises(ValueError, match="count_rule"):
        PruningSchedule(densities=(0.8,), fraction=0.2, count_rule="truncate")


def test_batch_order_sequential_reaches_every_round_and_the_first_minibatch():
    """LotteryProtocol(batch_order='sequential'): every round trains on the stored order (the
    next round's ticket is magnitude_prune of that training, recomputed here), and SNIP's first
    minibatch is the first 16 stored examples for every seed."""
    proto = _protocol(batch_order="sequential", prune_step=None)
    rec = _Recorder()
    run_imp(_data(), proto, conditions=["lottery"], seeds=[3, 4], backend="numpy",
            extra_columns=rec)
    masks, params = rec.get(1, "lottery")
    again = train(params, _data(), optimizer=Adam(lr=proto.lr), steps=proto.steps,
                  batch_size=proto.batch_size, data_seed=0, masks=masks, residual=True,
                  batch_order="sequential")
    want = magnitude_prune(again.params, masks, proto.schedule, 2)
    got, _ = rec.get(2, "lottery")
    for (gW, _), (wW, _) in zip(got, want):
        np.testing.assert_array_equal(gW, wW)
    shuffled = run_imp(_data(), _protocol(), conditions=["lottery"], seeds=[3, 4],
                       backend="numpy")
    seq = run_imp(_data(), proto, conditions=["lottery"], seeds=[3, 4], backend="numpy")
    assert [r["test_accuracy"] for r in seq] != [r["test_accuracy"] for r in shuffled]
    with pytest.raises(ValueError, match="batch_order"):
        _protocol(batch_order="fixed")


def test_sim_params_of_the_notebook_protocol():
    """batch_order, count_rule and n_validation = 0 reach the protocol and the rows: early
    stopping is off (the early-stop accuracy is the final one); the new parameters' neutral
    defaults are their DEFAULTS, so journals written before them keep their cell identity."""
    from sparsesim.sim import lottery as SL
    for key in ("batch_order", "count_rule", "prune_step", "bias_ranking"):
        assert SL.NEUTRAL_DEFAULTS[key] == SL.DEFAULTS[key]
    proto = SL.protocol_from_params({"batch_order": "sequential", "count_rule": "truncate",
                                     "bias_ranking": "joint", "prune_step": 1001})
    assert proto.batch_order == "sequential" and proto.schedule.count_rule == "truncate"
    assert proto.prune_step == 1001
    with pytest.raises(ValueError, match="count_rule"):
        SL.protocol_from_params({"schedule": "fraction", "count_rule": "truncate"})
    with pytest.raises(ValueError, match="batch_order"):
        SL.protocol_from_params({"batch_order": "fixed"})
    ctx = SimpleNamespace(backend="numpy", sweep_seed=11)
    cells = [dict(TEACHER, n_validation=0, batch_order="sequential", condition=c, seed=0)
             for c in ("dense", "lottery")]
    rows = SL.run_cells(cells, [ctx, ctx])
    for cell_rows in rows:
        for row in cell_rows:
            assert row["early_stop_iter"] == TEACHER["steps"]
            assert row["test_accuracy_early_stop"] == row["test_accuracy"]
            assert np.isnan(row["val_loss"])


def test_sim_notebook_config_uses_every_notebook_detail():
    from sparsesim.sweep import load_config
    from sparsesim.sim import lottery as SL
    for path in ("sims/cpu/lottery_mnist1d_notebook.toml", "lottery_mnist1d"):
        cfg = load_config(path)
        p = dict(cfg.cells[0])
        assert (p["batch_order"], p["count_rule"], p["bias_ranking"]) == \
            ("sequential", "truncate", "joint")
        assert (p["n_validation"], p["prune_step"], p["steps"]) == (0, 1001, 1501)
        proto = SL.protocol_from_params(p)
        assert proto.schedule.rounds == 98 and proto.init == "torch_uniform"
    nb = load_config("sims/cpu/lottery_mnist1d_notebook.toml")
    assert {c["condition"] for c in nb.cells} >= {"lottery", "random"}
    assert len({c["seed"] for c in nb.cells}) >= 4
    assert len({nb.module.batch_key(c) for c in nb.cells}) == len({c["seed"] for c in nb.cells})


# --------------------------------------------------------------------------- registry and loop

def test_controls_registry_holds_every_condition_with_one_signature():
    import inspect

    from sparsesim.nn.lottery import CONTROLS, Condition
    assert tuple(CONTROLS) == CONDITIONS
    for name, cond in CONTROLS.items():
        assert isinstance(cond, Condition) and cond.name == name
        assert list(inspect.signature(cond.start).parameters) == ["ctx", "r"]
        assert cond.kind in ("reference", "chain", "control")
    assert [c for c, v in CONTROLS.items() if v.kind == "chain"] == ["lottery", "rewind"]


def test_imp_rounds_prunes_after_every_round_but_the_last():
    from sparsesim.nn.lottery import imp_rounds
    rng = np.random.default_rng(0)
    w = [(rng.normal(size=(2, 6, 5)), np.zeros((2, 5))),
         (rng.normal(size=(2, 5, 3)), np.zeros((2, 3)))]
    full = [(np.ones(W.shape, bool), None) for W, _ in w]
    sched = PruningSchedule.fixed_fraction(0.5, 3)
    seen = []

    def train_round(r, masks):
        seen.append((r, mask_counts(masks)[:, :, 0].sum(axis=1).tolist()))
        return w
    final = imp_rounds(sched, w, full, train_round)
    counts = keep_counts(sched, (6, 5, 3))
    assert [r for r, _ in seen] == [1, 2, 3]
    for r, c in seen:                     # keep_counts row r: the counts of round r
        assert c == [int(counts[r, :, 0].sum())] * 2
    assert mask_counts(final)[:, :, 0].sum(axis=1).tolist() == seen[-1][1]
    with pytest.raises(ValueError, match="rounds"):
        imp_rounds(sched, w, full, train_round, rounds=4)
    with pytest.raises(TypeError, match="train_round"):
        imp_rounds(sched, w, full, None)
