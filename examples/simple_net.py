"""A gradient for a neural network (book section 4.4.2): the book's 2x3 ``simpleNet`` with fixed weights.

Prediction, its argmax, the cross-entropy loss for target class 2, and ``dL/dW`` by central
differences. The book's printed loss and ``dW`` are those of the exact cross-entropy; its
``cross_entropy_error`` (and so ``SimpleNet.loss``) adds ``delta = 1e-7`` inside the log, which
lowers the loss by about ``1e-7 / y[2] = 2.5e-7``. Both are shown. The loss is evaluated with the perturbed ``W`` substituted (``f`` uses its
argument), so the numerical gradient needs no in-place writes and runs on any backend.
"""

from __future__ import annotations

from collections.abc import Sequence

from _common import make_parser, parse, show

import xpnet

W = [[0.47355232, 0.9977393, 0.84668094], [0.85557411, 0.03563661, 0.69422093]]  # the book's random draw
X = [0.6, 0.9]
T = [0, 0, 1]
BOOK_DW = "[[0.21924763, 0.14356247, -0.36281009], [0.32887144, 0.2153437, -0.54421514]]"


def main(argv: Sequence[str] | None = None) -> int:
    args, be = parse(make_parser(__doc__), argv)
    net = xpnet.SimpleNet(W=be.asarray(W, dtype=args.dtype))
    x, t = be.asarray(X, dtype=args.dtype), be.asarray(T, dtype=args.dtype)

    p = net.predict(x)
    show("predict(x)", p, note="book: [1.05414809, 0.63071653, 1.1328074]")
    show("argmax", be.xp.argmax(p), note="book: 2")
    xp = be.xp

    def exact_loss(w):
        """Cross-entropy without the book's delta: ``-sum(t * log_softmax(x @ w))``."""
        return -xp.sum(t * xpnet.log_softmax(net.predict(x, W=w)))

    show("loss, exact", exact_loss(net.W), note="book: 0.92806853663411326")
    show("loss, SimpleNet.loss", net.loss(x, t), note="with delta = 1e-7 inside the log: 2.5e-7 lower")
    show("dW, exact", xpnet.numerical_gradient(exact_loss, net.W), note=f"book: {BOOK_DW}")
    show("dW, SimpleNet.numerical_gradient", net.numerical_gradient(x, t), note="with delta: about 2.5e-7 relative lower")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
