#!/usr/bin/env bash
# The GPU checks of xpnet in one run: environment, `xpnet info`, the test suite's GPU cases, the book's
# job on each GPU backend, the benchmark against PyTorch CUDA eager (book job, hidden 4096 / batch
# 8192) and against idiomatic jax.jit on a GPU, and chapters 6 and 7 (benchmarks/bench_chapters.py
# --gpu: xpnet on CuPy, torch CUDA and JAX GPU against PyTorch CUDA eager, target <= 1.0x, and
# jax.jit). Logs and JSON go to $OUT (when set); a short table ends it.
#
#   bash ci/gpu_check.sh            on a machine with an NVIDIA GPU (about 10-14 minutes)
#   bash ci/gpu_check.sh --cpu      the same steps on the CPU backends (torch and JAX on the CPU), to
#                                   check the script itself where there is no GPU (about 15 minutes)
#   --quick                         shorter runs (1,000 steps, the --short benchmarks, no large config)
#
# Chapter 7's comparison with the book's own code (CPU only) runs where DLFS_BOOK_DIR names a
# checkout of the book's repository.
#
# Runs from the working tree (no install needed): PYTHON picks the interpreter (default python3). Where
# array-api-compat is missing and wheels lie in .whl/ (a machine without a package index), they are
# installed into /tmp/site first.
set -uo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
MODE=gpu
QUICK=0
for arg in "$@"; do
    case $arg in
        --cpu) MODE=cpu ;;
        --quick) QUICK=1 ;;
        *) echo "usage: bash ci/gpu_check.sh [--cpu] [--quick]" >&2; exit 2 ;;
    esac
done
OUTDIR=${OUT:-$(mktemp -d -t xpnet-gpu-check.XXXX)}
mkdir -p "$OUTDIR"
LOG=$OUTDIR/gpu_check.log
: >"$LOG"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1

if ! "$PY" -c "import array_api_compat" 2>/dev/null && compgen -G ".whl/*.whl" >/dev/null; then
    "$PY" -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl || exit 1
    export PYTHONPATH="/tmp/site:$PYTHONPATH"
fi

ROWS=()
FAILED=0
# step NAME SECONDS COMMAND...: run it under a timeout, its output into the log and onto the screen
step() {
    local name=$1 limit=$2
    shift 2
    echo "=== $name: $*" | tee -a "$LOG"
    local start=$SECONDS
    timeout "$limit" "$@" 2>&1 | tee -a "$LOG"
    local rc=${PIPESTATUS[0]}
    local status=ok
    if [ "$rc" -eq 124 ]; then status="timed out after ${limit}s"; elif [ "$rc" -ne 0 ]; then status="failed ($rc)"; fi
    [ "$status" = ok ] || FAILED=1
    ROWS+=("$(printf '%-52s %-24s %5ss' "$name" "$status" "$((SECONDS - start))")")
}

ITERS=10000
BENCH=(--repeats 3)
CHAPTERS=(--repeats 3)
[ "$QUICK" -eq 1 ] && ITERS=1000 && BENCH=(--short) && CHAPTERS=(--short)

if [ "$MODE" = gpu ]; then
    step "nvidia-smi" 30 nvidia-smi -L
    TESTS=(-k "cupy or torch-cuda or jax-gpu" tests)
    RUNS=("cupy:" "torch:cuda:0" "jax:gpu")
    BOOK_BACKEND=(--backend cupy)
    JAX_DEVICE=(--backend jax --device gpu)
    WHERE=(--gpu)
else
    TESTS=(-k "jax or torch" tests/test_compiled.py tests/test_data_parallel.py tests/test_train.py tests/test_layers.py)
    RUNS=("torch:cpu" "jax:cpu")
    BOOK_BACKEND=(--backend torch --device cpu)
    JAX_DEVICE=(--backend jax --device cpu)
    WHERE=()
fi
step "versions" 60 "$PY" -c "
import importlib, platform
print('python', platform.python_version())
for name in ('numpy', 'array_api_compat', 'cupy', 'torch', 'jax'):
    try:
        print(name, importlib.import_module(name).__version__)
    except Exception as exc:
        print(name, 'not available:', type(exc).__name__, exc)
