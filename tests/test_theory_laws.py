"""The law objects of :mod:`sparsesim.theory.laws` and the theory package's namespace.

Each hook is checked against the closed form it wraps (bit for bit), against an
independent direct computation in plain floating point or SciPy at moderate sizes,
and by properties (hypothesis, derandomised: no false alarms) that tie the hooks
together: the TP/FP convolution is the Binomial law of ``|Ŝ|`` in a homogeneous
model, ``P(Ŝ = S | |Ŝ| = k) = 1/C(n, k)`` there, and every pmf sums to 1.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sstats

import sparsesim.theory as T
from sparsesim.theory.laws import ExactLaw, GroupLaw, PlantedLaw, SupportLaw

PROPS = settings(max_examples=60, deadline=None, derandomize=True, database=None)

EXACT = [(1000, 10, 2.5, 1.0), (16, 1, 1.1, 1.0), (40, 0, 0.0, 2.0), (12, 12, 3.0, 0.5),
         (10 ** 9, 10, 40.0, 1.0)]
GROUP = [(100, 4, 5, 3.0, 1.0), (10, 1, 2, 1.5, 1.0), (30, 8, 0, 2.0, 2.0), (6, 3, 6, 0.0, 1.0)]
PLANTED = [(1000, 10, 8.0, 4.0, 1.0), (16, 2, 3.0, 1.5, 1.0), (50, 5, 0.0, 2.0, 1.0),
           (20, 4, 6.0, 3.0, 2.0)]


def _same(a, b) -> bool:
    """Equal to the bit (NaN equal to NaN), shapes and scalar-ness included."""
    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and bool(np.all((a == b) | (np.isnan(a) & np.isnan(b))))


# --------------------------------------------------------------------------- the wrapped functions

@pytest.mark.parametrize("d,k,t,sigma", EXACT)
@pytest.mark.parametrize("log", [False, True])
def test_exact_law_hooks_are_the_closed_forms_to_the_bit(d, k, t, sigma, log):
    law = ExactLaw(d, k, t, sigma)
    j = np.array([0, 1, k, max(d - k, 0), d])
    assert _same(law.survival_prob(log=log), T.tail_prob(t, sigma, log=log))
    assert _same(law.survival_prob(on_support=True, log=log), T.tail_prob(t, sigma, log=log))
    assert _same(law.recovery_prob(log=log), T.support_recovery_prob(d, k, t, sigma, log=log))
    assert _same(law.topk_recovery_prob(log=log), T.topk_selection_prob(d, k, log=log))
    assert _same(law.conditional_recovery_prob(log=log), T.topk_selection_prob(d, k, log=log))
    assert _same(law.size_pmf(j, log=log), T.selected_count_pmf(j, d, t, sigma, log=log))
    assert _same(law.tp_pmf(j, log=log), T.true_positive_pmf(j, d, k, t, sigma, log=log))
    assert _same(law.fp_pmf(j, log=log), T.false_positive_pmf(j, d, k, t, sigma, log=log))


@pytest.mark.parametrize("G,g,q,tau,sigma", GROUP)
@pytest.mark.parametrize("log", [False, True])
def test_group_law_hooks_are_the_closed_forms_to_the_bit(G, g, q, tau, sigma, log):
    law = GroupLaw(G, g, q, tau, sigma)
    assert _same(law.survival_prob(log=log), T.group_tail_prob(g, tau, sigma, log=log))
    assert _same(law.recovery_prob(log=log),
                 T.group_support_recovery_prob(G, g, q, tau, sigma, log=log))
    assert _same(law.topk_recovery_prob(log=log), T.group_topq_selection_prob(G, q, log=log))
    assert _same(law.conditional_recovery_prob(log=log),
                 T.group_topq_selection_prob(G, q, log=log))


@pytest.mark.parametrize("d,k,mu,t,sigma", PLANTED)
@pytest.mark.parametrize("log", [False, True])
def test_planted_law_hooks_are_the_closed_forms_to_the_bit(d, k, mu, t, sigma, log):
    law = PlantedLaw(d, k, mu, t, sigma)
    j = np.arange(d - k + 1)
    assert _same(law.survival_prob(log=log), T.tail_prob(t, sigma, log=log))
    assert _same(law.survival_prob(on_support=True, log=log),
                 T.planted_tail_prob(mu, t, sigma, log=log))
    assert _same(law.recovery_prob(log=log), T.planted_recovery_prob(d, k, mu, t, sigma, log=log))
    assert _same(law.topk_recovery_prob(log=log),
                 T.planted_topk_recovery_prob(d, k, mu, sigma, log=log))
    assert _same(law.fp_pmf(j, log=log), T.false_positive_pmf(j, d, k, t, sigma, log=log))


def test_binomial_gives_the_parameters_of_each_count():
    e = ExactLaw(100, 7, 2.0, 1.5)
    q = T.tail_prob(2.0, 1.5)
    assert e.binomial("size") == (100, q) and e.binomial("tp") == (7, q)
    assert e.binomial("fp") == (93, q)
    p = PlantedLaw(100, 7, 5.0, 2.0)
    assert p.binomial("tp") == (7, T.planted_tail_prob(5.0, 2.0))
    assert p.binomial("fp") == (93, T.tail_prob(2.0))
    with pytest.raises(ValueError, match="count='size'"):
        p.binomial("size")
    with pytest.raises(ValueError, match="count"):
        e.binomial("all")
    trials, probs = GroupLaw([10, 20], 4, 3, 2.0).binomial("fp")
    assert trials.tolist() == [7, 17] and _same(probs, np.full(2, T.group_tail_prob(4, 2.0)))


# --------------------------------------------------------------------------- direct computation

@pytest.mark.parametrize("law", [ExactLaw(30, 4, 1.2), ExactLaw(200, 20, 1.8, 2.0),
                                 GroupLaw(25, 3, 4, 2.5), GroupLaw(40, 10, 6, 4.0, 1.2),
                                 PlantedLaw(30, 4, 3.0, 1.2), PlantedLaw(60, 6, 4.0, 2.5, 1.5)],
                         ids=repr)
def test_log_space_hooks_agree_with_a_direct_computation(law):
    """Plain floats / SciPy at sizes where nothing underflows: relative error < 1e-11."""
    n, k = int(law.n), int(law.k)
    q, p_on = float(law.survival_prob()), float(law.survival_prob(on_support=True))
    direct_q = (2.0 * sstats.norm.sf(float(law.t) / float(law.sigma)) if law.kind != "group"
                else sstats.chi2.sf((float(law.t) / float(law.sigma)) ** 2, int(law.g)))
    assert q == pytest.approx(direct_q, rel=1e-12)
    recovery = p_on ** k * (1.0 - q) ** (n - k)
    assert float(law.recovery_prob()) == pytest.approx(recovery, rel=1e-11)
    assert float(np.exp(law.recovery_prob(log=True))) == pytest.approx(recovery, rel=1e-11)
    tp = sstats.binom.pmf(np.arange(k + 1), k, p_on)
    fp = sstats.binom.pmf(np.arange(n - k + 1), n - k, q)
    size = np.convolve(tp, fp)
    assert np.allclose(law.tp_pmf(np.arange(k + 1)), tp, rtol=1e-11, atol=1e-300)
    assert np.allclose(law.fp_pmf(np.arange(n - k + 1)), fp, rtol=1e-11, atol=1e-300)
    assert np.allclose(law.size_pmf(np.arange(n + 1)), size, rtol=1e-10, atol=1e-15)
    assert float(law.conditional_recovery_prob()) == pytest.approx(recovery / size[k], rel=1e-10)
    if law.homogeneous:
        assert float(law.topk_recovery_prob()) == pytest.approx(1 / math.comb(n, k), rel=1e-13)


def test_log_hooks_stay_finite_where_the_probability_underflows():
    law = ExactLaw(10 ** 9, 10, 40.0)
    assert float(law.recovery_prob()) == 0.0
    assert float(law.recovery_prob(log=True)) == pytest.approx(-8039.152948331938, rel=1e-13)
    assert np.isfinite(law.tp_pmf(10, log=True)) and float(law.tp_pmf(10)) == 0.0
    planted = PlantedLaw(10 ** 6, 1000, 1.0, 6.0)
    assert -np.inf < float(planted.recovery_prob(log=True)) < -700.0
    assert np.isfinite(planted.size_pmf(1000, log=True))


# --------------------------------------------------------------------------- properties

_sizes = st.integers(1, 60).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n)))
_thresholds = st.floats(0.0, 4.0)
_sigmas = st.floats(0.25, 4.0)


@PROPS
@given(_sizes, _thresholds, _sigmas)
def test_tp_fp_convolution_is_the_binomial_law_of_the_size_in_a_homogeneous_model(nk, t, sigma):
    n, k = nk
    j = np.arange(n + 1)
    for law in (ExactLaw(n, k, t, sigma), GroupLaw(n, 3, k, t, sigma)):
        closed = np.asarray(law.size_pmf(j, log=True))
        convolved = np.asarray(SupportLaw.size_pmf(law, j, log=True))
        finite = closed > -600.0                   # both far from underflow there
        assert np.array_equal(np.isneginf(closed), np.isneginf(convolved))
        assert np.allclose(convolved[finite], closed[finite], rtol=0, atol=1e-9)


@PROPS
@given(_sizes, _thresholds.filter(lambda t: t > 0.05), _sigmas)
def test_given_its_size_the_kept_set_is_uniform_in_a_homogeneous_model(nk, t, sigma):
    n, k = nk
    for law in (ExactLaw(n, k, t, sigma), GroupLaw(n, 2, k, t, sigma)):
        if float(law.size_pmf(k, log=True)) < -600.0:
            continue
        generic = float(SupportLaw.conditional_recovery_prob(law, log=True))
        assert generic == pytest.approx(-math.log(math.comb(n, k)), abs=1e-9)


@PROPS
@given(_sizes, st.floats(0.0, 8.0), _thresholds, _sigmas)
def test_every_pmf_of_the_planted_law_sums_to_one(nk, mu, t, sigma):
    n, k = nk
    law = PlantedLaw(n, k, mu, t, sigma)
    for pmf, top in ((law.size_pmf, n), (law.tp_pmf, k), (law.fp_pmf, n - k)):
        total = float(np.sum(pmf(np.arange(top + 1))))
        assert total == pytest.approx(1.0, abs=1e-12)
        assert float(pmf(top + 1)) == 0.0


def test_laws_broadcast_their_parameters_like_the_functions():
    law = PlantedLaw([20, 40], 4, [[2.0], [5.0]], 1.5)
    assert law.n.shape == (2, 2)
    assert _same(law.recovery_prob(), T.planted_recovery_prob([20, 40], 4, [[2.0], [5.0]], 1.5))
    size = law.size_pmf(np.array([3, 4, 5])[:, None, None])
    assert size.shape == (3, 2, 2)
    for i in range(2):
        for m in range(2):
            one = PlantedLaw([20, 40][m], 4, [2.0, 5.0][i], 1.5)
            assert np.allclose(size[:, i, m], one.size_pmf([3, 4, 5]), rtol=1e-14, atol=0)


# --------------------------------------------------------------------------- bad input

@pytest.mark.parametrize("make,name", [
    (lambda: ExactLaw(0, 0, 1.0), "d"),
    (lambda: ExactLaw(5, 6, 1.0), "k"),
    (lambda: ExactLaw(5, 2.0, 1.0), "k"),
    (lambda: ExactLaw(5, 2, -1.0), "t"),
    (lambda: ExactLaw(5, 2, 1.0, 0.0), "sigma"),
    (lambda: GroupLaw(5, 0, 2, 1.0), "g"),
    (lambda: GroupLaw(5, 2, 6, 1.0), "q"),
    (lambda: GroupLaw(0, 2, 0, 1.0), "G"),
    (lambda: GroupLaw(5, 2, 2, np.nan), "tau"),
    (lambda: PlantedLaw(5, 2, -1.0, 1.0), "mu"),
    (lambda: PlantedLaw(5, [1, 2, 3], 1.0, [1.0, 2.0]), "k (3,)"),
    (lambda: ExactLaw(5, 2, 1.0).tp_pmf(-1), "j"),
    (lambda: ExactLaw(5, 2, 1.0).recovery_prob(log="yes"), "log"),
    (lambda: PlantedLaw(5, 2, 1.0, 1.0).survival_prob(on_support=1), "on_support"),
    (lambda: PlantedLaw(5, 2, 1.0, 1.0).size_pmf(1.5), "j"),
    (lambda: PlantedLaw(10 ** 9, 10 ** 8, 1.0, 1.0).size_pmf(5), "j"),
    (lambda: GroupLaw(5, 2, 2, 1.0).fp_pmf([0, -2]), "j"),
])
def test_bad_input_raises_naming_the_argument(make, name):
    with pytest.raises((ValueError, TypeError)) as info:
        make()
    assert name in str(info.value)


# --------------------------------------------------------------------------- the package

def test_every_public_name_lives_at_sparsesim_theory():
    for name in T.__all__:
        obj = getattr(T, name)
        assert obj.__module__ == "sparsesim.theory", name
    from sparsesim.theory import support_recovery_prob, tail_prob  # noqa: F401


def test_a_name_set_on_the_package_reaches_every_submodule_and_law(monkeypatch):
    """Falsified if a closed form in a submodule kept its own binding of the survival
    kernel: the planted-error tests patch it on the package."""
    law = PlantedLaw(100, 5, 3.0, 2.0)
    before = (float(T.tail_prob(2.0)), float(law.recovery_prob(log=True)),
              float(T.group_tail_prob(3, 2.0)), float(law.tp_pmf(5, log=True)))
    real = T._survival_pair

    def halved(a, **kw):
        log_s, _ = real(a, **kw)
        log_s = log_s + math.log(0.5)
        return log_s, T._log1mexp(log_s)

    monkeypatch.setattr(T, "_survival_pair", halved)
    after = (float(T.tail_prob(2.0)), float(law.recovery_prob(log=True)),
             float(T.group_tail_prob(3, 2.0)), float(law.tp_pmf(5, log=True)))
    assert after[0] == pytest.approx(before[0] / 2, rel=1e-14)
    assert after[2] == pytest.approx(before[2] / 2, rel=1e-14)
    assert after[1] < before[1] and after[3] == pytest.approx(before[3] + 5 * math.log(0.5))
    monkeypatch.undo()
    assert (float(T.tail_prob(2.0)), float(law.recovery_prob(log=True)),
            float(T.group_tail_prob(3, 2.0)), float(law.tp_pmf(5, log=True))) == before


def test_a_patched_rho_w_reaches_the_transition_band(monkeypatch):
    lo, hi = T.l1_transition_band(400, 200)
    real = T.l1_phase_transition
    monkeypatch.setattr(T, "l1_phase_transition",
                        lambda delta, *, signed=True: real(delta, signed=signed) * 1.1)
    lo2, hi2 = T.l1_transition_band(400, 200)
    assert lo2 == pytest.approx(1.1 * lo, rel=1e-12) and hi2 > hi


@pytest.mark.parametrize("func,args", [
    (T.prob_random_mask_avoids, ([10, 12], [[0], [2], [4]], 3)),
    (T.prob_magnitude_mask_avoids, (8, [0, 1, 2], 3, [[0.5], [2.0]])),
    (T.best_k_relative_error_exact, ([12, 20], [0, 3], [1, 2])),
])
def test_the_finite_size_closed_forms_broadcast_element_by_element(func, args):
    out = func(*args)
    arrays = np.broadcast_arrays(*(np.asarray(a) for a in args))
    assert isinstance(out, np.ndarray) and out.shape == arrays[0].shape
    for idx in np.ndindex(out.shape):
        one = func(*(a[idx].item() for a in arrays))
        assert type(one) is float and out[idx] == one


# --------------------------------------------------------------------------- adversarial input

from test_fuzz import FUZZ, bools, counts, judge_call, probability, reals  # noqa: E402

LAW_FUZZ = [
    (ExactLaw, {"d": 100, "k": 5, "t": 2.0, "sigma": 1.0},
     {"d": counts, "k": counts, "t": reals, "sigma": reals}),
    (GroupLaw, {"G": 20, "g": 4, "q": 2, "tau": 3.0, "sigma": 1.0},
     {"G": counts, "g": counts, "q": counts, "tau": reals, "sigma": reals}),
    (PlantedLaw, {"d": 100, "k": 5, "mu": 3.0, "t": 2.0, "sigma": 1.0},
     {"d": counts, "k": counts, "mu": reals, "t": reals, "sigma": reals}),
]


def _law_hook(cls, hook):
    def call(log, **params):
        law = cls(**params)
        return getattr(law, hook)(law.k, log=log) if hook.endswith("pmf") else \
            getattr(law, hook)(log=log)
    call.__qualname__ = f"{cls.__name__}.{hook}"
    return call


@pytest.mark.parametrize("hook", ["recovery_prob", "tp_pmf", "fp_pmf"])
@pytest.mark.parametrize("cls,valid,kinds", LAW_FUZZ, ids=lambda v: getattr(v, "__name__", ""))
@FUZZ
@given(data=st.data())
def test_adversarial_parameters_are_refused_by_name_or_give_a_probability(cls, valid, kinds,
                                                                           hook, data):
    """The fuzzer's values (NaN, huge, negative, floats for counts, arrays, non-numbers),
    one parameter at a time: a ValueError/TypeError naming it, or a probability."""
    kinds = dict(kinds, log=bools)
    name = data.draw(st.sampled_from(sorted(kinds)))
    params = dict(valid, log=False)
    params[name] = data.draw(kinds[name]())
    judge_call(_law_hook(cls, hook), params, {name}, sanity=probability,
               aliases={"d": ("k",), "k": ("d", "j"), "G": ("q",), "q": ("G", "j")})
