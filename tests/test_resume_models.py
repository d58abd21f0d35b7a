"""Resume is the same run for every model and optimizer, and checkpoints written before ``--model`` still resume.

A run cut in two and resumed ends with the parameters, buffers (Batch Normalization's running
statistics, Dropout's random stream) and losses of the uninterrupted run, bit for bit: the
checkpoint brings back the optimizer's state (Adam's moments and step count) and the network's
buffers. ``tests/checkpoints`` holds TwoLayerNet runs written by earlier versions of
``xpnet train`` (``--data-dir`` of ``write_mnist_dir(dir)``, ``--iters 40 --eval-every 10 --seed 7
--hidden-size 2 --lr 0.3``): checkpoint version 1 (commit fc9ae6e), 2 (ac0bbba) and 3 before
``--model`` (7477c5f).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from _files import one_line_error, rewrite_meta, write_mnist_dir
from conftest import to_np

import xpnet
from xpnet.cli import main
from xpnet.errors import CheckpointError
from xpnet.io.checkpoint import load_checkpoint

OLD = Path(__file__).parent / "checkpoints"
MULTI = ["--hidden-sizes", "16,12", "--batch-norm", "--dropout", "0.25", "--weight-decay", "0.001", "--optimizer", "adam"]
CONV = ["--model", "convnet", "--batch-size", "20", "--eval-samples", "30"]


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    return write_mnist_dir(tmp_path_factory.mktemp("data"), 200, 60)


def _train(*argv: str) -> int:
    return main(["train", "--quiet", *argv])


def _same_run(a: Path, b: Path) -> None:
    """The checkpoints at ``a`` and ``b`` hold the same losses, parameters and buffers, bit for bit."""
    ca, cb = load_checkpoint(a, backend="numpy"), load_checkpoint(b, backend="numpy")
    assert ca.history.train_loss == cb.history.train_loss
    for kind in ("params", "buffers"):
        mine, theirs = getattr(ca.network, kind), getattr(cb.network, kind)
        assert list(mine) == list(theirs)
        for key in mine:
            np.testing.assert_array_equal(to_np(mine[key]), to_np(theirs[key]), err_msg=f"{kind}[{key!r}]")


def _cut_in_two(data: Path, tmp: Path, argv: list[str], backend: str, at: int, total: int) -> tuple[Path, Path]:
    """An uninterrupted run of ``total`` iterations, and one of ``at`` iterations resumed to ``total``."""
    common = ["--data-dir", str(data), "--backend", backend, "--seed", "3", "--eval-every", "7", *argv]
    whole, part = tmp / "whole.npz", tmp / "part.npz"
    assert _train(*common, "--iters", str(total), "--save", str(whole)) == 0
    assert _train(*common, "--iters", str(at), "--save", str(part)) == 0
    shutil.copy(part, tmp / "first-part.npz")
    assert _train("--resume", str(part), "--iters", str(total)) == 0
    return whole, part


@pytest.mark.parametrize("backend", ["numpy", "array_api_strict"])
def test_a_multi_layer_adam_batch_norm_dropout_run_resumes_bit_identically(data, tmp_path, backend):
    whole, part = _cut_in_two(data, tmp_path, MULTI, backend, 17, 40)
    _same_run(whole, part)
    first = load_checkpoint(tmp_path / "first-part.npz")
    assert first.trainer_state["optimizer"]["iter"] == 17 and set(first.trainer_state["optimizer"]) == {"iter", "m", "v"}
    assert {"running_mean1", "running_var2", "rng"} <= set(first.network.buffers)


def test_a_convnet_run_resumes_bit_identically(data, tmp_path):
    whole, part = _cut_in_two(data, tmp_path, CONV, "numpy", 9, 20)
    _same_run(whole, part)
    assert load_checkpoint(part).run["model"] == "convnet"


def _edited(path: Path, out: Path, edit) -> Path:
    """The checkpoint at ``path`` with its trainer state and network buffers changed by ``edit(state, buffers)``."""
    ckpt = load_checkpoint(path)
    state, buffers = dict(ckpt.trainer_state), {k: to_np(v) for k, v in ckpt.network.buffers.items()}
    edit(state, buffers)
    net = type(ckpt.network)(**ckpt.network.config, params=ckpt.network.params, buffers=buffers)
    xpnet.io.checkpoint.save(net, out, trainer_state=state, run=ckpt.run)
    return out


@pytest.mark.parametrize("lost", ["Adam's state", "Dropout's stream", "running statistics"])
def test_what_the_checkpoint_brings_back_matters(data, tmp_path, lost):
    """The comparison above sees the loss of any one piece of state: without it the resumed run differs."""
    whole, part = _cut_in_two(data, tmp_path, MULTI, "numpy", 17, 30)

    def forget(state: dict, buffers: dict) -> None:
        if lost == "Adam's state":
            state["optimizer"] = {}
        elif lost == "Dropout's stream":
            buffers["rng"] = buffers["rng"] + 1
        else:
            buffers["running_mean1"] = np.zeros_like(buffers["running_mean1"])

    broken = _edited(tmp_path / "first-part.npz", tmp_path / "broken.npz", forget)
    assert _train("--resume", str(broken), "--iters", "30") == 0
    with pytest.raises(AssertionError):
        _same_run(whole, broken)


# --------------------------------------------------------------------------- checkpoints of earlier versions
@pytest.mark.parametrize("name", ["two_layer_v1.npz", "two_layer_v2.npz", "two_layer_v3_before_model.npz"])
def test_an_old_two_layer_record_resumes_as_the_same_run(name, tmp_path, capsys):
    data = write_mnist_dir(tmp_path / "data")
    old = shutil.copy(OLD / name, tmp_path / name)
    assert "model" not in load_checkpoint(old).run
    assert _train("--resume", str(old), "--data-dir", str(data), "--iters", "80") == 0
    argv = ["--data-dir", str(data), "--iters", "80", "--eval-every", "10", "--seed", "7", "--hidden-size", "2", "--lr", "0.3"]
    assert _train(*argv, "--save", str(tmp_path / "new.npz")) == 0
    _same_run(old, tmp_path / "new.npz")
    record = load_checkpoint(old).run
    assert (record["model"], record["optimizer"], record["lr"], record["hidden_size"], record["eval_samples"]) == (
        "two-layer", "sgd", 0.3, 2, None)
    capsys.readouterr()
    assert _train("--resume", str(old), "--data-dir", str(data), "--optimizer", "adam") == 2
    assert "--optimizer adam differs from the run's optimizer sgd" in one_line_error(capsys.readouterr().err)


# --------------------------------------------------------------------------- what a resumed run keeps
@pytest.fixture(scope="module")
def multi(tmp_path_factory, data) -> Path:
    path = tmp_path_factory.mktemp("multi") / "m.npz"
    assert _train("--data-dir", str(data), *MULTI, "--iters", "10", "--seed", "2", "--eval-samples", "50",
                  "--save", str(path)) == 0
    return path


REFUSED = [
    (["--model", "convnet"], "--model convnet differs from the run's model multi-layer"),
    (["--hidden-sizes", "16,16"], "--hidden-sizes 16,16 differs from the run's hidden_sizes 16,12"),
    (["--dropout", "0.5"], "--dropout 0.5 differs from the run's dropout 0.25"),
    (["--weight-decay", "0"], "--weight-decay 0.0 differs from the run's weight_decay 0.001"),
    (["--weight-init", "xavier"], "--weight-init xavier differs from the run's weight_init_std relu"),
    (["--activation", "sigmoid"], "--activation sigmoid differs from the run's activation relu"),
    (["--optimizer", "sgd"], "--optimizer sgd differs from the run's optimizer adam"),
    (["--lr", "0.01"], "--lr 0.01 differs from the run's lr 0.001"),
    (["--eval-samples", "60"], "--eval-samples 60 differs from the run's eval_samples 50"),
    (["--hidden-size", "5"], "--hidden-size does not apply to the run's model multi-layer"),
    (["--iters", "20", "--epochs", "3"], "--iters 20 and --epochs 3"),
    (["--epochs", "1"], "--epochs 1 (2 iterations of batch 100 on 200 images) is below the 10 iterations"),
]


@pytest.mark.parametrize(("argv", "message"), REFUSED, ids=[" ".join(r[0]) for r in REFUSED])
def test_a_new_setting_that_would_change_the_run_is_refused(multi, capsys, argv, message):
    assert _train("--resume", str(multi), *argv) == 2
    assert message in one_line_error(capsys.readouterr().err)


def test_a_batch_norm_run_keeps_it(tmp_path, data, capsys):
    plain = tmp_path / "p.npz"
    assert _train("--data-dir", str(data), "--hidden-sizes", "8", "--iters", "4", "--save", str(plain)) == 0
    capsys.readouterr()
    assert _train("--resume", str(plain), "--batch-norm") == 2
    assert "--batch-norm differs from the run's batch_norm False" in one_line_error(capsys.readouterr().err)


def test_epochs_extend_a_resumed_run(multi, tmp_path):
    out = tmp_path / "longer.npz"
    assert _train("--resume", str(multi), "--epochs", "8", "--save", str(out)) == 0  # 200 images, batch 100: 16 iterations
    ckpt = load_checkpoint(out)
    assert ckpt.history.iterations == 16 and (ckpt.run["iters"], ckpt.run["epochs"]) == (16, 8)


# --------------------------------------------------------------------------- the record's schema
@pytest.mark.parametrize(("edit", "message"), [
    (lambda m: m["run"].pop("optimizer"), "metadata.run has field 'model' but no field 'optimizer'"),
    (lambda m: m["run"].update(dropout=1.5), "metadata.run.dropout must be a number in (0, 1), got 1.5"),
    (lambda m: m["run"].update(hidden_sizes=[16, 0]), "metadata.run.hidden_sizes[1] must be a positive integer"),
    (lambda m: m["run"].update(optimizer="lbfgs"), "metadata.run.optimizer must be 'sgd' or"),
    (lambda m: m["run"].update(weight_init_std="glorot"), "metadata.run.weight_init_std must be a positive finite number or"),
    (lambda m: m["run"].update(epochs=0), "metadata.run.epochs must be a positive integer"),
    (lambda m: m["run"].update(batch_norm="yes"), "metadata.run.batch_norm must be true or false"),
])
def test_every_field_of_the_record_is_checked(multi, tmp_path, edit, message):
    with pytest.raises(CheckpointError, match="corrupt checkpoint metadata") as info:
        load_checkpoint(rewrite_meta(multi, tmp_path / "bad.npz", edit))
    assert message in str(info.value)


def test_a_record_of_another_model_than_the_network_is_refused(multi, tmp_path, capsys):
    bad = rewrite_meta(multi, tmp_path / "bad.npz", lambda m: m["run"].update(model="convnet", hidden_sizes=None))
    assert _train("--resume", str(bad)) == 2
    err = one_line_error(capsys.readouterr().err)
    assert err == (f"xpnet train: error: {bad}: corrupt run record: the run's model is convnet (SimpleConvNet), the checkpoint "
                   "holds a MultiLayerNetExtend")
