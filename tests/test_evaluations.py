"""Evaluation points measured on a background thread: same records, same order, errors surface."""

import threading
import time

import numpy as np
import pytest
from conftest import blobs

from xpnet import TwoLayerNet
from xpnet.training.evaluations import Evaluations
from xpnet.training import Trainer


def _data(n=500):
    return blobs(n, n_test=150, spread=40.0)


def _trainer(eval_async, **kw):
    train_data, test_data = _data()
    net = TwoLayerNet(12, 6, 3, 0.1, seed=0)
    return Trainer(net, train_data, test_data, batch_size=10, lr=0.5, seed=3, eval_every=20, eval_async=eval_async, **kw)


def test_background_evaluation_records_what_inline_evaluation_records():
    runs = []
    for eval_async in (True, False):
        trainer, records = _trainer(eval_async), []
        h = trainer.run(230, on_eval=records.append)
        assert h.config["eval_async"] is eval_async
        runs.append((h, records, trainer.network.params["W1"].copy()))
    (ha, ra, wa), (hs, rs, ws) = runs
    assert ha.eval_iters == hs.eval_iters == [*range(20, 230, 20), 230]
    assert ha.train_acc == hs.train_acc and ha.test_acc == hs.test_acc
    assert ra == rs  # the same EvalRecords, in the same order
    assert [r.iteration for r in ra] == ha.eval_iters
    np.testing.assert_array_equal(wa, ws)
    assert ha.train_acc[-1] > ha.train_acc[0]  # the accuracies changed, so equality means something
    assert ha.elapsed > 0 and ha.wall_time == ha.elapsed


def test_background_evaluation_with_a_validation_split_keeps_the_best_parameters():
    results = []
    for eval_async in (True, False):
        trainer = _trainer(eval_async, val_split=0.2)
        h = trainer.run(200)
        results.append((h.val_acc, h.best_iter, trainer.network.params["W2"].copy()))
    assert results[0][0] == results[1][0] and results[0][1] == results[1][1]
    np.testing.assert_array_equal(results[0][2], results[1][2])


def test_an_interrupted_run_delivers_every_evaluation_it_started():
    trainer = _trainer(True)
    h = trainer.run(500, on_progress=lambda it, loss: trainer.request_stop() if it >= 60 else None)
    assert h.stop_reason == "interrupted" and h.iterations == 60
    assert h.eval_iters == [20, 40, 60] and len(h.train_acc) == len(h.test_acc) == 3


def test_an_error_on_the_worker_surfaces_in_run():
    trainer = _trainer(True)

    def broken(data, network=None):
        raise MemoryError("evaluation ran out of memory")

    trainer.accuracy = broken
    with pytest.raises(MemoryError, match="evaluation ran out of memory"):
        trainer.run(100)


def test_eval_async_refuses_runs_it_cannot_serve(backend):
    train_data, _ = _data(n=50)
    with pytest.raises(ValueError, match="eval_async needs .*patience"):
        Trainer(TwoLayerNet(12, 3, 3, seed=0), train_data, val_split=0.2, patience=2, eval_async=True)
    net = TwoLayerNet(12, 3, 3, backend=backend, seed=0)
    if backend.name in ("numpy", "jax"):  # NumPy, and JAX's compiled evaluation
        assert Trainer(net, train_data, eval_async=True).eval_async is True
        if backend.name == "jax":
            with pytest.raises(ValueError, match="eval_async needs .*compiled"):
                Trainer(net, train_data, eval_async=True, compiled=False)
    else:
        with pytest.raises(ValueError, match=f"eval_async needs .*on {backend.name}"):
            Trainer(net, train_data, eval_async=True)
        assert Trainer(net, train_data).eval_async is False  # the default picks inline evaluation


def test_evaluations_come_back_in_order_and_keep_bounds_what_is_in_flight():
    gate = threading.Event()

    def measure(params, background):
        assert background
        if params["n"] == 1:
            gate.wait(5)
        return float(params["n"]), None, None, 0.0

    evals = Evaluations(measure, background=True)
    try:
        evals.submit(1, {"n": 1})
        evals.submit(2, {"n": 2})
        time.sleep(0.05)
        assert evals.ready() == []  # the second is done, but the first is not: nothing out of order
        gate.set()
        out = evals.ready(keep=0)
        assert [(done, result[0]) for done, _, result in out] == [(1, 1.0), (2, 2.0)]
    finally:
        evals.close()


def test_inline_evaluations_run_at_submission():
    calls = []
    evals = Evaluations(lambda params, background: calls.append(background) or (0.5, None, None, 0.0), background=False)
    evals.submit(7, {})
    assert calls == [False] and [done for done, _, _ in evals.ready()] == [7]
