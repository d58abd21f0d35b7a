"""Checkpoints: exact round trips across backends, atomic writes, and clear errors on bad files."""

import json
import os
import zipfile

import xpnet

import numpy as np
import pytest
from conftest import to_np

import xpnet
from xpnet import CheckpointError, TwoLayerNet
from xpnet.io.checkpoint import load_checkpoint, save
from xpnet import History


@pytest.fixture
def net():
    return TwoLayerNet(6, 5, 3, 0.5, activation="sigmoid", dtype="float32", seed=0)


def test_round_trip_onto_every_backend_predicts_exactly(net, backend, tmp_path):
    path = tmp_path / "net.npz"
    history = History(train_loss=[1.0, 0.5], config={"lr": 0.1})
    xpnet.save(net, path, history=history)
    loaded = xpnet.load(path, backend=backend.name, device=backend.device)
    assert loaded.backend.name == backend.name and loaded.config == net.config
    assert loaded.history.train_loss == [1.0, 0.5]
    x = backend.asarray(np.random.default_rng(0).normal(size=(4, 6)), dtype="float32")
    same_backend = net.to(backend.name, backend.device)  # the saved network, on the loading backend
    np.testing.assert_array_equal(to_np(loaded.predict(x)), to_np(same_backend.predict(x)))
    for key in net.params:
        np.testing.assert_array_equal(to_np(loaded.params[key]), to_np(net.params[key]))


def test_default_backend_is_the_saved_one(tmp_path):
    net = TwoLayerNet(6, 5, 3, backend="array_api_strict", seed=0)
    save(net, tmp_path / "s.npz")
    assert xpnet.load(tmp_path / "s.npz").backend.name == "array_api_strict"


def test_interrupted_save_keeps_the_previous_checkpoint(net, tmp_path, monkeypatch):
    path = tmp_path / "net.npz"
    xpnet.save(net, path)
    before = path.read_bytes()
    other = TwoLayerNet(6, 5, 3, 0.5, activation="sigmoid", dtype="float32", seed=1)

    def crash(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(CheckpointError, match="cannot write checkpoint"):
        xpnet.save(other, path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.npz"]  # no temporary file left behind


def _corrupt(path, kind):
    data = path.read_bytes()
    if kind == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif kind == "garbage":
        path.write_bytes(b"not a zip file at all" * 10)
    elif kind in ("shape", "meta", "version", "pickle", "nan", "missing"):
        with np.load(path) as z:
            contents = {k: z[k] for k in z.files}
        meta = json.loads(str(contents["meta"]))
        if kind == "shape":
            contents["param/W1"] = np.zeros((6, 4), np.float32)
        elif kind == "meta":
            contents["meta"] = np.asarray("{not json")
        elif kind == "version":
            meta["version"] = 99
            contents["meta"] = np.asarray(json.dumps(meta))
        elif kind == "pickle":
            contents["param/W1"] = np.array([{"evil": 1}], dtype=object)
        elif kind == "nan":
            contents["param/b2"] = np.full(3, np.nan, np.float32)
        elif kind == "missing":
            del contents["param/b1"]
        with open(path, "wb") as fh:
            np.savez(fh, **contents)


@pytest.mark.parametrize(
    ("kind", "match"),
    [
        ("truncated", "not a readable xpnet checkpoint"),
        ("garbage", "not a readable xpnet checkpoint"),
        ("shape", r"member 'param/W1' has shape \(6, 4\), expected \(6, 5\)"),
        ("meta", "metadata is not valid JSON"),
        ("version", "version 99 is not supported"),
        ("pickle", "member 'param/W1' has dtype object, expected float32"),
        ("nan", "b2 contains NaN"),
        ("missing", "do not match the expected"),
    ],
)
def test_bad_checkpoints_are_named_errors(net, tmp_path, kind, match):
    path = tmp_path / "bad.npz"
    xpnet.save(net, path)
    _corrupt(path, kind)
    with pytest.raises(CheckpointError, match=match) as info:
        xpnet.load(path)
    assert "bad.npz" in str(info.value)


def test_missing_file_and_foreign_npz(tmp_path):
    with pytest.raises(CheckpointError, match="no such checkpoint file"):
        xpnet.load(tmp_path / "nope.npz")
    np.savez(tmp_path / "foreign.npz", a=np.zeros(3))
    with pytest.raises(CheckpointError, match="no 'meta' entry"):
        xpnet.load(tmp_path / "foreign.npz")


def test_checkpoint_is_a_plain_npz_without_pickles(net, tmp_path):
    path = tmp_path / "net.npz"
    xpnet.save(net, path)
    with zipfile.ZipFile(path) as z:
        assert sorted(z.namelist()) == ["meta.npy", "param/W1.npy", "param/W2.npy", "param/b1.npy", "param/b2.npy"]
    with np.load(path, allow_pickle=False) as z:
        assert all(z[k].dtype != object for k in z.files)


def test_trainer_state_round_trip(net, tmp_path):
    state = {"rng": np.random.default_rng(1).bit_generator.state, "history": History(train_loss=[2.0, 1.5]).to_dict()}
    save(net, tmp_path / "c.npz", trainer_state=state)
    ckpt = load_checkpoint(tmp_path / "c.npz")
    assert ckpt.trainer_state["rng"] == state["rng"]
    assert ckpt.trainer_state["history"] == state["history"] and ckpt.history.train_loss == [2.0, 1.5]
    assert "history" in state  # the caller's dict is left as it was


@pytest.mark.parametrize(("history", "inner", "match"), [
    (History(train_loss=[1.0]), History(train_loss=[1.0, 2.0]).to_dict(), "history has 1 iterations but trainer_state"),
    (None, None, "trainer_state has no 'history'"),
], ids=["another-run", "none-at-all"])
def test_save_refuses_a_trainer_state_without_its_own_history(net, tmp_path, history, inner, match):
    state = {"rng": np.random.default_rng(1).bit_generator.state} | ({"history": inner} if inner is not None else {})
    with pytest.raises(ValueError, match=match):
        save(net, tmp_path / "c.npz", history=history, trainer_state=state)
    assert not (tmp_path / "c.npz").exists()
