"""Shared pytest configuration: GPU tests are skipped cleanly without a device."""

import pytest

from sparsesim.backend import cupy_available


def pytest_collection_modifyitems(config, items):
    if cupy_available():
        return
    skip = pytest.mark.skip(reason="needs CuPy and a usable CUDA device")
    for item in items:
        if item.get_closest_marker("gpu") is not None:
            item.add_marker(skip)


@pytest.fixture
def xp_gpu():
    """The CuPy module (only for tests marked ``gpu``)."""
    from sparsesim.backend import get_namespace
    return get_namespace("cupy")
