"""Notebook use: rich display, the trainer's name, x_train, progress (tqdm or plain lines).

IPython displays an object through ``_repr_html_`` / ``_repr_markdown_``; these
tests call them as IPython would and check what a reader sees: rows coloured
by verdict, the agreement counts, figures inline, a training summary instead
of arrays.
"""

import base64
import io
import sys
import types
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sparsesim as ss
from sparsesim.api import RunResult, Verdict
from sparsesim.report import TheoryTable
from sparsesim.report.display import COLOURS, figure_html, table_html, verdict_colour
from sparsesim.sweep.progress import Progress

HERE = Path(__file__).resolve().parent
TOY = HERE / "toysims" / "toy.toml"


def _figures(cells, outdir):
    from sparsesim._figure import new_figure, save_figure

    fig, ax = new_figure(figsize=(2, 2))
    ax.plot(cells["p"], cells["heads"], "o")
    return [save_figure(fig, outdir, "heads.png")]


def test_run_result_shows_coloured_tables_the_verdict_and_inline_figures(tmp_path):
    import toysim

    sim = ss.sim.Simulation(name="toy", params=toysim.PARAMS, defaults=toysim.DEFAULTS,
                            valid_cell=toysim.valid_cell, run_cell=toysim.run_cell,
                            tables=toysim.tables, figures=_figures, module="toysim")
    res = ss.run(TOY, backend="numpy", out=tmp_path / "o", progress=False, simulation=sim)
    html = res._repr_html_()
    assert "<h3>toy</h3>" in html and "coin flips" in html
    assert f"background:{COLOURS['agree']}" in html              # the ✓ rows, coloured
    assert "3 of 3 tested rows agree, 0 ✗, 0 inconclusive" in html
    png = (tmp_path / "o" / "heads.png").read_bytes()
    assert f"data:image/png;base64,{base64.b64encode(png).decode()}" in html
    md = res._repr_markdown_()
    assert md.startswith("### toy") and "| ✓ |" in md and f"![heads]({res.figures[0].as_posix()})" \
        in md and "**" in md
    assert "quick" not in md.lower()


def test_verdict_displays_colour_by_outcome():
    assert f"background:{COLOURS['agree']}" in Verdict(3, 3)._repr_html_()
    assert f"background:{COLOURS['disagree']}" in Verdict(2, 3)._repr_html_()
    assert f"background:{COLOURS['inconclusive']}" in Verdict(2, 3, 1)._repr_html_()
    assert "background" not in Verdict(0, 0)._repr_html_()
    assert Verdict(2, 3)._repr_markdown_() == "**2 of 3 tested rows agree, 1 ✗, 0 inconclusive**"
    line = "**2 of 3 tested rows agree, 1 ✗, 0 inconclusive** (3 tests)."
    assert Verdict(2, 3, line=line)._repr_markdown_() == line


def test_theory_table_is_a_summary_not_a_dataclass_dump():
    t = TheoryTable.claims("claims", pd.DataFrame({"pc": [1e-6, 0.4, 0.99999],
                                                   "po": [0.99999, 0.6, 1e-6]}),
                           p_col="pc", p_opposite_col="po", test="sign flip")
    assert repr(t) == ("TheoryTable('claims': 3 rows of kind 'claim', columns ['pc', 'po'])")
    html = t._repr_html_()
    for key in ("agree", "inconclusive", "disagree"):
        assert html.count(f"background:{COLOURS[key]}") == 1, key
    assert "1 of 3 tested rows agree, 1 ✗, 1 inconclusive" in html
    assert "| inconclusive |" in t._repr_markdown_()
    long = TheoryTable.descriptive("many", pd.DataFrame({"x": range(100)}))
    assert "… 40 more rows" in table_html(long) and "background" not in table_html(long)


def test_verdict_colours_and_figure_paths():
    assert verdict_colour(True) == COLOURS["agree"] and verdict_colour(None) == ""
    assert verdict_colour("not testable: too few") == COLOURS["not testable"]
    assert 'src="figs/a.svg"' in figure_html("figs/a.svg")        # not inlined: by path


