"""SGD, Momentum, AdaGrad and Adam training the same network on MNIST (book section 6.1.8, ``ch06/optimizer_compare_mnist.py``).

Four copies of ``MultiLayerNet(784, [100, 100, 100, 100], 10)`` (ReLU, He's initial weights, the
same seed for all four) see the same mini-batches of 128 images, each updated by its own
optimizer with the book's default learning rates (SGD 0.01, Momentum 0.01, AdaGrad 0.01,
Adam 0.001). Every 100 iterations the latest losses are printed, as in the book; at the end
each optimizer's final loss after the book's ``smooth_curve``. SGD is the slowest by far
(0.48 after 300 iterations at the defaults, against 0.20 for Momentum, 0.14 for Adam and 0.07
for AdaGrad). The default is 300 iterations;
``--iters 2000`` is the book's run. ``--plot``/``--show``: the smoothed loss curves (figure 6-9).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from _common import batch_of, make_parser, mnist_on, one_thread, parse, show_smoothed_losses

from xpnet.nets import MultiLayerNet
from xpnet.optim import SGD, AdaGrad, Adam, Momentum


def main(argv: Sequence[str] | None = None) -> int:
    parser = make_parser(__doc__, dtype="float32", plot=True)
    parser.add_argument("--iters", type=int, default=300, help="training steps (book: 2000)")
    parser.add_argument("--batch-size", type=int, default=128, help="samples per step (book: 128)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the initial weights (the same for all four) and of the batches")
    args, be = parse(parser, argv)

    # 0: MNIST, moved to the backend's device once
    (x_train, t_train), _ = mnist_on(be, args.dtype)
    train_size = x_train.shape[0]
    batch_size = args.batch_size
    max_iterations = args.iters
    rng = np.random.default_rng(args.seed)  # the book draws with np.random.choice

    # 1: the experiment
    optimizers = {"SGD": SGD(), "Momentum": Momentum(), "AdaGrad": AdaGrad(), "Adam": Adam()}
    networks = {}
    train_loss = {}
    for key in optimizers:
        networks[key] = MultiLayerNet(input_size=784, hidden_size_list=[100, 100, 100, 100], output_size=10,
                                      backend=be, dtype=args.dtype, seed=args.seed)
        train_loss[key] = []

    # 2: training (one BLAS thread: see _common.one_thread)
    with one_thread():
        for i in range(max_iterations):
            batch_mask = rng.choice(train_size, batch_size)
            x_batch, t_batch = batch_of(be, batch_mask, x_train, t_train)

            for key in optimizers:
                grads = networks[key].gradient(x_batch, t_batch)
                optimizers[key].update(networks[key].params, grads)

                loss = networks[key].loss(x_batch, t_batch)
                train_loss[key].append(loss)  # a 0-d array on the device: nothing waits for it here

            if i % 100 == 0:
                print(f"iteration {i}: " + ", ".join(f"{key} {float(train_loss[key][-1]):.4f}" for key in optimizers))

    # 3: the smoothed curves, as in the book's figure
    show_smoothed_losses(train_loss, args, ylim=(0, 1), styles={"SGD": "o-", "Momentum": "x-", "AdaGrad": "s-", "Adam": "D-"})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
