"""Resume is the same run, and signals stop it cleanly: SIGTERM/SIGHUP save like Ctrl-C; the printed hint continues it.

A checkpoint records the run (backend, device, dtype, iterations, settings, seed, data set);
``--resume`` continues it by default, accepts only the changes that keep it the same run, and
refuses the others naming the field, the recorded value and the new one.
"""

from __future__ import annotations

import importlib.util
import json
import re
import shlex
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from _files import env, one_line_error, rewrite_meta, train_command, write_mnist_dir, xpnet_command
from conftest import to_np

import xpnet
from xpnet.cli import main
from xpnet.errors import CheckpointError
from xpnet.io.checkpoint import load_checkpoint

HAS_JAX = importlib.util.find_spec("jax") is not None


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    return write_mnist_dir(tmp_path_factory.mktemp("data"))


def _train(*argv: str) -> int:
    return main(["train", "--quiet", *argv])


@pytest.fixture(scope="module")
def run(tmp_path_factory, data) -> Path:
    """A checkpoint after 60 of 120 iterations on the small data set, on array_api_strict."""
    path = tmp_path_factory.mktemp("run") / "run.npz"
    assert _train("--data-dir", str(data), "--backend", "array_api_strict", "--iters", "60", "--eval-every", "30",
                  "--seed", "4", "--lr", "0.2", "--save", str(path)) == 0
    ckpt = load_checkpoint(path)
    ckpt.meta["run"]["iters"] = 120  # as if it had been asked for 120 and stopped at 60
    xpnet.io.checkpoint.save(ckpt.network, path, history=ckpt.history, trainer_state=ckpt.trainer_state, run=ckpt.meta["run"])
    return path


def test_the_checkpoint_records_the_run(run, data):
    record = load_checkpoint(run).run
    assert record["backend"] == "array_api_strict" and record["device"] is None and record["dtype"] == "float32"
    assert (record["seed"], record["lr"], record["batch_size"], record["eval_every"]) == (4, 0.2, 100, 30)
    assert record["data"]["dir"] == str(data.resolve()) and record["data"]["train_size"] == 600
    assert len(record["data"]["train_sha256"]) == 64


def test_resume_without_options_continues_the_recorded_run(run, tmp_path, capsys):
    out = tmp_path / "out.npz"
    assert _train("--resume", str(run), "--save", str(out)) == 0
    ckpt = load_checkpoint(out)
    assert ckpt.history.iterations == 120 and ckpt.network.backend.name == "array_api_strict"
    assert "array_api_strict" in capsys.readouterr().out


def _as_version_1(meta: dict) -> None:
    """The layout of version 1: the history in the metadata and a second copy in the trainer state."""
    assert meta["version"] == 3 and "history" not in meta["trainer_state"]
    meta["version"] = 1
    meta["trainer_state"]["history"] = meta["history"]


def test_the_history_is_stored_once(run):
    with np.load(run) as z:
        meta = json.loads(z["meta"].item())
    assert meta["version"] == 3 and len(meta["history"]["train_loss"]) == 60
    assert "history" not in meta["trainer_state"] and "history" not in json.dumps(meta["trainer_state"])
    assert load_checkpoint(run).trainer_state["history"]["train_loss"] == meta["history"]["train_loss"]


def test_a_version_1_checkpoint_resumes_bit_identically(run, tmp_path):
    old = rewrite_meta(run, tmp_path / "v1.npz", _as_version_1)
    ckpt = load_checkpoint(old)
    assert ckpt.meta["version"] == 1 and ckpt.trainer_state["history"] == ckpt.meta["history"]
    assert _train("--resume", str(old), "--save", str(tmp_path / "from-v1.npz")) == 0
    assert _train("--resume", str(run), "--save", str(tmp_path / "from-v2.npz")) == 0
    a, b = load_checkpoint(tmp_path / "from-v1.npz"), load_checkpoint(tmp_path / "from-v2.npz")
    assert a.meta["version"] == 3 and a.history.iterations == 120 and a.history.train_loss == b.history.train_loss
    for key in a.network.params:
        np.testing.assert_array_equal(to_np(a.network.params[key]), to_np(b.network.params[key]))


def test_a_trainer_state_without_its_history_is_refused(run, tmp_path):
    def drop(meta: dict) -> None:
        meta["history"] = None

    with pytest.raises(CheckpointError, match=r"corrupt checkpoint metadata: metadata\.trainer_state needs metadata\.history"):
        load_checkpoint(rewrite_meta(run, tmp_path / "no-history.npz", drop))


