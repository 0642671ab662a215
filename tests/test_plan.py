"""Power planning before a run: the seed counts against brute force and simulation, the CLI.

Statistical checks use fixed seeds and 20,000 simulated experiments; a
rate is compared with its target by ±3 standard errors, a bound a correct
planner misses with probability about 0.13 % per one-sided check (so about
1 % over the eight such checks here) were the seed redrawn.
"""

from __future__ import annotations

import itertools
import math
import textwrap

import numpy as np
import pandas as pd
import pytest
from scipy import special, stats

from sparsesim import cli
from sparsesim.plan import _paired_detectable, _tost_detectable, plan
from sparsesim.stats import (
    EXACT_BELOW,
    equivalence_power,
    equivalence_test,
    paired_claim_power,
    paired_t_test,
    seeds_for_equivalence,
    seeds_for_paired_claim,
    sign_flip_floor,
    sign_flip_test,
)

N_SIM = 20_000


def _se(p: float) -> float:
    return math.sqrt(p * (1 - p) / N_SIM)


# --------------------------------------------------------------------------- sign-flip floor

def _smallest_p_by_enumeration(n: int, rng) -> float:
    """Smallest sign-flip p-value over every observable sign pattern of n magnitudes."""
    mags = rng.uniform(0.5, 2.0, n)                     # distinct magnitudes, no ties
    patterns = np.array(list(itertools.product((1.0, -1.0), repeat=n)))   # (2^n, n)
    means = patterns @ mags / n
    # the p-value of observing pattern j is the share of patterns at least as large
    counts = (means[None, :] >= means[:, None] - 1e-12).sum(axis=1)
    return float(counts.min()) / 2 ** n


@pytest.mark.parametrize("n", range(1, 11))
def test_the_smallest_sign_flip_p_value_is_two_to_the_minus_n(n):
    rng = np.random.default_rng(100 + n)
    assert _smallest_p_by_enumeration(n, rng) == 2.0 ** -n
    if n >= 2:                  # and the package's test reaches it when every difference > 0
        d = rng.uniform(0.1, 1.0, n)
        assert sign_flip_test(d, np.zeros(n)) == 2.0 ** -n


@pytest.mark.parametrize("alpha,m", [(0.01, 1), (0.01, 8), (0.05, 1), (0.05, 3), (0.0625, 1),
                                     (0.2, 2), (0.001, 1), (0.5, 1)])
def test_the_floor_is_the_first_n_whose_enumerated_p_value_fits_under_alpha_over_m(alpha, m):
    rng = np.random.default_rng(7)
    first = next(n for n in range(1, 11)
                 if _smallest_p_by_enumeration(n, rng) <= alpha / m)
    assert sign_flip_floor(alpha, m) == first


def test_below_the_floor_no_seed_count_is_planned():
    # a huge effect: the sign-flip test decides at its floor, never before it
    assert seeds_for_paired_claim(100.0, 1.0, 0.01) == sign_flip_floor(0.01) == 7
    # at alpha/m = 0.00125 the floor (10) lies beyond the exact test's range: the t-test from 8
    assert sign_flip_floor(0.01, 8) == 10
    assert seeds_for_paired_claim(100.0, 1.0, 0.01, m=8) == EXACT_BELOW
    assert paired_claim_power(100.0, 1.0, 6, 0.01) == 0.0
    assert math.isinf(_paired_detectable(1.0, 6, 0.01, 0.8))


# --------------------------------------------------------------------------- power vs simulation

def _t_rejections(d: np.ndarray, level: float) -> np.ndarray:
    """One-sided paired t-test of mean > 0 on each row of d, at ``level``."""
    n = d.shape[1]
    t = d.mean(axis=1) / (d.std(axis=1, ddof=1) / math.sqrt(n))
    return stats.t.sf(t, n - 1) <= level


