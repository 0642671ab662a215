"""Closed forms for thresholding Gaussian weights (SciPy, float64, log-space).

Setting
-------
``w ~ N(0, sigma^2 I_d)``, a fixed support ``S`` of size ``k``, a threshold
``t >= 0`` and the selected set ``S_hat = {i : |w_i| > t}``.  With
``a = t / sigma`` every coordinate survives independently with probability

    q = 2 * Phi_bar(a) = erfc(a / sqrt(2)),

so ``P(S_hat = S) = q^k (1 - q)^(d - k)``, ``|S_hat| ~ Binomial(d, q)``,
``|S_hat & S| ~ Binomial(k, q)`` and ``|S_hat - S| ~ Binomial(d - k, q)``.

One kernel, ``_survival_pair``, gives ``(log s, log(1 - s))`` for every
survival probability of the model -- ``q``, the planted ``p_on`` and the
group ``chi2_g`` tail -- and every closed form below reads it there, so an
error in ``q`` reaches every law and table that uses ``q`` (the planted-error
tests patch this one function).

Numerics
--------
Every probability that can underflow is computed as a logarithm and only
exponentiated at the end (``log=False``).  ``log q`` and ``log(1 - q)`` each
have two branches, chosen so that neither ever subtracts two nearly equal
numbers:

* ``q > 1/2`` (small ``a``): ``log q = log1p(-erf(a/sqrt2))`` and
  ``log(1 - q) = log(erf(a/sqrt2))``;
* otherwise: ``log q = log(erfcx(a/sqrt2)) - a^2/2`` (no underflow up to
  ``a ~ 1e150``) and ``log(1 - q) = log1p(-q)``, or ``-q`` computed from
  ``log q`` once ``q < 1e-20`` (where ``log1p(-q) == -q`` to double
  precision).

Binomial log-pmfs use the saddle-point form (Loader 2000), which keeps full
relative accuracy for ``n`` up to ``2**53`` and for success probabilities
given only through their logarithms; ``scipy.stats.binom.logpmf`` subtracts
``gammaln`` values and loses about six digits at ``n = 1e9``.  The chi-square
(group) tails use a log-space series / continued fraction where
``scipy.special.gammainc``/``gammaincc`` underflow.

Extreme but valid scales give the limiting values, without floating-point
warnings: a ratio such as ``t/sigma``, ``mu/sigma`` or ``tau/sigma`` beyond
the float range is ``inf`` (a tail probability 0, log ``-inf``), and a
threshold beyond it is ``inf`` (where only a finite threshold makes sense,
:func:`universal_threshold`, the argument is rejected instead).

Arguments
---------
Every function is vectorised by NumPy broadcasting over its array
arguments; all-scalar calls return NumPy scalars, except the three
finite-size ones of the last section (:func:`best_k_relative_error_exact`,
:func:`prob_random_mask_avoids`, :func:`prob_magnitude_mask_avoids`), which
return a Python float there.  Where an element needs a one-dimensional
quadrature, search or exact fraction of its own (those three,
:func:`power_law_best_k_error`, :func:`planted_optimal_threshold`,
:func:`planted_topk_recovery_prob`), the elements are computed one after the
other.  Counts (``d``, ``k``, ``j``, ``g``, ``G``, ``q``, ``n``, ``s``) must be
Python or NumPy integers or integer arrays (a float such as ``10.0`` is
refused with ``TypeError``); every element of every argument is checked and a
bad one raises ``ValueError`` naming the argument.

Layout
------
One private submodule a section; this package is the one public address of
every name (``sparsesim.theory.tail_prob``), and setting a name on it (a
monkeypatched ``_survival_pair``) reaches every submodule that uses it:
``_common`` (argument checks), ``_tails`` (normal tails and the survival
kernel), ``_binomial`` (binomial building blocks), ``_thresholding`` (support
recovery by thresholding), ``_energy`` (energy kept, universal threshold, false
alarms), ``_best_k`` (best k-term errors), ``_group`` (the chi-square group
analogue), ``_planted`` (planted signal), ``_l1`` (the l1 phase transition),
``_kinematic`` (the exact finite-d l1 law, sampled), ``_saddles`` (masks that avoid a saddle's negative curvature).  The public
submodule :mod:`sparsesim.theory.laws` holds one law object per model (exact,
group, planted) with the same hooks, built on these functions.
"""

from __future__ import annotations

import sys
import types

from .._deprecation import renamed_names
from . import _best_k, _binomial, _common, _energy, _group, _kinematic, _l1, _planted, \
    _saddles, _tails, _thresholding, laws