# --------------------------------------------------------------------------- --resume without --save: the same file
def test_resume_without_save_continues_in_its_own_file(run, tmp_path, capsys):
    path = shutil.copy(run, tmp_path / "net.npz")
    assert main(["train", "--resume", str(path), "--iters", "90"]) == 0
    header = capsys.readouterr().out.splitlines()[0]
    assert header.startswith("training ") and f"; saved back to {path} (--save PATH writes elsewhere)" in header
    assert load_checkpoint(path).history.iterations == 90
    assert _train("--resume", str(run), "--iters", "90", "--save", str(tmp_path / "elsewhere.npz")) == 0
    a, b = load_checkpoint(path), load_checkpoint(tmp_path / "elsewhere.npz")
    assert a.history.train_loss == b.history.train_loss
    for key in a.network.params:
        np.testing.assert_array_equal(to_np(a.network.params[key]), to_np(b.network.params[key]))


def test_resume_with_save_elsewhere_leaves_the_resumed_file_alone(run, tmp_path):
    before = run.read_bytes()
    assert _train("--resume", str(run), "--iters", "70", "--save", str(tmp_path / "other.npz")) == 0
    assert run.read_bytes() == before and load_checkpoint(tmp_path / "other.npz").history.iterations == 70


def test_resume_without_save_keeps_the_file_on_divergence(run, tmp_path, capsys):
    def explode(meta: dict) -> None:
        meta["run"]["lr"] = 1e30

    path = rewrite_meta(run, tmp_path / "net.npz", explode)
    before = path.read_bytes()
    assert _train("--resume", str(path), "--iters", "120") == 1
    assert f"{path} was not overwritten" in one_line_error(capsys.readouterr().err)
    assert path.read_bytes() == before


def test_resume_without_save_to_a_file_that_cannot_be_written_is_refused_before_training(run, tmp_path, capsys, monkeypatch):
    from xpnet.cli import outputs
    from xpnet._files.atomic import OutputError

    def read_only(path):  # as on a read-only file system (a test run as root writes through permissions)
        raise OutputError(f"{path}: cannot create files in {Path(path).parent}: Read-only file system")

    monkeypatch.setattr(outputs, "check_output", read_only)
    path = shutil.copy(run, tmp_path / "net.npz")
    before = path.read_bytes()
    assert _train("--resume", str(path), "--iters", "90") == 2
    err = one_line_error(capsys.readouterr().err)
    assert f"--resume {path}: cannot create files in {tmp_path}: Read-only file system; without --save" in err
    assert "pass --save PATH" in err and path.read_bytes() == before


def test_a_resumed_summary_times_this_process_and_the_history_keeps_the_totals(run, tmp_path, capsys):
    """The first part is recorded as 1000 s of training and 500 s of evaluation: none of it is this process's."""
    def slow_first_part(meta: dict) -> None:
        meta["history"].update(train_time=1000.0, eval_time=500.0, elapsed=1600.0)

    path = rewrite_meta(run, tmp_path / "net.npz", slow_first_part)
    assert _train("--resume", str(path), "--iters", "120") == 0
    summary = capsys.readouterr().out.splitlines()[0]
    found = re.search(r"after 120 iterations \| iterations 61-120 in this process: ([\d.]+) s in all \(training ([\d.]+) s "
                      r"at (\d+) it/s, evaluation ([\d.]+) s", summary)
    assert found, summary
    total, training, rate, evaluation = (float(g) for g in found.groups())
    assert training <= total and evaluation <= total and training + evaluation < 100
    assert rate > 0
    history = load_checkpoint(path).history
    assert history.train_time > 1000 and history.eval_time > 500 and history.elapsed > 1600


REFUSED = [
    ("--lr", "0.5", "lr", "0.2"),
    ("--batch-size", "50", "batch_size", "100"),
    ("--seed", "5", "seed", "4"),
    ("--dtype", "float64", "dtype", "float32"),
    ("--hidden-size", "20", "hidden_size", "50"),
    ("--activation", "sigmoid", "activation", "relu"),
    ("--weight-init-std", "0.1", "weight_init_std", "0.01"),
    ("--eval-every", "10", "eval_every", "30"),
    ("--val-split", "0.1", "val_split", "0.0"),
    ("--gradient", "numerical", "gradient", "backprop"),
]


