"""The layered two-layer network (book section 5.7): ``Affine1 -> Relu1 -> Affine2 -> SoftmaxWithLoss``.

Prints the layers in the order ``predict`` runs them, then one forward pass on a batch of
MNIST images (random images when MNIST is not available) and one backward pass, with the
shape of each gradient: the same as its parameter's.
"""

from __future__ import annotations

from collections.abc import Sequence

from _common import make_parser, mnist_batch, parse, show

import xpnet


def main(argv: Sequence[str] | None = None) -> int:
    parser = make_parser(__doc__)
    parser.add_argument("--hidden-size", type=int, default=50, help="hidden width (book: 50)")
    parser.add_argument("--batch-size", type=int, default=100, help="images in the batch (default 100)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the initial weights")
    args, be = parse(parser, argv)
    net = xpnet.TwoLayerNet(784, args.hidden_size, 10, activation="relu", backend=be, dtype=args.dtype, seed=args.seed)
    print(f"network: {net!r}")
    for i, (name, layer) in enumerate([*net.layers.items(), ("last_layer", net.last_layer)], start=1):
        print(f"layer {i}: {name} = {layer!r}")

    x, t, source = mnist_batch(be, args.dtype, args.batch_size)
    print(f"batch: {source}")
    print(f"scores shape: {tuple(net.predict(x).shape)}")
    loss, grads = net.loss_and_gradient(x, t)
    show("loss", loss, note="about log(10) = 2.30 before training")
    for key, grad in grads.items():
        print(f"gradient {key} shape: {tuple(grad.shape)} (parameter {tuple(net.params[key].shape)})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
