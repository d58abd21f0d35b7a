"""The book's chapter 6-7 code, written its way against xpnet's modules, on every backend.

The loops of ``optimizer_compare_mnist.py`` (one optimizer per network, ``optimizer.update(net.params, grads)``),
a network written as the book's ``multi_layer_net_extend.py`` is (a plain ``params`` dict whose arrays
the layers hold, ``Affine(W, b)``, ``BatchNormalization(gamma, beta)``, ``Dropout(ratio)``) trained by
xpnet's optimizers, and the book's ``Trainer`` of ``overfit_dropout.py``.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pytest
from conftest import to_np

import xpnet
from xpnet.layers import Affine, BatchNormalization, Relu, SoftmaxWithLoss
from xpnet.nets import MultiLayerNet, MultiLayerNetExtend
from xpnet.optim import SGD, AdaGrad, Adam, Momentum
from xpnet.trainer import Trainer


@pytest.fixture(scope="module")
def mnist():
    (x, t), (xt, tt) = xpnet.load_mnist(normalize=True)
    return (x[:2000], t[:2000]), (xt[:500], tt[:500])


def test_optimizer_compare_loop(backend, mnist):
    """``optimizer_compare_mnist.py`` cut short (30 steps of batch 64, narrower layers): Adam and AdaGrad leave SGD behind."""
    (x_train, t_train), _ = mnist
    optimizers = {"SGD": SGD(), "Momentum": Momentum(), "AdaGrad": AdaGrad(), "Adam": Adam()}
    networks = {key: MultiLayerNet(input_size=784, hidden_size_list=[40, 40, 40, 40], output_size=10, backend=backend,
                                   seed=0) for key in optimizers}
    rng = np.random.default_rng(0)
    x_d, t_d = backend.asarray(x_train, dtype="float64"), backend.asarray(t_train)
    train_loss = {key: [] for key in optimizers}
    for i in range(30):
        batch_mask = backend.asarray(rng.choice(x_train.shape[0], 64))
        x_batch, t_batch = backend.xp.take(x_d, batch_mask, axis=0), backend.xp.take(t_d, batch_mask, axis=0)
        for key in optimizers:
            grads = networks[key].gradient(x_batch, t_batch)
            optimizers[key].update(networks[key].params, grads)
            train_loss[key].append(float(networks[key].loss(x_batch, t_batch)))
    last = {key: float(np.mean(v[-10:])) for key, v in train_loss.items()}
    assert last["Adam"] < last["SGD"] and last["AdaGrad"] < last["SGD"], last


class BookStyleNet:
    """A two-hidden-layer net written as the book's ``multi_layer_net_extend.py``: layers hold the very arrays of ``params``."""

    def __init__(self, params: dict) -> None:
        self.params = params
        self.layers = OrderedDict()
        for idx in (1, 2):
            self.layers[f"Affine{idx}"] = Affine(params[f"W{idx}"], params[f"b{idx}"])
            self.layers[f"BatchNorm{idx}"] = BatchNormalization(params[f"gamma{idx}"], params[f"beta{idx}"])
            self.layers[f"Relu{idx}"] = Relu()
        self.layers["Affine3"] = Affine(params["W3"], params["b3"])
        self.last_layer = SoftmaxWithLoss()

    def loss(self, x, t, train_flg=False):
        for key, layer in self.layers.items():
            x = layer.forward(x, train_flg) if "BatchNorm" in key else layer.forward(x)
        return self.last_layer.forward(x, t)

    def gradient(self, x, t):
        self.loss(x, t, train_flg=True)
        dout = self.last_layer.backward(1)
        for layer in reversed(list(self.layers.values())):
            dout = layer.backward(dout)
        grads = {}
        for idx in (1, 2, 3):
            grads[f"W{idx}"], grads[f"b{idx}"] = self.layers[f"Affine{idx}"].dW, self.layers[f"Affine{idx}"].db
        for idx in (1, 2):
            grads[f"gamma{idx}"], grads[f"beta{idx}"] = self.layers[f"BatchNorm{idx}"].dgamma, self.layers[f"BatchNorm{idx}"].dbeta
        return grads


def test_the_books_own_network_style_trains_with_xpnets_optimizer(backend):
    """Where arrays can be written, xpnet's optimizers update the book's plain ``params`` in place, as the book's do,
    so a network whose layers hold those arrays trains exactly as xpnet's own MultiLayerNetExtend."""
    if not backend.row.writable:
        pytest.skip(f"{backend.name} arrays are immutable: layers holding arrays go stale (PORTABILITY: one owner per parameter)")
    ours = MultiLayerNetExtend(20, [8, 8], 3, use_batchnorm=True, backend=backend, seed=0)
    book = BookStyleNet({k: backend.asarray(to_np(v), dtype="float64") for k, v in ours.params.items()})
    rng = np.random.default_rng(1)
    x, t = rng.normal(size=(16, 20)), rng.integers(0, 3, size=16)
    x_d, t_d = backend.asarray(x, dtype="float64"), backend.asarray(t)
    opt_ours, opt_book = Adam(lr=0.01), Adam(lr=0.01)
    for _ in range(5):
        opt_ours.update(ours.params, ours.gradient(x_d, t_d))
        opt_book.update(book.params, book.gradient(x_d, t_d))
    assert book.layers["Affine1"].W is book.params["W1"]  # updated in place, as the book's -= does
    np.testing.assert_allclose(float(to_np(book.loss(x_d, t_d))), float(to_np(ours.loss(x_d, t_d))), rtol=1e-12)


def test_the_books_trainer(backend, mnist):
    """``overfit_dropout.py``'s Trainer, cut short: one accuracy per epoch, one loss per step."""
    (x_train, t_train), (x_test, t_test) = mnist
    network = MultiLayerNetExtend(input_size=784, hidden_size_list=[100, 100, 100], output_size=10, use_dropout=True,
                                  dropout_ration=0.2, backend=backend, seed=0)
    trainer = Trainer(network, x_train[:300], t_train[:300], x_test, t_test, epochs=4, mini_batch_size=100,
                      optimizer="Adam", optimizer_param={"lr": 0.001}, verbose=False, seed=0)
    trainer.train()
    assert len(trainer.train_acc_list) == len(trainer.test_acc_list) == 4 and len(trainer.train_loss_list) == 12
    assert trainer.train_acc_list[-1] > trainer.train_acc_list[0]
    assert trainer.history.config["optimizer"]["name"] == "adam"