@pytest.mark.parametrize(("option", "new", "field", "old"), REFUSED, ids=[r[0] for r in REFUSED])
def test_a_setting_that_would_change_the_run_is_refused_naming_field_old_and_new(run, capsys, option, new, field, old):
    assert _train("--resume", str(run), option, new) == 2
    err = one_line_error(capsys.readouterr().err)
    assert f"{option} {new} differs from the run's {field} {old}" in err


def test_iters_below_the_iterations_done_is_refused(run, capsys):
    assert _train("--resume", str(run), "--iters", "50") == 2
    assert "--iters 50 is below the 60 iterations" in one_line_error(capsys.readouterr().err)


@pytest.mark.parametrize(("backend", "device"), [("numpy", None), ("array_api_strict", "device1"), ("torch", "cpu")])
def test_backend_and_device_may_change_and_the_result_is_the_same(run, tmp_path, backend, device):
    if backend == "torch" and importlib.util.find_spec("torch") is None:
        pytest.skip("torch: not installed")
    reference, moved = tmp_path / "ref.npz", tmp_path / "moved.npz"
    assert _train("--resume", str(run), "--save", str(reference)) == 0
    argv = ["--backend", backend] + (["--device", device] if device else [])
    assert _train("--resume", str(run), "--save", str(moved), *argv) == 0
    a, b = xpnet.load(reference, backend="numpy"), xpnet.load(moved, backend="numpy")
    assert load_checkpoint(moved).run["backend"] == backend
    for key in a.params:  # float32 on other libraries: the same steps, rounding apart
        np.testing.assert_allclose(to_np(b.params[key]), to_np(a.params[key]), rtol=1e-4, atol=1e-5)


def test_a_moved_data_directory_with_the_same_content_is_accepted(run, data, tmp_path):
    moved = tmp_path / "moved"
    shutil.copytree(data, moved)
    assert _train("--resume", str(run), "--data-dir", str(moved), "--iters", "70") == 0


@pytest.mark.parametrize(("change", "field"), [("other images", "train_sha256"), ("fewer images", "train_size"),
                                               ("embedded MNIST", "train_size")])
def test_other_data_is_refused_naming_the_field(run, tmp_path, capsys, change, field):
    if change == "embedded MNIST":
        argv = []
        record = load_checkpoint(run)
        record.meta["run"]["data"]["dir"] = None  # recorded as the embedded set, yet with the small set's sizes
        path = tmp_path / "r.npz"
        xpnet.io.checkpoint.save(record.network, path, history=record.history, trainer_state=record.trainer_state,
                                 run=record.meta["run"])
    else:
        other = write_mnist_dir(tmp_path / "other", 600 if change == "other images" else 500, 200, offset=1000)
        argv, path = ["--data-dir", str(other)], run
    assert _train("--resume", str(path), *argv) == 2
    err = one_line_error(capsys.readouterr().err)
    assert f"the data set differs from the run's: {field} was" in err


def test_a_vanished_data_directory_is_named(tmp_path, capsys):
    data = write_mnist_dir(tmp_path / "gone", 100, 50)
    ckpt = tmp_path / "c.npz"
    assert _train("--data-dir", str(data), "--iters", "5", "--save", str(ckpt)) == 0
    capsys.readouterr()
    shutil.rmtree(data)
    assert _train("--resume", str(ckpt), "--iters", "10") == 2
    err = one_line_error(capsys.readouterr().err)
    assert "the run's data set cannot be read" in err and "gone" in err and "--data-dir" in err


def test_a_checkpoint_without_a_run_record_is_refused(tmp_path, capsys):
    path = tmp_path / "api.npz"
    xpnet.save(xpnet.TwoLayerNet(784, 50, 10, seed=0), path)
    assert _train("--resume", str(path)) == 2
    assert "holds no run to continue" in one_line_error(capsys.readouterr().err)


