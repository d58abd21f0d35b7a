"""Any array-API namespace is a backend: dask.array, ndonnx and marray's masked NumPy give NumPy's numbers.

Each library is used by its module and by every name that imports it (``"dask.array"``,
``"dask"``, ``"ndonnx"``, ``"marray.numpy"``); each test is skipped with the reason where the
library is not installed. float64 results must equal NumPy's within 1e-12. Namespaces xpnet
cannot use are refused up front in one line naming the library and what it lacks.
"""

from __future__ import annotations

import functools
import types
import warnings
from typing import Any, NamedTuple

import numpy as np
import pytest
from _files import one_line_error, write_mnist_dir
from conftest import to_np

import xpnet
from xpnet._array import compat
from xpnet._array.registry import REQUIRED
from xpnet.backends import backend_of
from xpnet.cli import main
from xpnet.errors import BackendError
from xpnet.testing import assert_backends_agree, backend_cases

TOL = {"rtol": 1e-12, "atol": 1e-12}
_rng = np.random.default_rng(7)
#: 200 samples of 6 uint8 "pixels" in 3 classes: with batch 10, an epoch is 20 steps (evaluations at 20, 40, 50).
X_TRAIN = _rng.integers(0, 256, size=(200, 6), dtype=np.uint8)
T_TRAIN = _rng.integers(0, 3, size=200)
X_BATCH, T_BATCH = X_TRAIN[:10] / 255.0, T_TRAIN[:10]


class Library(NamedTuple):
    xp: Any  # the namespace module
    names: tuple[str, ...]  # names get_backend imports it by


def _import(module: str) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # ndonnx: "onnxruntime is not installed" (its reference implementation runs)
        return pytest.importorskip(module, reason=f"{module} is not installed")


@functools.cache
def _library(key: str) -> Library:
    if key == "marray":
        return Library(_import("marray").masked_namespace(np), ("marray.numpy",))
    if key == "dask":
        return Library(_import("dask.array"), ("dask.array", "dask"))
    return Library(_import("ndonnx"), ("ndonnx",))


LIBRARIES = ["dask", "ndonnx", "marray"]


@pytest.fixture(params=LIBRARIES)
def library(request: pytest.FixtureRequest) -> Library:
    return _library(request.param)


def _net(backend: Any) -> xpnet.TwoLayerNet:
    return xpnet.TwoLayerNet(6, 5, 3, seed=0, backend=backend, dtype="float64")


def _first_results(backend: Any) -> dict[str, Any]:
    net = _net(backend)
    be = net.backend
    x, t = be.asarray(X_BATCH, dtype="float64"), be.asarray(T_BATCH)
    return {"loss": to_np(net.loss(x, t)), "grads": {k: to_np(v) for k, v in net.gradient(x, t).items()},
            "numerical": {k: to_np(v) for k, v in net.numerical_gradient(x, t).items()}}


@functools.cache
def _numpy_first() -> dict[str, Any]:
    return _first_results("numpy")


@functools.cache
def _numpy_trained(iters: int) -> tuple[dict[str, np.ndarray], list[float]]:
    net = _net("numpy")
    history = xpnet.train(net, (X_TRAIN, T_TRAIN), iters=iters, batch_size=10, seed=0, lr=0.1)
    return {k: to_np(v) for k, v in net.params.items()}, history.train_loss


def _assert_tree_close(got: Any, ref: Any) -> None:
    if isinstance(ref, dict):
        assert set(got) == set(ref)
        for key in ref:
            _assert_tree_close(got[key], ref[key])
    else:
        np.testing.assert_allclose(got, ref, **TOL)


# --- parity with NumPy -------------------------------------------------------------------------
def test_loss_and_both_gradients_equal_numpys_by_module_and_by_name(library):
    for backend in (library.xp, *library.names):
        got = _first_results(backend)
        _assert_tree_close(got, _numpy_first())
        assert _net(backend).backend.name == compat.library_name(library.xp)


@pytest.mark.parametrize(("key", "iters"), [
    ("dask", 50), ("marray", 50),
    ("ndonnx", 5),  # ndonnx without onnxruntime spends ~0.5 s a step building ONNX graphs for matmul
    pytest.param("ndonnx", 50, marks=pytest.mark.slow),
])
def test_training_steps_equal_numpys(key, iters):
    lib = _library(key)
    net = _net(lib.xp)
    history = xpnet.train(net, (X_TRAIN, T_TRAIN), iters=iters, batch_size=10, seed=0, lr=0.1)
    ref_params, ref_losses = _numpy_trained(iters)
    np.testing.assert_allclose(history.train_loss, ref_losses, **TOL)
    _assert_tree_close({k: to_np(v) for k, v in net.params.items()}, ref_params)
    assert backend_of(net.params["W1"]).name == net.backend.name == compat.library_name(lib.xp)


