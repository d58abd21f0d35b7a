"""A random search for the learning rate and the weight decay (book section 6.5, ``ch06/hyperparameter_optimization.py``).

The first 500 MNIST training images are shuffled and split into 400 for training and 100 for
validation (20%: the test images stay out of the search). Each trial draws ``weight_decay =
10 ** uniform(-8, -4)`` and ``lr = 10 ** uniform(-6, -2)`` and trains ``MultiLayerNet(784,
[100] * 6, 10)`` with SGD through the book's ``Trainer``, printing its final validation
accuracy as the book does; then the trials best first (``Best-1(val acc:...) | lr:...,
weight decay:...``), and the best one's numbers. Only the largest learning rates of the range
(about 1e-3 to 1e-2) learn much in so few steps; the weight decay matters less. The defaults
are 8 trials of 20 epochs (the best reaches 0.29 with lr 0.005 at seed 0); ``--trials 100
--epochs 50`` is the book's run. ``--plot``/``--show``:
the validation (solid) and training (dashed) accuracy of the best 20 trials (figure 6-24).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from _common import make_parser, mnist_on, parse, pyplot, save_figure, show

from xpnet.nets import MultiLayerNet
from xpnet.trainer import Trainer
from xpnet.util import shuffle_dataset


def main(argv: Sequence[str] | None = None) -> int:
    parser = make_parser(__doc__, dtype="float32", plot=True)
    parser.add_argument("--trials", type=int, default=8, help="random draws of lr and weight decay (book: 100)")
    parser.add_argument("--epochs", type=int, default=20, help="epochs per trial (book: 50)")
    parser.add_argument("--lr-exp", type=float, nargs=2, default=(-6, -2), metavar=("LOW", "HIGH"),
                        help="lr = 10 ** uniform(LOW, HIGH) (book: -6 -2)")
    parser.add_argument("--weight-decay-exp", type=float, nargs=2, default=(-8, -4), metavar=("LOW", "HIGH"),
                        help="weight decay = 10 ** uniform(LOW, HIGH) (book: -8 -4)")
    parser.add_argument("--train-size", type=int, default=500, help="images for training and validation (book: 500)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the split, the draws, the weights and the batches")
    args, be = parse(parser, argv)
    rng = np.random.default_rng(args.seed)  # the book draws from np.random

    (x_train, t_train), _ = mnist_on(be, args.dtype, train_size=args.train_size)  # fewer images, for speed

    # split off the validation data
    validation_rate = 0.20
    validation_num = int(x_train.shape[0] * validation_rate)
    x_train, t_train = shuffle_dataset(x_train, t_train, seed=rng)
    x_val = x_train[:validation_num, ...]  # the book's x_train[:validation_num]; the array API wants every axis named
    t_val = t_train[:validation_num]
    x_train = x_train[validation_num:, ...]
    t_train = t_train[validation_num:]

    def __train(lr, weight_decay, trial):
        network = MultiLayerNet(input_size=784, hidden_size_list=[100, 100, 100, 100, 100, 100], output_size=10,
                                weight_decay_lambda=weight_decay, backend=be, dtype=args.dtype, seed=args.seed + trial)
        trainer = Trainer(network, x_train, t_train, x_val, t_val, epochs=args.epochs, mini_batch_size=100,
                          optimizer="sgd", optimizer_param={"lr": lr}, verbose=False, seed=args.seed + trial)
        trainer.train()
        return trainer.test_acc_list, trainer.train_acc_list

    # the random search
    results_val = {}
    results_train = {}
    for trial in range(args.trials):
        # the ranges searched
        weight_decay = 10 ** rng.uniform(*args.weight_decay_exp)
        lr = 10 ** rng.uniform(*args.lr_exp)

        val_acc_list, train_acc_list = __train(lr, weight_decay, trial)
        print(f"val acc:{val_acc_list[-1]} | lr:{lr:.4g}, weight decay:{weight_decay:.4g}")
        key = f"lr:{lr:.4g}, weight decay:{weight_decay:.4g}"
        results_val[key] = val_acc_list
        results_train[key] = train_acc_list

    print("=========== Hyper-Parameter Optimization Result ===========")
    ranked = sorted(results_val.items(), key=lambda x: x[1][-1], reverse=True)
    for i, (key, val_acc_list) in enumerate(ranked):
        print(f"Best-{i + 1}(val acc:{val_acc_list[-1]}) | {key}")
    best_key, best_val = ranked[0]
    show("best val acc", best_val[-1])
    best = dict(part.split(":") for part in best_key.split(", "))
    show("best lr", float(best["lr"]))
    show("best weight decay", float(best["weight decay"]))

    if args.plot or args.show:
        plot_best(ranked[:20], results_train, args.plot, args.show)
    return 0


def plot_best(ranked, results_train, path, window):
    """The book's figure 6-24: validation (solid) and training (dashed) accuracy per epoch of the best trials, 5 to a row."""
    plt = pyplot(window)
    if plt is None:
        return
    col_num = 5
    row_num = int(np.ceil(len(ranked) / col_num))
    fig = plt.figure(figsize=(12, 2.4 * row_num))
    for i, (key, val_acc_list) in enumerate(ranked):
        ax = fig.add_subplot(row_num, col_num, i + 1)
        ax.set_title(f"Best-{i + 1}")
        ax.set_ylim(0.0, 1.0)
        if i % 5:
            ax.set_yticks([])
        ax.set_xticks([])
        x = np.arange(len(val_acc_list))
        ax.plot(x, val_acc_list)
        ax.plot(x, results_train[key], "--")
    fig.tight_layout()
    save_figure(fig, path, window)


if __name__ == "__main__":
    raise SystemExit(main())
