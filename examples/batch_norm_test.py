"""Training with and without Batch Normalization at several initial weight scales (book section 6.3.2, ``ch06/batch_norm_test.py``).

For each weight scale (the standard deviation of the initial weights) two copies of
``MultiLayerNetExtend(784, [100] * 5, 10)`` start from the same weights, one with Batch
Normalization after each hidden Affine layer, and learn the first 1,000 MNIST training images
from the same mini-batches of 100 with SGD (lr 0.01). Once per epoch both training
accuracies are printed as in the book (``epoch:N | without - with``); then, per scale, the two
lists. At scales far from He's (here 1 and 0.01) the network without Batch Normalization
does not learn: at 1 it diverges at once (its accuracy prints as nan), at 0.01 it stays at
chance, while the one with Batch Normalization learns (at 0.01, past 0.9 within 5 epochs).
The defaults are scales 1 and 0.01 and 10 epochs; ``--all-scales --epochs 20`` is the book's
run (16 scales from 1 to 1e-4).
``--plot``/``--show``: one panel per scale (figure 6-19).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
from _common import batch_of, make_parser, mnist_on, one_thread, parse, pyplot, save_figure, show

from xpnet.nets import MultiLayerNetExtend
from xpnet.optim import SGD


def main(argv: Sequence[str] | None = None) -> int:
    parser = make_parser(__doc__, dtype="float32", plot=True)
    parser.add_argument("--weight-scale", type=float, nargs="+", default=[1.0, 0.01], help="initial weight scales (default: 1 0.01)")
    parser.add_argument("--all-scales", action="store_true", help="the book's 16 scales, np.logspace(0, -4, num=16)")
    parser.add_argument("--epochs", type=int, default=10, help="epochs of 1,000 images (book: 20)")
    parser.add_argument("--train-size", type=int, default=1000, help="training images (book: 1000)")
    parser.add_argument("--batch-size", type=int, default=100, help="samples per step (book: 100)")
    parser.add_argument("--lr", type=float, default=0.01, help="SGD's learning rate (book: 0.01)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the initial weights and of the batches")
    args, be = parse(parser, argv)

    (x_train, t_train), _ = mnist_on(be, args.dtype, train_size=args.train_size)  # the book keeps 1,000 images
    weight_scale_list = list(np.logspace(0, -4, num=16)) if args.all_scales else args.weight_scale

    results = {}
    for i, w in enumerate(weight_scale_list):
        print(f"============== {i + 1}/{len(weight_scale_list)}: weight scale {w:.4g} ==============")
        train_acc_list, bn_train_acc_list = __train(args, be, x_train, t_train, float(w))
        show(f"weight scale {w:.4g} train acc without BatchNorm", np.array(train_acc_list))
        show(f"weight scale {w:.4g} train acc with BatchNorm", np.array(bn_train_acc_list))
        results[w] = (train_acc_list, bn_train_acc_list)

    if args.plot or args.show:
        plot_panels(results, args.plot, args.show)
    return 0


def __train(args, be, x_train, t_train, weight_init_std):
    """The book's ``__train``: both networks on the same batches; the training accuracies after each epoch."""
    kwargs = dict(input_size=784, hidden_size_list=[100, 100, 100, 100, 100], output_size=10,
                  weight_init_std=weight_init_std, backend=be, dtype=args.dtype, seed=args.seed)
    bn_network = MultiLayerNetExtend(**kwargs, use_batchnorm=True)
    network = MultiLayerNetExtend(**kwargs)
    optimizer = SGD(lr=args.lr)
    rng = np.random.default_rng(args.seed)  # the book draws with np.random.choice

    train_acc_list = []
    bn_train_acc_list = []

    train_size = x_train.shape[0]
    iter_per_epoch = max(train_size // args.batch_size, 1)
    max_iter = args.epochs * iter_per_epoch

    with one_thread(), warnings.catch_warnings():  # see _common.one_thread
        warnings.simplefilter("ignore", RuntimeWarning)  # a diverging network overflows: its accuracy says so, as NaN
        for i in range(max_iter):
            batch_mask = rng.choice(train_size, args.batch_size)
            x_batch, t_batch = batch_of(be, batch_mask, x_train, t_train)

            for _network in (bn_network, network):
                grads = _network.gradient(x_batch, t_batch)
                optimizer.update(_network.params, grads)

            if (i + 1) % iter_per_epoch == 0:  # the end of an epoch (the book measures at its first step)
                train_acc = accuracy(network, x_train, t_train)
                bn_train_acc = accuracy(bn_network, x_train, t_train)
                train_acc_list.append(train_acc)
                bn_train_acc_list.append(bn_train_acc)

                print(f"epoch:{(i + 1) // iter_per_epoch} | {train_acc} - {bn_train_acc}")

    return train_acc_list, bn_train_acc_list


def accuracy(network, x, t):
    """``network.accuracy(x, t)``, or NaN once the network has diverged (its scores overflowed to NaN or infinity).

    The book's NumPy takes the first NaN for the largest score, so a diverged network there
    "predicts" class 0 for every image and scores about 0.1, the share of zeros in the labels.
    """
    with warnings.catch_warnings(record=True) as caught:  # xpnet counts non-finite scores as wrong, and warns
        warnings.simplefilter("always", RuntimeWarning)
        acc = network.accuracy(x, t)
    diverged = any("NaN or infinite" in str(w.message) for w in caught)
    return float("nan") if diverged else acc


def plot_panels(results: dict[float, tuple[list[float], list[float]]], path: str | None, window: bool) -> None:
    """The book's figure 6-19: per weight scale, the training accuracy with (solid) and without (dashed) Batch Normalization."""
    plt = pyplot(window)
    if plt is None:
        return
    cols = min(len(results), 4)
    rows = -(-len(results) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3 * cols, 2.6 * rows), squeeze=False)
    for ax in axes.flat[len(results):]:
        ax.axis("off")
    for ax, (w, (train_acc_list, bn_train_acc_list)) in zip(axes.flat, results.items()):
        x = np.arange(len(train_acc_list))
        ax.plot(x, bn_train_acc_list, label="Batch Normalization", markevery=2)
        ax.plot(x, train_acc_list, linestyle="--", label="Normal(without BatchNorm)", markevery=2)
        ax.set_title(f"W:{w:.4g}")
        ax.set_ylim(0, 1.0)
        ax.set_xlabel("epochs")
        ax.set_ylabel("accuracy")
    axes.flat[0].legend(loc="lower right", fontsize=7)
    fig.tight_layout()
    save_figure(fig, path, window)


if __name__ == "__main__":
    raise SystemExit(main())
