"""``benchmarks/bench.py``: the short run's report, the FLOP count, the references' parity with xpnet, numgrad agreement.

No test asserts on a time: the machine running the tests may be busy.
"""

from __future__ import annotations

import importlib.util
import json
import math
import pathlib
import sys
from dataclasses import replace

import numpy as np
import pytest

from xpnet import TwoLayerNet
from xpnet.datasets.mnist import load_mnist_uint8

BENCHMARKS = pathlib.Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))  # the benchmark runs as a script there; its modules import each other by name
import bench  # noqa: E402

import bench_chapters  # noqa: E402
import ch6  # noqa: E402
import ch7  # noqa: E402
from book_code import book_dir_from_env, book_module, has_book  # noqa: E402

HAS_TORCH = importlib.util.find_spec("torch") is not None
HAS_JAX = importlib.util.find_spec("jax") is not None
BOOK_DIR = book_dir_from_env()  # a checkout of the book's repository, for the references that run its code
HAS_BOOK5 = has_book(BOOK_DIR, "ch05/two_layer_net.py")
HAS_BOOK = has_book(BOOK_DIR, "ch07/simple_convnet.py")
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


# --- chapters 6 and 7 (benchmarks/bench_chapters.py) ---------------------------------------
# two steps, one evaluation, sets of one size: each JAX program is compiled once
TINY6 = ch6.Job(iters=2, eval_every=2, eval_samples=100, n_train=100, n_test=100)
TINY7 = ch7.Job(steps=2, n_train=300, book_dir=BOOK_DIR)


def _agreeing(runs, names, steps, tol):
    """The first ``steps`` losses of ``names`` within ``tol`` of each other."""
    for i in range(steps):
        values = [runs[n]["losses"][i] for n in names]
        assert max(values) - min(values) < tol, (i, dict(zip(names, values)))


def test_ch6_implementations_start_from_the_same_weights_and_batches():
    impls = ["xpnet-numpy"] + ["torch"] * HAS_TORCH + ["xpnet-jax", "jax"] * HAS_JAX
    runs = {name: ch6.child(name, TINY6) for name in impls}
    _agreeing(runs, impls, 1, 1e-5)  # the same network, weights and batch: the same first loss
    if HAS_JAX:  # the same Adam (the book's) on both of xpnet's backends: the same second loss too
        _agreeing(runs, ["xpnet-numpy", "xpnet-jax"], 2, 1e-5)
    if HAS_TORCH and HAS_JAX:  # both references run the usual Adam
        _agreeing(runs, ["torch", "jax"], 2, 1e-5)
    for name, r in runs.items():
        assert len(r["losses"]) == 2 and len(r["test_acc"]) == len(r["train_acc"]) == 1, name
        assert 0 <= r["full_test_acc"] <= 1 and r["total_time"] > 0, name


def test_ch7_implementations_start_from_the_same_weights_and_batches():
    impls = ["xpnet-numpy"] + ["torch"] * HAS_TORCH + ["book"] * HAS_BOOK + ["xpnet-jax", "jax"] * HAS_JAX
    runs = {name: ch7.child(name, TINY7) for name in impls}
    _agreeing(runs, impls, 1, 1e-5)
    assert abs(runs["xpnet-numpy"]["losses"][0] - math.log(10)) < 1e-3  # weights of std 0.01: near-uniform scores
    same_adam = ["xpnet-numpy"] + ["book"] * HAS_BOOK + ["xpnet-jax"] * HAS_JAX  # the book's Adam
    _agreeing(runs, same_adam, 2, 1e-5)
    if HAS_TORCH and HAS_JAX:
        _agreeing(runs, ["torch", "jax"], 2, 1e-5)
    for name, r in runs.items():
        assert [b[0] for b in r["blocks"]] == [2] and r["step_time"] == r["blocks"][0][1] / 2, name
    if HAS_BOOK:
        assert runs["book"]["dtype"] == "float64", "the book's code computes in float64"


def test_step_time_leaves_out_the_first_block():
    assert ch7.step_time([[100, 9.0], [100, 1.0], [100, 3.0], [50, 1.0]]) == 0.02
    assert ch7.step_time([[4, 2.0]]) == 0.5


@pytest.mark.parametrize("job", ["ch6", "ch7"])
def test_chapter_report_prints_every_implementation_and_ratio(job, tmp_path, capsys, monkeypatch):
    module = bench_chapters.JOBS[job]

    def in_process(script, args, what):  # the children's work without their start-up, and a made-up process time
        spec = json.loads(args[args.index("--spec") + 1])
        tiny = TINY6 if job == "ch6" else TINY7
        return {**module.child(what, replace(tiny, gpu=spec["gpu"])), "process_time": 1.0}

    monkeypatch.setattr(bench_chapters, "run_child", in_process)
    impls = ["xpnet-numpy"] + ["torch"] * HAS_TORCH
    path = tmp_path / "r.json"
    assert bench_chapters.main(["--job", job, "--short", "--repeats", "2", "--impl", ",".join(impls), "--json", str(path)]) == 0
    out = capsys.readouterr().out
    rep = json.loads(path.read_text())
    assert list(rep["results"]) == impls and all(len(rep["runs"][n]) == 2 for n in impls)
    assert f"benchmark {job}" in out and "first losses of the" in out
    if HAS_TORCH:
        (ratio,) = rep["ratios"]
        target = 0.6 if job == "ch6" else 2.0
        assert ratio["pair"] == "xpnet-numpy / torch" and ratio["target"] == target and f"<= {target:g}" in out
    assert rep["first_loss_spread"]["step 1"] < 1e-5


def test_chapter_child_process_prints_its_result(tmp_path, capsys):
    """One real child process: the runner's command line, result line and report, end to end."""
    path = tmp_path / "r.json"
    assert bench_chapters.main(["--job", "ch6", "--short", "--iters", "4", "--impl", "xpnet-numpy", "--json", str(path)]) == 0
    rep = json.loads(path.read_text())
    (run,) = rep["runs"]["xpnet-numpy"]
    assert run["iters"] == 4 and run["process_time"] > run["total_time"] > 0 and run["peak_rss_mb"] > 0
    assert "xpnet-numpy" in capsys.readouterr().out


@pytest.mark.parametrize(("argv", "match"), [
    (["--job", "ch6", "--impl", "book"], "unknown implementation 'book' for --job ch6"),
    (["--job", "ch7", "--gpu", "--impl", "xpnet-numpy"], "runs on the CPU only"),
    (["--job", "ch8"], "invalid choice"),
])
def test_chapter_mistakes_are_usage_errors(argv, match, capsys):
    with pytest.raises(SystemExit) as exc:
        bench_chapters.main(argv)
    assert exc.value.code == 2 and match in capsys.readouterr().err