def test_vectorised_tests_agree_with_the_package_tests():
    rng = np.random.default_rng(3)
    for _ in range(20):
        x, y = rng.normal(0.3, 1.0, 9), np.zeros(9)
        assert _t_rejections((x - y)[None], 0.05)[0] == (paired_t_test(x, y) <= 0.05)
        v = rng.normal(0.0, 1.0, 9)
        p_eq, _ = equivalence_test(v, 0.0, 1.0)
        assert _tost_rejections(v[None], 1.0, 0.05)[0] == (p_eq <= 0.05)


@pytest.mark.parametrize("effect,sd,alpha,m", [(1.0, 2.3, 0.01, 8), (1.0, 1.17, 0.01, 8),
                                               (0.5, 1.0, 0.05, 1)])
def test_t_test_power_at_the_planned_n_matches_simulation(effect, sd, alpha, m):
    n = seeds_for_paired_claim(effect, sd, alpha, m)
    assert n >= EXACT_BELOW
    level = alpha / m
    rng = np.random.default_rng(2026)
    at_n = _t_rejections(rng.normal(effect, sd, (N_SIM, n)), level).mean()
    below = _t_rejections(rng.normal(effect, sd, (N_SIM, n - 1)), level).mean()
    assert at_n >= 0.8 - 3 * _se(0.8)
    if n - 1 >= EXACT_BELOW:
        assert below < 0.8 + 3 * _se(0.8)
    # and the noncentral-t power itself, not only the threshold
    pw = paired_claim_power(effect, sd, n, alpha, m)
    assert abs(at_n - pw) <= 3 * _se(pw)


def test_t_test_size_under_the_null_is_the_level():
    rng = np.random.default_rng(11)
    level = 0.05
    rate = _t_rejections(rng.normal(0.0, 1.0, (N_SIM, 12)), level).mean()
    assert abs(rate - level) <= 3 * _se(level)


