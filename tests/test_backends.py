"""Backend selection by name, namespace and device; clear errors; host RNG reproducibility."""

import numpy as np
import pytest
from conftest import to_np

import xpnet
from xpnet import BackendError, get_backend
from xpnet.backends import backend_of, resolve_dtype, usable_backends
from xpnet._array.random import batch_indices, default_rng, normal


def test_available_lists_every_backend_with_a_reason():
    infos = xpnet.available()
    assert [i.name for i in infos] == ["numpy", "array_api_strict", "torch", "jax", "cupy"]
    for info in infos:
        assert info.reason
        assert info.usable <= info.installed
    assert "numpy" in usable_backends()


def test_unknown_backend_names_the_choices():
    with pytest.raises(ValueError, match="unknown backend 'tensorflow'.*numpy"):
        get_backend("tensorflow")


def test_missing_backend_says_what_to_install(monkeypatch):
    import dataclasses

    import xpnet._array.registry as registry

    def fail():
        raise ImportError("No module named 'torch'")

    row = dataclasses.replace(registry._BY_NAME["torch"], namespace=fail)
    monkeypatch.setitem(registry._BY_NAME, "torch", row)
    with pytest.raises(BackendError, match="not installed.*pip install"):
        get_backend("torch")


def test_cupy_without_gpu_is_a_clear_error(monkeypatch):
    import dataclasses

    import xpnet._array.registry as registry

    row = dataclasses.replace(registry._BY_NAME["cupy"], namespace=lambda: object(), problem=lambda xp: "CuPy sees no CUDA device")
    monkeypatch.setitem(registry._BY_NAME, "cupy", row)
    with pytest.raises(BackendError, match="cupy is installed but not usable here: CuPy sees no CUDA device"):
        get_backend("cupy")


def test_numpy_rejects_a_gpu_device():
    with pytest.raises(ValueError, match="CPU only"):
        get_backend("numpy", "cuda:0")


def test_backend_round_trip(backend):
    x = backend.asarray(np.arange(6.0).reshape(2, 3), dtype="float32")
    assert x.dtype == backend.xp.float32
    assert backend_of(x).name == backend.name
    assert backend_of(x).device == backend.device
    np.testing.assert_array_equal(to_np(x), np.arange(6.0, dtype=np.float32).reshape(2, 3))


def test_backend_by_namespace(backend):
    again = get_backend(backend.xp, backend.device)
    assert again.name == backend.name and again.device == backend.device


def test_asarray_never_shares_memory_with_host(backend):
    host = np.zeros(3)
    x = backend.asarray(host, dtype="float64")
    host[0] = 5.0
    assert to_np(x)[0] == 0.0


def test_strict_device_strings():
    be = get_backend("array_api_strict", "device1")
    assert "device1" in str(be.device)
    with pytest.raises(ValueError, match="no device"):
        get_backend("array_api_strict", "device9")


def test_resolve_dtype_rejects_integers(backend):
    with pytest.raises(TypeError, match="float32 or float64"):
        resolve_dtype(backend.xp, "int32")
    assert resolve_dtype(backend.xp, np.float32) == backend.xp.float32


def test_same_seed_gives_bit_identical_float64_weights(backend, numpy_backend):
    a = normal(default_rng(7), (4, 5), scale=0.01, backend=backend, dtype="float64")
    b = normal(default_rng(7), (4, 5), scale=0.01, backend=numpy_backend, dtype="float64")
    np.testing.assert_array_equal(to_np(a), to_np(b))
    c = normal(default_rng(8), (4, 5), backend=numpy_backend)
    assert not np.array_equal(to_np(b), to_np(c))


def test_batch_indices_are_reproducible_and_in_range():
    a = batch_indices(default_rng(3), 60000, 100)
    b = batch_indices(default_rng(3), 60000, 100)
    np.testing.assert_array_equal(a, b)
    assert a.dtype == np.int64 and a.min() >= 0 and a.max() < 60000


def test_bad_seed_is_rejected():
    with pytest.raises(ValueError, match="seed"):
        default_rng(-1)
