"""The NumPy fast path for training steps: same numbers as the portable step, chosen only when it applies."""

import numpy as np
import pytest
from conftest import blobs, read_only, to_np

from xpnet import SGD, TrainingDiverged, TwoLayerNet
from xpnet.train import Trainer

TOL = {"float32": {"rtol": 2e-4, "atol": 2e-6}, "float64": {"rtol": 1e-10, "atol": 1e-13}}


def _data(n=400, pixels=True):
    (x, t), _ = blobs(n, n_test=0, spread=30.0)
    return (x if pixels else x / 255.0, t), (x[:100], t[:100])


def _run(backend, dtype, activation, fast, *, iters=60, pixels=True, **kw):
    net = TwoLayerNet(12, 7, 3, 0.1, activation=activation, backend=backend, dtype=dtype, seed=0)
    train_data, test_data = _data(pixels=pixels)
    trainer = Trainer(net, train_data, test_data, batch_size=16, lr=1.0, seed=5, eval_every=25, fast_path=fast, **kw)
    return net, trainer.run(iters)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("activation", ["relu", "sigmoid"])
@pytest.mark.parametrize("pixels", [True, False], ids=["uint8", "float"])
def test_fused_step_matches_the_portable_step_on_every_backend(backend, dtype, activation, pixels):
    fast_net, fast = _run("numpy", dtype, activation, True, pixels=pixels)
    ref_net, ref = _run(backend, dtype, activation, False, pixels=pixels)
    assert fast.config["step"] == "FusedSGDStep" and ref.config["step"] == "PortableStep"
    for key in ("W1", "b1", "W2", "b2"):
        np.testing.assert_allclose(to_np(fast_net.params[key]), to_np(ref_net.params[key]), **TOL[dtype], err_msg=key)
    np.testing.assert_allclose(fast.train_loss, ref.train_loss, **TOL[dtype])
    assert fast.eval_iters == ref.eval_iters == [25, 50, 60]
    # training moved the parameters, so the comparison above compares something
    assert abs(fast.train_loss[-1] - fast.train_loss[0]) > 0.05


def test_fused_step_matches_at_the_books_sizes():
    """784-50-10, batch 100, uint8 pixels: 30 steps agree with the portable step in float64."""
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, size=(1000, 784), dtype=np.uint8)
    t = rng.integers(0, 10, size=1000)
    nets = []
    for fast in (True, False):
        net = TwoLayerNet(784, 50, 10, seed=3)
        h = Trainer(net, (x, t), batch_size=100, lr=0.1, seed=1, fast_path=fast).run(30)
        nets.append((net, h))
    (fast_net, fast), (ref_net, ref) = nets
    for key in ("W1", "b1", "W2", "b2"):
        np.testing.assert_allclose(fast_net.params[key], ref_net.params[key], rtol=1e-10, atol=1e-14, err_msg=key)
    np.testing.assert_allclose(fast.train_loss, ref.train_loss, rtol=1e-12)


def test_fused_step_never_writes_the_callers_arrays():
    params = {k: read_only(v) for k, v in TwoLayerNet(12, 7, 3, 0.1, seed=0).params.items()}
    before = {k: v.copy() for k, v in params.items()}
    net = TwoLayerNet(12, 7, 3, 0.1, params=params)
    train_data, _ = _data()
    h = Trainer(net, train_data, batch_size=16, lr=0.3, seed=5).run(40)
    assert h.config["step"] == "FusedSGDStep"
    for key, value in params.items():
        np.testing.assert_array_equal(value, before[key])
        assert not np.array_equal(net.params[key], before[key])


def test_published_parameters_are_snapshots():
    """Arrays handed to the network at a flush point keep their values while training goes on."""
    net = TwoLayerNet(12, 7, 3, 0.1, seed=0)
    train_data, _ = _data()
    seen = []
    trainer = Trainer(net, train_data, batch_size=16, lr=0.3, seed=5, eval_every=10)
    trainer.run(200, on_progress=lambda it, loss: seen.append((net.params["W1"], net.params["W1"].copy())))
    assert len(seen) == 20  # a flush at every evaluation point
    for array, copy in seen:
        np.testing.assert_array_equal(array, copy)
    assert not np.array_equal(seen[0][1], seen[-1][1])


