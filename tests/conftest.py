"""Shared pytest configuration: the GPU tests and the CPU stand-in for CuPy.

* Normal run (no ``-m``): tests marked ``gpu`` run on a usable CUDA device
  and are skipped cleanly without one (the main suite stays fast).
* ``python -m pytest -m gpu`` without a usable device: ``tests/cupy_standin``
  is installed as ``cupy`` before the backend first looks for CuPy, so every
  gpu-marked test runs the package's CuPy code paths through
  :mod:`sparsesim.backend` on NumPy arithmetic; those marked ``needs_cuda``
  (a RawKernel launch, CUDA-graph capture, the fused elementwise kernels)
  are skipped with that reason.  ``SPARSESIM_CUPY_STANDIN=1`` forces the
  stand-in for any selection, ``=0`` forbids it.
"""

import os
import signal

import pytest

from sparsesim import backend as _backend

_STANDIN = {"on": False}

# Registers names at import (a plugin module of tests/test_nn_registries.py, which
# imports and unregisters it itself): never imported for doctest collection.
collect_ignore = ["plugin_controls.py"]


def _want_standin(config) -> bool:
    flag = os.environ.get("SPARSESIM_CUPY_STANDIN", "")
    if flag == "0":
        return False
    if flag == "1":
        return True
    markexpr = config.getoption("markexpr", "") or ""
    return "gpu" in markexpr and "not gpu" not in markexpr


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "needs_cuda: needs real CUDA (kernel compilation/launch or CUDA graphs); "
                   "skipped under the CPU stand-in for CuPy")
    if _want_standin(config) and not _backend.cupy_available():
        import cupy_standin  # noqa: PLC0415 - tests/ is on sys.path (rootdir conftest)
        cupy_standin.install()
        _backend._cupy_or_none.cache_clear()
        _STANDIN["on"] = _backend.cupy_available()


def pytest_report_header(config):
    if _STANDIN["on"]:
        return "cupy: CPU stand-in (tests/cupy_standin.py); needs_cuda tests skip"
    return f"cupy: {'usable' if _backend.cupy_available() else _backend.cupy_unusable_reason()}"


def pytest_collection_modifyitems(config, items):
    if _STANDIN["on"]:
        skip = pytest.mark.skip(reason="needs real CUDA: the CPU stand-in for CuPy cannot "
                                       "compile or launch kernels or capture CUDA graphs")
        for item in items:
            if item.get_closest_marker("needs_cuda") is not None:
                item.add_marker(skip)
        return
    if _backend.cupy_available():
        return
    skip = pytest.mark.skip(reason="needs CuPy and a usable CUDA device "
                                   f"({_backend.cupy_unusable_reason()}); "
                                   "`python -m pytest -m gpu` runs them on the CPU stand-in")
    for item in items:
        if item.get_closest_marker("gpu") is not None:
            item.add_marker(skip)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    """``SPARSESIM_TEST_TIMEOUT=N``: fail a test that runs longer than N seconds.

    Used by ``benchmarks/device_check.sh`` so that one hung GPU test cannot
    spend the device session; SIGALRM (POSIX only), off by default.
    """
    seconds = int(os.environ.get("SPARSESIM_TEST_TIMEOUT", "0") or 0)
    if seconds <= 0 or not hasattr(signal, "SIGALRM"):
        yield
        return

    def expire(signum, frame):
        raise TimeoutError(f"{item.nodeid} ran past the per-test limit of {seconds} s "
                           "(SPARSESIM_TEST_TIMEOUT)")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def standin_active() -> bool:
    """True when the CPU stand-in plays CuPy in this session."""
    return _STANDIN["on"]


@pytest.fixture
def xp_gpu():
    """The CuPy module (only for tests marked ``gpu``): real CuPy or the CPU stand-in."""
    from sparsesim.backend import get_namespace
    return get_namespace("cupy")


@pytest.fixture
def xp(request):
    """The array module of a ``@both_backends`` case (tests/backends.py): NumPy or CuPy.

    The ``cupy`` case is marked ``gpu``: real CuPy, the CPU stand-in under ``-m gpu``,
    or skipped with the reason.
    """
    from sparsesim.backend import get_namespace
    name = getattr(request, "param", None)
    if name not in ("numpy", "cupy"):
        pytest.fail(f"{request.node.nodeid}: the xp fixture is given by "
                    "@both_backends (tests/backends.py)")
    return get_namespace(name)


@pytest.fixture
def host_syncs():
    """A context-manager factory counting host synchronisations (gpu tests).

    Under the stand-in it counts every device-to-host read (``float()``,
    ``.get()``, boolean-mask indexing, ...).  On real CuPy it counts the
    synchronisations CuPy itself detects (every call of
    ``cupy._core.syncdetect._declare_synchronize``, which ``.get()``,
    ``int()``, ``float()`` ... go through), after checking once that a known
    device-to-host read is counted, so that a count of 0 can be trusted.
    """
    import contextlib

    if _STANDIN["on"]:
        import cupy_standin  # noqa: PLC0415
        return cupy_standin.count_syncs

    @contextlib.contextmanager
    def real():
        import types

        import cupy  # noqa: PLC0415
        from cupy._core import syncdetect  # noqa: PLC0415
        out = types.SimpleNamespace(syncs=0, uploads=0, last="")
        original = syncdetect._declare_synchronize

        def counting():
            out.syncs += 1
            out.last = "device-to-host read"

        syncdetect._declare_synchronize = counting
        try:
            int(cupy.zeros((), dtype=cupy.int64))     # the self-check: one known read
            if out.syncs != 1:
                pytest.fail("host_syncs: CuPy's device-to-host reads no longer pass through "
                            "cupy._core.syncdetect._declare_synchronize; syncs cannot be "
                            "counted on this CuPy")
            out.syncs = 0
            yield out
        finally:
            syncdetect._declare_synchronize = original
    return real
