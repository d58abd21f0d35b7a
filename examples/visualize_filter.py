"""The first layer's filters before and after training (book section 7.6.1, ``ch07/visualize_filter.py``).

A ``SimpleConvNet``'s 30 first-layer filters (5x5) are random at first; after training they
show regular patterns, blobs and edges that change from light to dark in one direction. The
learned parameters come from ``--params``: a file written by ``train_convnet.py --save``, or
the book's own ``ch07/params.pkl`` (read safely: only arrays, never pickled code). Printed for
both sets of filters: the standard deviation of the weights and the correlation of
neighbouring weights within a filter, which is about 0 for random noise and clearly positive
for smooth patterns (0.77 for the book's file, 0.73 after the default run of
``train_convnet.py``). ``--plot``/``--show``: both grids of filters (figure 7-24).
"""

from __future__ import annotations

from collections.abc import Sequence

from _common import add_params_flag, filter_show, load_params, make_parser, parse, show

from xpnet.nets import SimpleConvNet


def neighbour_correlation(xp, filters):
    """Correlation of horizontally and vertically adjacent weights within each filter of (FN, C, FH, FW), pooled."""
    c = filters - xp.mean(filters, axis=(2, 3), keepdims=True)
    pairs = ((c[:, :, :, :-1], c[:, :, :, 1:]), (c[:, :, :-1, :], c[:, :, 1:, :]))
    num = sum(xp.sum(a * b) for a, b in pairs)
    den = sum(xp.sqrt(xp.sum(a * a) * xp.sum(b * b)) for a, b in pairs)
    return num / den


def describe(xp, label, filters):
    """Print the shape, the spread and the smoothness of a set of filters."""
    show(f"{label} W1 shape", tuple(filters.shape))
    show(f"{label} W1 std", xp.std(filters), digits=4)
    show(f"{label} neighbour correlation", neighbour_correlation(xp, filters), digits=3)


def main(argv: Sequence[str] | None = None) -> int:
    parser = make_parser(__doc__, dtype="float32", plot=True)
    add_params_flag(parser)
    parser.add_argument("--seed", type=int, default=0, help="seed of the random initial weights")
    args, be = parse(parser, argv)
    xp = be.xp

    network = SimpleConvNet(backend=be, dtype=args.dtype, seed=args.seed)
    # the weights after random initialisation
    before = network.params["W1"]
    describe(xp, "random", before)

    # the weights after training
    if not load_params(network, args.params):
        return 1
    after = network.params["W1"]
    describe(xp, "learned", after)

    if args.plot or args.show:
        filter_show({"random initial weights": before, "learned weights": after}, args.plot, args.show)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