def test_a_callback_that_replaces_parameters_is_honoured():
    def shrink(net):
        return lambda record: net.params.__setitem__("W2", net.params["W2"] * 0.5)

    runs = []
    for fast in (True, False):
        net = TwoLayerNet(12, 7, 3, 0.1, seed=0)
        train_data, test_data = _data()
        trainer = Trainer(net, train_data, test_data, batch_size=16, lr=0.3, seed=5, eval_every=25, fast_path=fast,
                          eval_async=False)
        trainer.run(60, on_eval=shrink(net))
        runs.append(net)
    np.testing.assert_allclose(runs[0].params["W2"], runs[1].params["W2"], rtol=1e-10)


@pytest.mark.parametrize("why, make", [
    ("optimizer subclass", lambda net: {"optimizer": type("MySGD", (SGD,), {})(0.1)}),
    ("numerical gradient", lambda net: {"gradient": "numerical"}),
    ("switched off", lambda net: {"fast_path": False}),
])
def test_portable_step_when_the_fast_path_does_not_apply(why, make):
    net = TwoLayerNet(12, 3, 3, 0.1, seed=0)
    train_data, _ = _data(n=60)
    h = Trainer(net, train_data, batch_size=4, seed=5, **make(net)).run(2)
    assert h.config["step"] == "PortableStep", why


def test_portable_step_on_other_backends(backend):
    net = TwoLayerNet(12, 3, 3, 0.1, backend=backend, seed=0)
    train_data, _ = _data(n=60)
    h = Trainer(net, train_data, batch_size=4, seed=5).run(2)
    assert h.config["step"] == ("FusedSGDStep" if backend.name == "numpy" else "PortableStep")


def test_fused_divergence_restores_the_last_finite_parameters():
    net = TwoLayerNet(12, 7, 3, 0.1, seed=0)
    train_data, _ = _data()
    trainer = Trainer(net, train_data, batch_size=16, lr=1e300, seed=5)
    good = {k: v.copy() for k, v in net.params.items()}
    with pytest.raises(TrainingDiverged, match="iteration"):
        trainer.run(300)
    assert trainer.history.config["step"] == "FusedSGDStep"
    for key, value in good.items():
        np.testing.assert_array_equal(net.params[key], value)


@pytest.mark.parametrize("background", [True, False], ids=["worker", "inline"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_gathered_batches_are_the_rows_asked_for(background, dtype):
    """Chunked, prefetched gathering returns each step's rows, whatever order the steps come in."""
    from xpnet._fused import CHUNK, _Batches

    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(300, 12), dtype=np.uint8)
    onehot = np.eye(4)[rng.integers(0, 4, size=300)] * 0.25
    blocks = [rng.integers(0, 300, size=(100, 8)) for _ in range(3)]
    batches = _Batches(images, onehot.astype(dtype), 8, np.dtype(dtype), background=background)
    try:
        # a straight run over two blocks (prefetching across the edge), then a resumed-style jump
        visits = [(0, p) for p in range(100)] + [(1, p) for p in range(CHUNK + 3)] + [(2, 61), (2, 62), (2, 99)]
        for k, pos in visits:
            upcoming = blocks[k + 1] if k + 1 < len(blocks) else None
            x, t = batches.batch(blocks[k], pos, upcoming)
            assert x.dtype == dtype and x.shape == (8, 12) and t.shape == (8, 4)
            np.testing.assert_array_equal(x, images[blocks[k][pos]].astype(dtype))
            np.testing.assert_array_equal(t, onehot[blocks[k][pos]].astype(dtype))
    finally:
        batches.close()
