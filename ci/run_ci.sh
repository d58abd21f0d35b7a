#!/usr/bin/env bash
# CI: a fresh virtualenv with the optional CPU backends (PyTorch, JAX), then the README's test command, verbatim.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
rm -rf .venv
"$PY" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
# Optional backends, so that every backend but CuPy runs (torch==2.13.0 is a CPU build here).
.venv/bin/python -m pip install --quiet "torch==2.13.0" jax jaxlib

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
exit "$status"