from ._best_k import (best_k_relative_error_exact, compressible_best_k_bound,
                      gaussian_best_k_relative_error, group_best_q_relative_error,
                      power_law_best_k_error, power_law_best_k_rate)
from ._binomial import binom_logpmf, binom_logpmf_unchecked, log_binomial_coefficient  # noqa: F401
from ._common import MAX_COUNT  # noqa: F401
from ._energy import energy_kept, false_alarm_prob, universal_threshold
from ._group import (group_optimal_threshold, group_support_recovery_prob, group_tail_prob,
                     group_topq_selection_prob)
from ._kinematic import l1_face_dims, l1_kinematic_prob, l1_phase_transition_quadrature
from ._l1 import (_j_over_phi, _tau_of_rho_d, l1_intrinsic_sd, l1_phase_transition,  # noqa: F401
                  l1_recovery_prob, l1_statistical_dimension, l1_transition_band)
from ._planted import (planted_optimal_threshold, planted_recovery_prob, planted_tail_prob,
                       planted_topk_recovery_prob)
from ._saddles import (SADDLE_MAX_D, SADDLE_MAX_SCALE, SADDLE_MIN_SCALE,  # noqa: F401
                       prob_magnitude_mask_avoids, prob_random_mask_avoids)
from ._tails import (_log1mexp, _log_tail_prob, _selection_prob, _survival_pair,  # noqa: F401
                     tail_prob)
from ._thresholding import (false_positive_pmf, max_support_recovery_prob, optimal_threshold,
                            selected_count_pmf, support_recovery_prob, topk_selection_prob,
                            true_positive_pmf)

__all__ = [
    "best_k_relative_error_exact",
    "prob_random_mask_avoids",
    "prob_magnitude_mask_avoids",
    "tail_prob",
    "support_recovery_prob",
    "log_binomial_coefficient",
    "binom_logpmf",
    "selected_count_pmf",
    "true_positive_pmf",
    "false_positive_pmf",
    "optimal_threshold",
    "max_support_recovery_prob",
    "topk_selection_prob",
    "energy_kept",
    "universal_threshold",
    "false_alarm_prob",
    "gaussian_best_k_relative_error",
    "group_best_q_relative_error",
    "compressible_best_k_bound",
    "power_law_best_k_error",
    "power_law_best_k_rate",
    "group_tail_prob",
    "group_support_recovery_prob",
    "group_optimal_threshold",
    "group_topq_selection_prob",
    "planted_tail_prob",
    "planted_recovery_prob",
    "planted_optimal_threshold",
    "planted_topk_recovery_prob",
    "l1_statistical_dimension",
    "l1_phase_transition",
    "l1_intrinsic_sd",
    "l1_recovery_prob",
    "l1_transition_band",
    "l1_face_dims",
    "l1_kinematic_prob",
    "l1_phase_transition_quadrature",
]

#: The submodules, each one section of the closed forms (lowest first).
_PARTS = (_common, _tails, _binomial, _thresholding, _energy, _best_k, _group, _planted, _l1,
          _kinematic, _saddles, laws)

# The public functions are documented, fuzzed and pickled as ``sparsesim.theory.<name>``,
# their one public address (as NumPy's are); their code stays in the submodules.
for _name in __all__ + ["binom_logpmf_unchecked"]:
    globals()[_name].__module__ = __name__
del _name

_UNSET = object()


class _Namespace(types.ModuleType):
    """``sparsesim.theory`` as one namespace over its submodules.

    Setting a name on the package (``monkeypatch.setattr(theory, "_survival_pair", f)``,
    or a planted error in ``q`` or ``rho_W``) rebinds it in every submodule that holds
    the same object, so every closed form that calls it sees the new one -- as when
    the closed forms were one module.  Restoring the old object restores it
    everywhere.
    """

    def __setattr__(self, name: str, value) -> None:
        old = self.__dict__.get(name, _UNSET)
        super().__setattr__(name, value)
        if old is _UNSET or isinstance(old, types.ModuleType):
            return
        for part in self.__dict__.get("_PARTS", ()):
            if part.__dict__.get(name, _UNSET) is old:
                setattr(part, name, value)


# One name for the survival probability q of the thresholding model: ``tail_prob``
# (``log=True`` for log q), beside ``group_tail_prob`` and ``planted_tail_prob``.
__getattr__ = renamed_names(__name__, {
    "log_tail_prob": ("sparsesim.theory.tail_prob(t, sigma, log=True)", _log_tail_prob),
    "selection_prob": ("sparsesim.theory.tail_prob(a) (sigma = 1)", _selection_prob),
})

sys.modules[__name__].__class__ = _Namespace
