"""The book's training script (section 5.7.4, ``ch05/train_neuralnet.py``) written against xpnet, on any backend.

The loop is the book's, line for line: draw a mini-batch, ``grad = network.gradient(x_batch,
t_batch)``, ``network.params[key] -= learning_rate * grad[key]`` for every key, record the
loss, and once per epoch print ``train acc, test acc | ...``. Only the imports, the move of the
data to the chosen backend and device, and the gather of the batch rows (``xp.take``, which
every array library has) differ. ``xpnet.train`` runs the same loop, faster; this script shows
it. ``--plot``/``--show``: the accuracy curves (the book's figure 4-12).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from _common import make_parser, parse, pyplot, save_figure

from xpnet import TwoLayerNet, load_mnist


def main(argv: Sequence[str] | None = None) -> int:
    parser = make_parser(__doc__, dtype="float32", plot=True)
    parser.add_argument("--iters", type=int, default=10_000, help="training steps (book: 10000)")
    parser.add_argument("--batch-size", type=int, default=100, help="samples per step (book: 100)")
    parser.add_argument("--lr", type=float, default=0.1, help="learning rate (book: 0.1)")
    parser.add_argument("--hidden-size", type=int, default=50, help="hidden width (book: 50)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the initial weights and of the batch draws")
    args, be = parse(parser, argv)
    xp = be.xp

    # Load the data (the book's call), then move it to the backend's device once.
    (x_train, t_train), (x_test, t_test) = load_mnist(normalize=True, one_hot_label=True)
    x_train, t_train, x_test, t_test = (be.asarray(a, args.dtype) for a in (x_train, t_train, x_test, t_test))

    network = TwoLayerNet(input_size=784, hidden_size=args.hidden_size, output_size=10,
                          backend=be, dtype=args.dtype, seed=args.seed)

    iters_num = args.iters
    train_size = x_train.shape[0]
    batch_size = args.batch_size
    learning_rate = args.lr
    rng = np.random.default_rng(args.seed)  # the book draws with np.random.choice

    train_loss_list = []
    train_acc_list = []
    test_acc_list = []

    iter_per_epoch = max(train_size / batch_size, 1)

    for i in range(iters_num):
        batch_mask = xp.asarray(rng.choice(train_size, batch_size), device=be.device)
        x_batch = xp.take(x_train, batch_mask, axis=0)  # the book: x_train[batch_mask]
        t_batch = xp.take(t_train, batch_mask, axis=0)

        # the gradient (network.numerical_gradient(x_batch, t_batch) gives the same, far more slowly)
        grad = network.gradient(x_batch, t_batch)

        # the update
        for key in ("W1", "b1", "W2", "b2"):
            network.params[key] -= learning_rate * grad[key]

        loss = network.loss(x_batch, t_batch)
        train_loss_list.append(loss)  # a 0-d array on the device: nothing waits for it here

        if i % iter_per_epoch == 0:
            train_acc = network.accuracy(x_train, t_train)
            test_acc = network.accuracy(x_test, t_test)
            train_acc_list.append(train_acc)
            test_acc_list.append(test_acc)
            print("train acc, test acc | " + str(train_acc) + ", " + str(test_acc))

    recent = train_loss_list[-100:]
    print(f"mean loss of the last {len(recent)} iterations: {float(xp.mean(xp.stack(recent))):.4f}")
    if args.plot or args.show:
        plot_accuracy(train_acc_list, test_acc_list, args.plot, args.show)
    return 0


def plot_accuracy(train_acc_list: list[float], test_acc_list: list[float], path: str | None, window: bool) -> None:
    """The book's figure 4-12: train and test accuracy per epoch."""
    plt = pyplot(window)
    if plt is None:
        return
    fig, ax = plt.subplots()
    x = np.arange(len(train_acc_list))
    ax.plot(x, train_acc_list, label="train acc")
    ax.plot(x, test_acc_list, label="test acc", linestyle="--")
    ax.set_xlabel("epochs")
    ax.set_ylabel("accuracy")
    ax.set_ylim(0, 1.0)
    ax.legend(loc="lower right")
    save_figure(fig, path, window)


if __name__ == "__main__":
    raise SystemExit(main())
