"""Reference: the book's chapter-5 MNIST training, written the book's way in plain NumPy.

This file follows the code of "Deep Learning from Scratch" (``common/functions.py``,
``common/layers.py``, ``ch05/two_layer_net.py``, ``ch05/train_neuralnet.py``): an
``OrderedDict`` of ``Affine``/``Relu``/``Affine`` layers, ``SoftmaxWithLoss`` with the
book's ``cross_entropy_error`` (``delta = 1e-7``), one-hot labels, ``np.random.choice``
batches, in-place ``params[key] -= lr * grad[key]``, a second ``network.loss`` after each
update to log the loss, and ``network.accuracy`` on the full training and test sets.

By default it also keeps the book's dtypes: ``load_mnist(normalize=True)`` gives float32
images, ``_change_one_hot_label`` float64 one-hot rows and ``np.random.randn`` float64
weights, so every product is computed in float64 (NumPy converts the float32 batch to
float64 in each ``np.dot``). ``dtype="float32"``/``"float64"`` instead runs the same code
with images, labels and weights all in that dtype.

It is a yardstick for ``benchmarks/bench.py`` and deliberately independent of xpnet: it takes
host arrays and imports nothing from the package. The one change to the book's loop is
the evaluation schedule: the book evaluates when ``i % iter_per_epoch == 0`` (after steps
1, 601, ..., 9601); here it is after steps 600, 1200, ..., 9600 and after the last step,
as xpnet does, so both make 17 evaluations and end on the final weights.
"""

from __future__ import annotations

import contextlib
import time
from collections import OrderedDict

import numpy as np


# --- common/functions.py --------------------------------------------------------------
def softmax(x):
    x = x - np.max(x, axis=-1, keepdims=True)
    return np.exp(x) / np.sum(np.exp(x), axis=-1, keepdims=True)


def cross_entropy_error(y, t):
    if y.ndim == 1:
        t = t.reshape(1, t.size)
        y = y.reshape(1, y.size)
    if t.size == y.size:  # one-hot -> label indices
        t = t.argmax(axis=1)
    batch_size = y.shape[0]
    return -np.sum(np.log(y[np.arange(batch_size), t] + 1e-7)) / batch_size


# --- common/layers.py -----------------------------------------------------------------
class Relu:
    def __init__(self):
        self.mask = None

    def forward(self, x):
        self.mask = x <= 0
        out = x.copy()
        out[self.mask] = 0
        return out

    def backward(self, dout):
        dout[self.mask] = 0
        dx = dout
        return dx


class Affine:
    def __init__(self, W, b):
        self.W = W
        self.b = b
        self.x = None
        self.original_x_shape = None
        self.dW = None
        self.db = None

    def forward(self, x):
        self.original_x_shape = x.shape
        x = x.reshape(x.shape[0], -1)
        self.x = x
        out = np.dot(self.x, self.W) + self.b
        return out

    def backward(self, dout):
        dx = np.dot(dout, self.W.T)
        self.dW = np.dot(self.x.T, dout)
        self.db = np.sum(dout, axis=0)
        dx = dx.reshape(*self.original_x_shape)
        return dx


class SoftmaxWithLoss:
    def __init__(self):
        self.loss = None
        self.y = None
        self.t = None

    def forward(self, x, t):
        self.t = t
        self.y = softmax(x)
        self.loss = cross_entropy_error(self.y, self.t)
        return self.loss

    def backward(self, dout=1):
        batch_size = self.t.shape[0]
        if self.t.size == self.y.size:  # one-hot labels
            dx = (self.y - self.t) / batch_size
        else:
            dx = self.y.copy()
            dx[np.arange(batch_size), self.t] -= 1
            dx = dx / batch_size
        return dx


# --- ch05/two_layer_net.py ------------------------------------------------------------
class TwoLayerNet:
    def __init__(self, input_size, hidden_size, output_size, weight_init_std=0.01, dtype=np.float64):
        self.params = {}
        self.params["W1"] = (weight_init_std * np.random.randn(input_size, hidden_size)).astype(dtype, copy=False)
        self.params["b1"] = np.zeros(hidden_size, dtype=dtype)
        self.params["W2"] = (weight_init_std * np.random.randn(hidden_size, output_size)).astype(dtype, copy=False)
        self.params["b2"] = np.zeros(output_size, dtype=dtype)

        self.layers = OrderedDict()
        self.layers["Affine1"] = Affine(self.params["W1"], self.params["b1"])
        self.layers["Relu1"] = Relu()
        self.layers["Affine2"] = Affine(self.params["W2"], self.params["b2"])
        self.lastLayer = SoftmaxWithLoss()

    def predict(self, x):
        for layer in self.layers.values():
            x = layer.forward(x)
        return x

    def loss(self, x, t):
        y = self.predict(x)
        return self.lastLayer.forward(y, t)

    def accuracy(self, x, t):
        y = self.predict(x)
        y = np.argmax(y, axis=1)
        if t.ndim != 1:
            t = np.argmax(t, axis=1)
        accuracy = np.sum(y == t) / float(x.shape[0])
        return accuracy

    def gradient(self, x, t):
        # forward
        self.loss(x, t)
        # backward
        dout = 1
        dout = self.lastLayer.backward(dout)
        layers = list(self.layers.values())
        layers.reverse()
        for layer in layers:
            dout = layer.backward(dout)
        grads = {}
        grads["W1"], grads["b1"] = self.layers["Affine1"].dW, self.layers["Affine1"].db
        grads["W2"], grads["b2"] = self.layers["Affine2"].dW, self.layers["Affine2"].db
        return grads


