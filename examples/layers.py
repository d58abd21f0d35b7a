"""Activation and affine layers (book sections 5.5-5.6): forward and backward of each layer.

ReLU passes the gradient only where its input was positive (its ``mask`` marks the rest);
Sigmoid's backward is ``dout * y * (1 - y)``; Affine's bias gradient sums ``dY`` over the
batch; SoftmaxWithLoss's gradient is ``y - t``: large when the prediction is far off,
small when it is nearly right.
"""

from __future__ import annotations

from collections.abc import Sequence

from _common import make_parser, parse, show

from xpnet import Affine, Relu, Sigmoid, SoftmaxWithLoss


def relu_demo(be, dtype) -> None:
    """The book's ReLU example: the mask and a backward of ones."""
    x = be.asarray([[1.0, -0.5], [-2.0, 3.0]], dtype=dtype)
    relu = Relu()
    show("Relu forward", relu.forward(x))
    show("Relu mask", relu.mask, note="book: [[False, True], [True, False]]")
    show("Relu backward of ones", relu.backward(be.xp.ones_like(x)), note="the gradient stops where x <= 0")


def sigmoid_demo(be, dtype) -> None:
    """Sigmoid at -1, 0, 1 and its backward of ones, y * (1 - y)."""
    sigmoid = Sigmoid()
    x = be.asarray([-1.0, 0.0, 1.0], dtype=dtype)
    show("Sigmoid forward", sigmoid.forward(x))
    show("Sigmoid backward of ones", sigmoid.backward(be.xp.ones_like(x)), note="y * (1 - y), 0.25 at 0")


def affine_demo(be, dtype) -> None:
    """A batch of two through an Affine layer; the bias gradient is the column sum of dY."""
    affine = Affine(be.xp.zeros((2, 3), dtype=be.dtype(dtype), device=be.device), be.asarray([1.0, 2.0, 3.0], dtype=dtype))
    x = be.asarray([[0.0, 0.0], [10.0, 10.0]], dtype=dtype)
    show("Affine forward (X @ W + B)", affine.forward(x), note="B is added to every row")
    affine.backward(be.asarray([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], dtype=dtype))
    show("Affine db for dY = [[1, 2, 3], [4, 5, 6]]", affine.db, note="book: [5, 7, 9]")


def softmax_with_loss_demo(be, dtype) -> None:
    """Gradients ``y - t`` for a poor prediction and for a good one (target class 1)."""
    xp = be.xp
    t = be.asarray([0.0, 1.0, 0.0], dtype=dtype)
    for name, probs, book in (("poor", [0.3, 0.2, 0.5], "[0.3, -0.8, 0.5]"), ("good", [0.01, 0.99, 0.0], "[0.01, -0.01, 0]")):
        y = be.asarray(probs, dtype=dtype)
        # Scores whose softmax is y: log y, with log 0 taken as -1000 (its exp underflows to exactly 0).
        scores = xp.where(y > 0, xp.log(xp.where(y > 0, y, 1.0)), -1000.0)
        layer = SoftmaxWithLoss()
        show(f"SoftmaxWithLoss loss, {name} prediction", layer.forward(scores, t))
        show(f"SoftmaxWithLoss y - t, {name} prediction", layer.backward(1), digits=6, note=f"book: {book}")
    print("a large error sends a large gradient back to the layers before; a small error, a small one")


def main(argv: Sequence[str] | None = None) -> int:
    args, be = parse(make_parser(__doc__), argv)
    relu_demo(be, args.dtype)
    sigmoid_demo(be, args.dtype)
    affine_demo(be, args.dtype)
    softmax_with_loss_demo(be, args.dtype)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
