"""Overfitting 300 training images, and Dropout against it (book section 6.4.3, ``ch06/overfit_dropout.py``).

``MultiLayerNetExtend(784, [100] * 6, 10)`` learns only the first 300 MNIST training images
through the book's ``Trainer`` (SGD, lr 0.01, batches of 100), once without Dropout and once
with the book's ``dropout_ratio = 0.2`` (the same initial weights and batches). It prints the
training and test accuracy of each epoch as the book's ``Trainer`` does, then, for each run,
the final accuracies and the gap between them: Dropout narrows the gap, and slows learning
too (after the default 50 epochs, 0.87 / 0.59 without Dropout against 0.23 / 0.16 with it; after
the book's 301, 1.0 / 0.71 against 0.65 / 0.48). The defaults are 50 epochs and 1,000 test
images; ``--epochs 301 --test-size 10000`` is the book's run (figure 6-23). ``--plot``/
``--show``: the four accuracy curves.
"""

from __future__ import annotations

from collections.abc import Sequence

from _common import make_parser, mnist_on, parse, plot_curves, show_gap

from xpnet.nets import MultiLayerNetExtend
from xpnet.trainer import Trainer


def main(argv: Sequence[str] | None = None) -> int:
    parser = make_parser(__doc__, dtype="float32", plot=True)
    parser.add_argument("--dropout-ratio", type=float, default=0.2, help="the regularised run's ratio (book: 0.2)")
    parser.add_argument("--epochs", type=int, default=50, help="epochs of 300 images (book: 301)")
    parser.add_argument("--train-size", type=int, default=300, help="training images (book: 300)")
    parser.add_argument("--test-size", type=int, default=1000, help="test images measured each epoch (book: all 10000)")
    parser.add_argument("--lr", type=float, default=0.01, help="SGD's learning rate (book: 0.01)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the initial weights, the Dropout masks and the batches")
    args, be = parse(parser, argv)

    # too few training images, to reproduce overfitting
    (x_train, t_train), (x_test, t_test) = mnist_on(be, args.dtype, train_size=args.train_size, test_size=args.test_size)

    curves = {}
    for use_dropout in (False, True):  # the book runs one; set use_dropout = False for the other
        dropout_ratio = args.dropout_ratio
        label = f"dropout {dropout_ratio:g}" if use_dropout else "no dropout"
        print(f"=== {label} ===")
        network = MultiLayerNetExtend(input_size=784, hidden_size_list=[100, 100, 100, 100, 100, 100], output_size=10,
                                      use_dropout=use_dropout, dropout_ration=dropout_ratio,
                                      backend=be, dtype=args.dtype, seed=args.seed)
        trainer = Trainer(network, x_train, t_train, x_test, t_test, epochs=args.epochs, mini_batch_size=100,
                          optimizer="sgd", optimizer_param={"lr": args.lr}, verbose=False, seed=args.seed)
        trainer.train()

        train_acc_list, test_acc_list = trainer.train_acc_list, trainer.test_acc_list
        for epoch, (train_acc, test_acc) in enumerate(zip(train_acc_list, test_acc_list), start=1):
            print(f"=== epoch:{epoch}, train acc:{train_acc}, test acc:{test_acc} ===")  # the book's verbose lines
        show_gap(label, train_acc_list, test_acc_list)
        curves[f"train ({label})"], curves[f"test ({label})"] = train_acc_list, test_acc_list

    if args.plot or args.show:
        styles = dict(zip(curves, ("o--", "s--", "o-", "s-")))
        plot_curves(curves, args.plot, args.show, xlabel="epochs", ylabel="accuracy", ylim=(0, 1.0), styles=styles)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
