"""Initial weights of std 0.01, Xavier and He, training the same network on MNIST (book section 6.2.4, ``ch06/weight_init_compare.py``).

Three copies of ``MultiLayerNet(784, [100, 100, 100, 100], 10)`` (ReLU) differ only in their
initial weights: a standard deviation of 0.01, Xavier's ``sqrt(1 / n)`` (``weight_init_std=
"sigmoid"``) or He's ``sqrt(2 / n)`` (``"relu"``), n a layer's inputs. They see the same
mini-batches of 128 images and are updated by SGD (lr 0.01). Every 100 iterations the latest
losses are printed, as in the book; at the end each one's final loss after ``smooth_curve``.
With std 0.01 the signal dies out in the deep layers and the loss stays at about log 10 =
2.30; He learns fastest, Xavier follows. The default is 300 iterations; ``--iters 2000`` is the
book's run. ``--plot``/``--show``: the smoothed loss curves (figure 6-15).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from _common import batch_of, make_parser, mnist_on, one_thread, parse, show_smoothed_losses

from xpnet.nets import MultiLayerNet
from xpnet.optim import SGD


def main(argv: Sequence[str] | None = None) -> int:
    parser = make_parser(__doc__, dtype="float32", plot=True)
    parser.add_argument("--iters", type=int, default=300, help="training steps (book: 2000)")
    parser.add_argument("--batch-size", type=int, default=128, help="samples per step (book: 128)")
    parser.add_argument("--lr", type=float, default=0.01, help="SGD's learning rate (book: 0.01)")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the initial weights (the same draws for all three) and of the batches")
    args, be = parse(parser, argv)

    # 0: MNIST, moved to the backend's device once
    (x_train, t_train), _ = mnist_on(be, args.dtype)
    train_size = x_train.shape[0]
    batch_size = args.batch_size
    max_iterations = args.iters
    rng = np.random.default_rng(args.seed)  # the book draws with np.random.choice

    # 1: the experiment
    weight_init_types = {"std=0.01": 0.01, "Xavier": "sigmoid", "He": "relu"}
    optimizer = SGD(lr=args.lr)

    networks = {}
    train_loss = {}
    for key, weight_type in weight_init_types.items():
        networks[key] = MultiLayerNet(input_size=784, hidden_size_list=[100, 100, 100, 100], output_size=10,
                                      weight_init_std=weight_type, backend=be, dtype=args.dtype, seed=args.seed)
        train_loss[key] = []

    # 2: training (one BLAS thread: see _common.one_thread)
    with one_thread():
        for i in range(max_iterations):
            batch_mask = rng.choice(train_size, batch_size)
            x_batch, t_batch = batch_of(be, batch_mask, x_train, t_train)

            for key in weight_init_types:
                grads = networks[key].gradient(x_batch, t_batch)
                optimizer.update(networks[key].params, grads)

                loss = networks[key].loss(x_batch, t_batch)
                train_loss[key].append(loss)  # a 0-d array on the device: nothing waits for it here

            if i % 100 == 0:
                print(f"iteration {i}: " + ", ".join(f"{key} {float(train_loss[key][-1]):.4f}" for key in weight_init_types))

    # 3: the smoothed curves, as in the book's figure
    show_smoothed_losses(train_loss, args, ylim=(0, 2.5), styles={"std=0.01": "o-", "Xavier": "s-", "He": "D-"})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
