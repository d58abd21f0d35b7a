"""The training loop: learning, determinism, resume, early stopping, divergence, the book's full run."""

import secrets

import numpy as np
import pytest
from conftest import blobs, to_np

from xpnet import TrainingDiverged, TwoLayerNet
from xpnet.training import Trainer, train


def _blobs(n=600, d=12, k=3, seed=0):
    return blobs(n, d, k, seed=seed)


def test_training_learns_on_every_backend(backend):
    train_data, test_data = _blobs()
    net = TwoLayerNet(12, 8, 3, 0.1, backend=backend, dtype="float32", seed=0)
    h = train(net, train_data, test_data, iters=120, batch_size=20, lr=0.5, seed=1)
    assert h.iterations == 120 and len(h.train_loss) == 120
    assert h.eval_iters == [30, 60, 90, 120]  # one epoch = 600 // 20 steps
    assert len(h.train_acc) == len(h.test_acc) == 4
    assert np.mean(h.train_loss[-20:]) < 0.5 * np.mean(h.train_loss[:5])
    assert h.test_acc[-1] > 0.9
    assert h.stop_reason == "completed" and h.train_time > 0 and h.iters_per_sec > 0
    assert all(v.dtype == backend.xp.float32 for v in net.params.values())


def test_same_seed_same_run_and_float_input_equals_uint8():
    train_data, test_data = _blobs()
    runs = []
    for x_tr in (train_data[0], train_data[0] / 255.0, train_data[0]):
        net = TwoLayerNet(12, 8, 3, 0.1, dtype="float64", seed=0)
        h = train(net, (x_tr, train_data[1]), test_data, iters=60, batch_size=20, lr=0.5, seed=4)
        runs.append((h.train_loss, to_np(net.params["W1"])))
    assert runs[0][0] == runs[2][0]  # bit-identical losses for the same seed
    np.testing.assert_array_equal(runs[0][1], runs[2][1])
    np.testing.assert_allclose(runs[0][0], runs[1][0], rtol=1e-10)  # uint8/255 on the device == float input


def test_one_hot_labels_are_accepted():
    (x, t), test_data = _blobs()
    net = TwoLayerNet(12, 8, 3, 0.1, seed=0)
    h = train(net, (x, np.eye(3)[t]), test_data, iters=30, batch_size=20, lr=0.5, seed=1)
    assert h.iterations == 30


@pytest.mark.parametrize("stops", [(47,), (100,), (37, 150), (100, 200, 201)], ids=str)
def test_resume_equals_uninterrupted_run(stops):
    """Stopping inside a block of batch draws, at its edge, or several times, resumes bit-identically."""
    train_data, test_data = _blobs()
    full_net = TwoLayerNet(12, 8, 3, 0.1, seed=0)
    full = Trainer(full_net, train_data, test_data, batch_size=20, lr=0.5, seed=9)
    full.run(250)
    net = TwoLayerNet(12, 8, 3, 0.1, seed=0)
    state = None
    for stop in (*stops, 250):
        net = TwoLayerNet(12, 8, 3, params={k: to_np(v) for k, v in net.params.items()})
        trainer = Trainer(net, train_data, test_data, batch_size=20, lr=0.5, seed=9)
        if state is not None:
            trainer.load_state(state)
        trainer.run(stop)
        assert trainer.history.iterations == stop
        state = trainer.state()
    assert trainer.history.train_loss == full.history.train_loss
    for key in full_net.params:
        np.testing.assert_array_equal(to_np(net.params[key]), to_np(full_net.params[key]))


def test_request_stop_interrupts_cleanly():
    train_data, test_data = _blobs()
    net = TwoLayerNet(12, 8, 3, 0.1, seed=0)
    trainer = Trainer(net, train_data, test_data, batch_size=20, lr=0.5, seed=1)
    h = trainer.run(1000, on_progress=lambda done, loss: trainer.request_stop())
    assert h.stop_reason == "interrupted"
    assert h.iterations == 30  # the first report comes at the first evaluation (epoch of 30 steps)
    assert all(np.isfinite(to_np(v)).all() for v in net.params.values())


def test_divergence_stops_with_a_clear_error_and_keeps_good_parameters():
    train_data, test_data = _blobs()
    net = TwoLayerNet(12, 8, 3, 0.1, seed=0)
    trainer = Trainer(net, train_data, test_data, batch_size=20, lr=1e300, seed=1)
    with pytest.raises(TrainingDiverged, match=r"iteration \d+; likely cause: the learning rate .*smaller learning rate"):
        trainer.run(200)
    assert trainer.history.stop_reason == "diverged"
    assert all(np.isfinite(to_np(v)).all() for v in net.params.values())


