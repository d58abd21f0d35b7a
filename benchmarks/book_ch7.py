"""Reference: chapter 7's SimpleConvNet training step as the book's own NumPy code runs it.

Nothing of the book is copied here: its ``ch07/simple_convnet.py`` and ``common/optimizer.py``
are imported from a checkout of the book's repository at run time (``book_dir``, with its
``common/`` package). A step is the book's ``Trainer.train_step`` without its logging: the rows
of a batch gathered from the float32 images, ``network.gradient`` (its layers' forward and
backward), ``Adam.update`` in place. The book's trainer also runs a second forward pass
(``network.loss``) to log the loss; here the loss of the gradient's own forward pass is read from
``network.last_layer.loss`` instead, so the step does no more than xpnet's.

``dtype=None`` keeps the book's dtypes: float32 images (``load_mnist(normalize=True)``) but
float64 weights, so the products run in float64. A dtype (``"float32"``) makes the weights that
dtype (the book's ``im2col`` still allocates float64 columns, so its convolution stays float64). The weights are xpnet's draws (``draws.py``), assigned to
the network and its layers as the book's ``load_params`` does; the batches are xpnet's.
BLAS threads: ``train_threads`` through threadpoolctl (None: NumPy's default).
"""

from __future__ import annotations

import time

import numpy as np
from book_code import book_module, relink
from chapters import threads
from draws import BLOCK, batch_blocks, convnet

#: The book's layers in SimpleConvNet and the parameters each holds.
LINKS = {"Conv1": ("W1", "b1"), "Affine1": ("W2", "b2"), "Affine2": ("W3", "b3")}


def network(book_dir, seed, dtype=None):
    """The book's SimpleConvNet holding xpnet's initial weights for ``seed`` (float64, or ``dtype``), and the book's Adam."""
    net = book_module(book_dir, "ch07/simple_convnet.py").SimpleConvNet()
    from common.optimizer import Adam  # the book's package, on the path since the import above

    params = {k: v if dtype is None else v.astype(dtype) for k, v in convnet(seed).items()}
    return relink(net, LINKS, params), Adam


def run(x_train, t_train, *, steps=400, batch_size=100, lr=0.001, dtype=None, seed=0, book_dir=None,
        train_threads=None, eval_threads=None):
    """Train the book's SimpleConvNet for ``steps`` Adam steps and time every block of 100.

    Parameters
    ----------
    x_train : ndarray, shape (N, 1, 28, 28), uint8 pixels
    t_train : ndarray, shape (N,), labels
    steps, batch_size, lr, seed
        The job.
    dtype : str, optional
        None: the book's dtypes (float64 weights); else the dtype of the weights.
    book_dir : str
        The book's checkout.

    Returns
    -------
    dict
        As ``torch_ch7.run``, and ``dtype``: that of the arithmetic (the scores' dtype).
    """
    net, Adam = network(book_dir, seed, None if dtype is None else np.dtype(dtype))
    x = np.asarray(x_train).astype(np.float32) / np.float32(255.0)  # the book's normalised images
    t = np.asarray(t_train)
    opt = Adam(lr=lr)
    draws, losses, blocks = batch_blocks(seed, len(x), batch_size), [], []
    with threads(train_threads):
        for start in range(0, steps, BLOCK):
            tic = time.perf_counter()
            for batch_mask in next(draws)[: min(BLOCK, steps - start)]:
                x_batch, t_batch = x[batch_mask], t[batch_mask]
                grads = net.gradient(x_batch, t_batch)
                opt.update(net.params, grads)
                losses.append(float(net.last_layer.loss))
            blocks.append([min(BLOCK, steps - start), time.perf_counter() - tic])
    return {"blocks": blocks, "losses": losses[:3], "late_loss": float(np.mean(losses[-100:])), "compile_time": 0.0,
            "dtype": str(net.last_layer.y.dtype)}  # of the scores: the arithmetic