def test_save_and_load_round_trip_by_the_recorded_name_and_onto_numpy(library, tmp_path):
    net = _net(library.xp)
    path = tmp_path / "net.npz"
    xpnet.save(net, path)
    again, on_numpy = xpnet.load(path), xpnet.load(path, backend="numpy")
    assert again.backend.name == net.backend.name and on_numpy.backend.name == "numpy"
    assert type(again.params["W1"]) is type(net.params["W1"])
    for key, value in net.params.items():
        np.testing.assert_array_equal(to_np(again.params[key]), to_np(value))
        np.testing.assert_array_equal(to_np(on_numpy.params[key]), to_np(value))


def test_repr_move_to_numpy_and_the_librarys_device(library):
    net = _net(library.xp)
    label = compat.library_name(library.xp)
    assert f"backend={label!r}" in repr(net)
    moved = net.to("numpy")
    assert moved.backend.name == "numpy"
    for key, value in net.params.items():
        np.testing.assert_array_equal(to_np(moved.params[key]), to_np(value))
    be = xpnet.get_backend(library.xp)
    assert be.device == compat.device(library.xp.asarray(0.0)) and str(be).startswith(label)
    assert xpnet.get_backend(library.xp, be.device_name).device == be.device  # its name is accepted back


def test_the_books_in_place_numerical_gradient_idiom(library):
    """``numerical_gradient(lambda W: net.loss(x, t), net.W)``: f ignores its argument; the array is written in place."""
    results = []
    for backend in ("numpy", library.xp):
        net = _net(backend)
        be = net.backend
        x, t = be.asarray(X_BATCH, dtype="float64"), be.asarray(T_BATCH)
        before = to_np(net.params["b2"]).copy()
        grad = xpnet.numerical_gradient(lambda b: net.loss(x, t, validate=False), net.params["b2"])
        np.testing.assert_array_equal(to_np(net.params["b2"]), before)  # restored bit for bit
        results.append(to_np(grad))
    assert np.any(results[0] != 0)
    np.testing.assert_allclose(results[1], results[0], **TOL)


def _layer(cls: Any, *args: Any, **kwargs: Any) -> Any:
    def run(x: Any, dout: Any, *params: Any) -> tuple[Any, Any]:
        layer = cls(*params, *args, **kwargs)
        return layer.forward(x), layer.backward(dout)

    return run


def test_functions_and_layers_agree_with_numpy(library):
    cases = [c for c in backend_cases(extra=[library.xp]) if c.id == "numpy" or c.backend is library.xp]
    assert [c.usable for c in cases] == [True, True]
    rng = np.random.default_rng(1)
    x, img = rng.normal(size=(4, 5)), rng.normal(size=(2, 3, 5, 5))
    onehot = np.eye(5)[[0, 2, 1, 4]]
    assert_backends_agree(xpnet.softmax_cross_entropy, x, onehot, cases=cases, **TOL)
    assert_backends_agree(xpnet.sigmoid, x, cases=cases, **TOL)
    assert_backends_agree(_layer(xpnet.Affine), x, rng.normal(size=(4, 3)), rng.normal(size=(5, 3)), rng.normal(size=3),
                          cases=cases, **TOL)
    assert_backends_agree(_layer(xpnet.layers.Convolution, stride=1, pad=1), img, rng.normal(size=(2, 4, 5, 5)),
                          rng.normal(size=(4, 3, 3, 3)), rng.normal(size=4), cases=cases, **TOL)
    assert_backends_agree(_layer(xpnet.layers.Pooling, 2, 2, 1), img, rng.normal(size=(2, 3, 4, 4)), cases=cases, **TOL)


# --- dask stays lazy and its graphs small ------------------------------------------------------
def _counting_computes() -> Any:
    callbacks = pytest.importorskip("dask.callbacks", reason="dask is not installed")

    class Count(callbacks.Callback):  # type: ignore[misc,name-defined]
        def __init__(self) -> None:
            super().__init__()
            self.n = 0

        def _start(self, dsk: Any) -> None:
            self.n += 1

    return Count()


def test_dask_training_computes_per_chunk_not_per_step_and_keeps_graphs_small():
    lib = _library("dask")
    net = _net(lib.xp)
    with _counting_computes() as count:
        xpnet.train(net, (X_TRAIN, T_TRAIN), iters=50, batch_size=10, seed=0, lr=0.1)
    assert count.n <= 12  # 3 chunks of steps (20, 20, 10): settle, losses and 2 reads per evaluation each
    assert all(len(v.__dask_graph__()) == 1 for v in net.params.values())  # persisted, not a graph of 50 steps
    be = net.backend
    x, t = be.asarray(X_BATCH, dtype="float64"), be.asarray(T_BATCH)
    with _counting_computes() as count:
        grads = net.numerical_gradient(x, t)
    assert count.n <= 1 and all(len(g.__dask_graph__()) < 200 for g in grads.values())


