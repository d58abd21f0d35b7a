"""Learned filters applied to an image (book section 7.6.1, ``ch07/apply_filter.py``).

The book convolves a photograph with each of the first 16 learned filters of its
``SimpleConvNet``; xpnet ships no photograph, so this convolves an MNIST test digit (``--index``,
default 0: a 7). As in the book, each filter ``w`` (1, 5, 5) becomes a layer ``Convolution(w,
b)`` with ``b = 0`` whose output (1, 1, 24, 24) is the filter's response: large where the image
has the filter's pattern (an edge of one direction, a blob). Printed for each filter: the
output's shape and its minimum, mean and maximum; then the largest difference from the
network's own ``Conv1`` layer without its bias (the same computation, 30 filters at once).
The learned parameters come from ``--params``, as for ``visualize_filter.py``.
``--plot``/``--show``: the 16 filters and their 16 responses.
"""

from __future__ import annotations

from collections.abc import Sequence

from _common import add_params_flag, filter_show, load_params, make_parser, mnist_on, parse, show

from xpnet.layers import Convolution
from xpnet.nets import SimpleConvNet


def main(argv: Sequence[str] | None = None) -> int:
    parser = make_parser(__doc__, dtype="float32", plot=True)
    add_params_flag(parser)
    parser.add_argument("--index", type=int, default=0, help="which MNIST test image (default 0)")
    parser.add_argument("--filters", type=int, default=16, help="how many filters to apply (book: 16)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the network's initial weights (replaced by --params)")
    args, be = parse(parser, argv)
    xp = be.xp

    network = SimpleConvNet(input_dim=(1, 28, 28),
                            conv_param={"filter_num": 30, "filter_size": 5, "pad": 0, "stride": 1},
                            hidden_size=100, output_size=10, weight_init_std=0.01,
                            backend=be, dtype=args.dtype, seed=args.seed)
    # the learned weights
    if not load_params(network, args.params):
        return 1

    _, (x_test, t_test) = mnist_on(be, args.dtype, flatten=False, test_size=args.index + 1)
    img = x_test[args.index:args.index + 1, ...]  # (1, 1, 28, 28), as the book's img.reshape(1, 1, *img.shape)
    print(f"image: MNIST test image {args.index} (a {int(t_test[args.index])}), shape {tuple(img.shape)}")

    outputs = []
    for i in range(args.filters):
        w = network.params["W1"][i]
        b = 0  # network.params['b1'][i]

        w = xp.reshape(w, (1, *w.shape))
        conv_layer = Convolution(w, b)
        out = conv_layer.forward(img)
        show(f"filter {i} output shape", tuple(out.shape))
        out = xp.reshape(out, (out.shape[2], out.shape[3]))
        show(f"filter {i} output min, mean, max", xp.stack([xp.min(out), xp.mean(out), xp.max(out)]), digits=4)
        outputs.append(out)

    # the same responses from the network's own first layer, minus its bias
    conv1 = network.layers["Conv1"].forward(img)[0, :args.filters, ...] - xp.reshape(network.params["b1"][:args.filters], (-1, 1, 1))
    show("max |difference from Conv1 without bias|", xp.max(xp.abs(xp.stack(outputs) - conv1)), digits=3)

    if args.plot or args.show:
        responses = xp.reshape(xp.stack(outputs), (len(outputs), 1, *outputs[0].shape))
        filter_show({"filters": network.params["W1"][:args.filters], "responses": responses}, args.plot, args.show, nx=4)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
