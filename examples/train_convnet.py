"""Training the book's ``SimpleConvNet`` on MNIST (book section 7.5, ``ch07/train_convnet.py``).

``SimpleConvNet`` (conv 30 filters 5x5 - ReLU - 2x2 max pooling - Affine 100 - ReLU - Affine 10)
trains through the book's ``Trainer`` with Adam (lr 0.001) on batches of 100 images of shape
(1, 28, 28), measuring the training and test accuracy on 1,000 images of each set once per
epoch. By default it learns a subset, as the book's commented-out line suggests (5,000
training and 1,000 test images, 4 epochs: 200 iterations, 0.91 on the test images);
``--full`` is the book's run (all 60,000 and 10,000 images, 20 epochs: 12,000 iterations; the
book reports about 0.99). ``--save PATH`` writes the learned parameters (``.npz``, the book's ``save_params``), which
``visualize_filter.py`` and ``apply_filter.py`` read with ``--params PATH``. ``--plot``/
``--show``: the accuracy curves (figure 7-23 of the book's run).
"""

from __future__ import annotations

from collections.abc import Sequence

from _common import make_parser, mnist_on, parse, plot_curves, show

from xpnet.nets import SimpleConvNet
from xpnet.trainer import Trainer


def main(argv: Sequence[str] | None = None) -> int:
    parser = make_parser(__doc__, dtype="float32", plot=True)
    parser.add_argument("--full", action="store_true", help="the book's run: every image, 20 epochs")
    parser.add_argument("--epochs", type=int, default=None, help="epochs (default 4; with --full 20, the book's)")
    parser.add_argument("--train-size", type=int, default=5000, help="training images without --full (default 5000)")
    parser.add_argument("--test-size", type=int, default=1000, help="test images without --full (default 1000)")
    parser.add_argument("--batch-size", type=int, default=100, help="samples per step (book: 100)")
    parser.add_argument("--save", metavar="PATH", default=None, help="write the learned parameters to PATH (.npz)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the initial weights and of the batches")
    args, be = parse(parser, argv)

    # the data, as images of shape (1, 28, 28); without --full a subset, to save time
    sizes = {} if args.full else {"train_size": args.train_size, "test_size": args.test_size}
    (x_train, t_train), (x_test, t_test) = mnist_on(be, args.dtype, flatten=False, **sizes)
    max_epochs = args.epochs or (20 if args.full else 4)

    network = SimpleConvNet(input_dim=(1, 28, 28),
                            conv_param={"filter_num": 30, "filter_size": 5, "pad": 0, "stride": 1},
                            hidden_size=100, output_size=10, weight_init_std=0.01,
                            backend=be, dtype=args.dtype, seed=args.seed)
    print(f"network: {network}; {x_train.shape[0]:,} training and {x_test.shape[0]:,} test images")

    trainer = Trainer(network, x_train, t_train, x_test, t_test, epochs=max_epochs, mini_batch_size=args.batch_size,
                      optimizer="Adam", optimizer_param={"lr": 0.001}, evaluate_sample_num_per_epoch=1000,
                      verbose=False, seed=args.seed)
    trainer.train()
    for epoch, (train_acc, test_acc) in enumerate(zip(trainer.train_acc_list, trainer.test_acc_list), start=1):
        print(f"epoch {epoch}: train acc {train_acc:.4f}, test acc {test_acc:.4f}")
    history = trainer.history
    show("final train acc", history.full_train_acc if history.full_train_acc is not None else trainer.train_acc_list[-1])
    show("final test acc", history.final_test_acc)
    print(f"time: {history.wall_time:.1f} s, {trainer.max_iter} iterations")

    # save the parameters
    if args.save:
        network.save_params(args.save)
        print(f"Saved Network Parameters to {args.save}")

    if args.plot or args.show:
        curves = {"train": trainer.train_acc_list, "test": trainer.test_acc_list}
        plot_curves(curves, args.plot, args.show, xlabel="epochs", ylabel="accuracy", ylim=(0, 1.0), markevery=2,
                    styles={"train": "o-", "test": "s-"})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