def test_sign_flip_power_at_the_planned_n_matches_simulation():
    effect, sd, alpha = 2.0, 1.0, 0.01
    n = seeds_for_paired_claim(effect, sd, alpha)
    assert n < EXACT_BELOW                 # a sign-flip plan
    rng = np.random.default_rng(5)
    d = rng.normal(effect, sd, (N_SIM // 4, n))      # the exact test enumerates 2^n per run
    rate = np.mean([sign_flip_test(row, np.zeros(n)) <= alpha for row in d])
    exact = float(special.ndtr(effect / sd)) ** n    # one pattern fits: every difference > 0
    assert paired_claim_power(effect, sd, n, alpha) == pytest.approx(exact, rel=1e-12)
    se = math.sqrt(exact * (1 - exact) / len(d))
    assert abs(rate - exact) <= 3 * se and rate >= 0.8 - 3 * se
    assert paired_claim_power(effect, sd, n - 1, alpha) < 0.8


def _tost_rejections(v: np.ndarray, margin: float, level: float, ref: float = 0.0):
    n = v.shape[1]
    mean, se = v.mean(axis=1), v.std(axis=1, ddof=1) / math.sqrt(n)
    lo = stats.t.sf((mean - (ref - margin)) / se, n - 1)
    hi = stats.t.cdf((mean - (ref + margin)) / se, n - 1)
    return np.maximum(lo, hi) <= level


@pytest.mark.parametrize("margin,sd,alpha,m,diff", [(2.0, 2.3, 0.01, 8, 0.0),
                                                    (1.0, 1.0, 0.05, 1, 0.5),
                                                    (2.0, 1.0, 0.05, 1, -1.0)])
def test_tost_power_at_the_planned_n_matches_simulation(margin, sd, alpha, m, diff):
    n = seeds_for_equivalence(margin, sd, alpha, m, true_diff=diff)
    level = alpha / m
    rng = np.random.default_rng(99)
    at_n = _tost_rejections(rng.normal(diff, sd, (N_SIM, n)), margin, level).mean()
    assert at_n >= 0.8 - 3 * _se(0.8)
    if n > 2:
        below = _tost_rejections(rng.normal(diff, sd, (N_SIM, n - 1)), margin, level).mean()
        assert below < 0.8 + 3 * _se(0.8)
    pw = equivalence_power(margin, sd, n, alpha, m, true_diff=diff)
    assert abs(at_n - pw) <= 3 * _se(pw)


def test_tost_keeps_its_level_at_the_margin():
    """True difference on the margin: equivalence is declared at most alpha of the time."""
    rng = np.random.default_rng(12)
    rate = _tost_rejections(rng.normal(1.0, 1.0, (N_SIM, 40)), 1.0, 0.05).mean()
    assert rate <= 0.05 + 3 * _se(0.05)
    assert equivalence_power(1.0, 1.0, 40, 0.05, true_diff=1.0 - 1e-9) <= 0.05 + 1e-6


@pytest.mark.parametrize("sd, n, diff, m", [(4.7, 100, 1.0, 8), (2.61, 30, 0.5, 1)])
def test_tost_power_is_quiet_where_quadpack_reports_roundoff(sd, n, diff, m):
    """At these arguments QUADPACK reports roundoff with an error estimate of 1e-9: no
    warning reaches the user and the value matches a simulation of the TOST (3 SE)."""
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pw = equivalence_power(2.0, sd, n, 0.01, m, true_diff=diff)
    rng = np.random.default_rng(5)
    rate = _tost_rejections(rng.normal(diff, sd, (N_SIM, n)), 2.0, 0.01 / m).mean()
    assert abs(rate - pw) <= 3 * _se(pw)


def test_detectable_effects_invert_the_power_functions():
    for n in (5, 7, 8, 28):
        eff = _paired_detectable(2.3, n, 0.01, 0.8)
        if math.isfinite(eff):
            assert paired_claim_power(eff, 2.3, n, 0.01) == pytest.approx(0.8, abs=1e-6)
    margin = _tost_detectable(2.3, 28, 0.01, 8, 0.8)
    assert equivalence_power(margin, 2.3, 28, 0.01, 8) == pytest.approx(0.8, abs=1e-5)
    # a smaller margin loses power: the inverse sits where the power crosses 0.8
    assert equivalence_power(0.98 * margin, 2.3, 28, 0.01, 8) < 0.8


# --------------------------------------------------------------------------- bad input

@pytest.mark.parametrize("call,exc,name", [
    (lambda: seeds_for_paired_claim(0.0, 1.0, 0.01), ValueError, "effect"),
    (lambda: seeds_for_paired_claim(1.0, -1.0, 0.01), ValueError, "sd"),
    (lambda: seeds_for_paired_claim(1.0, 1.0, 1.5), ValueError, "alpha"),
    (lambda: seeds_for_paired_claim(1.0, 1.0, 0.01, m=0), ValueError, "m"),
    (lambda: seeds_for_paired_claim(1.0, 1.0, 0.01, m=1.5), TypeError, "m"),
    (lambda: seeds_for_paired_claim(1.0, 1.0, 0.01, power=1.0), ValueError, "power"),
    (lambda: seeds_for_paired_claim("1", 1.0, 0.01), TypeError, "effect"),
    (lambda: seeds_for_paired_claim(1e-9, 1.0, 0.01), ValueError, "seeds would be needed"),
    (lambda: paired_claim_power(1.0, 1.0, 1, 0.01), ValueError, "n"),
    (lambda: seeds_for_equivalence(1.0, 1.0, 0.05, true_diff=1.0), ValueError, "true_diff"),
    (lambda: seeds_for_equivalence(-1.0, 1.0, 0.05), ValueError, "margin"),
    (lambda: seeds_for_equivalence(1.0, float("nan"), 0.05), ValueError, "sd"),
    (lambda: equivalence_power(1.0, 1.0, 10, 0.05, m=True), TypeError, "m"),
    (lambda: sign_flip_floor(0.0), ValueError, "alpha"),
])
def test_bad_input_names_the_argument(call, exc, name):
    with pytest.raises(exc, match=name):
        call()


# --------------------------------------------------------------------------- the CLI

_TOML = """
[sim]
name = "lottery_mnist1d"
module = "sparsesim.sim.lottery"
seed = 1
[params]
dataset = "{dataset}"
hidden = "8"
steps = 20
eval_every = 10
batch_size = 20
schedule = "densities"
densities = "0.5,0.2,0.08"
rewind_step = 0
{extra}
[grid]
condition = ["dense", "lottery", "reinit", "random"]
seed = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]

[[claims]]
id = "a"
x = "lottery"
y = "dense"
metric = "test_accuracy"
direction = "greater"
density = 0.2

[[claims]]
id = "b"
x = "lottery"
y = "reinit"
metric = "test_accuracy"
direction = "greater"
density = 0.2

[[claims]]
id = "p"
x = "lottery"
y = "random"
metric = "test_accuracy"
direction = "greater"
density = 0.08
"""

_TOST = """
[[claims]]
id = "t"
test = "tost"
x = "lottery"
y = "published"
metric = "test_accuracy"
density = 0.08
margin = 2.0
"""

# paired differences (points) of the pilot: lottery − dense at density 0.2, lottery − random
# at 0.08; and the lottery's values at 0.08
_A = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
_P = np.array([0.0, 4.0, 1.0, 7.0, 3.0])
_LOT08 = np.array([70.0, 72.0, 71.0, 74.0, 69.0])


def _pilot(path):
    rows = []
    for s in range(5):
        dense = 60.0 + s
        rows.append(dict(condition="dense", seed=s, round=0, density=1.0,
                         test_accuracy=dense / 100))
        for r, dens in enumerate((0.5, 0.2, 0.08), start=1):
            lot = {1: 65.0, 2: dense + _A[s], 3: _LOT08[s]}[r]
            rnd = {1: 64.0, 2: 50.0, 3: _LOT08[s] - _P[s]}[r]
            rows.append(dict(condition="lottery", seed=s, round=r, density=dens,
                             test_accuracy=lot / 100))
            rows.append(dict(condition="random", seed=s, round=r, density=dens,
                             test_accuracy=rnd / 100))
    pd.DataFrame(rows).to_csv(path, index=False)   # no 'reinit' condition
    return path


def _row(out: str, claim: str) -> list[str]:
    for line in out.splitlines():
        tok = line.split()
        if tok and tok[0] == claim:
            return tok
    raise AssertionError(f"no row for claim {claim!r} in:\n{out}")


def test_cli_plan_prints_the_pilot_sd_and_the_seeds_for_each_claim(tmp_path, capsys):
    toml = tmp_path / "s.toml"
    toml.write_text(_TOML.format(dataset="mnist1d", extra="") + _TOST)
    pilot = _pilot(tmp_path / "cells.csv")
    assert cli.main(["plan", str(toml), "--pilot", str(pilot), "--no-calibrate"]) == 0
    out = capsys.readouterr().out
    m = 4
    sd_a, sd_p, sd_t = (float(np.std(v, ddof=1)) for v in (_A, _P, _LOT08))
    assert "4 pre-registered claim(s), 12 seeds" in out
    assert f"alpha/m = 0.01/{m} = {0.01 / m:.3g}" in out
    for claim, sd in (("a", sd_a), ("p", sd_p)):
        tok = _row(out, claim)
        assert f"{sd:.3f}".rstrip("0") in tok or f"{round(sd, 3)}" in tok
        for e in (1.0, 2.0):
            assert str(seeds_for_paired_claim(e, sd, 0.01, m)) in tok
        assert f"{_paired_detectable(sd, 12, 0.01 / m, 0.8):.3g}" in tok
    # no 'reinit' in the pilot: the largest pilot sd of the other paired claims stands in
    assert "b: no pilot data (the pilot has no 'reinit' condition)" in out
    tok = _row(out, "b")
    assert "fallback" in tok and str(round(max(sd_a, sd_p), 3)) in tok
    assert str(seeds_for_paired_claim(1.0, max(sd_a, sd_p), 0.01, m)) in tok
    # the TOST claim: sd of the lottery's values, seeds for equivalence margins of 1 and 2
    tok = _row(out, "t")
    assert str(round(sd_t, 3)) in tok
    assert str(seeds_for_equivalence(2.0, sd_t, 0.01, m)) in tok
    assert str(round(equivalence_power(2.0, sd_t, 12, 0.01, m), 3)) in tok
    assert "not calibrated" in out


def test_plan_without_pilot_gives_seeds_per_unit_of_sd(tmp_path, capsys):
    toml = tmp_path / "s.toml"
    toml.write_text(_TOML.format(dataset="mnist1d", extra=""))
    assert cli.main(["plan", str(toml), "--no-calibrate", "--alpha", "0.05",
                     "--power", "0.9"]) == 0
    out = capsys.readouterr().out
    assert "the sd is unknown" in out
    tok = _row(out, "a")
    assert str(seeds_for_paired_claim(0.5, 1.0, 0.05, 3, power=0.9)) in tok
    assert str(seeds_for_paired_claim(1.0, 1.0, 0.05, 3, power=0.9)) in tok


def test_plan_calibrates_the_sweeps_trainings(tmp_path):
    teacher = ("n_in = 6\nn_out = 3\nteacher_hidden = \"\"\nn_train = 100\nn_test = 50\n"
               "n_validation = 20\nteacher_density = 0.5\n")
    toml = tmp_path / "s.toml"
    toml.write_text(_TOML.format(dataset="teacher", extra=teacher + "seed_batching = false"))
    p = plan(toml, calibrate=True, calibration_steps=5, workers=4)
    t = p.timing
    assert t.trainings == 12 * (1 + 3 * 3)       # per seed: dense + 3 rounds x 3 conditions
    assert t.steps == 20 and t.tasks == 12 and t.seconds_per_step > 0
    assert t.total_s == pytest.approx(t.seconds_per_step * 120 * 20)
    assert t.with_workers(4) == pytest.approx(t.total_s / 4)
    text = str(p)
    assert "an estimate" in text and "4 worker processes" in text
    # seeds batched into one task: more workers do not help
    toml.write_text(_TOML.format(dataset="teacher", extra=teacher + "seed_batching = true"))
    t = plan(toml, calibrate=True, calibration_steps=5, workers=4).timing
    assert t.tasks == 1 and t.with_workers(4) == t.total_s


def test_plan_refuses_bad_input(tmp_path, capsys):
    toml = tmp_path / "s.toml"
    toml.write_text(_TOML.format(dataset="mnist1d", extra=""))
    assert cli.main(["plan", str(toml), "--power", "2"]) == 2
    assert "--power" in capsys.readouterr().err
    with pytest.raises(FileNotFoundError, match="pilot"):
        plan(toml, pilot=tmp_path / "missing.csv", calibrate=False)
    bad = tmp_path / "bad.csv"
    pd.DataFrame({"seed": [0]}).to_csv(bad, index=False)
    with pytest.raises(ValueError, match="pilot: .*condition"):
        plan(toml, pilot=bad, calibrate=False)
    with pytest.raises(ValueError, match="power"):
        plan(toml, power=0.0, calibrate=False)
    with pytest.raises(TypeError, match="workers"):
        plan(toml, workers=2.5, calibrate=False)
    plain = tmp_path / "plain.toml"
    plain.write_text(textwrap.dedent(_TOML.format(dataset="mnist1d", extra="")
                                     .split("[[claims]]")[0]))
    with pytest.raises(ValueError, match="no pre-registered claims"):
        plan(plain, calibrate=False)
