"""Gradient check (book section 5.7.3): backpropagation against numerical gradients on 3 MNIST images.

Prints, per parameter, the mean absolute difference of the two gradients next to the book's.
The book's figures (b2 up to 1.4e-7) are larger because its loss adds ``delta = 1e-7`` inside
the log, which the central difference sees but its backward pass ignores; xpnet's
SoftmaxWithLoss computes the exact loss through log-softmax, so the differences left are the
central difference's own error (~1e-10 or smaller). Exits with 1 if any exceeds 1e-7.
"""

from __future__ import annotations

from collections.abc import Sequence

from _common import make_parser, mnist_batch, parse

import xpnet

BOOK = {"W1": 4e-10, "b1": 2.5e-9, "W2": 5.5e-9, "b2": 1.4e-7}
TOLERANCE = 1e-7


def main(argv: Sequence[str] | None = None) -> int:
    parser = make_parser(__doc__)
    parser.add_argument("--batch-size", type=int, default=3, help="images to check on (book: 3)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the initial weights")
    args, be = parse(parser, argv)
    net = xpnet.TwoLayerNet(784, 50, 10, backend=be, dtype=args.dtype, seed=args.seed)
    x, t, source = mnist_batch(be, args.dtype, args.batch_size)
    print(f"batch: {source}")

    result = xpnet.gradient_check(net, x, t)
    for key, diff in result.mean_abs_diff.items():
        print(f"{key} mean |backprop - numerical|: {diff:.3g}  # book: {BOOK[key]:.2g}")
    print("the book's loss is -log(y + 1e-7): its central difference sees that delta, its backprop y - t does not (b2 most)")
    print("xpnet's SoftmaxWithLoss is exact (log-softmax): what is left is the central difference's own error")
    worst = result.worst()
    ok = worst <= TOLERANCE
    print(f"gradient check {'passed' if ok else 'FAILED'}: largest difference {worst:.3g} (tolerance {TOLERANCE:g})")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
