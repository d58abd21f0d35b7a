"""Devices as PyTorch users expect them: device strings, net.to(device), checkpoints that come back where they
were saved, and GPU problems reported in the backend's own words with the fix."""

import dataclasses
import json
import types

import numpy as np
import pytest
from conftest import to_np

import xpnet
import xpnet._array.registry as registry
from xpnet import BackendError, TwoLayerNet, get_backend
from xpnet._array.devices import cupy_problem
from xpnet.cli import main


def test_device_names_round_trip(backend):
    again = get_backend(backend.name, backend.device_name)
    assert again.device == backend.device
    assert backend.device_name in str(backend)


def test_available_lists_every_device_each_backend_sees():
    infos = {i.name: i for i in xpnet.available()}
    assert infos["numpy"].devices == ("cpu",)
    assert {"CPU_DEVICE", "device1"} <= set(infos["array_api_strict"].devices)
    if infos["torch"].usable:
        assert infos["torch"].devices[0] == "cpu"
    if infos["jax"].usable:
        assert "cpu:0" in infos["jax"].devices
    for info in infos.values():
        for device in info.devices:  # every listed device is accepted back
            assert get_backend(info.name, device).device_name == device


def test_net_to_accepts_a_device_of_its_own_backend():
    net = TwoLayerNet(4, 3, 2, backend="array_api_strict", seed=0)
    moved = net.to("device1")
    assert moved.backend.name == "array_api_strict" and moved.backend.device_name == "device1"
    np.testing.assert_array_equal(to_np(moved.params["W1"]), to_np(net.params["W1"]))
    assert net.to("numpy").backend.name == "numpy"  # a backend name is still a backend
    with pytest.raises(ValueError, match="no device 'device9'"):
        net.to("device9")


def test_seed_drawn_at_random_is_recorded_and_reproduces_the_weights():
    net = TwoLayerNet(5, 4, 3)
    assert isinstance(net.seed, int)
    again = TwoLayerNet(5, 4, 3, seed=net.seed)
    np.testing.assert_array_equal(to_np(again.params["W1"]), to_np(net.params["W1"]))
    assert net.to("array_api_strict").seed == net.seed
    assert TwoLayerNet(5, 4, 3, params={k: to_np(v) for k, v in net.params.items()}).seed is None


def test_load_returns_the_network_on_the_device_it_was_saved_from(tmp_path):
    net = TwoLayerNet(4, 3, 2, backend="array_api_strict", device="device1", seed=0)
    xpnet.save(net, tmp_path / "n.npz")
    loaded = xpnet.load(tmp_path / "n.npz")
    assert loaded.backend.name == "array_api_strict" and loaded.backend.device_name == "device1"
    assert xpnet.load(tmp_path / "n.npz", device="CPU_DEVICE").backend.device_name == "CPU_DEVICE"
    assert xpnet.load(tmp_path / "n.npz", backend="numpy").backend.name == "numpy"


def _with_saved_device(path, device):
    with np.load(path) as z:
        contents = {k: z[k] for k in z.files}
    meta = json.loads(str(contents["meta"]))
    meta["device"] = device
    contents["meta"] = np.asarray(json.dumps(meta))
    with open(path, "wb") as fh:
        np.savez(fh, **contents)


def test_load_names_a_saved_device_that_is_absent(tmp_path):
    path = tmp_path / "gpu.npz"
    xpnet.save(TwoLayerNet(4, 3, 2, backend="array_api_strict", seed=0), path)
    _with_saved_device(path, "device9")  # as a checkpoint from a machine with another device
    with pytest.raises(BackendError, match=r"saved from array_api_strict on device9, which is not usable here.*backend='numpy'"):
        xpnet.load(path)
    assert xpnet.load(path, device="cpu").backend.name == "array_api_strict"


