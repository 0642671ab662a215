"""Open registries of saliency criteria and lottery controls, in the library, sweeps and on Dask."""

import importlib
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sparsesim import nn
from sparsesim.nn import lottery, saliency
from sparsesim.nn.lottery import LotteryProtocol, PruningSchedule, run_imp
from sparsesim.sweep import ConfigError, load_config, run_sweep

HERE = Path(__file__).resolve().parent
PLUGIN = "plugin_controls"
BUILTIN_METHODS = ("magnitude", "random", "snip", "grasp", "synflow")
BUILTIN_CONDITIONS = ("dense", "lottery", "rewind", "reinit", "random", "shuffled", "snip",
                      "grasp", "synflow", "oneshot")


@pytest.fixture
def plugin():
    """``tests/plugin_controls.py`` registered for one test, unregistered after it."""
    if PLUGIN in sys.modules:
        importlib.reload(sys.modules[PLUGIN])
    else:
        importlib.import_module(PLUGIN)
    yield sys.modules[PLUGIN]
    for name in ("squared_weight", "ticket_twin"):
        if name in lottery.condition_names():
            nn.unregister_condition(name)
    nn.unregister_saliency("squared_weight")


def _params(n_models=2):
    return nn.init_mlp((5, 7, 3), n_models, seed=0, backend="numpy", dtype=np.float64)


# --------------------------------------------------------------------------- saliency

def test_name_tuples_are_derived_from_the_registries(plugin):
    """Falsified if a registered name is missing from SALIENCY_METHODS / CONDITIONS."""
    assert nn.SALIENCY_METHODS == saliency.SALIENCY_METHODS == BUILTIN_METHODS + ("squared_weight",)
    assert lottery.CONDITIONS == BUILTIN_CONDITIONS + ("squared_weight", "ticket_twin")
    assert tuple(lottery.CONTROLS) == lottery.CONDITIONS


def test_builtin_names_after_unregistering(plugin):
    nn.unregister_condition("ticket_twin")
    assert "ticket_twin" not in lottery.CONDITIONS
    assert nn.saliency_methods()[:5] == BUILTIN_METHODS


@pytest.mark.parametrize("scope", ["global", "layerwise"])
def test_registered_criterion_works_in_saliency_masks(plugin, scope):
    """Falsified if W² does not keep the masks of |W| (the same ranking), per model."""
    p = _params()
    dens = None if scope == "global" else [0.3, 0.5]
    got = nn.saliency_masks("squared_weight", p, 0.3, scope=scope, layer_densities=dens)
    want = nn.saliency_masks("magnitude", p, 0.3, scope=scope, layer_densities=dens)
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)
    with_bias = nn.saliency_masks("squared_weight", p, 0.3, include_bias=True, scope=scope,
                                  layer_densities=dens)
    assert isinstance(with_bias[0], tuple) and with_bias[0][1].shape == p[0][1].shape


def test_keep_low_and_the_needs_flags_are_honoured():
    def neg(params, inputs):
        return [-abs(W) for W, _ in params]
    nn.register_saliency("neg_abs", neg, keep="low", needs_data=True, needs_seed=True)
    try:
        p = _params()
        X, y = np.ones((4, 5)), np.arange(4) % 3
        got = nn.saliency_masks("neg_abs", p, 0.4, X, y, seed=1)
        want = nn.saliency_masks("magnitude", p, 0.4)
        for g, w in zip(got, want):
            np.testing.assert_array_equal(g, w)
        with pytest.raises(ValueError, match="needs a batch of data"):
            nn.saliency_masks("neg_abs", p, 0.4, seed=1)
        with pytest.raises(ValueError, match="needs seed"):
            nn.saliency_masks("neg_abs", p, 0.4, X, y)
    finally:
        nn.unregister_saliency("neg_abs")


