#!/usr/bin/env bash
# The report's GPU column: the battery's torch and JAX backends with --device cuda, one results file.
#
#   benchmarks/gpu_column.sh [OUT] [extra options for python -m conformance run, e.g. -k grad]
#
# Run from the project root on a machine with an NVIDIA GPU. It needs a Python 3.11 environment holding
# this project (pip install -e .), a CUDA build of torch==2.13.0 and jax[cuda12]==0.10.2 (the pins of
# constraints.txt); it downloads nothing unless GPU_INSTALL=1 is set:
#
#   PYTHON=/path/to/python    use that interpreter (default: .venv-gpu/bin/python, else python3)
#   GPU_INSTALL=1             create .venv-gpu and pip-install the above first (needs network: several GB,
#                             the CUDA torch wheel and its nvidia-* libraries). A machine without network
#                             must get that environment some other way (a prepared image, a copied venv):
#                             a CPU venv will not do, and the script says so before running anything.
#
# Both libraries call an NVIDIA GPU "cuda" (jax also takes "gpu"), so one --device serves both; the CLI
# asks each backend for the device before any check runs and stops (exit 2) naming what it has instead.
# Each check records the device it ran on (torch "cuda:0 (<model>)", JAX "gpu:<model>"), so the report
# shows the run as its own column. Float32 bounds are the battery's own: its problems are at most 16
# terms, where the size scaling of conformance/battery/tolerances.py changes nothing.
#
# What has been run: nothing on a GPU yet. The --device path itself is tested on the CPU
# (tests/test_device.py: --device cpu changes no status, a device torch/JAX lack stops the run with exit 2,
# the device reaches every check record and reproducer). MLX is not run here (its GPU is Apple's Metal).
set -euo pipefail
out=${1:-reports/results/run-gpu-cuda.json}
shift || true
venv=.venv-gpu
if [ "${GPU_INSTALL:-0}" = 1 ]; then
  python3.11 -m venv "$venv"
  grep -vE '^(jax|jaxlib)==' constraints.txt > "$venv/constraints-gpu.txt"
  jax_version=$(sed -n 's/^jax==//p' constraints.txt)
  # PyPI's Linux torch wheels are the CUDA builds; the pin keeps the version the CPU columns ran.
  "$venv/bin/python" -m pip install --disable-pip-version-check -q -c "$venv/constraints-gpu.txt" -e ".[torch]"
  "$venv/bin/python" -m pip install --disable-pip-version-check -q "jax[cuda12]==$jax_version"
fi
python=${PYTHON:-$( [ -x "$venv/bin/python" ] && echo "$venv/bin/python" || echo python3 )}
# Several shard processes share the GPU: JAX must not grab 75 % of its memory in each of them.
export XLA_PYTHON_CLIENT_PREALLOCATE=false
"$python" - <<'PY'
import sys
need = []
try:
    import torch
    print("torch", torch.__version__, "cuda", torch.version.cuda, "devices:", torch.cuda.device_count())
    if not torch.cuda.is_available():
        need.append(f"torch {torch.__version__} sees no CUDA device (a CPU build, or no driver): install the CUDA build of torch==2.13.0")
except ImportError:
    need.append("torch is not installed: install the CUDA build of torch==2.13.0")
try:
    import jax
    gpus = [d for d in jax.devices() if d.platform == "gpu"]
    print("jax", jax.__version__, "devices:", jax.devices())
    if not gpus:
        need.append(f"jax {jax.__version__} sees no GPU: install jax[cuda12]==0.10.2 (its CUDA plugin)")
except ImportError:
    need.append("jax is not installed: install jax[cuda12]==0.10.2")
if need:
    sys.exit("not writing a GPU column:\n  " + "\n  ".join(need) + f"\n  (interpreter: {sys.executable}; see the header of benchmarks/gpu_column.sh)")
PY
status=0
"$python" -m conformance run --backend torch --backend jax --device cuda --jobs auto --label "gpu: torch, jax on cuda" \
  --out "$out" "$@" || status=$?
if [ -f "$out" ]; then
  "$python" - "$out" <<'PY'
import collections, json, sys
doc = json.load(open(sys.argv[1]))
for backend in sorted(doc["backends"]):
    checks = [c for c in doc["checks"] if c["backend"] == backend]
    print(backend, "devices:", dict(collections.Counter(c["device"] for c in checks)),
          "statuses:", dict(collections.Counter(c["status"] for c in checks)))
PY
fi
echo "results: $out (exit $status: 1 means unexpected results, listed above; 2 means nothing ran, see the message)"
exit "$status"
