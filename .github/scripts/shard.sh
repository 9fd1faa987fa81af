#!/usr/bin/env bash
# One CI job's part of the battery: shard.sh BACKEND K N COLUMN [OUTDIR]
# Writes OUTDIR/COLUMN/BACKEND-K-of-N.json (OUTDIR defaults to "results"); the merge job joins each COLUMN.
# Exit 0 also when the file records unexpected results (the merge job is the gate, after every shard has
# uploaded); any other failure (bad option, broken install) fails the job at once.
# CONFORMANCE_K (a -k expression) and CONFORMANCE_SEED (with the thorough profile) pass through when set.
set -euo pipefail
backend=${1:?backend} k=${2:?K} n=${3:?N} column=${4:?column} outdir=${5:-results}
python=${PYTHON:-python}
mkdir -p "$outdir/$column"
out="$outdir/$column/$backend-$k-of-$n.json"
args=(run --backend "$backend" --shard "$k/$n" --jobs auto --out "$out")
if [ -n "${CONFORMANCE_K:-}" ]; then args+=(-k "$CONFORMANCE_K"); fi
if [ -n "${CONFORMANCE_PROFILE:-}" ]; then args+=(--profile "$CONFORMANCE_PROFILE"); fi
if [ -n "${CONFORMANCE_SEED:-}" ]; then args+=(--seed "$CONFORMANCE_SEED"); fi
status=0
"$python" -m conformance "${args[@]}" || status=$?
if [ "$status" -gt 1 ]; then
  echo "shard.sh: python -m conformance ${args[*]} failed (exit $status)" >&2
  exit "$status"
fi
echo "results: $out (exit $status)"
