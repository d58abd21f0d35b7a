#!/usr/bin/env bash
# CI: a fresh virtualenv with the optional CPU backends (PyTorch, JAX), then
#   1. the README's test command, verbatim;
#   2. mypy on the package (the wheel ships py.typed, so its annotations are public);
#   3. the packaging checks: build the wheel and the sdist, twine check, check-wheel-contents,
#      ci/check_dist.py, and the sdist's own tests run from the unpacked archive.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
rm -rf .venv
"$PY" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
# Optional backends, so that every backend but CuPy runs (torch==2.13.0 is a CPU build here), and three libraries
# without a row of their own (tests/test_other_namespaces.py): dask, ndonnx (without onnxruntime: its reference
# implementation, offline) and marray; each test is skipped with the reason where one is missing.
.venv/bin/python -m pip install --quiet "torch==2.13.0" jax jaxlib "dask[array]" ndonnx marray

cmd=$("$PY" ci/readme_command.py test-command)
echo "+ $cmd"
set +e
bash -c "$cmd"
status=$?
set -e
if [ "$status" -eq 5 ]; then
    echo "pytest collected no tests" >&2
    exit 1
fi
if [ "$status" -ne 0 ]; then
    exit "$status"
fi

echo "+ type check and packaging checks"
.venv/bin/python -m pip install --quiet -e ".[dev]"
.venv/bin/python -m mypy
dist=$(mktemp -d)
trap 'rm -rf "$dist"' EXIT
.venv/bin/python -m build --outdir "$dist/out" . >"$dist/build.log" 2>&1 || { cat "$dist/build.log"; exit 1; }
.venv/bin/python -m twine check --strict "$dist"/out/*
.venv/bin/check-wheel-contents "$dist"/out/*.whl
.venv/bin/python ci/check_dist.py "$dist/out"
tar -xzf "$dist"/out/*.tar.gz -C "$dist"
(cd "$dist"/xpnet-*/ && "$OLDPWD/.venv/bin/python" -m pytest -q -p no:cacheprovider tests/test_public_api.py tests/test_examples.py -k "public or loss_functions")