def test_early_stopping_restores_the_best_parameters():
    train_data, test_data = _blobs()
    net = TwoLayerNet(12, 8, 3, 0.1, seed=0)
    trainer = Trainer(net, train_data, test_data, batch_size=20, lr=0.5, seed=1, val_split=0.2, patience=2, eval_every=5)
    h = trainer.run(2000)
    assert h.stop_reason == "early_stopping"
    assert h.iterations < 2000
    assert len(h.val_acc) == len(h.eval_iters)
    best = int(np.argmax(h.val_acc))
    assert h.best_iter == h.eval_iters[best]
    assert trainer.accuracy(trainer.val) == pytest.approx(h.val_acc[best])
    assert trainer.train_set.n == 480 and trainer.val.n == 120


def test_numerical_gradient_training_for_tiny_nets():
    train_data, test_data = _blobs(d=4, n=200)
    net = TwoLayerNet(4, 3, 3, 0.1, seed=0)
    h = train(net, train_data, test_data, iters=10, batch_size=10, lr=0.5, seed=1, gradient="numerical")
    assert h.iterations == 10 and all(np.isfinite(h.train_loss))


@pytest.mark.parametrize(
    ("kwargs", "data_fn", "match"),
    [
        ({}, lambda d: ((d[0][0][:10], d[0][1]), d[1]), "10 training images but 600 training labels"),
        ({}, lambda d: ((d[0][0], d[0][1] + 5), d[1]), r"labels must lie in 0\.\.2"),
        ({}, lambda d: ((d[0][0][:, :5], d[0][1]), d[1]), r"shape \(N, 12\)"),
        ({}, lambda d: ((d[0][0], d[0][1].astype(float)), d[1]), "training labels must be integer class indices, got dtype float64"),
        ({"batch_size": 0}, lambda d: d, "batch_size must be a positive int"),
        ({"val_split": 1.0}, lambda d: d, "val_split must be in"),
        ({"patience": 3}, lambda d: d, "patience needs"),
        ({"gradient": "magic"}, lambda d: d, "gradient must be"),
    ],
)
def test_bad_training_input(kwargs, data_fn, match):
    train_data, test_data = data_fn(_blobs())
    with pytest.raises((ValueError, TypeError), match=match):
        Trainer(TwoLayerNet(12, 8, 3, seed=0), train_data, test_data, **kwargs)


@pytest.mark.slow
def test_book_run_reaches_965_percent_for_any_seed():
    """The book's chapter-5 run: 784-50-10 ReLU, lr 0.1, batch 100, 10,000 iterations, NumPy float32."""
    from xpnet.datasets import load_mnist_uint8

    seed = secrets.randbelow(2**31)
    (x, t), (xt, tt) = load_mnist_uint8()
    net = TwoLayerNet(784, 50, 10, dtype="float32", seed=seed)
    h = train(net, (x, t), (xt, tt), iters=10_000, seed=seed)
    print(f"seed {seed}: test accuracy {h.final_test_acc:.4f}, train {h.train_acc[-1]:.4f}, {h.wall_time:.1f} s")
    assert len(h.eval_iters) == 17
    assert h.final_test_acc >= 0.965, f"seed {seed}: test accuracy {h.final_test_acc}"


def test_progress_by_time_reports_a_slow_run_at_every_step():
    """With progress_seconds, a report comes once that much time has passed, not only every 100 steps."""
    train_data, test_data = _blobs()
    net = TwoLayerNet(12, 8, 3, 0.1, seed=0)
    calls = []
    Trainer(net, train_data, test_data, batch_size=20, lr=0.5, seed=1).run(
        12, on_progress=lambda done, loss: calls.append(done), progress_seconds=0.0)
    assert calls == list(range(1, 13))
    calls.clear()
    Trainer(TwoLayerNet(12, 8, 3, 0.1, seed=0), train_data, test_data, batch_size=20, lr=0.5, seed=1,
            eval_async=False).run(12, on_progress=lambda done, loss: calls.append(done))
    assert calls == [12]  # without it: flush points only (here the last step, an evaluation point)


def test_background_evaluations_are_reported_once_finished():
    import threading

    from xpnet.training.evaluations import Evaluations

    gate = threading.Event()
    evals = Evaluations(lambda params, background: (gate.wait(5), 0.5, None, None, 0.0)[1:], background=True)
    try:
        evals.submit(10, {})
        assert not evals.finished()
        gate.set()
        for _ in range(500):
            if evals.finished():
                break
            threading.Event().wait(0.01)
        assert evals.finished()
        assert [done for done, _, _ in evals.ready()] == [10]
        assert not evals.finished()
    finally:
        gate.set()
        evals.close()