def test_dask_optimizer_state_is_persisted_with_the_parameters():
    lib = _library("dask")
    results = []
    for backend in ("numpy", lib.xp):
        net, adam = _net(backend), xpnet.get_optimizer("adam")
        xpnet.train(net, (X_TRAIN, T_TRAIN), iters=25, batch_size=10, seed=0, optimizer=adam)
        results.append({k: to_np(v) for k, v in net.params.items()})
    _assert_tree_close(results[1], results[0])
    state = adam.state()
    assert state["iter"] == 25 and all(len(v.__dask_graph__()) == 1 for slot in ("m", "v") for v in state[slot].values())


def test_the_in_place_idiom_on_dask_computes_nothing_inside_its_loop():
    lib = _library("dask")
    net = _net(lib.xp)
    x, t = net.backend.asarray(X_BATCH, dtype="float64"), net.backend.asarray(T_BATCH)
    with _counting_computes() as count:
        grad = xpnet.numerical_gradient(lambda w: net.loss(x, t, validate=False), net.params["W1"])
    assert count.n == 0 and tuple(grad.shape) == (6, 5)


# --- the command line ----------------------------------------------------------------------------
def test_the_command_line_trains_on_an_importable_module_by_name(tmp_path, capsys):
    lib = _library("dask")
    data, ckpt = write_mnist_dir(tmp_path / "data", 60, 20), tmp_path / "net.npz"
    code = main(["train", "--backend", "dask.array", "--data-dir", str(data), "--iters", "6", "--batch-size", "10",
                 "--hidden-size", "8", "--seed", "0", "--save", str(ckpt)])
    out = capsys.readouterr().out
    assert code == 0 and "dask.array on cpu" in out
    net = xpnet.load(ckpt)
    assert net.backend.name == "dask.array" and backend_of(net.params["W1"]).xp is net.backend.xp
    assert net.backend.xp is xpnet.get_backend(lib.xp).xp
    assert len(net.history.train_loss) == 6


def test_the_command_line_refuses_a_module_that_is_not_a_namespace_in_one_line(capsys):
    assert main(["train", "--backend", "json", "--iters", "1"]) == 2
    line = one_line_error(capsys.readouterr().err)
    assert "'json' is not an array namespace" in line


# --- refusals ------------------------------------------------------------------------------------
def _assert_refused(backend: Any, *needles: str) -> None:
    """get_backend and TwoLayerNet refuse ``backend`` with one line holding every needle (no bare AttributeError)."""
    for make in (xpnet.get_backend, lambda b: xpnet.TwoLayerNet(6, 5, 3, backend=b)):
        with pytest.raises(BackendError) as info:
            make(backend)
        message = str(info.value)
        assert "\n" not in message and all(n in message for n in needles), message


def test_a_namespace_of_an_older_standard_is_refused_up_front():
    strict = pytest.importorskip("array_api_strict", reason="array_api_strict is not installed")
    flags = strict.get_array_api_strict_flags()
    strict.set_array_api_strict_flags(api_version="2023.12")
    try:
        sentence = "array_api_strict implements version 2023.12 of the array API standard; xpnet needs 2024.12 or newer"
        _assert_refused(strict, sentence)
        _assert_refused("array_api_strict", sentence)
    finally:
        strict.set_array_api_strict_flags(**flags)
    assert xpnet.get_backend(strict).name == "array_api_strict"


def _fake_namespace(name: str, drop: tuple[str, ...] = (), **replace: Any) -> types.ModuleType:
    """A module holding NumPy's functions of the standard under ``name``, without ``drop``, with ``replace``."""
    fake = types.ModuleType(name)
    vars(fake).update({k: getattr(np, k) for k in REQUIRED if k not in drop})
    vars(fake).update(__array_api_version__="2024.12", __array_namespace_info__=np.__array_namespace_info__, **replace)
    return fake


def test_a_namespace_lacking_a_function_is_refused_naming_it():
    _assert_refused(_fake_namespace("noarange", drop=("arange",)), "noarange lacks arange, which xpnet's math calls")
    _assert_refused(_fake_namespace("fewer", drop=("take", "float64")), "fewer lacks take, float64")


def test_a_namespace_whose_arrays_have_no_device_is_refused_naming_it():
    class Bare:  # an array of the standard's protocol, but with no .device
        def __init__(self, value: Any) -> None:
            self.value = np.asarray(value)
            self.shape, self.dtype, self.ndim = self.value.shape, self.value.dtype, self.value.ndim

        def __array_namespace__(self, api_version: Any = None) -> Any:
            return fake

    fake = _fake_namespace("nodevice", asarray=lambda value, **kw: Bare(value))
    _assert_refused(fake, "nodevice's arrays (Bare) have no device attribute")
    broken = _fake_namespace("broken", asarray=lambda value, **kw: 1 / 0)
    _assert_refused(broken, "broken.asarray(0.0) fails (ZeroDivisionError")