def test_bad_registrations_name_the_problem(plugin):
    with pytest.raises(ValueError, match="'squared_weight' is already registered"):
        nn.register_saliency("squared_weight", lambda params, inputs: params)
    with pytest.raises(ValueError, match="'snip' is already registered"):
        nn.register_saliency("snip", lambda params, inputs: params)
    nn.register_saliency("squared_weight", plugin.squared_weight)  # the same again: no-op
    with pytest.raises(TypeError, match="fn must be callable"):
        nn.register_saliency("x", 3)
    with pytest.raises(TypeError, match=r"fn must accept \(params, inputs\)"):
        nn.register_saliency("x", lambda params: params)
    with pytest.raises(TypeError, match=r"\(params, inputs, selection\)"):
        nn.register_saliency("x", lambda params, inputs: params, prunes=True)
    with pytest.raises(TypeError, match="name must be a str"):
        nn.register_saliency(3, plugin.squared_weight)
    with pytest.raises(ValueError, match="name must be a non-empty str"):
        nn.register_saliency("", plugin.squared_weight)
    with pytest.raises(ValueError, match="keep must be one of"):
        nn.register_saliency("x", plugin.squared_weight, keep="middle")
    with pytest.raises(TypeError, match="needs_data"):
        nn.register_saliency("x", plugin.squared_weight, needs_data="yes")
    with pytest.raises(ValueError, match="built in"):
        nn.unregister_saliency("grasp")
    assert "x" not in nn.saliency_methods()
    with pytest.raises(ValueError, match="method must be one of"):
        nn.saliency_masks("x", _params(), 0.5)


def test_a_criterion_returning_the_wrong_shape_is_a_type_error():
    nn.register_saliency("one_layer", lambda params, inputs: [abs(params[0][0])])
    try:
        with pytest.raises(TypeError, match="one score entry per layer"):
            nn.saliency_masks("one_layer", _params(), 0.5)
    finally:
        nn.unregister_saliency("one_layer")


# --------------------------------------------------------------------------- lottery controls

def _data():
    """A planted linear teacher, 6 inputs -> 3 classes (100 / 30 / 30 examples)."""
    return nn.planted_teacher(n_in=6, hidden=(), n_out=3, density=0.5, n_train=100, n_val=30,
                              n_test=30, seed=0, backend="numpy", dtype=np.float64)


def _protocol(**kw):
    base = dict(sizes=(6, 10, 3), residual=False, dtype=np.float64, lr=1e-2, steps=8,
                batch_size=20, eval_every=4, rewind_step=2,
                schedule=PruningSchedule.fixed_fraction(0.4, 2, output_rate=0.5,
                                                        prune_biases=True))
    base.update(kw)
    return LotteryProtocol(**base)


SCIENCE = ["round", "density", "test_accuracy", "train_loss", "val_loss", "layer_densities"]


def test_registered_controls_run_in_imp(plugin):
    """Falsified if a control of one's own does not train what it starts from: the ticket at
    w0 must reproduce the lottery rows; the W² control must keep the ticket's counts."""
    rows = pd.DataFrame(run_imp(_data(), _protocol(), seeds=[3, 4], backend="numpy",
                                conditions=["lottery", "ticket_twin", "squared_weight"]))
    lot = rows[rows.condition == "lottery"].reset_index(drop=True)
    twin = rows[rows.condition == "ticket_twin"].reset_index(drop=True)
    pd.testing.assert_frame_equal(lot[SCIENCE], twin[SCIENCE])
    sq = rows[rows.condition == "squared_weight"].reset_index(drop=True)
    assert list(sq["layer_densities"]) == list(lot["layer_densities"])
    assert list(sq["density"]) == list(lot["density"])


