"""Quick runs say so everywhere; verdict counts are explicit (report.tables, api).

A ``--quick`` run's ``table.md`` opens with the quick-run banner and repeats it
under every table heading; its figures carry it as a title band; the CLI
prints it beside the verdict.  The agreement line and ``Verdict`` state the
✓, ✗ and inconclusive counts, so no reader has to subtract.
"""

from pathlib import Path

import pandas as pd
import pytest
from matplotlib.image import imread

import sparsesim as ss
from sparsesim._figure import new_figure, save_figure, stamp_figure
from sparsesim.api import Verdict
from sparsesim.cli import main
from sparsesim.report import QUICK_NOTE, TheoryTable, is_quick
from sparsesim.sim import Simulation

HERE = Path(__file__).resolve().parent
TOY = HERE / "toysims" / "toy.toml"
BANNER = "**Quick run: small networks/trials; not comparable with published numbers**"


def _figures(cells, outdir):
    fig, ax = new_figure(figsize=(3, 2))
    ax.plot(cells["p"], cells["heads"], "o")
    return [save_figure(fig, outdir, "heads.png")]


def _toy_with_figure():
    import toysim

    return Simulation(name="toy", params=toysim.PARAMS, defaults=toysim.DEFAULTS,
                      valid_cell=toysim.valid_cell, run_cell=toysim.run_cell,
                      tables=lambda c: toysim.tables(c) + [
                          TheoryTable.identities("sizes", pd.DataFrame({"ok": [True]}),
                                                 holds_col="ok", tolerance="exact")],
                      figures=_figures, module="toysim")


def test_quick_run_says_so_in_every_table_heading_and_figure(tmp_path):
    sim = _toy_with_figure()
    quick = ss.run(TOY, quick=True, backend="numpy", out=tmp_path / "q", progress=False,
                   simulation=sim)
    full = ss.run(TOY, backend="numpy", out=tmp_path / "f", progress=False, simulation=sim)
    text = (tmp_path / "q" / "table.md").read_text()
    lines = text.splitlines()
    assert lines[0] == "# toy" and lines[2].startswith(BANNER)
    headings = [i for i, line in enumerate(lines) if line.startswith("## ") or
                line.startswith("### ")]
    tables = [i for i in headings if not lines[i].startswith("## Identities")
              and not lines[i].startswith("## Figures")]
    assert len(tables) == 2                          # the coin-flip table and the identity table
    for i in tables:
        assert lines[i + 2] == "*Quick run: small networks/trials; not comparable with " \
                               "published numbers.*", lines[i]
    assert QUICK_NOTE.split(";")[0] not in (tmp_path / "f" / "table.md").read_text().lower()
    assert quick.quick and not full.quick and "quick" in repr(quick)
    assert is_quick(quick.cells) and not is_quick(full.cells)
    # the figure of the quick run carries a title band: same width, taller
    q_img, f_img = imread(quick.figures[0]), imread(full.figures[0])
    assert q_img.shape[1] == f_img.shape[1] and q_img.shape[0] > f_img.shape[0]


def test_cli_prints_the_quick_note_beside_the_verdict(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["run", str(TOY), "--quick", "--backend", "numpy", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert f"1 of 1 tested rows agree, 0 ✗, 0 inconclusive ({QUICK_NOTE})" in out


def test_stamp_figure_checks_its_note_and_leaves_other_formats(tmp_path):
    fig, ax = new_figure(figsize=(2, 2))
    png = save_figure(fig, tmp_path, "a.png")
    with pytest.raises(ValueError, match="note must be a non-empty str"):
        stamp_figure(png, "")
    svg = tmp_path / "a.svg"
    svg.write_text("<svg/>")
    assert stamp_figure(svg, "quick run") == svg and svg.read_text() == "<svg/>"


@pytest.mark.parametrize("verdict, text", [
    (Verdict(3, 4), "3 of 4 tested rows agree, 1 ✗, 0 inconclusive"),
    (Verdict(13, 25, 9), "13 of 25 tested rows agree, 3 ✗, 9 inconclusive"),
    (Verdict(0, 0), "no row is tested against a theory"),
])
def test_verdict_counts_are_explicit(verdict, text):
    assert str(verdict) == text
