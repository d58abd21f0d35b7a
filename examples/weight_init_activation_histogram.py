"""Activations of five layers for different initial weight scales (book section 6.2.2, ``ch06/weight_init_activation_histogram.py``).

1,000 random inputs of 100 values pass through five layers of 100 nodes, with weights drawn
from a normal distribution of standard deviation 1, 0.01, Xavier's ``sqrt(1 / n)`` or He's
``sqrt(2 / n)`` (n = 100 inputs per node); every scale uses the same draws. For each
activation function and scale it prints two numbers per layer:

- the fraction of *saturated* outputs, where the gradient all but vanishes: sigmoid outputs
  within 0.01 of 0 or 1, tanh outputs within 0.01 of -1 or 1, and ReLU outputs below 0.01
  (zero, or so small that the layers above see nothing);
- the standard deviation of the outputs (the spread of the book's histograms).

With sigmoid, std 1 saturates about half of the outputs or more in every layer (the book's
figure 6-10); std 0.01 saturates none but squeezes every output to about 0.5 (figure 6-11:
a spread of about 0.01, little expressiveness); Xavier keeps ten times that spread in every
layer (figure 6-13). With ReLU, half the outputs are zero whatever the scale; std 0.01 drives
the rest towards 0 layer after layer (all of layer 5 is below 0.01), Xavier shrinks the
spread by about 0.7 a layer, and He keeps it (figure 6-14). ``--plot``/``--show``: the histograms, a row per scale and activation.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from _common import make_parser, parse, pyplot, save_figure, show, to_host

from xpnet.functions import relu, sigmoid

node_num = 100  # nodes in each hidden layer
hidden_layer_size = 5  # five hidden layers
SCALES = {"std=1": 1.0, "std=0.01": 0.01, "Xavier": math.sqrt(1.0 / node_num), "He": math.sqrt(2.0 / node_num)}


def saturated(xp, z, activation):
    """Fraction of the outputs ``z`` at which the activation's gradient all but vanishes."""
    if activation == "sigmoid":
        mask = (z < 0.01) | (z > 0.99)
    elif activation == "tanh":
        mask = xp.abs(z) > 0.99
    else:
        mask = z < 0.01
    return xp.mean(xp.astype(mask, z.dtype))


def main(argv: Sequence[str] | None = None) -> int:
    parser = make_parser(__doc__, plot=True)
    parser.add_argument("--activation", nargs="+", default=["sigmoid", "relu"], choices=("sigmoid", "relu", "tanh"),
                        help="activation functions to try (default: sigmoid relu; the book also suggests tanh)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the inputs and of the weights")
    args, be = parse(parser, argv)
    xp = be.xp
    functions = {"sigmoid": sigmoid, "relu": relu, "tanh": xp.tanh}

    rng = np.random.default_rng(args.seed)
    input_data = be.asarray(rng.standard_normal((1000, 100)), dtype=args.dtype)  # 1,000 inputs
    draws = [rng.standard_normal((node_num, node_num)) for _ in range(hidden_layer_size)]  # the same for every scale

    histograms = {}
    for name in args.activation:
        for init, scale in SCALES.items():
            activations = {}  # the output of each layer
            x = input_data
            for i in range(hidden_layer_size):
                if i != 0:
                    x = activations[i - 1]
                w = be.asarray(draws[i] * scale, dtype=args.dtype)
                a = xp.matmul(x, w)
                z = functions[name](a)
                activations[i] = z

            label = f"{name} {init}"
            show(f"{label} saturated per layer", xp.stack([saturated(xp, z, name) for z in activations.values()]), digits=3)
            show(f"{label} std per layer", xp.stack([xp.std(z) for z in activations.values()]), digits=3)
            histograms[label] = [to_host(z).ravel() for z in activations.values()]

    if args.plot or args.show:
        plot_histograms(histograms, args.plot, args.show)
    return 0


def plot_histograms(histograms: dict[str, list[np.ndarray]], path: str | None, window: bool) -> None:
    """The book's figures 6-10 to 6-14: a histogram of each layer's outputs (30 bins), one row per activation and scale."""
    plt = pyplot(window)
    if plt is None:
        return
    rows = len(histograms)
    fig, axes = plt.subplots(rows, hidden_layer_size, figsize=(12, 1.8 * rows), squeeze=False)
    for row, (label, layers) in enumerate(histograms.items()):
        for i, a in enumerate(layers):
            ax = axes[row, i]
            ax.hist(a, 30, range=(-1, 1) if label.startswith("tanh") else (0, 1))
            if label.startswith("relu"):
                ax.set_ylim(0, 7000)  # as the book's ReLU figures: the bar of zeros (half the outputs) runs off the top
            ax.set_title(f"{label}: {i + 1}-layer", fontsize=8)
            ax.tick_params(labelsize=6)
            if i != 0:
                ax.set_yticks([])
    fig.tight_layout()
    save_figure(fig, path, window)


if __name__ == "__main__":
    raise SystemExit(main())
