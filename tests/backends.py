"""One test body on NumPy and on CuPy: the ``@both_backends`` decorator.

``@both_backends`` runs a test twice, with its ``xp`` argument the NumPy module
(id ``numpy``) and the CuPy module (id ``cupy``).  The ``cupy`` case carries the
``gpu`` marker, so (tests/conftest.py):

* a normal run without a usable CUDA device skips it, with the reason;
* ``python -m pytest -m gpu`` runs it -- on the device, or on the CPU stand-in for
  CuPy (tests/cupy_standin.py) where there is none -- and deselects the ``numpy`` case;
* on a machine with a device both cases run.

The body builds its inputs with ``xp.asarray`` (or passes ``backend=backend_of(xp)``),
brings results back with :func:`sparsesim.backend.to_numpy`, and compares them with a
slow NumPy float64 reference -- the same assertion on both backends, instead of a
hand-written NumPy-then-CuPy comparison.  The ``xp`` fixture is in tests/conftest.py.

Example (a test module)::

    from backends import both_backends, backend_of

    @both_backends
    def test_density(xp):
        assert float(ss.density(xp.asarray([1.0, 0.0]))) == 0.5
"""

from __future__ import annotations

import pytest

#: The two cases of :func:`both_backends`, in order: ids ``numpy`` and ``cupy``.
BACKEND_CASES = (pytest.param("numpy", id="numpy"),
                 pytest.param("cupy", id="cupy", marks=pytest.mark.gpu))


def both_backends(test=None, *, argname: str = "xp"):
    """Parametrize ``test``'s ``argname`` (default ``xp``) with NumPy and CuPy.

    Usable bare (``@both_backends``) or with a different argument name
    (``@both_backends(argname="xp2")``, whose fixture must then exist).
    """
    mark = pytest.mark.parametrize(argname, BACKEND_CASES, indirect=True)
    if test is None:
        return mark
    return mark(test)


def backend_of(xp) -> str:
    """``"numpy"`` or ``"cupy"``: the backend name of an array module (for ``backend=``)."""
    return "numpy" if xp.__name__ == "numpy" else "cupy"


def tree_to(xp, tree):
    """A list of per-layer pairs (or arrays, ``None`` kept) moved to ``xp``."""
    out = []
    for entry in tree:
        if isinstance(entry, tuple):
            out.append(tuple(None if a is None else xp.asarray(a) for a in entry))
        else:
            out.append(None if entry is None else xp.asarray(entry))
    return out
