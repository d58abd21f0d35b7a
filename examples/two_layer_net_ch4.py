"""A two-layer network with numerical gradients (book section 4.5): shapes, agreement, and speed.

``TwoLayerNet(784, 100, 10, activation="sigmoid")`` on a few MNIST images (random images when
MNIST is not available): the parameter shapes, how closely central differences agree with
backpropagation, and how long each takes. The element-by-element ``"loop"`` (the book's
method) runs on a small net and is estimated for the full one from the time of one loss;
``--full`` uses the book's batch of 100 and really runs the loop on the full net (minutes).
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

from _common import make_parser, mnist_batch, parse, show, to_host

import xpnet


def timed(fn, *args, warm_up: bool = False, **kwargs):
    """``fn(*args, **kwargs)`` and its wall time in seconds, counting until its arrays are on the host.

    ``warm_up`` calls it once untimed first (JAX compiles, a GPU starts up on the first call).
    """
    if warm_up:
        timed(fn, *args, **kwargs)
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    for value in result.values() if isinstance(result, dict) else (result,):
        to_host(value)  # waits for an asynchronous device (GPU, JAX) to finish
    return result, time.perf_counter() - start


def n_params(net) -> int:
    """Number of scalar parameters of ``net``."""
    return sum(math.prod(int(s) for s in value.shape) for value in net.params.values())


def compare(label: str, net, x, t, method: str) -> dict:
    """Print ``mean |numerical - backprop|`` per parameter; return the timings."""
    xp = net.backend.xp
    backprop, t_bp = timed(net.gradient, x, t, warm_up=True)
    numerical, t_num = timed(net.numerical_gradient, x, t, method=method)
    for key in backprop:
        show(f"{label} {key} mean |numerical - backprop|", xp.mean(xp.abs(numerical[key] - backprop[key])), digits=3)
    return {method: t_num, "backprop": t_bp}


def main(argv: Sequence[str] | None = None) -> int:
    parser = make_parser(__doc__)
    parser.add_argument("--hidden-size", type=int, default=100, help="hidden width of the full net (book: 100)")
    parser.add_argument("--small-hidden-size", type=int, default=5, help="hidden width of the small net the loop runs on")
    parser.add_argument("--batch-size", type=int, default=3, help="images in the batch (book: 100; default 3)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the initial weights")
    parser.add_argument("--full", action="store_true", help="the book's batch of 100, and the loop on the full net")
    args, be = parse(parser, argv)
    batch = 100 if args.full else args.batch_size
    kw = dict(activation="sigmoid", backend=be, dtype=args.dtype, seed=args.seed)
    net = xpnet.TwoLayerNet(784, args.hidden_size, 10, **kw)
    small = xpnet.TwoLayerNet(784, args.small_hidden_size, 10, **kw)
    for key, value in net.params.items():
        print(f"{key} shape: {tuple(value.shape)}")
    x, t, source = mnist_batch(be, args.dtype, batch)
    print(f"batch: {source}")
    show("loss", net.loss(x, t), note="about log(10) = 2.30 before training")

    full_name = f"full net 784-{args.hidden_size}-10"
    times = {f"small net 784-{args.small_hidden_size}-10": compare("small", small, x, t, "loop")}
    times[full_name] = compare("full", net, x, t, "loop" if args.full else "batched")
    if not args.full:
        t_loss = min(timed(net.loss, x, t, warm_up=True)[1] for _ in range(5))  # least noisy of a few
        times[full_name]["loop (estimated)"] = 2 * n_params(net) * t_loss  # two losses per parameter
    for (name, row), model in zip(times.items(), (small, net)):
        cells = ", ".join(f"{method} {seconds:.4g} s" for method, seconds in row.items())
        print(f"timing {name} ({n_params(model):,} params): {cells}")
    slowest = max(v for k, v in times[full_name].items() if k != "backprop")
    print(f"backprop is about {slowest / times[full_name]['backprop']:,.0f} times faster than the loop on the full net")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
