"""Renamed public names keep working for one release, with a DeprecationWarning.

Every row of ``RENAMED`` is a former name listed in CHANGELOG.md: reading it warns, names
the new address, and gives an object that computes what the new name computes; the old
name is in no ``__all__`` (so no page documents it and ``import *`` does not carry it).
"""

import importlib
import re
from pathlib import Path

import numpy as np
import pytest

import sparsesim.sim.best_k_term as bkt
import sparsesim.sim.support_recovery as sr
from sparsesim import theory
from sparsesim.nn import passes, saliency

ROOT = Path(__file__).resolve().parents[2]

RENAMED = [
    # (module, old name, new name in that module or a callable giving the new object)
    ("sparsesim.nn.lottery", "shuffled_masks", lambda: saliency.shuffle_masks),
    ("sparsesim.nn.passes", "apply_mask", lambda: passes.multiply_mask),
    ("sparsesim.theory", "log_tail_prob", lambda: theory.tail_prob),
    ("sparsesim.theory", "selection_prob", lambda: theory.tail_prob),
    ("sparsesim.sim.best_k_term", "KINDS", lambda: bkt.SIGNAL_KINDS),
    ("sparsesim.sim.best_k_term.engine", "KINDS", lambda: bkt.SIGNAL_KINDS),
    ("sparsesim.sim.support_recovery", "KINDS", lambda: sr.MODEL_KINDS),
    ("sparsesim.sim.support_recovery.cells", "KINDS", lambda: sr.MODEL_KINDS),
]


@pytest.mark.parametrize("module, old, new", RENAMED, ids=[f"{m}.{o}" for m, o, _ in RENAMED])
def test_old_name_warns_and_is_not_exported(module, old, new):
    mod = importlib.import_module(module)
    with pytest.warns(DeprecationWarning, match=rf"{re.escape(module)}\.{old} is deprecated"):
        obj = getattr(mod, old)
    assert obj is not None
    assert old not in getattr(mod, "__all__", ())
    if isinstance(obj, tuple):
        assert obj == new()


def test_old_functions_compute_what_the_new_ones_do():
    t, sigma = np.array([0.0, 1.0, 7.5, 40.0]), 1.5
    with pytest.warns(DeprecationWarning):
        log_tail_prob, selection_prob = theory.log_tail_prob, theory.selection_prob
    np.testing.assert_array_equal(log_tail_prob(t, sigma), theory.tail_prob(t, sigma, log=True))
    np.testing.assert_array_equal(selection_prob(t), theory.tail_prob(t))
    np.testing.assert_array_equal(selection_prob(t, log=True), theory.tail_prob(t, log=True))
    with pytest.warns(DeprecationWarning):
        apply_mask = passes.apply_mask
    a, m = np.array([[1.5, -2.0, 3.0]]), np.array([[True, False, True]])
    np.testing.assert_array_equal(apply_mask(a, m, np.float64),
                                  passes.multiply_mask(a, m, np.float64))


def test_unknown_names_still_raise_attribute_error():
    from sparsesim.nn import lottery

    for mod in (theory, passes, lottery, bkt, sr):
        with pytest.raises(AttributeError, match="no attribute 'no_such_name'"):
            mod.no_such_name  # noqa: B018
    assert lottery.CONDITIONS[:2] == ("dense", "lottery")  # the derived name still resolves


def test_every_renamed_name_is_in_the_changelog():
    text = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    for module, old, _ in RENAMED:
        package = ".".join(module.split(".")[:3]) if module.startswith("sparsesim.sim.") \
            else module
        assert f"{package}.{old}" in text or f"{module}.{old}" in text, (module, old)
