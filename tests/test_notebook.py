"""What scripts and notebooks expect: a short History repr and a table, plot_history on your own Axes returning the
figure, train() with its keywords in the signature and a progress bar, and random seeds that are recorded."""

from __future__ import annotations

import inspect
import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import blobs, to_np

import xpnet
from xpnet import History, TwoLayerNet
from xpnet.io.plot import _default_title

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def history() -> History:
    train_data, test_data = blobs()
    net = TwoLayerNet(12, 8, 3, 0.1, seed=0)
    return xpnet.train(net, train_data, test_data, iters=3000, batch_size=20, lr=0.5, seed=1)


def test_history_repr_is_short_and_says_what_happened(history):
    text = repr(history)
    assert len(text) < 300 and len(str(history.to_dict())) > 20 * len(text)
    assert text.startswith("History(iterations=3000, evaluations=100,") and "test_acc=" in text and "seed=1" in text
    assert f"loss {history.train_loss[0]:.4g} -> " in text


def test_history_table_has_one_row_per_evaluation(history):
    table = history.table()
    assert list(table) == ["iteration", "epoch", "loss", "train_acc", "test_acc"]
    assert {len(column) for column in table.values()} == {len(history.eval_iters)}
    assert table["iteration"] == history.eval_iters and table["test_acc"] == history.test_acc
    assert table["epoch"][0] == pytest.approx(30 * 20 / 600)  # iterations x batch / training-set size
    assert table["loss"][1] == pytest.approx(np.mean(history.train_loss[30:60]))
    assert History.from_json(history.to_json()).table() == table


def test_history_to_pandas(history):
    pd = pytest.importorskip("pandas")
    frame = history.to_pandas()
    assert isinstance(frame, pd.DataFrame) and frame.index.name == "iteration" and len(frame) == 100


def test_plot_history_returns_the_figure_and_draws_on_given_axes(history, tmp_path):
    pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure

    fig = xpnet.plot_history(history)
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    assert fig._repr_png_()[:4] == b"\x89PNG"  # what a notebook displays, with or without pyplot
    single = Figure()
    ax = single.add_subplot()
    assert xpnet.plot_history(history, ax=ax, path=tmp_path / "one.png") is single
    assert len(single.axes) == 2 and ax.get_ylabel() == "loss"  # the accuracy on a twin y axis
    pair = Figure().subplots(1, 2)
    assert xpnet.plot_history(history, pair) is pair[0].figure
    assert (tmp_path / "one.png").read_bytes()[:4] == b"\x89PNG"
    xpnet.plot_history(history, tmp_path / "old.png")  # the older (history, path) call
    assert (tmp_path / "old.png").is_file()
    with pytest.raises(ValueError, match="one Axes or two"):
        xpnet.plot_history(history, ax=Figure().subplots(1, 3))


def test_plot_titles_name_the_data_set():
    config = {"dataset": "Fashion-MNIST", "backend": "torch", "network": {"dtype": "float32"}}
    assert _default_title(History(config=config)) == "TwoLayerNet on Fashion-MNIST (torch, float32)"


def test_import_xpnet_does_not_import_matplotlib_until_a_plot_is_drawn():
    code = ("import sys, xpnet; assert 'matplotlib' not in sys.modules, 'imported at start';"
            "assert xpnet.plot.plot_history is xpnet.plot_history;"
            "xpnet.plot_history(xpnet.History(train_loss=[1.0, 0.5])); assert 'matplotlib' in sys.modules")
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr


def test_train_spells_out_its_keywords():
    params = inspect.signature(xpnet.train).parameters
    for name in ("iters", "batch_size", "lr", "seed", "eval_every", "val_split", "patience", "progress", "on_eval"):
        assert params[name].kind is inspect.Parameter.KEYWORD_ONLY
    assert not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    trainer_settings = set(inspect.signature(xpnet.Trainer).parameters) - {"network", "train_data", "test_data"}
    assert trainer_settings <= set(params)  # every Trainer setting reaches the Trainer


def test_progress_bar_shows_rate_and_the_evaluation_lines(monkeypatch, capsys):
    import tqdm.auto

    stream = io.StringIO()
    real = tqdm.auto.tqdm
    monkeypatch.setattr(tqdm.auto, "tqdm", lambda *a, **kw: real(*a, **{**kw, "file": stream, "mininterval": 0}))
    train_data, test_data = blobs()
    seen = []
    xpnet.train(TwoLayerNet(12, 8, 3, 0.1, seed=0), train_data, test_data, iters=90, batch_size=20, lr=0.5, seed=1,
                progress=True, on_eval=seen.append)
    bar = stream.getvalue()
    assert "training" in bar and "90/90" in bar and "it/s" in bar and "loss=" in bar
    out = capsys.readouterr().out
    assert [line.split("|")[1].strip() for line in out.splitlines()] == ["iter     30", "iter     60", "iter     90"]
    assert [r.iteration for r in seen] == [30, 60, 90]  # the caller's callback still runs


def test_seeds_drawn_at_random_are_recorded_on_the_network_and_in_the_history():
    train_data, test_data = blobs()
    net = TwoLayerNet(12, 8, 3, 0.1)
    h = xpnet.train(net, train_data, test_data, iters=30, batch_size=20, lr=0.5)
    assert isinstance(net.seed, int) and h.config["network_seed"] == net.seed
    assert isinstance(h.config["seed"], int)
    again = TwoLayerNet(12, 8, 3, 0.1, seed=h.config["network_seed"])
    h2 = xpnet.train(again, train_data, test_data, iters=30, batch_size=20, lr=0.5, seed=h.config["seed"])
    assert h2.train_loss == h.train_loss
    np.testing.assert_array_equal(to_np(again.params["W1"]), to_np(net.params["W1"]))
