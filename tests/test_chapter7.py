"""Chapter 7's SimpleConvNet on every backend: the book's gradient check, parity, training, compiled steps, saved parameters."""

import pickle

import numpy as np
import pytest
from conftest import assert_close, to_np

import xpnet
from xpnet.errors import CheckpointError
from xpnet.nets import SimpleConvNet

SMALL = {"input_dim": (1, 10, 10), "conv_param": {"filter_num": 10, "filter_size": 3, "pad": 0, "stride": 1},
         "hidden_size": 10, "output_size": 10, "weight_init_std": 0.01}


def _small(backend, **kw):
    kw.setdefault("seed", 0)
    return SimpleConvNet(**{**SMALL, **kw}, backend=backend)


def test_the_books_gradient_check(backend):
    """ch07/gradient_check.py: one random 10x10 image, label 1 as a (1, 1) array; differences as small as the book's."""
    net = _small(backend)
    X = backend.asarray(np.random.default_rng(0).random(100).reshape((1, 1, 10, 10)), dtype="float64")
    T = backend.asarray(np.array([1]).reshape((1, 1)))
    grad_num, grad = net.numerical_gradient(X, T), net.gradient(X, T)
    diffs = {key: float(np.mean(np.abs(to_np(grad_num[key]) - to_np(grad[key])))) for key in grad}
    assert list(diffs) == ["W1", "b1", "W2", "b2", "W3", "b3"]
    assert max(diffs["W1"], diffs["b1"]) < 1e-5 and max(v for k, v in diffs.items() if k not in ("W1", "b1")) < 1e-9


def test_parity_with_numpy_in_float64(backend, numpy_backend):
    rng = np.random.default_rng(1)
    x, t = rng.random((4, 1, 10, 10)), rng.integers(0, 10, size=4)
    ref, net = _small(numpy_backend, weight_init_std=0.3), _small(backend, weight_init_std=0.3)
    for key in ref.params:
        np.testing.assert_array_equal(to_np(net.params[key]), to_np(ref.params[key]))  # the same seed, the same bits
    assert_close(net.loss(backend.asarray(x), backend.asarray(t)), float(to_np(ref.loss(x, t))))
    g, g_ref = net.gradient(backend.asarray(x), backend.asarray(t)), ref.gradient(x, t)
    for key in g_ref:
        assert_close(g[key], to_np(g_ref[key]), atol=1e-13)
    assert net.accuracy(backend.asarray(x), backend.asarray(t)) == ref.accuracy(x, t)


def test_flat_images_are_reshaped_and_the_remainder_counts():
    net = _small("numpy", weight_init_std=0.3)
    x = np.random.default_rng(2).random((150, 100))
    t = np.argmax(to_np(net.predict(x.reshape(150, 1, 10, 10))), axis=1)
    assert net.accuracy(x, t) == 1.0  # 150 images in batches of 100: the last 50 count too (not in the book's)


def _blobs_images(n=300, seed=0):
    rng = np.random.default_rng(seed)
    t = rng.integers(0, 3, size=n)
    x = rng.integers(0, 60, size=(n, 1, 10, 10)).astype(np.uint8)
    for k in range(3):  # a bright bar whose position is the class
        x[t == k, 0, 2 + 3 * k : 4 + 3 * k, :] = 250
    return x, t


@pytest.mark.parametrize("compiled", [False, True], ids=["eager", "compiled"])
def test_training_learns_and_compiled_equals_eager(compiled_backend, compiled):
    x, t = _blobs_images()
    runs = []
    for flag in (False, compiled):
        net = _small(compiled_backend, output_size=3, weight_init_std=0.1)
        h = xpnet.train(net, (x[:240], t[:240]), (x[240:], t[240:]), iters=60, batch_size=20, optimizer="adam",
                        lr=0.01, seed=0, compiled=flag, eval_every=30)
        runs.append((net, h))
    (eager, eh), (comp, ch) = runs
    assert eh.test_acc[-1] > 0.9
    np.testing.assert_allclose(ch.train_loss, eh.train_loss, rtol=1e-10)
    assert ch.test_acc == eh.test_acc


def test_eager_training_on_every_backend_agrees_with_numpy(backend, numpy_backend):
    x, t = _blobs_images(120)
    hist = {}
    for be in (numpy_backend, backend):
        net = _small(be, output_size=3, weight_init_std=0.1)
        hist[be.name] = xpnet.train(net, (x, t), iters=10, batch_size=20, optimizer="adam", lr=0.01, seed=0, compiled=False)
    np.testing.assert_allclose(hist[backend.name].train_loss, hist["numpy"].train_loss, rtol=1e-12)


def test_save_and_load_params_round_trip_without_pickle(backend, tmp_path):
    net = _small(backend, weight_init_std=0.5)
    path = tmp_path / "params.pkl"  # the book's name: the content is an .npz
    net.save_params(path)
    with np.load(path) as z:  # plain npz, no pickle
        assert sorted(z.files) == ["W1", "W2", "W3", "b1", "b2", "b3"]
    other = _small(backend, seed=9)
    other.load_params(path)
    for key in net.params:
        np.testing.assert_array_equal(to_np(other.params[key]), to_np(net.params[key]))


def test_load_params_reads_the_books_pickle_and_refuses_code(tmp_path):
    net = _small("numpy", weight_init_std=0.5)
    book = tmp_path / "book.pkl"
    with open(book, "wb") as f:  # what the book's save_params writes: a pickled dict of float64 arrays
        pickle.dump({k: np.asarray(v) for k, v in net.params.items()}, f)
    other = _small("torch" if "torch" in xpnet.backends.usable_backends() else "numpy", dtype="float32", seed=3)
    other.load_params(book)
    for key in net.params:
        np.testing.assert_array_equal(to_np(other.params[key]), np.asarray(net.params[key], np.float32))
    evil = tmp_path / "evil.pkl"
    evil.write_bytes(pickle.dumps({"W1": _Boom()}))
    with pytest.raises(CheckpointError, match="refuses the global"):
        other.load_params(evil)
    wrong = tmp_path / "wrong.pkl"
    wrong.write_bytes(pickle.dumps({"W1": np.zeros((3, 3))}))
    with pytest.raises(ValueError, match="missing"):
        other.load_params(wrong)


class _Boom:
    def __reduce__(self):
        import os

        return (os.system, ("echo pwned",))


def test_checkpoint_round_trip_of_a_convnet(backend, tmp_path):
    net = _small(backend, weight_init_std=0.5)
    xpnet.save(net, tmp_path / "net.npz")
    back = xpnet.load(tmp_path / "net.npz")
    assert type(back) is SimpleConvNet and back.config == net.config and back.backend.name == backend.name
    for key in net.params:
        np.testing.assert_array_equal(to_np(back.params[key]), to_np(net.params[key]))
