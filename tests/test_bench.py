"""``benchmarks/bench.py``: the short run's report, the FLOP count, the references' parity with xpnet, numgrad agreement.

No test asserts on a time: the machine running the tests may be busy.
"""

from __future__ import annotations

import importlib.util
import json
import math
import pathlib
import sys

import numpy as np
import pytest

from xpnet import TwoLayerNet
from xpnet.datasets.mnist import load_mnist_uint8

BENCHMARKS = pathlib.Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))  # the benchmark runs as a script there; its modules import each other by name
import bench  # noqa: E402

from book_code import book_dir_from_env, book_module, has_book  # noqa: E402

HAS_TORCH = importlib.util.find_spec("torch") is not None
HAS_JAX = importlib.util.find_spec("jax") is not None
BOOK_DIR = book_dir_from_env()  # a checkout of the book's repository, for the references that run its code
HAS_BOOK5 = has_book(BOOK_DIR, "ch05/two_layer_net.py")
needs_refs = pytest.mark.skipif(not (BENCHMARKS / "book_numpy.py").is_file(), reason="no benchmarks/ folder")
needs_book = pytest.mark.skipif(not HAS_BOOK5, reason="no checkout of the book's repository ($DLFS_BOOK_DIR)")


@needs_refs
def test_short_bench_reports_every_implementation(tmp_path, capsys):
    impls = ["xpnet"] + ["book", "book-dtype"] * HAS_BOOK5 + ["torch"] * HAS_TORCH + ["jax"] * HAS_JAX
    path = tmp_path / "b.json"
    assert bench.main(["--short", "--impl", ",".join(impls), "--json", str(path)]) == 0
    out = capsys.readouterr().out
    rep = json.loads(path.read_text())
    assert list(rep["results"]) == impls
    for name in impls:
        res = rep["results"][name]
        for key in ("median_time", "min_time", "train_time", "eval_time", "iters_per_sec", "test_acc", "test_acc_min", "peak_rss_mb"):
            assert res[key] > 0, (name, key)
        assert len(res["runs"]) == 2
        for run in res["runs"]:
            assert run["iters"] == 300 and run["evals"] == 3
            assert abs(run["first_loss"] - math.log(10)) < 0.05, f"{name} does not start from the book's near-uniform scores"
        assert res["test_acc_min"] > 0.5, f"{name} did not learn in 300 steps"
        assert res["dtype"] == ("float64" if name == "book" else "float32"), "the book's own code computes in float64"
        assert res["process_time"] > res["median_time"], "a process takes longer than the job inside it"
        assert (res["compile_time"] > 0) == (name == "jax"), "only the JAX reference compiles (xpnet runs NumPy here)"
        assert name in out
    for other in impls[1:]:
        ratio = rep["ratios"][f"xpnet/{other}"]
        assert set(ratio) == {"total", "total_round_median", "train", "eval", "process"}
        assert all(v > 0 for v in ratio.values())
    assert rep["flops"]["train"] == 300 * (4 * 100 * 784 * 50 + 6 * 100 * 50 * 10)
    assert rep["flops"]["total"] == rep["flops"]["train"] + rep["flops"]["eval"]
    assert rep["xpnet_gflops"]["train"] > 0 and 0 < rep["floor"]["train_step_s"]
    assert set(rep["floor_fraction"]) == {"train", "eval", "job"}
    assert "wall_time" in rep["cli"] or "skipped" in rep["cli"]
    if "wall_time" in rep["cli"]:
        assert len(rep["cli"]["times"]) == 2 and set(rep["cli"]["vs_process"]) == set(impls)


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        ([], ["xpnet", "book", "book-dtype", "torch"]),
        (["--backend", "jax"], ["xpnet", "torch", "jax"]),
        (["--backend", "jax", "--impl", "xpnet,xpnet-eager,jax"], ["xpnet", "xpnet-eager", "jax"]),
        (["--dtype", "float64"], ["xpnet", "book", "torch"]),
    ],
)
def test_default_implementations_follow_the_backend(argv, expected):
    notes = []
    args = bench._parser().parse_args(argv)
    chosen = bench._select(args, bench._parser(), notes)
    has = {"torch": HAS_TORCH, "jax": HAS_JAX, "book": HAS_BOOK5, "book-dtype": HAS_BOOK5}
    available = [name for name in expected if has.get(name, True)]
    assert chosen == available


def test_flop_count_of_the_book_job():
    job = bench.Job()
    assert job.evals == 17
    per_step = 4 * 100 * 784 * 50 + 6 * 100 * 50 * 10
    f = bench.flops(job)
    assert f["train"] == 10_000 * per_step
    assert f["eval"] == 17 * 70_000 * 2 * (784 * 50 + 50 * 10)
    # the book also computes dx of the first layer and a second forward pass for its loss log
    assert bench.flops(job, "book")["train"] == 10_000 * (8 * 100 * 784 * 50 + 8 * 100 * 50 * 10)


@needs_book
def test_book_reference_and_xpnet_define_the_same_job():
    book = bench._load_reference("book")
    (x, t), _ = load_mnist_uint8()
    x, t = x[:100], t[:100]
    net = TwoLayerNet(784, 50, 10, dtype="float64", seed=3)
    ref = book.book_network(BOOK_DIR, 784, 50, 10)
    assert type(ref).__module__ == book_module(BOOK_DIR, "ch05/two_layer_net.py").__name__  # the book's own class
    for key in ref.params:  # the book's layers share these arrays
        ref.params[key][...] = np.asarray(net.params[key])
    xb, tb = book.prepare(x, t)
    assert (xb.dtype, tb.dtype) == (np.float32, np.float64)  # the book's load_mnist and one-hot labels
    xb, tb = book.prepare(x, t, np.float64)
    assert xb.shape == (100, 784) and tb.shape == (100, 10) and 0 <= xb.min() and xb.max() <= 1
    # the book's loss adds delta = 1e-7 inside the log: about 1e-6 apart at the start
    np.testing.assert_allclose(ref.loss(xb, tb), float(net.loss(xb, t)), rtol=1e-6)
    expected = net.gradient(xb, t)
    for key, grad in ref.gradient(xb, tb).items():
        np.testing.assert_allclose(grad, np.asarray(expected[key]), rtol=1e-10, atol=1e-14, err_msg=key)
    assert ref.accuracy(xb, tb) == net.accuracy(xb, t)


def test_numgrad_batched_and_loop_agree(tmp_path, capsys):
    path = tmp_path / "n.json"
    assert bench.main(["--numgrad", "--short", "--json", str(path)]) == 0
    rep = json.loads(path.read_text())["numgrad"]
    assert rep["agree"] and rep["max_diff_loop_batched"] <= 1e-9
    assert rep["max_diff_backprop_batched"] < 1e-6
    assert rep["params"] == 784 * 50 + 50 + 50 * 10 + 10
    assert "loop vs batched" in capsys.readouterr().out


def test_unknown_implementation_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exc:
        bench.main(["--impl", "xpnet,tensorflow"])
    assert exc.value.code == 2
    assert "tensorflow" in capsys.readouterr().err

