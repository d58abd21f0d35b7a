"""The ``xpnet`` command end to end: train with every output, resume, Ctrl-C, gradcheck, info, mistakes."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import to_np

import xpnet
from xpnet.cli import main

ROOT = Path(__file__).resolve().parents[1]


def _env():
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def test_train_end_to_end_with_every_output(tmp_path, capsys):
    ckpt, hist, plot = tmp_path / "net.npz", tmp_path / "h.json", tmp_path / "curves.png"
    code = main(["train", "--iters", "300", "--eval-every", "100", "--seed", "1",
                 "--save", str(ckpt), "--history", str(hist), "--plot", str(plot)])
    out = capsys.readouterr().out
    assert code == 0
    lines = [line for line in out.splitlines() if line.startswith("epoch")]
    assert len(lines) == 3 and "train acc" in lines[0] and "test acc" in lines[0] and "loss" in lines[0]
    assert "done (completed): test acc" in out and "it/s" in out
    data = json.loads(hist.read_text())
    assert len(data["train_loss"]) == 300 and data["eval_iters"] == [100, 200, 300]
    assert data["test_acc"][-1] > 0.8 and data["config"]["seed"] == 1
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # the checkpoint moves to another backend and predicts exactly the same
    from xpnet.datasets import load_mnist

    _, (x_test, _) = load_mnist()
    saved = xpnet.load(ckpt)
    moved = xpnet.load(ckpt, backend="array_api_strict", device="device1")
    x = x_test[:50]
    np.testing.assert_array_equal(to_np(moved.predict(moved.backend.asarray(x))), to_np(saved.predict(x)))
    assert saved.history.test_acc[-1] == data["test_acc"][-1]


def test_resume_continues_to_the_same_parameters(tmp_path, capsys):
    a, b = tmp_path / "a.npz", tmp_path / "b.npz"
    common = ["--eval-every", "100", "--seed", "5", "--quiet"]
    assert main(["train", "--iters", "250", "--save", str(a), *common]) == 0
    assert main(["train", "--iters", "130", "--save", str(b), *common]) == 0
    assert main(["train", "--resume", str(b), "--iters", "250", "--save", str(b), "--quiet"]) == 0
    na, nb = xpnet.load(a), xpnet.load(b)
    for key in na.params:
        np.testing.assert_array_equal(to_np(na.params[key]), to_np(nb.params[key]))
    assert main(["train", "--resume", str(b), "--lr", "0.5"]) == 2
    assert "--lr 0.5 differs from the run's lr 0.1" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["train", "--backend", "tensorflow"], "unknown backend 'tensorflow'"),
        (["train", "--iters", "ten"], "expected a positive integer"),
        (["train", "--lr", "-0.1"], "expected a positive finite number"),
        (["train", "--batch-size", "0"], "expected a positive integer"),
        (["train", "--val-split", "1.5"], "expected a number in [0, 1)"),
        (["train", "--patience", "3"], "patience needs"),
        (["train", "--data-dir", "/no/such/dir"], "/no/such/dir"),
        (["train", "--save", "/no/such/dir/net.npz"], "does not exist"),
        (["train", "--resume", "/no/such/file.npz"], "no such checkpoint file"),
        (["train", "--device", "cuda:0"], "CPU only"),
        (["gradcheck", "--backend", "nope"], "unknown backend"),
    ],
)
def test_user_mistakes_are_one_line_and_exit_2(argv, message, capsys):
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse rejects bad option values itself
        code = exc.code
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert message in err
    assert len(err.splitlines()) == 1 and "Traceback" not in err


def test_divergence_exits_nonzero_and_keeps_the_checkpoint(tmp_path, capsys):
    ckpt = tmp_path / "net.npz"
    assert main(["train", "--iters", "50", "--eval-every", "50", "--save", str(ckpt), "--quiet", "--seed", "2"]) == 0
    before = ckpt.read_bytes()
    code = main(["train", "--iters", "300", "--lr", "1e300", "--save", str(ckpt), "--quiet"])
    err = capsys.readouterr().err
    assert code == 1
    assert "diverged" in err and "iteration" in err and "smaller learning rate" in err and "not overwritten" in err
    assert ckpt.read_bytes() == before


def test_ctrl_c_saves_and_exits_130(tmp_path):
    ckpt, hist = tmp_path / "net.npz", tmp_path / "h.json"
    proc = subprocess.Popen(
        [sys.executable, "-m", "xpnet", "train", "--iters", "1000000", "--save", str(ckpt), "--history", str(hist)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(),
    )
    deadline = time.time() + 120
    while time.time() < deadline:  # wait until training has started
        line = proc.stdout.readline()
        if line.startswith("training"):
            break
    time.sleep(1.0)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "interrupted by SIGINT at iteration" in err and "--resume" in err
    assert xpnet.load(ckpt).history.stop_reason == "interrupted"
    assert json.loads(hist.read_text())["iterations"] > 0


def test_gradcheck_command(capsys):
    assert main(["gradcheck"]) == 0
    out = capsys.readouterr().out
    for key in ("W1", "b1", "W2", "b2"):
        assert f"  {key}: " in out and "book:" in out
    assert "OK" in out


def test_info_and_module_entry_point():
    proc = subprocess.run([sys.executable, "-m", "xpnet", "info"], capture_output=True, text=True, env=_env(), timeout=120)
    assert proc.returncode == 0
    assert f"xpnet {xpnet.__version__}" in proc.stdout
    for name in ("numpy", "array_api_strict", "torch", "jax", "cupy"):
        assert name in proc.stdout


def test_help_documents_every_train_option(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    out = capsys.readouterr().out
    for option in ("--backend", "--device", "--dtype", "--iters", "--batch-size", "--lr", "--hidden-size", "--activation",
                   "--seed", "--data-dir", "--save", "--resume", "--plot", "--history", "--quiet", "--val-split", "--patience"):
        assert option in out


def test_a_network_that_does_not_learn_is_reported(tmp_path, capsys):
    hist = tmp_path / "h.json"
    code = main(["train", "--iters", "200", "--eval-every", "100", "--lr", "10", "--seed", "0", "--quiet", "--history", str(hist)])
    err = capsys.readouterr().err
    assert code == 0
    assert "not learning" in err and "learning rate" in err
    assert any("not learning" in note for note in json.loads(hist.read_text())["notes"])