def test_training_result_is_summarised(tmp_path):
    from sparsesim.nn import TrainData, init_mlp, train
    from sparsesim.nn.optim import Adam

    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 5))
    y = (X[:, 0] > 0).astype(int)
    data = TrainData(X[:40], y[:40], X[40:50], y[40:50], X[50:], y[50:])
    params = init_mlp((5, 8, 2), 3, seed=1, backend="numpy", dtype=np.float64)
    res = train(params, data, optimizer=Adam(lr=1e-2), steps=20, batch_size=10,
                eval_every=10, data_seed=2)
    text = repr(res)
    assert text.startswith("<TrainResult: 3 models, 20 steps, 3 evaluations; final train loss ")
    assert "array" not in text and len(text) < 300
    acc = res.final_test_accuracy
    assert f"| final test accuracy | {acc.mean():.4g} | {acc.std(ddof=1):.4g} |" in \
        res._repr_markdown_()
    assert "<th>range over models</th>" in res._repr_html_()


def test_nn_train_is_the_training_function_and_the_old_module_path_still_imports():
    import sparsesim.nn
    from sparsesim.nn import train, training

    assert callable(train) and train is training.train is sparsesim.nn.train
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        from sparsesim.nn.train import TrainData, data_order   # noqa: F401
    assert TrainData is training.TrainData
    assert [str(w.message) for w in caught] == [
        f"sparsesim.nn.train.{n} is deprecated: import it from sparsesim.nn.training "
        "(sparsesim.nn.train is now the training function)" for n in ("TrainData", "data_order")]
    with pytest.raises(ImportError, match="no_such_name"):
        from sparsesim.nn.train import no_such_name  # noqa: F401


class _FakeTqdm:
    """Records what Progress asks of tqdm."""

    made: list = []

    def __init__(self, **kw):
        self.kw, self.updates, self.postfix, self.closed = kw, 0, "", False
        _FakeTqdm.made.append(self)

    def update(self, n):
        self.updates += n

    def set_postfix_str(self, text, refresh=True):
        self.postfix = text

    def close(self):
        self.closed = True

    @classmethod
    def write(cls, text, file=None):
        (file or sys.stderr).write(text + "\n")


@pytest.fixture
def fake_tqdm(monkeypatch):
    _FakeTqdm.made = []
    mod = types.ModuleType("tqdm.auto")
    mod.tqdm = _FakeTqdm
    pkg = types.ModuleType("tqdm")
    pkg.auto = mod
    monkeypatch.setitem(sys.modules, "tqdm", pkg)
    monkeypatch.setitem(sys.modules, "tqdm.auto", mod)
    return _FakeTqdm


def test_progress_uses_tqdm_auto_when_installed(fake_tqdm, capsys):
    bar = Progress(4, 1, label="sparsesim run toy")
    bar.note("resuming: 1 of 4 cells already in the journal")
    bar.advance("p=0.5")
    bar.finish()
    (made,) = fake_tqdm.made
    assert made.kw["total"] == 4 and made.kw["initial"] == 1 and made.kw["unit"] == "cell"
    assert made.updates == 1 and made.postfix == "p=0.5" and made.closed
    err = capsys.readouterr().err
    assert "sparsesim run toy: resuming: 1 of 4 cells" in err and "2/4 cells done in" in err


def test_progress_is_plain_lines_on_a_given_stream_or_without_tqdm(fake_tqdm, monkeypatch):
    stream = io.StringIO()
    bar = Progress(2, label="x", stream=stream, interval=0)
    bar.advance("a")
    bar.advance("b")
    bar.finish()
    assert fake_tqdm.made == [] and "x [2/2] 100%" in stream.getvalue()
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)            # tqdm not installed
    quiet = Progress(2, label="x", enabled=True, stream=None)
    assert quiet.bar is None
    with pytest.raises(ImportError, match="use_tqdm=True needs tqdm"):
        Progress(2, use_tqdm=True)
    assert Progress(2, enabled=False).bar is None


def test_set_renderer_checks_its_argument():
    from sparsesim import _table

    with pytest.raises(TypeError, match="render must be callable or None; got int"):
        _table.set_renderer(3)
