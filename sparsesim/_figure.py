"""Figures for reports, drawn on :class:`matplotlib.figure.Figure` objects.

Library code never touches pyplot's global state (no ``matplotlib.use``, no
current figure): a figure is made by :func:`new_figure`, drawn on through its
axes, and written by :func:`save_figure`, which frees it.  Matplotlib is
imported only when a figure is made, so ``import sparsesim`` stays light.

Examples
--------
>>> import tempfile
>>> fig, ax = new_figure(figsize=(3, 2))
>>> _ = ax.plot([0, 1], [1, 0])
>>> with tempfile.TemporaryDirectory() as d:
...     save_figure(fig, d, "line.png").name
'line.png'
>>> new_figure(figsize=(3, -2))
Traceback (most recent call last):
...
ValueError: figsize must be two positive numbers (width, height) in inches; got (3, -2)
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

__all__ = ["new_figure", "save_figure", "stamp_figure"]


def new_figure(nrows: int = 1, ncols: int = 1, *, figsize: tuple[float, float],
               squeeze: bool = True, **subplot_kw: Any) -> tuple[Any, Any]:
    """A new :class:`~matplotlib.figure.Figure` and its axes (as ``Figure.subplots`` gives them).

    Parameters
    ----------
    nrows, ncols : int
        The grid of axes (each >= 1).
    figsize : (float, float)
        Width and height in inches.
    squeeze : bool
        As in :meth:`matplotlib.figure.Figure.subplots`.
    **subplot_kw
        Passed to :meth:`~matplotlib.figure.Figure.subplots` (``sharex``, ...).
    """
    for name, value in (("nrows", nrows), ("ncols", ncols)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be an int >= 1; got {value!r}")
    try:
        w, h = (float(v) for v in figsize)
        ok = all(math.isfinite(v) and v > 0 for v in (w, h))
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ValueError(f"figsize must be two positive numbers (width, height) in inches; "
                         f"got {figsize!r}")
    from matplotlib.figure import Figure  # noqa: PLC0415 - matplotlib only when drawing

    fig = Figure(figsize=(w, h))
    axes = fig.subplots(nrows, ncols, squeeze=squeeze, **subplot_kw)
    return fig, axes


def save_figure(fig: Any, outdir: str | Path, name: str, *, dpi: int = 110,
                tight: bool = True) -> Path:
    """Write ``fig`` as ``outdir/name`` (``outdir`` is created), free it, return the path.

    ``tight`` applies :meth:`~matplotlib.figure.Figure.tight_layout` first.
    """
    if not isinstance(name, str) or not name or "/" in name or "\\" in name:
        raise ValueError(f"name must be a file name without a directory; got {name!r}")
    if isinstance(dpi, bool) or not isinstance(dpi, int) or dpi < 1:
        raise ValueError(f"dpi must be an int >= 1; got {dpi!r}")
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    if tight:
        fig.tight_layout()
    path = outdir / name
    fig.savefig(path, dpi=dpi)
    fig.clear()
    return path


def stamp_figure(path: str | Path, note: str, *, color: str = "firebrick") -> Path:
    """Add ``note`` as a title band above the image of a written PNG (other formats: unchanged).

    Works on any PNG, however it was drawn: the image is kept pixel for pixel
    under a new band holding the note (a quick run's figures say so).

    >>> import tempfile
    >>> fig, ax = new_figure(figsize=(3, 2))
    >>> with tempfile.TemporaryDirectory() as d:
    ...     path = save_figure(fig, d, "line.png")
    ...     from matplotlib.image import imread
    ...     h = imread(path).shape[0]
    ...     _ = stamp_figure(path, "quick run")
    ...     imread(path).shape[0] > h
    True
    """
    if not isinstance(note, str) or not note:
        raise ValueError(f"note must be a non-empty str; got {note!r}")
    path = Path(path)
    if path.suffix.lower() != ".png":
        return path
    from matplotlib.figure import Figure  # noqa: PLC0415 - matplotlib only when drawing
    from matplotlib.image import imread  # noqa: PLC0415

    img = imread(path)
    h, w = img.shape[:2]
    dpi = 100
    band = max(24, h // 14)
    fig = Figure(figsize=(w / dpi, (h + band) / dpi), dpi=dpi)
    fig.figimage(img, xo=0, yo=0, origin="upper")
    fig.text(0.5, 1 - band / 2 / (h + band), note, ha="center", va="center",
             fontsize=max(7, min(12, band * 0.45 * 72 / dpi)), color=color, weight="bold")
    fig.savefig(path, dpi=dpi)
    fig.clear()
    return path
