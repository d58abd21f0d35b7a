"""``xpnet train --model`` and ``xpnet gradcheck --model``: the book's chapter 5, 6 and 7 networks from the command line.

Each model trains with its book run's defaults, every option that does not shape the chosen model
is refused naming the flags, ``--epochs`` counts the book's iterations and ``--eval-samples``
measures the evaluation points on the first images and the whole sets at the end.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
from _files import env, idx_bytes, one_line_error, write_mnist_dir, xpnet_command

import xpnet
from xpnet.cli import build_parser, main
from xpnet.cli.resume import fresh_settings
from xpnet.io.checkpoint import load_checkpoint


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    return write_mnist_dir(tmp_path_factory.mktemp("data"), 300, 100)


def _settings(*argv: str) -> dict:
    return fresh_settings(build_parser().parse_args(["train", *argv]))


# --------------------------------------------------------------------------- defaults: the book's runs
def test_each_model_has_its_book_runs_defaults():
    two = _settings()
    assert (two["model"], two["hidden_size"], two["activation"], two["weight_init_std"]) == ("two-layer", 50, "relu", 0.01)
    assert (two["optimizer"], two["lr"], two["iters"], two["epochs"], two["batch_size"]) == ("sgd", 0.1, 10_000, None, 100)
    multi = _settings("--model", "multi-layer")
    assert (multi["hidden_sizes"], multi["weight_init_std"], multi["batch_norm"], multi["dropout"]) == ([100] * 5, "relu", False, None)
    assert (multi["optimizer"], multi["lr"], multi["iters"], multi["dtype"]) == ("sgd", 0.1, 10_000, "float32")
    conv = _settings("--model", "convnet")
    assert (conv["optimizer"], conv["lr"], conv["iters"], conv["epochs"], conv["eval_samples"]) == ("adam", 0.001, None, 20, 1000)
    assert (conv["weight_init_std"], conv["activation"], conv["batch_size"], conv["dtype"]) == (0.01, None, 100, "float32")


def test_hidden_sizes_alone_asks_for_the_multi_layer_net():
    s = _settings("--hidden-sizes", "30,20")
    assert s["model"] == "multi-layer" and s["hidden_sizes"] == [30, 20] and s["hidden_size"] is None


@pytest.mark.parametrize(("argv", "optimizer", "lr"), [
    (["--optimizer", "sgd"], "sgd", 0.1),  # the model's own optimizer: the model's rate
    (["--optimizer", "momentum"], "momentum", 0.01),  # another: its own default
    (["--optimizer", "adam"], "adam", 0.001),
    (["--model", "convnet", "--optimizer", "sgd"], "sgd", 0.01),
    (["--model", "convnet", "--optimizer", "rmsprop", "--lr", "0.005"], "rmsprop", 0.005),
])
def test_the_learning_rate_follows_the_optimizer_unless_given(argv, optimizer, lr):
    s = _settings(*argv)
    assert (s["optimizer"], s["lr"]) == (optimizer, lr)


# --------------------------------------------------------------------------- each model trains
MODELS = [
    ("two-layer", ["--hidden-size", "8", "--weight-init", "0.05", "--weight-decay", "0.01"],
     "TwoLayerNet(784, 8, 10, relu, weight decay 0.01)", "SGD(lr=0.1)", {"hidden_size": 8, "weight_init_std": 0.05}),
    ("multi-layer", ["--hidden-sizes", "20,10", "--batch-norm", "--dropout", "0.2", "--optimizer", "adam",
                     "--activation", "sigmoid", "--weight-init", "xavier"],
     "MultiLayerNetExtend(784, [20, 10], 10, sigmoid, batch norm, dropout 0.2)", "Adam(lr=0.001, beta1=0.9, beta2=0.999)",
     {"hidden_size_list": [20, 10], "use_batchnorm": True, "use_dropout": True, "dropout_ration": 0.2, "weight_init_std": "xavier"}),
    ("convnet", ["--model", "convnet", "--optimizer", "momentum", "--lr", "0.01"],
     "SimpleConvNet(conv 30x5x5 stride 1 pad 0, hidden 100)", "Momentum(lr=0.01, momentum=0.9)",
     {"hidden_size": 100, "input_dim": [1, 28, 28], "weight_init_std": 0.01}),
]


@pytest.mark.parametrize(("model", "argv", "network", "optimizer", "config"), MODELS, ids=[m[0] for m in MODELS])
def test_each_model_trains_from_the_command_line(data, tmp_path, capsys, model, argv, network, optimizer, config):
    save = tmp_path / "net.npz"
    assert main(["train", "--data-dir", str(data), *argv, "--iters", "12", "--batch-size", "20", "--eval-every", "6",
                 "--seed", "0", "--save", str(save)]) == 0
    out = capsys.readouterr().out
    header = out.splitlines()[0]
    assert header.startswith(f"training {network} on ") and f"batch 20, {optimizer}, 12 iterations" in header
    assert header.endswith(", seed 0")
    assert len([line for line in out.splitlines() if line.startswith("epoch")]) == 2
    ckpt = load_checkpoint(save)
    assert ckpt.history.iterations == 12 and ckpt.run["model"] == model
    assert {k: ckpt.network.config[k] for k in config} == config
    assert ckpt.history.config["optimizer"]["name"] == optimizer.split("(")[0].lower()


def test_the_default_convnet_is_the_books(data, tmp_path, capsys):
    """SimpleConvNet() with Adam at 0.001 and evaluation on the first images; the run is cut short with --iters."""
    assert main(["train", "--model", "convnet", "--data-dir", str(data), "--iters", "3", "--batch-size", "10",
                 "--eval-samples", "20", "--seed", "0", "--save", str(tmp_path / "c.npz")]) == 0
    header = capsys.readouterr().out.splitlines()[0]
    assert header.startswith("training SimpleConvNet(conv 30x5x5 stride 1 pad 0, hidden 100) on ")
    assert "Adam(lr=0.001, beta1=0.9, beta2=0.999), 3 iterations, evaluation on the first 20 images of each set" in header
    net = xpnet.load(tmp_path / "c.npz")
    expected = xpnet.nets.SimpleConvNet(output_size=10).config
    assert net.config == {**expected, "dtype": "float32"} and net.params["W1"].shape == (30, 1, 5, 5)


# --------------------------------------------------------------------------- options of another model are refused
REFUSED = [
    (["--model", "convnet", "--hidden-size", "20"], ["--hidden-size does not apply to --model convnet", "--model two-layer"]),
    (["--model", "convnet", "--hidden-sizes", "20"], ["--hidden-sizes does not apply to --model convnet"]),
    (["--model", "convnet", "--activation", "sigmoid"], ["--activation does not apply to --model convnet"]),
    (["--model", "convnet", "--batch-norm"], ["--batch-norm does not apply to --model convnet", "--model multi-layer"]),
    (["--model", "convnet", "--weight-init", "he"], ["--weight-init he does not apply to --model convnet", "--weight-init 0.01"]),
    (["--batch-norm"], ["--batch-norm does not apply to --model two-layer", "--model multi-layer"]),
    (["--dropout", "0.5"], ["--dropout does not apply to --model two-layer"]),
    (["--model", "two-layer", "--hidden-sizes", "20"], ["--hidden-sizes does not apply to --model two-layer"]),
    (["--weight-init", "relu"], ["--weight-init relu does not apply to --model two-layer"]),
    (["--model", "multi-layer", "--hidden-size", "20"], ["--hidden-size does not apply to --model multi-layer", "--hidden-sizes"]),
    (["--weight-init", "0.1", "--weight-init-std", "0.1"], ["--weight-init and --weight-init-std"]),
    (["--iters", "5", "--epochs", "1"], ["--iters 5 and --epochs 1"]),
]


@pytest.mark.parametrize(("argv", "fragments"), REFUSED, ids=[" ".join(r[0]) for r in REFUSED])
def test_an_option_of_another_model_is_refused_naming_the_flags(data, capsys, argv, fragments):
    assert main(["train", "--data-dir", str(data), "--iters", "2", "--quiet", *argv]) == 2
    err = one_line_error(capsys.readouterr().err)
    for fragment in fragments:
        assert fragment in err, err


@pytest.mark.parametrize(("argv", "flag"), [
    (["--hidden-sizes", "10,0"], "--hidden-sizes"), (["--hidden-sizes", "10,,5"], "--hidden-sizes"),
    (["--dropout", "1"], "--dropout"), (["--dropout", "0"], "--dropout"), (["--weight-decay", "-1"], "--weight-decay"),
    (["--weight-init", "big"], "--weight-init"), (["--weight-init", "-0.1"], "--weight-init"),
    (["--optimizer", "lbfgs"], "--optimizer"), (["--model", "resnet"], "--model"), (["--epochs", "0"], "--epochs"),
    (["--eval-samples", "0"], "--eval-samples"),
])
def test_bad_values_are_one_line_naming_the_flag(capsys, argv, flag):
    with pytest.raises(SystemExit) as exc:
        main(["train", *argv])
    assert exc.value.code == 2
    assert f"argument {flag}: " in one_line_error(capsys.readouterr().err)


def test_a_convnet_on_images_too_small_for_its_filters_is_refused(tmp_path, capsys):
    rng = np.random.default_rng(0)
    for prefix, n in (("train", 40), ("t10k", 10)):
        (tmp_path / f"{prefix}-images-idx3-ubyte").write_bytes(idx_bytes(rng.integers(0, 255, size=(n, 4, 4))))
        (tmp_path / f"{prefix}-labels-idx1-ubyte").write_bytes(idx_bytes(np.arange(n) % 10))
    assert main(["train", "--model", "convnet", "--data-dir", str(tmp_path), "--iters", "2"]) == 2
    assert "a 5x5 filter (stride 1, pad 0) on 4x4 images" in one_line_error(capsys.readouterr().err)


def test_a_run_diverging_from_its_weight_decay_says_why_in_one_line(data, capsys):
    """A first loss far above chance from the weight decay's term is blamed on the weight decay, not the initial weights."""
    assert main(["train", "--data-dir", str(data), "--hidden-sizes", "10", "--weight-decay", "1e30", "--iters", "5",
                 "--quiet"]) == 1
    err = one_line_error(capsys.readouterr().err)
    assert "training diverged" in err and "likely cause: the weight decay (lambda 1e+30, " in err and "--weight-decay 0.1" in err


