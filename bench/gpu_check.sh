#!/usr/bin/env bash
# On a machine with a CUDA GPU, from the repository root: what the GPU path needs,
# proven there, in under five minutes. Installs nothing; uses the Python packages
# already present.
#   1. the card and the library versions (import checks first);
#   2. the test suite with CuPy and PyTorch CUDA (graph replays) in the backend matrix;
#   3. training on --device cuda (float32 and float64), with timings;
#   4. the bench on cuda, every optimizer at batch 10 and 1000, beside PyTorch CUDA;
#   5. members on cuda: K = 1, 7, 35, 128 in one pass against one by one;
#   6. one step three ways (CuPy, PyTorch CUDA eager, PyTorch CUDA graph) at batch 10
#      and 1000: its time, the kernels it runs and their summed time, and the cost of
#      an empty launch (bench/gpu_step.py).
# Logs go to $OUT when it is set (the device tool's folder), else to ./gpu-check/:
# seven files at most. The test summary is read from pytest's JUnit XML, which an
# interpreter's noise at exit cannot garble.
set -uo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
log_dir="${OUT:-gpu-check}"
mkdir -p "$log_dir"
status=0

echo "== card"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || status=1
python3 - <<'PY' || exit 1
import array_api_compat, cupy, numpy, torch
print(f"cupy {cupy.__version__}, torch {torch.__version__}, numpy {numpy.__version__}, "
      f"array-api-compat {array_api_compat.__version__}")
assert torch.cuda.is_available(), "PyTorch sees no CUDA GPU"
print("GPU:", cupy.cuda.runtime.getDeviceProperties(0)["name"].decode(),
      "| CUDA runtime", cupy.cuda.runtime.runtimeGetVersion())
PY

echo "== tests (CuPy and PyTorch CUDA in the matrix)"
python3 -m pytest -q -rs -p no:cacheprovider --junitxml="$log_dir/tests.xml" tests 2>&1 |
    tee "$log_dir/tests.log"
python3 - "$log_dir/tests.xml" <<'PY' || status=1
import sys
import xml.etree.ElementTree as ET

root = ET.parse(sys.argv[1]).getroot()
cases = root.iter("testcase")
tally = {}
for case in cases:
    name = case.get("name", "")
    backend = next((b for b in ("torch-cuda", "cupy") if f"[{b}" in name or f"-{b}" in name), "rest")
    outcome = next((c.tag for c in case if c.tag in ("failure", "error", "skipped")), "passed")
    tally.setdefault(backend, {}).setdefault(outcome, 0)
    tally[backend][outcome] += 1
for backend, counts in sorted(tally.items()):
    print(f"tests, {backend}: " + ", ".join(f"{n} {k}" for k, n in sorted(counts.items())))
bad = sum(c.get("failure", 0) + c.get("error", 0) for c in tally.values())
sys.exit(1 if bad or not tally else 0)
PY

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

echo "== one step three ways: time, kernels, launch floor"
python3 bench/gpu_step.py --batch-sizes 10,1000 --steps 500 --repeats 3 \
    --json "$log_dir/gpu-step.json" 2>&1 |
    grep -v '^USDT:' | tee "$log_dir/gpu-step.log"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1

echo "gpu_check: exit $status"
exit "$status"