def test_saliency_control_is_the_magnitude_mask_of_w0(plugin):
    """Falsified if a registered criterion's control does not prune w0 by its scores at
    the ticket's per-layer counts."""
    w0 = nn.init_mlp((6, 10, 3), 1, seed=1, backend="numpy", dtype=np.float64)
    full = [(np.ones_like(W, dtype=bool), None) for W, _ in w0]
    ticket = [(np.ones_like(W, dtype=bool), None) for W, _ in w0]
    for mW, _ in ticket:
        mW.reshape(-1)[: mW.size // 3] = False
    ctx = lottery.RoundContext(protocol=_protocol(), roots=[np.random.SeedSequence(1)], w0=w0,
                               full=full, trained_dense=None, data=None, ticket=ticket)
    start, masks = lottery.CONTROLS["squared_weight"].start(ctx, 1)
    assert start is w0
    for (mW, _), (W, _), (tW, _) in zip(masks, w0, ticket):
        assert int(mW.sum()) == int(tW.sum())
        assert np.abs(W[mW]).min() >= np.abs(W[~mW]).max()


def test_bad_conditions_name_the_problem(plugin):
    with pytest.raises(ValueError, match="'ticket_twin' is already registered"):
        nn.register_condition("ticket_twin", lambda ctx, r: (ctx.w0, ctx.full))
    with pytest.raises(ValueError, match="'lottery' is already registered"):
        nn.register_condition("lottery", plugin.ticket_twin)
    with pytest.raises(ValueError, match="saliency criterion 'nothing'"):
        nn.register_condition("nothing")
    with pytest.raises(TypeError, match="start must be callable"):
        nn.register_condition("x", start="w0")
    with pytest.raises(TypeError, match=r"start must accept \(ctx, r\)"):
        nn.register_condition("x", lambda ctx: ctx)
    with pytest.raises(ValueError, match="built in"):
        nn.unregister_condition("dense")
    with pytest.raises(ValueError, match="condition must be one of"):
        run_imp(_data(), _protocol(), conditions=["x"], seeds=[0], backend="numpy")


# --------------------------------------------------------------------------- sweeps

SWEEP = """
[sim]
name = "lottery_teacher"
seed = 5
{plugins}

[params]
dataset = "teacher"
n_in = 8
n_out = 3
hidden = ""
teacher_density = 0.3
n_train = 60
n_validation = 20
n_test = 20
residual = false
steps = 6
rewind_step = 2
batch_size = 20
eval_every = 3
schedule = "densities"
densities = "0.6,0.3"
claim_density = 0.3
claim_density_sparse = 0.3
dtype = "float64"
synflow_iterations = 2

[grid]
condition = ["lottery", "ticket_twin", "squared_weight"]
seed = [0, 1]
"""


def _sweep(tmp_path, plugins=True):
    path = tmp_path / "plugin_sweep.toml"
    path.write_text(SWEEP.format(plugins=f'plugins = ["{PLUGIN}"]' if plugins else ""))
    return path


def test_sweep_config_accepts_registered_names_and_refuses_others(tmp_path, plugin):
    cfg = load_config(_sweep(tmp_path))
    assert cfg.plugins == (PLUGIN,)
    assert {c["condition"] for c in cfg.cells} == {"lottery", "ticket_twin", "squared_weight"}
    bad = tmp_path / "bad.toml"
    bad.write_text(SWEEP.format(plugins="").replace('"ticket_twin"', '"unregistered_twin"'))
    with pytest.raises(ValueError, match=r"unregistered_twin.*plugins"):
        load_config(bad)
    bad.write_text(SWEEP.format(plugins='plugins = ["no_such_plugin_module"]'))
    with pytest.raises(ConfigError, match="sim.plugins: module 'no_such_plugin_module'"):
        load_config(bad)
    bad.write_text(SWEEP.format(plugins='plugins = "plugin_controls"'))
    with pytest.raises(ConfigError, match="sim.plugins must be a list"):
        load_config(bad)


def test_sweep_with_registered_controls_runs_locally_and_on_dask(tmp_path, plugin):
    """Falsified if a Dask worker (a fresh process: it sees the plugin's names only by
    importing the modules the sweep names) fails, or gives other numbers than this process."""
    distributed = pytest.importorskip("distributed")
    from sparsesim.sweep.dask_executor import DaskExecutor  # noqa: PLC0415

    cfg = load_config(_sweep(tmp_path))
    local = run_sweep(cfg, out=tmp_path / "local", backend="numpy", show_progress=False)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                  dashboard_address=":0") as cluster:
        ex = DaskExecutor(scheduler=cluster.scheduler_address, backend="numpy")
        dask = run_sweep(cfg, out=tmp_path / "dask", backend="numpy", executor=ex,
                         show_progress=False)
    cols = ["condition", "seed"] + SCIENCE
    pd.testing.assert_frame_equal(local[cols], dask[cols])
    assert set(dask.condition) == {"lottery", "ticket_twin", "squared_weight"}
    lot = local[local.condition == "lottery"].reset_index(drop=True)
    twin = local[local.condition == "ticket_twin"].reset_index(drop=True)
    pd.testing.assert_frame_equal(lot[SCIENCE], twin[SCIENCE])
