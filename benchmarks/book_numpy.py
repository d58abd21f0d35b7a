"""Reference: the book's chapter-5 MNIST training, run with the book's own NumPy code.

The network is the book's ``ch05/two_layer_net.py`` (with its ``common/layers.py`` and
``common/functions.py``: an ``OrderedDict`` of ``Affine``/``Relu``/``Affine`` layers,
``SoftmaxWithLoss`` with ``cross_entropy_error``'s ``delta = 1e-7``), imported at run time from
a checkout of the book's repository (``book_dir``, ``$DLFS_BOOK_DIR`` for the benchmark; nothing
of the book is copied here). The loop is ``ch05/train_neuralnet.py``'s, written out and timed:
one-hot labels, ``np.random.choice`` batches, ``network.gradient``, the in-place update
``params[key] -= lr * grad[key]``, a second ``network.loss`` after each update to log the loss,
and ``network.accuracy`` on the full training and test sets.

By default it also keeps the book's dtypes: ``load_mnist(normalize=True)`` gives float32
images, ``_change_one_hot_label`` float64 one-hot rows and ``np.random.randn`` float64
weights, so every product is computed in float64 (NumPy converts the float32 batch to
float64 in each ``np.dot``). ``dtype="float32"``/``"float64"`` instead runs the same code
with images, labels and weights all in that dtype (the weights given to the network and its
layers as the book's ``load_params`` does).

It is a yardstick for ``benchmarks/bench.py``: it takes host arrays and imports nothing from
xpnet. The one change to the book's loop is the evaluation schedule: the book evaluates when
``i % iter_per_epoch == 0`` (after steps 1, 601, ..., 9601); here it is after steps 600, 1200,
..., 9600 and after the last step, as xpnet does, so both make 17 evaluations and end on the
final weights.
"""

from __future__ import annotations

import time

import numpy as np
from book_code import book_module, relink
from chapters import threads

#: The book's layers in TwoLayerNet and the parameters each holds.
LINKS = {"Affine1": ("W1", "b1"), "Affine2": ("W2", "b2")}


def book_network(book_dir, input_size, hidden_size, output_size, dtype=None):
    """The book's ``TwoLayerNet`` (its own ``np.random.randn`` draws), with its weights in ``dtype`` when one is given."""
    net = book_module(book_dir, "ch05/two_layer_net.py").TwoLayerNet(input_size, hidden_size, output_size)
    if dtype is not None:
        relink(net, LINKS, {k: v.astype(dtype) for k, v in net.params.items()})
    return net


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
        hidden=50, batch_size=100, lr=0.1, train_threads=None, eval_threads=None, book_dir=None):
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
    book_dir : str
        The checkout of the book's repository.

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
    network = book_network(book_dir, x_train.shape[1], hidden, t_train.shape[1], dtype)
    train_size = x_train.shape[0]
    train_loss_list, train_acc_list, test_acc_list = [], [], []
    train_time = eval_time = 0.0
    with threads(train_threads):
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
                with threads(eval_threads):
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
