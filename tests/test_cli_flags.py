"""The command's messages name its flags (``--val-split``); the Python API's name its parameters (``val_split``).

One rule serves both: the trainer's settings checks build their messages with
:func:`xpnet._array.numbers.setting`, and the command runs inside :func:`flag_names`.
"""

from __future__ import annotations

import importlib.util
import re
import threading
from pathlib import Path

import pytest
from _files import one_line_error, write_mnist_dir
from conftest import blobs

from xpnet import TwoLayerNet
from xpnet._array.numbers import flag_names, setting
from xpnet.cli import main
from xpnet.training import Trainer

HAS_JAX = importlib.util.find_spec("jax") is not None
needs_jax = pytest.mark.skipif(not HAS_JAX, reason="jax: not installed")

#: Parameter names a command-line message must not use: underscores never appear in a flag, the others as bare words.
PARAMETERS = re.compile(r"\w+_\w+|(?<![-\w])(?:patience|lr|iters|compiled=\w+)(?![-\w])")


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    return write_mnist_dir(tmp_path_factory.mktemp("data"), 100, 50)


def _one_device_each(monkeypatch):
    """As many JAX devices as asked for (the same one repeated): the batch check comes next."""
    from xpnet.training import xla as compiled_jax

    monkeypatch.setattr(compiled_jax, "mesh_devices", lambda device, wanted: [device] * wanted)


def _beyond_the_devices() -> list[str]:
    import jax

    return ["--data-parallel", str(len(jax.devices("cpu")) + 1)]


# id, extra argv (or a function giving it), setup, fragments the message must hold
CASES = [
    ("patience-without-validation", ["--patience", "3"], None,
     ["--patience needs a validation split (--val-split > 0)"]),
    ("validation-takes-everything", ["--val-split", "0.999"], None, ["--val-split 0.999 leaves no training data"]),
    ("data-parallel-off-jax", ["--data-parallel", "2"], None, ["--data-parallel needs a backend whose compiler splits the batch over devices"]),
    pytest.param("data-parallel-eager", ["--backend", "jax", "--data-parallel", "2", "--eager"], None,
                 ["--data-parallel runs the compiled step, but --eager was asked for"], marks=needs_jax),
    pytest.param("data-parallel-numerical", ["--backend", "jax", "--data-parallel", "2", "--gradient", "numerical"], None,
                 ["--data-parallel runs the compiled step, but numerical gradients"], marks=needs_jax),
    pytest.param("data-parallel-beyond-the-devices", lambda: ["--backend", "jax", *_beyond_the_devices()], None,
                 ["--data-parallel ", "asks for", "XLA_FLAGS"], marks=needs_jax),
    pytest.param("batch-does-not-split", ["--backend", "jax", "--data-parallel", "3"], _one_device_each,
                 ["--batch-size 100 does not split evenly over 3 devices"], marks=needs_jax),
]


def _case(case):
    return case.values if hasattr(case, "values") else case


@pytest.mark.parametrize(("name", "argv", "setup", "fragments"), CASES,
                         ids=[_case(c)[0] for c in CASES])
def test_every_refused_combination_names_flags_only(data, capsys, monkeypatch, name, argv, setup, fragments):
    if setup is not None:
        setup(monkeypatch)
    argv = argv() if callable(argv) else argv
    assert main(["train", "--data-dir", str(data), "--iters", "10", "--quiet", *argv]) == 2
    err = one_line_error(capsys.readouterr().err)
    for fragment in fragments:
        assert fragment in err, err
    assert not PARAMETERS.findall(err.split("XLA_FLAGS")[0]), err  # the XLA flag's own name has underscores


def _jax_net():
    return TwoLayerNet(12, 8, 3, backend="jax", dtype="float32", seed=0)


API_CASES = [
    ("patience", lambda: (TwoLayerNet(12, 8, 3, seed=0), {"patience": 3}),
     "patience needs a validation split (val_split > 0)"),
    ("val-split", lambda: (TwoLayerNet(12, 8, 3, seed=0), {"val_split": 0.9999}), "val_split 0.9999 leaves no training data"),
    ("data-parallel-off-jax", lambda: (TwoLayerNet(12, 8, 3, seed=0), {"data_parallel": 2}), "data_parallel needs a backend whose compiler splits the batch over devices"),
    pytest.param("data-parallel-eager", lambda: (_jax_net(), {"data_parallel": 2, "compiled": False}),
                 "data_parallel runs the compiled step, but compiled=False was asked for", marks=needs_jax),
    ("batch-size", lambda: (TwoLayerNet(12, 8, 3, seed=0), {"batch_size": 0}), "batch_size must be a positive int, got 0"),
]


@pytest.mark.parametrize(("name", "make", "message"), API_CASES, ids=[_case(c)[0] for c in API_CASES])
def test_the_python_api_names_parameters(name, make, message):
    net, settings = make()
    with pytest.raises(ValueError) as info:
        Trainer(net, *blobs(), **settings)
    assert message in str(info.value) and "--" not in str(info.value)


@needs_jax
def test_the_python_api_names_batch_size_when_the_batch_does_not_split(monkeypatch):
    _one_device_each(monkeypatch)
    with pytest.raises(ValueError, match=r"^train: batch_size 100 does not split evenly over 3 devices; use a multiple of 3"):
        Trainer(_jax_net(), *blobs(), batch_size=100, data_parallel=3)


def test_setting_names_a_flag_only_inside_flag_names_and_only_in_its_own_thread():
    assert setting("val_split") == "val_split" and setting("compiled=False", "--eager") == "compiled=False"
    seen = []
    with flag_names():
        assert setting("val_split") == "--val-split" and setting("compiled=False", "--eager") == "--eager"
        worker = threading.Thread(target=lambda: seen.append(setting("batch_size")))
        worker.start()
        worker.join()
        with flag_names():
            pass
        assert setting("eval_every") == "--eval-every"  # a nested block leaves the outer one on
    assert setting("val_split") == "val_split" and seen == ["batch_size"]