def test_a_loss_that_grows_past_its_start_is_reported():
    train_data, test_data = _blobs()
    net = TwoLayerNet(12, 8, 3, 0.1, seed=0)
    h = train(net, train_data, test_data, iters=20, batch_size=20, lr=1e4, seed=1, eval_every=1000)
    grew = [note for note in h.notes if "loss grew" in note]
    assert len(grew) == 1 and "learning rate (10000.0) is probably too large" in grew[0]
    assert h.stop_reason == "completed"
    fine = train(TwoLayerNet(12, 8, 3, 0.1, seed=0), train_data, test_data, iters=120, batch_size=20, lr=0.5, seed=1)
    assert fine.notes == []


def test_not_learning_is_checked_from_the_first_evaluation_point():
    train_data, test_data = _blobs()
    net = TwoLayerNet(12, 8, 3, 0.1, seed=0)
    h = train(net, train_data, test_data, iters=10, batch_size=20, lr=1e-9, seed=1)  # before a whole epoch (30 steps)
    assert h.eval_iters == [10]
    assert any("not learning" in note for note in h.notes)


def _early_stopper(**kw):
    train_data, test_data = _blobs()
    net = TwoLayerNet(12, 8, 3, 0.1, seed=0)
    return Trainer(net, train_data, test_data, batch_size=20, lr=0.5, seed=1, val_split=0.2, eval_every=5, **kw)


def test_early_stopping_restores_the_parameters_of_best_iter_bit_for_bit():
    trainer = _early_stopper(patience=2)
    h = trainer.run(2000)
    assert h.stop_reason == "early_stopping" and h.best_iter < h.iterations  # restoring changes something
    again = _early_stopper()  # the same run, stopped at the best point
    again.run(h.best_iter)
    for key, value in again.network.params.items():
        np.testing.assert_array_equal(trainer.network.params[key], value, err_msg=key)


def test_a_resumed_run_still_restores_the_best_parameters():
    whole = _early_stopper(patience=2)
    h = whole.run(2000)
    first = _early_stopper(patience=2)
    first.run(h.best_iter + 5)  # past the best point, before the stop
    state = first.state()
    assert state["best"]["iteration"] == h.best_iter and set(state["best"]["params"]) == {"W1", "b1", "W2", "b2"}
    train_data, test_data = _blobs()
    net = TwoLayerNet(12, 8, 3, 0.1, params={k: np.array(v) for k, v in first.network.params.items()})
    resumed = Trainer(net, train_data, test_data, batch_size=20, lr=0.5, seed=1, val_split=0.2, eval_every=5, patience=2)
    resumed.load_state({**state, "best": {**state["best"], "params": {k: np.array(v) for k, v in state["best"]["params"].items()}}})
    assert resumed.run(2000).best_iter == h.best_iter
    for key, value in whole.network.params.items():
        np.testing.assert_array_equal(net.params[key], value, err_msg=key)


def test_the_history_test_accuracy_is_counted_on_the_test_set():
    """An independent count with the final parameters, in NumPy: evaluating another set would not match."""
    from conftest import blobs

    (x, t), (xt, tt) = blobs(spread=90.0)  # overlapping classes: neither set is classified perfectly
    net = TwoLayerNet(12, 8, 3, 0.1, seed=0)
    h = Trainer(net, (x, t), (xt, tt), batch_size=20, lr=0.5, seed=1, eval_every=50, eval_async=False).run(100)
    p = {k: np.asarray(v) for k, v in net.params.items()}
    scores = np.maximum(xt / 255.0 @ p["W1"] + p["b1"], 0) @ p["W2"] + p["b2"]
    assert h.test_acc[-1] == np.count_nonzero(np.argmax(scores, axis=1) == tt) / len(tt)
    train_scores = np.maximum(x / 255.0 @ p["W1"] + p["b1"], 0) @ p["W2"] + p["b2"]
    assert h.train_acc[-1] == np.count_nonzero(np.argmax(train_scores, axis=1) == t) / len(t)
    assert h.test_acc[-1] != h.train_acc[-1]  # the two sets differ here, so a swap would show


def test_a_best_point_without_parameters_from_a_version_2_checkpoint_resumes():
    """Version 2 kept only the best point's accuracy and iteration: the resumed parameters stand in for its parameters."""
    first = _early_stopper(patience=2)
    first.run(20)
    state = first.state()
    del state["best"]["params"], state["best"]["buffers"]
    again = _early_stopper(patience=2)
    again.load_state(state)
    assert again._best[:2] == (state["best"]["val_acc"], state["best"]["iteration"])
    for key, value in again._best[2][0].items():
        np.testing.assert_array_equal(value, again.network.params[key], err_msg=key)
