"""One law object per model of support recovery by thresholding: exact, group, planted.

Every model has ``n`` units (weights, or groups of weights), a fixed support
``S`` of ``k`` of them and a threshold; unit ``i`` is kept independently, with
probability ``p_on`` on ``S`` and ``q`` off it, so ``Ŝ`` (the kept units) has

* ``TP = |Ŝ ∩ S| ~ Binomial(k, p_on)`` and ``FP = |Ŝ − S| ~ Binomial(n − k, q)``,
* ``|Ŝ| = TP + FP`` (``Binomial(n, q)`` when ``p_on = q``),
* ``P(Ŝ = S) = p_on^k (1 − q)^(n − k)``.

The three models:

* :class:`ExactLaw`: ``d`` weights ``N(0, σ²)`` thresholded at ``t``; ``q =
  p_on = 2 Φ̄(t/σ)``;
* :class:`GroupLaw`: ``G`` groups of ``g`` such weights thresholded on their
  norms at ``τ``; ``q = p_on = χ²_g.sf(τ²/σ²)``;
* :class:`PlantedLaw`: ``d`` weights ``x_i + σ z_i`` with ``|x_i| = μ`` on ``S``
  and 0 off it; ``q = 2 Φ̄(t/σ)``, ``p_on = P(|μ + σ z| > t)``.

Each law answers the same questions through the same hooks, as SciPy's
distributions share ``pdf``/``sf``/``logsf``: :meth:`SupportLaw.survival_prob`
(``q`` or ``p_on``), :meth:`~SupportLaw.recovery_prob` (``P(Ŝ = S)``),
:meth:`~SupportLaw.topk_recovery_prob` (the ``k`` largest units are ``S``),
:meth:`~SupportLaw.conditional_recovery_prob` (``P(Ŝ = S | |Ŝ| = k)``), the pmfs
:meth:`~SupportLaw.size_pmf`, :meth:`~SupportLaw.tp_pmf`,
:meth:`~SupportLaw.fp_pmf`, and :meth:`~SupportLaw.binomial` (a count's
Binomial parameters).  Every hook takes ``log=False``; ``log=True`` returns the
logarithm, computed in log space and finite where the probability underflows.

The hooks are the closed forms of :mod:`sparsesim.theory` (``ExactLaw(d, k, t,
sigma).recovery_prob()`` *is* ``support_recovery_prob(d, k, t, sigma)``, to the
bit), so every number still comes from the one survival kernel, and a planted
error in ``q`` reaches the laws as it reaches the functions.  Parameters
broadcast like the functions' arguments; so do the hooks' ``j``.

Examples
--------
>>> from sparsesim.theory import optimal_threshold
>>> law = ExactLaw(1000, 10, optimal_threshold(1000, 10))
>>> round(float(law.recovery_prob(log=True)), 4)
-56.0015
>>> round(float(law.survival_prob()), 12)
0.01
>>> [round(float(p), 6) for p in law.tp_pmf([0, 1])]
[0.904382, 0.091352]
>>> PlantedLaw(1000, 10, 8.0, 4.0).homogeneous, law.homogeneous
(False, True)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import check_bool, check_choice, check_real_array
from ._common import _at_most, _broadcast, _finish, _int_arg, _ratio
from ._group import group_support_recovery_prob, group_tail_prob, group_topq_selection_prob
from ._planted import (planted_recovery_prob, planted_tail_prob,
                       planted_topk_recovery_prob)
from ._tails import _survival_pair, tail_prob
from ._thresholding import (_binomial_law, false_positive_pmf, selected_count_pmf,
                            support_recovery_prob, topk_selection_prob, true_positive_pmf)

__all__ = ["SupportLaw", "ExactLaw", "GroupLaw", "PlantedLaw"]

#: The counts whose laws the models give: ``|Ŝ|``, true and false positives.
COUNTS = ("size", "tp", "fp")

#: Most terms :meth:`SupportLaw.size_pmf` sums when it convolves the TP and FP laws.
MAX_CONVOLUTION_TERMS = 10 ** 7


def _logsumexp0(x: np.ndarray) -> np.ndarray:
    """``log(sum(exp(x), axis=0))``; ``-inf`` where every term is ``-inf``."""
    top = np.max(x, axis=0)
    safe = np.where(np.isfinite(top), top, 0.0)
    with np.errstate(divide="ignore", under="ignore"):
        return np.where(np.isfinite(top), safe + np.log(np.sum(np.exp(x - safe), axis=0)), top)


class SupportLaw:
    """The law of the kept set ``Ŝ`` of one model: the hooks every model implements.

    Every hook takes ``log=False``; ``log=True`` returns the logarithm, computed in
    log space, and a pmf hook takes the counts ``j`` (int or array_like of int,
    broadcast with the law's parameters).  Subclasses set :attr:`n` (units),
    :attr:`k` (support size), and implement
    :meth:`survival_prob`, :meth:`recovery_prob`, :meth:`topk_recovery_prob`,
    :meth:`tp_pmf` and :meth:`fp_pmf`; :meth:`size_pmf` (the convolution of the
    TP and FP laws), :meth:`conditional_recovery_prob` and :meth:`binomial`
    follow from them, and a model overrides them where it has a closed form.
    """

    #: The model's name (the ``kind`` of a ``support_recovery`` cell).
    kind: str = ""
    #: True when every unit, on ``S`` or off it, survives with the same probability.
    homogeneous: bool = True
    #: Number of units, ``n >= 1`` (int64 array; 0-d for a scalar law).
    n: np.ndarray
    #: Support size, ``0 <= k <= n``.
    k: np.ndarray

    #: ``(argument, attribute)`` of each constructor parameter, in order.
    _fields: tuple[tuple[str, str], ...] = ()

    def _store(self, **checked: np.ndarray) -> None:
        """Broadcast the checked parameters (given in ``_fields`` order) into attributes."""
        for (_, attr), value in zip(self._fields, _broadcast(**checked)):
            setattr(self, attr, value)
        name = {attr: arg for arg, attr in self._fields}
        _at_most(name["k"], self.k, name["n"], self.n)

    def __repr__(self) -> str:
        args = ", ".join(f"{name}={_plain(getattr(self, attr))!r}" for name, attr in self._fields)
        return f"{type(self).__name__}({args})"

    # -- the hooks every model implements ---------------------------------------------

    def survival_prob(self, *, on_support: bool = False, log: bool = False) -> Any:
        """Probability that one unit survives the threshold: ``q`` off ``S``,
        ``p_on`` on it (``on_support=True``)."""
        raise NotImplementedError

    def recovery_prob(self, *, log: bool = False) -> Any:
        """``P(Ŝ = S) = p_on^k (1 − q)^(n − k)``."""
        raise NotImplementedError

    def topk_recovery_prob(self, *, log: bool = False) -> Any:
        """Probability that the ``k`` units of largest magnitude (or norm) are ``S``."""
        raise NotImplementedError

    def tp_pmf(self, j: Any, *, log: bool = False) -> Any:
        """pmf of the true positives ``|Ŝ ∩ S| ~ Binomial(k, p_on)`` at the counts
        ``j >= 0`` (0 above ``k``)."""
        raise NotImplementedError

    def fp_pmf(self, j: Any, *, log: bool = False) -> Any:
        """pmf of the false positives ``|Ŝ − S| ~ Binomial(n − k, q)`` at the counts
        ``j >= 0`` (0 above ``n − k``)."""
        raise NotImplementedError

    # -- what follows from them --------------------------------------------------------

    def size_pmf(self, j: Any, *, log: bool = False) -> Any:
        """pmf of ``|Ŝ| = TP + FP``: the convolution of :meth:`tp_pmf` and :meth:`fp_pmf`.

        Summed in log space over the ``k + 1`` values of ``TP`` (at most
        :data:`MAX_CONVOLUTION_TERMS` terms in all); a homogeneous model
        overrides it with its closed form ``Binomial(n, q)``.

        Parameters
        ----------
        j : int or array_like of int
            Count(s), ``j >= 0`` (the pmf is 0 above ``n``).
        log : bool, optional
            Return the log-pmf.

        Returns
        -------
        float or ndarray

        Raises
        ------
        ValueError
            For a bad ``j``, or more than :data:`MAX_CONVOLUTION_TERMS` terms.
        """
        log = check_bool("log", log)
        j = _int_arg("j", j)
        j, k = _broadcast(j=j, k=self.k)
        width = int(k.max()) + 1 if k.size else 1
        if width * max(j.size, 1) > MAX_CONVOLUTION_TERMS:
            raise ValueError(f"j: the law of |Ŝ| at {j.size} counts with k up to {width - 1} "
                             f"sums {width * j.size} terms; at most {MAX_CONVOLUTION_TERMS} "
                             "are allowed")
        tp_count = np.arange(width).reshape((width,) + (1,) * j.ndim)
        fp_count = j - tp_count
        terms = (np.asarray(self.tp_pmf(tp_count, log=True))
                 + np.asarray(self.fp_pmf(np.maximum(fp_count, 0), log=True)))
        terms = np.where(fp_count >= 0, terms, -np.inf)
        return _finish(_logsumexp0(terms), log)

    def conditional_recovery_prob(self, *, log: bool = False) -> Any:
        """``P(Ŝ = S | |Ŝ| = k) = P(Ŝ = S) / P(|Ŝ| = k)``.

        ``1/C(n, k)`` for a homogeneous model (given its size, ``Ŝ`` is a
        uniform ``k``-subset).  ``nan`` where ``P(|Ŝ| = k)`` is 0.

        Parameters
        ----------
        log : bool, optional
            Return the logarithm.

        Returns
        -------
        float or ndarray
        """
        log = check_bool("log", log)
        with np.errstate(invalid="ignore"):
            value = (np.asarray(self.recovery_prob(log=True))
                     - np.asarray(self.size_pmf(self.k, log=True)))
        return _finish(value, log)

    def binomial(self, count: str) -> tuple[Any, Any]:
        """``(trials, p)`` of a count's Binomial law, ``p`` from :meth:`survival_prob`.

        Parameters
        ----------
        count : {"size", "tp", "fp"}
            ``|Ŝ| ~ Binomial(n, q)`` (homogeneous models only), ``TP ~
            Binomial(k, p_on)`` or ``FP ~ Binomial(n − k, q)``.

        Returns
        -------
        (trials, p) : ints and floats, or arrays

        Raises
        ------
        ValueError
            For an unknown ``count``, or ``"size"`` in a model where ``|Ŝ|`` is a
            sum of two different Binomials.
        """
        count = check_choice("count", count, COUNTS)
        if count == "size" and not self.homogeneous:
            raise ValueError(f"count='size': |Ŝ| is not Binomial in the {self.kind} model "
                             "(p_on != q); use size_pmf")
        trials = {"size": self.n, "tp": self.k, "fp": self.n - self.k}[count]
        return _out_int(trials), self.survival_prob(on_support=count == "tp")


def _out_int(x: np.ndarray) -> Any:
    return x[()] if x.ndim == 0 else x


def _plain(x: np.ndarray) -> Any:
    return x.item() if x.ndim == 0 else x.tolist()


def _scales(t_name: str, t: Any, sigma: Any) -> dict[str, np.ndarray]:
    """The checked threshold (named ``t_name``) and ``sigma``."""
    return {t_name: check_real_array(t_name, t, low=0.0),
            "sigma": check_real_array("sigma", sigma, low=0.0, low_open=True)}


class ExactLaw(SupportLaw):
    """Thresholding ``w ~ N(0, σ² I_d)`` at ``t``: every weight survives with ``q = 2 Φ̄(t/σ)``.

    Parameters
    ----------
    d, k, t, sigma
        Dimension, support size, threshold and weight standard deviation, as in
        :func:`~sparsesim.theory.support_recovery_prob` (broadcast together).

    Examples
    --------
    >>> law = ExactLaw(6, 2, 1.0)
    >>> law
    ExactLaw(d=6, k=2, t=1.0, sigma=1.0)
    >>> float(law.topk_recovery_prob()) == float(law.conditional_recovery_prob()) == 1 / 15
    True
    """

    kind = "exact"
    homogeneous = True

    _fields = (("d", "n"), ("k", "k"), ("t", "t"), ("sigma", "sigma"))

    def __init__(self, d: Any, k: Any, t: Any, sigma: Any = 1.0) -> None:
        self._store(d=_int_arg("d", d, low=1), k=_int_arg("k", k), **_scales("t", t, sigma))

    def survival_prob(self, *, on_support: bool = False, log: bool = False) -> Any:
        check_bool("on_support", on_support)
        return tail_prob(self.t, self.sigma, log=log)

    def recovery_prob(self, *, log: bool = False) -> Any:
        return support_recovery_prob(self.n, self.k, self.t, self.sigma, log=log)

    def topk_recovery_prob(self, *, log: bool = False) -> Any:
        return topk_selection_prob(self.n, self.k, log=log)

    def conditional_recovery_prob(self, *, log: bool = False) -> Any:
        return topk_selection_prob(self.n, self.k, log=log)

    def size_pmf(self, j: Any, *, log: bool = False) -> Any:
        return selected_count_pmf(j, self.n, self.t, self.sigma, log=log)

    def tp_pmf(self, j: Any, *, log: bool = False) -> Any:
        return true_positive_pmf(j, self.n, self.k, self.t, self.sigma, log=log)

    def fp_pmf(self, j: Any, *, log: bool = False) -> Any:
        return false_positive_pmf(j, self.n, self.k, self.t, self.sigma, log=log)


class GroupLaw(SupportLaw):
    """``G`` groups of ``g`` weights ``N(0, σ²)`` thresholded on their norms at ``τ``.

    Every group survives with ``p_g = χ²_g.sf(τ²/σ²)`` (the law's ``q``); ``S``
    is a fixed set of ``q`` groups (so :attr:`n` is ``G`` and :attr:`k` is ``q``).

    Parameters
    ----------
    G, g, q, tau, sigma
        Groups, group size, groups in ``S``, threshold on the norm and weight
        standard deviation, as in :func:`~sparsesim.theory.group_support_recovery_prob`.

    Examples
    --------
    >>> law = GroupLaw(10, 4, 2, 3.0)
    >>> bool(abs(float(law.size_pmf(np.arange(11)).sum()) - 1.0) < 1e-12)
    True
    """

    kind = "group"
    homogeneous = True

    _fields = (("G", "n"), ("g", "g"), ("q", "k"), ("tau", "t"), ("sigma", "sigma"))

    def __init__(self, G: Any, g: Any, q: Any, tau: Any, sigma: Any = 1.0) -> None:
        self._store(G=_int_arg("G", G, low=1), g=_int_arg("g", g, low=1), q=_int_arg("q", q),
                    **_scales("tau", tau, sigma))

    def survival_prob(self, *, on_support: bool = False, log: bool = False) -> Any:
        check_bool("on_support", on_support)
        return group_tail_prob(self.g, self.t, self.sigma, log=log)

    def recovery_prob(self, *, log: bool = False) -> Any:
        return group_support_recovery_prob(self.n, self.g, self.k, self.t, self.sigma, log=log)

    def topk_recovery_prob(self, *, log: bool = False) -> Any:
        return group_topq_selection_prob(self.n, self.k, log=log)

    def conditional_recovery_prob(self, *, log: bool = False) -> Any:
        return group_topq_selection_prob(self.n, self.k, log=log)

    def _pmf(self, j: Any, trials: np.ndarray, log: bool) -> Any:
        log = check_bool("log", log)
        j = _int_arg("j", j)
        j, trials, g, tau, sigma = _broadcast(j=j, trials=trials, g=self.g, tau=self.t,
                                              sigma=self.sigma)
        return _binomial_law(j, trials, _survival_pair(_ratio(tau, sigma), g=g), log)

    def size_pmf(self, j: Any, *, log: bool = False) -> Any:
        return self._pmf(j, self.n, log)

    def tp_pmf(self, j: Any, *, log: bool = False) -> Any:
        return self._pmf(j, self.k, log)

    def fp_pmf(self, j: Any, *, log: bool = False) -> Any:
        return self._pmf(j, self.n - self.k, log)


class PlantedLaw(SupportLaw):
    """``w = x + σ z`` with ``|x_i| = μ`` on ``S`` and 0 off it, thresholded at ``t``.

    Off ``S`` a weight survives with ``q = 2 Φ̄(t/σ)``, on ``S`` with ``p_on =
    Φ̄((t−μ)/σ) + Φ̄((t+μ)/σ)``; ``μ = 0`` is :class:`ExactLaw`.  ``|Ŝ|`` is a sum
    of two different Binomials (:meth:`size_pmf` convolves them) and the
    top-``k`` probability a one-dimensional integral
    (:func:`~sparsesim.theory.planted_topk_recovery_prob`).

    Parameters
    ----------
    d, k, mu, t, sigma
        Dimension, support size, signal magnitude, threshold and noise standard
        deviation, as in :func:`~sparsesim.theory.planted_recovery_prob`.

    Examples
    --------
    >>> law = PlantedLaw(1000, 10, 8.0, 4.0)
    >>> round(float(law.recovery_prob()), 6)
    0.938917
    >>> round(float(law.survival_prob(on_support=True)), 6)
    0.999968
    """

    kind = "planted"
    homogeneous = False

    _fields = (("d", "n"), ("k", "k"), ("mu", "mu"), ("t", "t"), ("sigma", "sigma"))

    def __init__(self, d: Any, k: Any, mu: Any, t: Any, sigma: Any = 1.0) -> None:
        mu = check_real_array("mu", mu, low=0.0)
        self._store(d=_int_arg("d", d, low=1), k=_int_arg("k", k), mu=mu,
                    **_scales("t", t, sigma))

    def survival_prob(self, *, on_support: bool = False, log: bool = False) -> Any:
        if check_bool("on_support", on_support):
            return planted_tail_prob(self.mu, self.t, self.sigma, log=log)
        return tail_prob(self.t, self.sigma, log=log)

    def recovery_prob(self, *, log: bool = False) -> Any:
        return planted_recovery_prob(self.n, self.k, self.mu, self.t, self.sigma, log=log)

    def topk_recovery_prob(self, *, log: bool = False) -> Any:
        return planted_topk_recovery_prob(self.n, self.k, self.mu, self.sigma, log=log)

    def tp_pmf(self, j: Any, *, log: bool = False) -> Any:
        log = check_bool("log", log)
        j = _int_arg("j", j)
        j, k, mu, t, sigma = _broadcast(j=j, k=self.k, mu=self.mu, t=self.t, sigma=self.sigma)
        pair = _survival_pair(_ratio(t, sigma), m=_ratio(mu, sigma), diff=_ratio(mu - t, sigma))
        return _binomial_law(j, k, pair, log)

    def fp_pmf(self, j: Any, *, log: bool = False) -> Any:
        return false_positive_pmf(j, self.n, self.k, self.t, self.sigma, log=log)

