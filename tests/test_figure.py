"""The figure helper: no pyplot state, bad input named, files written and freed."""

import subprocess
import sys

import pytest

from sparsesim._figure import new_figure, save_figure


def test_figures_never_touch_pyplot_or_the_backend(tmp_path):
    """A figure made, drawn and saved through the helper leaves pyplot unimported."""
    code = ("import sys, matplotlib; before = matplotlib.get_backend() if 'matplotlib.pyplot' "
            "in sys.modules else None\n"
            "from sparsesim._figure import new_figure, save_figure\n"
            "fig, axes = new_figure(1, 2, figsize=(4, 2))\n"
            "axes[0].plot([0, 1]); axes[1].bar([0], [1])\n"
            f"p = save_figure(fig, {str(tmp_path)!r}, 'x.png')\n"
            "assert p.stat().st_size > 0\n"
            "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot was imported'\n")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_save_writes_png_and_creates_the_folder(tmp_path):
    fig, ax = new_figure(figsize=(2, 2))
    ax.plot([0, 1], [0, 1])
    path = save_figure(fig, tmp_path / "new" / "dir", "a.png", dpi=50)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not fig.axes  # freed


@pytest.mark.parametrize("kwargs, word", [
    (dict(figsize=(0, 2)), "figsize"), (dict(figsize="ab"), "figsize"),
    (dict(figsize=(2, float("nan"))), "figsize"), (dict(nrows=0, figsize=(2, 2)), "nrows"),
    (dict(ncols=True, figsize=(2, 2)), "ncols")])
def test_new_figure_names_bad_arguments(kwargs, word):
    with pytest.raises(ValueError, match=word):
        new_figure(**kwargs)


@pytest.mark.parametrize("kwargs, word", [(dict(name="a/b.png"), "name"),
                                          (dict(name=""), "name"),
                                          (dict(name="a.png", dpi=0), "dpi")])
def test_save_figure_names_bad_arguments(tmp_path, kwargs, word):
    fig, _ = new_figure(figsize=(2, 2))
    with pytest.raises(ValueError, match=word):
        save_figure(fig, tmp_path, **kwargs)