@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="jax: not installed")
def test_dropout_trains_on_jax_without_its_64_bit_mode(data, tmp_path):
    """A float32 run leaves JAX in 32-bit mode (this process has it on): Dropout's stream is then uint32."""
    save = tmp_path / "j.npz"
    proc = subprocess.run(xpnet_command("train", "--backend", "jax", "--data-dir", str(data), "--hidden-sizes", "8",
                                        "--dropout", "0.2", "--iters", "4", "--seed", "0", "--quiet", "--save", str(save)),
                          capture_output=True, text=True, env=env(), timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert load_checkpoint(save, backend="numpy").history.iterations == 4


# --------------------------------------------------------------------------- --epochs and --eval-samples
@pytest.mark.parametrize(("argv", "iters"), [
    (["--epochs", "2", "--batch-size", "50"], 12),  # 300 images, batch 50: 6 per epoch
    (["--epochs", "2", "--batch-size", "50", "--val-split", "0.2"], 9),  # 240 images: int(2 * 4.8)
    (["--epochs", "2", "--batch-size", "400"], 2),  # a batch larger than the set: one step per epoch
])
def test_epochs_count_the_books_iterations(data, tmp_path, capsys, argv, iters):
    save = tmp_path / "e.npz"
    assert main(["train", "--data-dir", str(data), "--hidden-size", "5", "--seed", "0", "--save", str(save), *argv]) == 0
    assert f"{iters} iterations (2 epochs)" in capsys.readouterr().out.splitlines()[0]
    ckpt = load_checkpoint(save)
    assert ckpt.history.iterations == iters and (ckpt.run["iters"], ckpt.run["epochs"]) == (iters, 2)


def test_eval_samples_measure_the_first_images_and_the_whole_sets_at_the_end(data, tmp_path, capsys):
    from xpnet.datasets import load_mnist

    save, hist = tmp_path / "s.npz", tmp_path / "h.json"
    assert main(["train", "--data-dir", str(data), "--hidden-size", "20", "--iters", "30", "--eval-every", "15",
                 "--eval-samples", "40", "--seed", "1", "--save", str(save), "--history", str(hist)]) == 0
    summary = capsys.readouterr().out.splitlines()[-2]
    h = json.loads(hist.read_text())
    assert h["config"]["eval_samples"] == 40 and h["eval_iters"] == [15, 30]
    (x, t), (xt, tt) = load_mnist(data_dir=data)
    net = xpnet.load(save)
    assert h["test_acc"][-1] == net.accuracy(xt[:40], tt[:40]) and h["train_acc"][-1] == net.accuracy(x[:40], t[:40])
    assert h["full_test_acc"] == net.accuracy(xt, tt) and h["full_train_acc"] == net.accuracy(x, t)
    assert f"test acc {h['full_test_acc']:.4f}, train acc {h['full_train_acc']:.4f} (whole sets)" in summary


# --------------------------------------------------------------------------- gradcheck --model
@pytest.mark.parametrize(("argv", "keys", "what"), [
    (["--hidden-sizes", "10", "--batch-norm", "--dropout", "0.3", "--weight-decay", "0.1"],
     ["W1", "b1", "W2", "b2", "gamma1", "beta1"], "MultiLayerNetExtend on 3 images of 784 pixels"),
    (["--model", "convnet"], ["W1", "b1", "W2", "b2", "W3", "b3"], "SimpleConvNet on 3 random 10x10 inputs (seed 0)"),
])
def test_gradcheck_checks_each_model(capsys, argv, keys, what):
    assert main(["gradcheck", *argv]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("computing numerical gradients of ") and lines[1].startswith(f"gradient check of {what}")
    assert [line.split(":")[0].strip() for line in lines[2:-1]] == keys
    assert "book:" not in "".join(lines) and lines[-1].startswith("OK")


@pytest.mark.parametrize(("argv", "fragment"), [
    (["--model", "convnet", "--batch-norm"], "--batch-norm does not apply to --model convnet"),
    (["--model", "convnet", "--activation", "sigmoid"], "--activation does not apply to --model convnet"),
    (["--dropout", "0.5"], "--dropout does not apply to --model two-layer"),
])
def test_gradcheck_refuses_options_of_another_model(capsys, argv, fragment):
    assert main(["gradcheck", *argv]) == 2
    assert fragment in one_line_error(capsys.readouterr().err)
