"""Overfitting 300 training images, and weight decay against it (book section 6.4.1-6.4.2, ``ch06/overfit_weight_decay.py``).

``MultiLayerNet(784, [100] * 6, 10)`` learns only the first 300 MNIST training images (SGD, lr
0.01, batches of 100), once without weight decay and once with the book's ``weight_decay_lambda
= 0.1`` (the same initial weights and batches). Once per epoch it prints the training and
test accuracy as in the book; at the end, for each run, the final accuracies and the gap
between them. Without weight decay the training accuracy races ahead of the test accuracy;
with it the gap is smaller (at the defaults 0.29 against 0.16; after the book's 201 epochs,
1.0 / 0.71 against 0.90 / 0.66). The defaults are 50 epochs and 1,000 test images;
``--epochs 201 --test-size 10000`` is the book's run (figures 6-20 and 6-21).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from _common import batch_of, make_parser, mnist_on, one_thread, parse, plot_curves, show_gap

from xpnet.nets import MultiLayerNet
from xpnet.optim import SGD


def main(argv: Sequence[str] | None = None) -> int:
    parser = make_parser(__doc__, dtype="float32", plot=True)
    parser.add_argument("--weight-decay-lambda", type=float, default=0.1, help="the regularised run's lambda (book: 0.1)")
    parser.add_argument("--epochs", type=int, default=50, help="epochs of 300 images (book: 201)")
    parser.add_argument("--train-size", type=int, default=300, help="training images (book: 300)")
    parser.add_argument("--test-size", type=int, default=1000, help="test images measured each epoch (book: all 10000)")
    parser.add_argument("--lr", type=float, default=0.01, help="SGD's learning rate (book: 0.01)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the initial weights and of the batches")
    args, be = parse(parser, argv)

    # too few training images, to reproduce overfitting
    (x_train, t_train), (x_test, t_test) = mnist_on(be, args.dtype, train_size=args.train_size, test_size=args.test_size)

    curves = {}
    for weight_decay_lambda in (0.0, args.weight_decay_lambda):  # the book runs one; set it to 0 for the other
        label = f"weight decay lambda={weight_decay_lambda:g}"
        print(f"=== {label} ===")
        network = MultiLayerNet(input_size=784, hidden_size_list=[100, 100, 100, 100, 100, 100], output_size=10,
                                weight_decay_lambda=weight_decay_lambda, backend=be, dtype=args.dtype, seed=args.seed)
        train_acc_list, test_acc_list = train(network, SGD(lr=args.lr), x_train, t_train, x_test, t_test, args)
        show_gap(label, train_acc_list, test_acc_list)
        curves[f"train ({label})"], curves[f"test ({label})"] = train_acc_list, test_acc_list

    if args.plot or args.show:
        styles = dict(zip(curves, ("o--", "s--", "o-", "s-")))
        plot_curves(curves, args.plot, args.show, xlabel="epochs", ylabel="accuracy", ylim=(0, 1.0), styles=styles)
    return 0


def train(network, optimizer, x_train, t_train, x_test, t_test, args):
    """The book's loop: mini-batches of 100 for ``args.epochs`` epochs; the accuracies after each epoch."""
    rng = np.random.default_rng(args.seed)  # the book draws with np.random.choice
    batch_size = 100
    train_size = x_train.shape[0]
    train_acc_list = []
    test_acc_list = []

    iter_per_epoch = max(train_size // batch_size, 1)
    max_iter = args.epochs * iter_per_epoch

    with one_thread():  # see _common.one_thread
        for i in range(max_iter):
            batch_mask = rng.choice(train_size, batch_size)
            x_batch, t_batch = batch_of(network.backend, batch_mask, x_train, t_train)

            grads = network.gradient(x_batch, t_batch)
            optimizer.update(network.params, grads)

            if (i + 1) % iter_per_epoch == 0:  # the end of an epoch (the book measures at its first step)
                train_acc = network.accuracy(x_train, t_train)
                test_acc = network.accuracy(x_test, t_test)
                train_acc_list.append(train_acc)
                test_acc_list.append(test_acc)

                print(f"epoch:{(i + 1) // iter_per_epoch}, train acc:{train_acc}, test acc:{test_acc}")
    return train_acc_list, test_acc_list


if __name__ == "__main__":
    raise SystemExit(main())