def _torch_without(kind):
    torch = pytest.importorskip("torch")
    if kind == "cuda" and torch.cuda.is_available():
        pytest.skip("this PyTorch sees a CUDA GPU")
    if kind == "mps" and torch.backends.mps.is_available():
        pytest.skip("this PyTorch has MPS")
    return torch


def test_torch_cuda_error_says_how_to_get_a_cuda_build():
    torch = _torch_without("cuda")
    with pytest.raises(BackendError) as info:
        get_backend("torch", "cuda:0")
    message = str(info.value)
    if torch.version.cuda is None:
        assert "CPU-only build" in message and "download.pytorch.org/whl/cu" in message
    else:
        assert "cannot use a GPU" in message and "nvidia-smi" in message


def test_torch_mps_is_a_device_with_a_clear_error_where_absent(capsys):
    _torch_without("mps")
    with pytest.raises(BackendError, match="MPS"):
        get_backend("torch", "mps")
    assert main(["train", "--backend", "torch", "--device", "mps", "--iters", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert "MPS" in err and len(err.splitlines()) == 1 and "Traceback" not in err


class _CudaError(RuntimeError):
    pass


def _fake_cupy(count=None, kernel=None):
    """A stand-in for the cupy module: ``count`` devices (or an exception), a kernel that works or raises."""

    def get_count():
        if isinstance(count, Exception):
            raise count
        return count

    def arange(n, dtype=None):
        if kernel is not None:
            raise kernel
        return np.arange(n, dtype=np.float32)

    runtime = types.SimpleNamespace(getDeviceCount=get_count)
    return types.SimpleNamespace(cuda=types.SimpleNamespace(runtime=runtime), arange=arange, float32=np.float32)


@pytest.mark.parametrize(
    ("cupy", "expected"),
    [
        (_fake_cupy(_CudaError("cudaErrorInsufficientDriver: CUDA driver version is insufficient for CUDA runtime version")),
         ["cudaErrorInsufficientDriver", "update the driver", "xpnet[gpu]"]),
        (_fake_cupy(_CudaError("cudaErrorNoDevice: no CUDA-capable device is detected")), ["cudaErrorNoDevice", "nvidia-smi"]),
        (_fake_cupy(0), ["no CUDA device", "nvidia-smi"]),
        (_fake_cupy(1, kernel=RuntimeError("CuPy failed to load libnvrtc.so.12: cannot open shared object file")),
         ["libnvrtc", "toolkit", "xpnet[gpu]"]),
    ],
    ids=["old-driver", "no-device", "zero-devices", "no-toolkit"],
)
def test_cupy_problems_keep_cupys_own_words_and_give_the_fix(cupy, expected):
    problem = cupy_problem(cupy)
    for text in expected:
        assert text in problem


def test_a_working_cupy_has_no_problem():
    assert cupy_problem(_fake_cupy(2)) is None


def test_an_unusable_cupy_is_explained_by_info_and_by_every_error(monkeypatch, capsys):
    reason = cupy_problem(_fake_cupy(_CudaError("cudaErrorInsufficientDriver: CUDA driver version is insufficient")))
    row = dataclasses.replace(registry._BY_NAME["cupy"], module="numpy", namespace=lambda: object(), problem=lambda xp: reason)
    monkeypatch.setitem(registry._BY_NAME, "cupy", row)
    monkeypatch.setattr(registry, "KNOWN_ROWS", tuple(row if r.name == "cupy" else r for r in registry.KNOWN_ROWS))
    with pytest.raises(BackendError, match="cudaErrorInsufficientDriver.*update the driver"):
        get_backend("cupy")
    info = {i.name: i for i in xpnet.available()}["cupy"]
    assert info.installed and not info.usable and "cudaErrorInsufficientDriver" in info.reason
    assert main(["info"]) == 0
    assert "cudaErrorInsufficientDriver" in capsys.readouterr().out
    assert main(["train", "--backend", "cupy", "--iters", "1"]) == 2
    err = capsys.readouterr().err
    assert "cudaErrorInsufficientDriver" in err and "update the driver" in err
