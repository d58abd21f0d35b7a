"""xpnet.testing: the backend matrix for users' own tests, and assert_backends_agree."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import xpnet
from xpnet.backends import backend_of
from xpnet.testing import BackendCase, assert_backends_agree, backend_cases, backend_params

ROOT = Path(__file__).resolve().parents[1]


def test_the_matrix_lists_every_backend_with_a_skip_reason_where_unusable():
    cases = {case.id: case for case in backend_cases()}
    assert {"numpy", "strict", "strict-device1", "torch", "jax", "cupy"} <= set(cases)
    assert cases["numpy"].usable and cases["strict-device1"].device == "device1"
    infos = {info.name: info for info in xpnet.available()}
    for case in cases.values():
        if not infos[case.backend].usable:
            assert not case.usable and infos[case.backend].reason in case.skip_reason
        if case.usable:
            assert case.get().name == case.backend


def test_backend_params_are_pytest_params_with_visible_skips():
    params = backend_params([BackendCase("numpy", "numpy", None), BackendCase("gone", "cupy", "cuda:0", "cupy: no GPU")])
    assert [p.id for p in params] == ["numpy", "gone"]
    assert params[0].marks == () or list(params[0].marks) == []
    assert [m.kwargs["reason"] for m in params[1].marks] == ["cupy: no GPU"]


def test_backends_agree_on_xpnet_functions():
    x = np.random.default_rng(0).normal(size=(4, 5))
    results = assert_backends_agree(xpnet.softmax, x)
    usable = [c.id for c in backend_cases() if c.usable]
    assert list(results) == usable and list(results)[0] == "numpy"
    np.testing.assert_allclose(results["numpy"].sum(axis=1), 1.0)


def test_backends_agree_on_a_network_with_nested_results():
    rng = np.random.default_rng(1)
    x, t = rng.normal(size=(3, 6)), np.array([0, 2, 1])

    def gradients(x, t):
        net = xpnet.TwoLayerNet(6, 4, 3, backend=backend_of(x), seed=0)
        loss, grads = net.loss_and_gradient(x, t)
        return {"loss": loss, "grads": grads, "labels": t}

    results = assert_backends_agree(gradients, x, t)
    assert set(results["numpy"]["grads"]) == {"W1", "b1", "W2", "b2"}


def test_a_backend_that_differs_is_named_with_the_difference():
    strict = [c for c in backend_cases() if c.id in ("numpy", "strict")]

    def off_on_strict(x):
        return x * (1.001 if backend_of(x).name == "array_api_strict" else 1.0)

    with pytest.raises(AssertionError, match=r"result differs between numpy and strict: max \|difference\| 0\.00[0-9]+ at index"):
        assert_backends_agree(off_on_strict, np.ones(3), cases=strict)
    assert assert_backends_agree(off_on_strict, np.ones(3), cases=strict, rtol=1e-2)  # a looser tolerance passes

    def float32_on_strict(x):
        xp = backend_of(x).xp
        return xp.astype(x, xp.float32) if backend_of(x).name == "array_api_strict" else x

    with pytest.raises(AssertionError, match="dtype float64 vs float32"):
        assert_backends_agree(float32_on_strict, np.ones(3), cases=strict)


def test_the_readme_example_runs_as_a_users_test_file(tmp_path):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(r"<!-- testing-example -->\s*```python\n(.*?)```", readme, flags=re.S)
    assert match, "README.md has no testing example"
    code = match.group(1)
    assert len([line for line in code.splitlines() if line.strip()]) <= 10  # ten lines to paste
    (tmp_path / "test_mine.py").write_text(code, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs", str(tmp_path / "test_mine.py")],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert re.search(r"\d+ passed", proc.stdout)


def test_extra_backends_join_the_matrix_with_the_librarys_name_as_id():
    da = pytest.importorskip("dask.array", reason="dask is not installed")
    cases = backend_cases(extra=[da, "dask", ("dask.array", "cpu"), "no_such_library", "json", "numpy"])
    known = [c.id for c in backend_cases()]
    assert [c.id for c in cases] == [*known, "dask.array", "dask.array-2", "dask.array-cpu", "no_such_library", "json",
                                     "numpy-2"]
    extra = {c.id: c for c in cases[len(known):]}
    assert extra["dask.array"].usable and extra["dask.array"].get().name == "dask.array"
    assert extra["dask.array-cpu"].get().device_name == "cpu"
    assert "unknown backend 'no_such_library'" in extra["no_such_library"].skip_reason
    assert extra["json"].skip_reason.startswith("json: 'json' is not an array namespace")
    params = backend_params(extra=[da, "no_such_library"])
    assert [p.id for p in params[-2:]] == ["dask.array", "no_such_library"]
    assert list(params[-2].marks) == [] and "unknown backend" in params[-1].marks[0].kwargs["reason"]
    only = backend_params([BackendCase("numpy", "numpy", None)], extra=[("dask", "cpu")])
    assert [p.id for p in only] == ["numpy", "dask.array-cpu"]


def test_backends_agree_across_an_extra_library_and_a_difference_there_is_named():
    da = pytest.importorskip("dask.array", reason="dask is not installed")
    cases = [c for c in backend_cases(extra=[da]) if c.id in ("numpy", "dask.array")]
    x = np.random.default_rng(2).normal(size=(3, 4))
    results = assert_backends_agree(xpnet.softmax, x, cases=cases)
    assert list(results) == ["numpy", "dask.array"] and isinstance(results["dask.array"], np.ndarray)

    def off_on_dask(x):
        return x * (1.001 if backend_of(x).name == "dask.array" else 1.0)

    with pytest.raises(AssertionError, match="result differs between numpy and dask.array"):
        assert_backends_agree(off_on_dask, x, cases=cases)


def test_the_default_matrix_is_listed_in_the_array_layer_and_testing_names_no_library():
    import ast

    from xpnet._array.matrix import candidates

    assert [case_id for case_id, _, _ in candidates()] == [c.id for c in backend_cases()]
    tree = ast.parse((ROOT / "xpnet" / "testing.py").read_text(encoding="utf-8"))
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef)) and ast.get_docstring(node) is not None}
    names = {"numpy", "torch", "jax", "cupy", "array_api_strict", "strict", "np", "cp", "pytorch"}
    named = [node.value for node in ast.walk(tree) if isinstance(node, ast.Constant) and isinstance(node.value, str)
             and id(node) not in docstrings and node.value.split("-")[0] in names]
    assert named == []
