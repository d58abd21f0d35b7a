"""Training the two-layer network on MNIST (book section 5.7.4): mini-batch SGD with backpropagation.

``TwoLayerNet(784, 50, 10)`` (ReLU), batch 100, learning rate 0.1, 10,000 steps by default:
one line per epoch (600 steps) with the train and test accuracy and the mean loss of the
epoch, then the final test accuracy (the book reaches about 0.97). ``--plot`` draws the loss
curve and the train/test accuracy curves to a file, ``--show`` in a window. The book's own loop, written
out, is ``train_neuralnet.py``.
"""

from __future__ import annotations

from collections.abc import Sequence

from _common import make_parser, parse, pyplot, save_figure

import xpnet
from xpnet.datasets import load_mnist
from xpnet.io.plot import matplotlib_available, plot_history
from xpnet import train


def main(argv: Sequence[str] | None = None) -> int:
    parser = make_parser(__doc__, dtype="float32", plot=True)
    parser.add_argument("--iters", type=int, default=10_000, help="training steps (book: 10000)")
    parser.add_argument("--batch-size", type=int, default=100, help="samples per step (book: 100)")
    parser.add_argument("--lr", type=float, default=0.1, help="learning rate (book: 0.1)")
    parser.add_argument("--hidden-size", type=int, default=50, help="hidden width (book: 50)")
    parser.add_argument("--eval-every", type=int, default=None, help="steps between evaluations (default: one epoch)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the initial weights and the batches")
    args, be = parse(parser, argv)
    if (args.plot or args.show) and not matplotlib_available():  # say so now, not after a long run
        print("no plot: matplotlib is not installed (pip install matplotlib)")
        args.plot, args.show = None, False

    # uint8 pixels: the trainer keeps them on the device as they are (a quarter of float32's
    # memory) and scales each batch by 1/255, which is what load_mnist(normalize=True) does.
    (x_train, t_train), (x_test, t_test) = load_mnist(normalize=False)
    net = xpnet.TwoLayerNet(784, args.hidden_size, 10, backend=be, dtype=args.dtype, seed=args.seed)
    print(f"network: TwoLayerNet(784, {args.hidden_size}, 10), {len(x_train):,} training and {len(x_test):,} test images")

    def on_eval(record) -> None:
        epoch = record.iteration * args.batch_size / len(x_train)
        print(f"epoch {epoch:.2f} (iteration {record.iteration}): train acc {record.train_acc:.4f}, "
              f"test acc {record.test_acc:.4f}, loss {record.loss:.4f}")

    try:
        history = train(net, (x_train, t_train), (x_test, t_test), iters=args.iters, batch_size=args.batch_size,
                        lr=args.lr, seed=args.seed, eval_every=args.eval_every, on_eval=on_eval)
    except xpnet.TrainingDiverged as exc:
        print(exc)
        return 1
    print(f"final test accuracy: {history.test_acc[-1]:.4f}")
    print(f"time: {history.wall_time:.2f} s, {history.iters_per_sec:,.0f} iterations/s")
    if args.plot or args.show:
        plt = pyplot(args.show)
        fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
        plot_history(history, ax=axes, title=f"TwoLayerNet on MNIST ({be}, {args.dtype})")
        fig.tight_layout()
        save_figure(fig, args.plot, args.show)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
