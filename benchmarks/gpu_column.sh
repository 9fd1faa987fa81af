#!/usr/bin/env bash
# The report's device column: the battery's JAX backend on a GPU, one results file for reports/results/.
#
#   benchmarks/gpu_column.sh [OUT] [extra options for python -m conformance run, e.g. -k grad]
#
# Run from the project root on a machine with an NVIDIA GPU and a CUDA 12 driver. It makes a virtualenv
# (.venv-gpu) with the project and the CUDA build of the pinned JAX release, and runs the JAX backend:
# JAX puts arrays on its first device, the GPU, and each check records the device it ran on
# (CheckRecord.device, e.g. "gpu:NVIDIA H200"), so the report shows the run as its own column.
# Not covered yet: torch on CUDA (the torch adapter has no device option; a CUDA torch wheel is multi-GB),
# and float32 tolerances scaled by problem size (the battery's shapes are at most 4x4 today, so its
# fixed multiples of eps hold; a longer reduction would need them to grow with its length).
set -euo pipefail
out=${1:-reports/results/run-gpu-jax.json}
shift || true
venv=${VENV:-.venv-gpu}
jax_version=$(sed -n 's/^jax==//p' constraints.txt)
if [ ! -x "$venv/bin/python" ]; then
  python3.11 -m venv "$venv"
fi
grep -vE '^(jax|jaxlib)==' constraints.txt > "$venv/constraints-gpu.txt"
"$venv/bin/python" -m pip install --disable-pip-version-check -q -c "$venv/constraints-gpu.txt" -e .
"$venv/bin/python" -m pip install --disable-pip-version-check -q "jax[cuda12]==$jax_version"
"$venv/bin/python" - <<'PY'
import jax
devices = jax.devices()
print("jax", jax.__version__, "devices:", devices)
if devices[0].platform != "gpu":
    raise SystemExit("JAX found no GPU (check the driver and the jax[cuda12] install); not writing a CPU column")
PY
status=0
"$venv/bin/python" -m conformance run --backend jax --jobs 2 --label "gpu: jax $jax_version" --out "$out" "$@" \
  || status=$?
"$venv/bin/python" - "$out" <<'PY'
import collections, json, sys
doc = json.load(open(sys.argv[1]))
devices = collections.Counter(c["device"] for c in doc["checks"])
print("checks per device:", dict(devices))
print("statuses:", dict(collections.Counter(c["status"] for c in doc["checks"])))
PY
echo "results: $out (exit $status: 1 means unexpected results, listed above; commit the file either way)"
exit "$status"