# --- ch05/train_neuralnet.py, timed ---------------------------------------------------
@contextlib.contextmanager
def _threads(n):
    """Limit BLAS threads to ``n`` inside the block (None, or no threadpoolctl: no change)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        threadpool_limits = None
    if n is None or threadpool_limits is None:
        yield
    else:
        with threadpool_limits(limits=n):
            yield


def prepare(x, t, dtype=None, n_classes=10):
    """The book's ``load_mnist(normalize=True, one_hot_label=True)``: floats in [0, 1] and one-hot rows.

    ``dtype=None`` keeps the book's dtypes (float32 images, float64 one-hot rows); a dtype
    makes both that dtype.
    """
    x_dtype, t_dtype = (np.float32, np.float64) if dtype is None else (dtype, dtype)
    x = np.asarray(x)
    x = x.reshape(x.shape[0], -1)
    if x.dtype == np.uint8:
        x = x.astype(x_dtype)
        x /= 255.0
    x = x.astype(x_dtype, copy=False)
    t = np.asarray(t)
    if t.ndim == 1:
        t = np.eye(n_classes, dtype=t_dtype)[t]
    return x, t.astype(t_dtype, copy=False)


def run(x_train, t_train, x_test, t_test, *, iters=10_000, dtype=None, seed=0, eval_every=600,
        hidden=50, batch_size=100, lr=0.1, train_threads=None, eval_threads=None):
    """Train the book's network and time it.

    Parameters
    ----------
    x_train, x_test : ndarray, shape (N, 784), uint8 pixels or floats in [0, 1]
    t_train, t_test : ndarray, labels (N,) or one-hot (N, 10)
    iters, eval_every, hidden, batch_size, lr
        The job; the book's is 10,000 steps, evaluation every 600, hidden 50, batch 100, lr 0.1.
    dtype : str, optional
        Data and parameter dtype; None (default) keeps the book's: float32 images, float64
        labels and weights, hence float64 arithmetic.
    seed : int
        Seeds NumPy's global generator (``np.random.randn`` and ``np.random.choice``).
    train_threads, eval_threads : int, optional
        BLAS threads during training steps and during evaluation (threadpoolctl); None
        leaves NumPy's default, as the book does.

    Returns
    -------
    dict
        ``train_time``, ``eval_time``, ``total_time`` (seconds), ``test_acc``, ``train_acc``
        (final), ``evals`` (count), ``iters``, ``first_loss``, ``last_loss``.
    """
    dtype = None if dtype is None else np.dtype(dtype)
    x_train, t_train = prepare(x_train, t_train, dtype)
    x_test, t_test = prepare(x_test, t_test, dtype)
    np.random.seed(seed)
    network = TwoLayerNet(input_size=x_train.shape[1], hidden_size=hidden, output_size=t_train.shape[1],
                          dtype=np.float64 if dtype is None else dtype)
    train_size = x_train.shape[0]
    train_loss_list, train_acc_list, test_acc_list = [], [], []
    train_time = eval_time = 0.0
    with _threads(train_threads):
        start = tic = time.perf_counter()
        for i in range(iters):
            batch_mask = np.random.choice(train_size, batch_size)
            x_batch = x_train[batch_mask]
            t_batch = t_train[batch_mask]

            grad = network.gradient(x_batch, t_batch)
            for key in ("W1", "b1", "W2", "b2"):
                network.params[key] -= lr * grad[key]

            loss = network.loss(x_batch, t_batch)
            train_loss_list.append(loss)

            if (i + 1) % eval_every == 0 or i + 1 == iters:
                toc = time.perf_counter()
                train_time += toc - tic
                with _threads(eval_threads):
                    train_acc_list.append(network.accuracy(x_train, t_train))
                    test_acc_list.append(network.accuracy(x_test, t_test))
                tic = time.perf_counter()
                eval_time += tic - toc
        train_time += time.perf_counter() - tic
    return {
        "train_time": train_time,
        "eval_time": eval_time,
        "total_time": time.perf_counter() - start,
        "test_acc": float(test_acc_list[-1]) if test_acc_list else None,
        "train_acc": float(train_acc_list[-1]) if train_acc_list else None,
        "evals": len(test_acc_list),
        "iters": iters,
        "first_loss": float(train_loss_list[0]) if train_loss_list else None,
        "last_loss": float(train_loss_list[-1]) if train_loss_list else None,
        "dtype": str(np.result_type(x_train, network.params["W1"])),  # of the arithmetic
    }
