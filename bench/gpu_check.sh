#!/usr/bin/env bash
# On a machine with a CUDA GPU, from the repository root: what the GPU path needs,
# proven there, in under five minutes. Installs nothing; uses the Python packages
# already present.
#   1. the card and the library versions (import checks first);
#   2. the test suite with CuPy in the backend matrix;
#   3. training on --device cuda (float32 and float64), with timings;
#   4. the bench on cuda, every optimizer at batch 10 and 1000, beside PyTorch CUDA;
#   5. members on cuda: K = 1, 7, 35, 128 in one pass against one by one;
#   6. optimlab's step on PyTorch CUDA, eager and as a captured CUDA graph.
# Logs go to $OUT when it is set (the device tool's folder), else to ./gpu-check/.
set -uo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
log_dir="${OUT:-gpu-check}"
mkdir -p "$log_dir"
status=0

echo "== card"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || status=1
python3 - <<'PY' || exit 1
import array_api_compat, cupy, numpy
print(f"cupy {cupy.__version__}, numpy {numpy.__version__}, "
      f"array-api-compat {array_api_compat.__version__}")
print("GPU:", cupy.cuda.runtime.getDeviceProperties(0)["name"].decode(),
      "| CUDA runtime", cupy.cuda.runtime.runtimeGetVersion())
PY

echo "== tests (CuPy in the matrix)"
python3 -m pytest -q -rs -p no:cacheprovider tests 2>&1 | tee "$log_dir/tests.log"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1

echo "== train on cuda"
for args in "--optimizer sgd --epochs 1" "--optimizer adam --epochs 1 --dtype float64"; do
    # shellcheck disable=SC2086
    python3 -m optimlab train --device cuda $args 2>&1 | tee -a "$log_dir/train.log"
    [ "${PIPESTATUS[0]}" -eq 0 ] || status=1
done
echo "== bench on cuda (optimlab vs PyTorch CUDA eager)"
python3 bench/bench_optimizers.py --devices cuda --peers torch --repeats 5 \
    --json "$log_dir/bench-cuda.json" || status=1

echo "== members on cuda (K runs in one pass against one by one)"
python3 bench/bench_members.py --devices cuda --repeats 3 \
    --json "$log_dir/members-cuda.json" || status=1

echo "== optimlab on PyTorch CUDA: eager and CUDA graph"
python3 bench/torch_graph.py --batch-sizes 10,1000 --repeats 3 2>&1 | tee "$log_dir/torch-graph.log"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1

echo "gpu_check: exit $status"
exit "$status"