@pytest.mark.skipif(not HAS_JAX, reason="jax: not installed")
def test_a_float64_run_resumes_on_jax(data, tmp_path):
    """In a fresh process (this one has JAX's 64-bit mode on already), the command switches it on from the checkpoint."""
    ckpt = tmp_path / "f64.npz"
    assert _train("--data-dir", str(data), "--iters", "20", "--dtype", "float64", "--save", str(ckpt)) == 0
    resumed = subprocess.run(xpnet_command("train", "--quiet", "--resume", str(ckpt), "--backend", "jax", "--iters", "30",
                                           "--save", str(ckpt)), capture_output=True, text=True, env=env(), timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert load_checkpoint(ckpt).history.iterations == 30


# --------------------------------------------------------------------------- signals and the printed hint
def _start(*argv: str, cwd: Path, ignored: str = "") -> subprocess.Popen:
    return subprocess.Popen(train_command(*argv, ignored=ignored), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env(), cwd=cwd)


def _stop_after_first_epoch(proc: subprocess.Popen, signum: int) -> tuple[str, str]:
    """Send ``signum`` once the first evaluation line is out; return (stdout, stderr)."""
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if line.startswith("epoch"):
            proc.send_signal(signum)
            break
    out, err = proc.communicate(timeout=300)
    return "".join(lines) + out, err


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_a_termination_signal_stops_after_the_step_saves_and_exits_128_plus_n(data, tmp_path, signum):
    proc = _start("--data-dir", str(data), "--iters", "100000", "--eval-every", "50", "--save", "net.npz", cwd=tmp_path)
    out, err = _stop_after_first_epoch(proc, signum)
    assert proc.returncode == 128 + signum, err
    line = one_line_error(err)
    assert f"interrupted by {signal.Signals(signum).name} at iteration" in line and "resume with: xpnet train" in line
    ckpt = load_checkpoint(tmp_path / "net.npz")
    assert ckpt.history.stop_reason == "interrupted" and 50 <= ckpt.history.iterations < 100000


def test_a_signal_saves_a_resumed_run_back_to_its_own_file_without_save(run, tmp_path):
    shutil.copy(run, tmp_path / "net.npz")
    proc = _start("--resume", "net.npz", "--iters", "100000", cwd=tmp_path)
    _, err = _stop_after_first_epoch(proc, signal.SIGTERM)
    assert proc.returncode == 128 + signal.SIGTERM, err
    line = one_line_error(err)
    assert "wrote checkpoint net.npz" in line and line.endswith("resume with: xpnet train --resume net.npz")
    ckpt = load_checkpoint(tmp_path / "net.npz")
    assert ckpt.history.stop_reason == "interrupted" and 90 <= ckpt.history.iterations < 100000


def test_the_printed_resume_hint_continues_to_the_uninterrupted_result(data, tmp_path):
    """Interrupted with SIGTERM, resumed with exactly the printed command: the same parameters as one run."""
    argv = ["--data-dir", str(data), "--backend", "array_api_strict", "--iters", "600", "--eval-every", "50", "--seed", "11"]
    proc = _start(*argv, "--save", "net.npz", "--history", "h.json", cwd=tmp_path)
    _, err = _stop_after_first_epoch(proc, signal.SIGTERM)
    assert proc.returncode == 128 + signal.SIGTERM, err
    stopped_at = load_checkpoint(tmp_path / "net.npz").history.iterations
    assert stopped_at < 600, "the run ended before the signal: nothing was resumed"
    hint = one_line_error(err).split("resume with: ")[1]
    command = shlex.split(hint)
    assert command[:2] == ["xpnet", "train"]
    resumed = subprocess.run(xpnet_command(*command[1:]), capture_output=True, text=True, env=env(), cwd=tmp_path, timeout=600)
    assert resumed.returncode == 0, resumed.stderr
    whole = subprocess.run(xpnet_command("train", *argv, "--save", "whole.npz", "--quiet"), capture_output=True, text=True,
                           env=env(), cwd=tmp_path, timeout=600)
    assert whole.returncode == 0, whole.stderr
    a, b = load_checkpoint(tmp_path / "net.npz"), load_checkpoint(tmp_path / "whole.npz")
    assert a.history.iterations == b.history.iterations == 600 and a.network.backend.name == "array_api_strict"
    for key in a.network.params:
        np.testing.assert_array_equal(to_np(a.network.params[key]), to_np(b.network.params[key]))
    assert a.history.train_loss == b.history.train_loss


def test_a_signal_ignored_at_start_stays_ignored(data, tmp_path):
    """Under ``nohup`` SIGHUP is ignored: it must not stop the run; SIGTERM still does."""
    proc = _start("--data-dir", str(data), "--iters", "100000", "--eval-every", "50", "--save", "net.npz", cwd=tmp_path,
                  ignored="SIGHUP")
    lines = 0
    for line in proc.stdout:
        lines += line.startswith("epoch")
        if lines == 1:
            proc.send_signal(signal.SIGHUP)
        if lines == 3:  # two more evaluations after the hangup: still running
            proc.send_signal(signal.SIGTERM)
            break
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert "interrupted by SIGTERM" in one_line_error(err)