"
step "xpnet info" 120 "$PY" -m xpnet info
step "tests ($MODE cases)" 300 "$PY" -m pytest -x -q -p no:cacheprovider "${TESTS[@]}"
for run in "${RUNS[@]}"; do
    backend=${run%%:*}
    device=${run#*:}
    step "book job: $backend ${device:-default}" 240 "$PY" -m xpnet train --backend "$backend" ${device:+--device "$device"} \
        --seed 0 --iters "$ITERS" --quiet
done
step "bench: book job, ${BOOK_BACKEND[*]}" 300 "$PY" benchmarks/bench.py "${BOOK_BACKEND[@]}" --impl xpnet,torch \
    "${BENCH[@]}" --json "$OUTDIR/bench-book.json"
step "bench: book job, ${JAX_DEVICE[*]}" 300 "$PY" benchmarks/bench.py "${JAX_DEVICE[@]}" --impl xpnet,jax,torch \
    "${BENCH[@]}" --json "$OUTDIR/bench-jax.json"
if [ "$QUICK" -eq 0 ]; then
    LARGE=(--large)
    [ "$MODE" = cpu ] && LARGE=(--large --iters 2 --repeats 1)  # hidden 4096 x batch 8192 is a GPU's job
    step "bench: hidden 4096, batch 8192" 300 "$PY" benchmarks/bench.py "${BOOK_BACKEND[@]}" --impl xpnet,torch \
        "${LARGE[@]}" --json "$OUTDIR/bench-large.json"
fi
for job in ch6 ch7; do
    step "bench $job: ${WHERE[*]:-cpu}" 600 "$PY" benchmarks/bench_chapters.py --job "$job" ${WHERE[@]+"${WHERE[@]}"} \
        "${CHAPTERS[@]}" --json "$OUTDIR/chapters-$job.json"
done

{
    echo
    echo "xpnet GPU check ($MODE$([ "$QUICK" -eq 1 ] && echo ', quick')): logs and JSON in $OUTDIR"
    printf '%s\n' "${ROWS[@]}"
    "$PY" - "$OUTDIR" <<'EOF'
import json, pathlib, sys

for path in sorted(pathlib.Path(sys.argv[1]).glob("bench-*.json")):
    rep = json.loads(path.read_text())
    job = rep["job"]
    print(f"{path.stem}: {job['backend']} {job['device'] or ''} hidden {job['hidden']}, batch {job['batch_size']}, {job['iters']} steps")
    for name, r in rep["results"].items():
        print(f"  {name:<6} job {r['median_time']:7.2f} s  process {r['process_time']:7.2f} s  compile {r['compile_time']:5.2f} s  "
              f"{r['iters_per_sec']:9.0f} steps/s  test acc {r['test_acc']:.4f}")
    for name, r in rep["ratios"].items():
        print(f"  {name}: job {r['total']:.3f}, training {r['train']:.3f}, process {r['process']:.3f}")
    cli = rep.get("cli", {})
    if "wall_time" in cli:
        print(f"  xpnet train process {cli['wall_time']:.2f} s: " + ", ".join(f"{v:.3f}x {k}" for k, v in cli["vs_process"].items()))

for path in sorted(pathlib.Path(sys.argv[1]).glob("chapters-*.json")):
    rep = json.loads(path.read_text())
    step = rep["job_name"] == "ch7"
    print(f"{path.stem}: {'GPU' if rep['job']['gpu'] else 'CPU'}, {rep['repeats']} rounds, load {rep['machine']['load_before']:.1f}")
    for name, r in rep["results"].items():
        timing = f"{r['step_time'] * 1e3:8.2f} ms/step" if step else f"job {r['total_time']:7.2f} s  {r['steps_per_s']:7.0f} steps/s"
        print(f"  {name:<12} {timing}  process {r['process_time']:6.2f} s  compile {r['compile_time']:5.2f} s  "
              f"first loss {r['losses'][0]:.5f}")
    for p in rep["ratios"]:
        value = p["step"] if step else p["job"]
        target = "" if p["target"] is None else f"  target <= {p['target']:g}: {'meets' if value <= p['target'] else 'MISSES'}"
        print(f"  {p['pair']}: {value:.3f}{target}")
EOF
} | tee "$OUTDIR/summary.txt"
exit "$FAILED"
