#!/usr/bin/env bash
# The final CI job: merge-report.sh INDIR SITE
# INDIR holds one folder per report column (INDIR/COLUMN/*.json, every shard of every backend of that column):
# each is merged into INDIR/merged/COLUMN.json (refused, exit 2, for mixed code or repeated or missing
# shards), then the report is built from the merged files into SITE, one column each.
# Exit: 0 all expected, 1 unexpected results (after the report is built, so it shows them), 2 a refused merge.
set -euo pipefail
indir=${1:?results folder} site=${2:?site folder}
python=${PYTHON:-python}
mkdir -p "$indir/merged"
gate=0
merged=()
for column in "$indir"/*/; do
  name=$(basename "$column")
  [ "$name" = merged ] && continue
  files=("$column"*.json)
  status=0
  "$python" -m conformance merge "${files[@]}" --out "$indir/merged/$name.json" || status=$?
  if [ "$status" -gt 1 ]; then exit "$status"; fi
  if [ "$status" -eq 1 ]; then gate=1; fi
  merged+=("$indir/merged/$name.json")
done
if [ "${#merged[@]}" -eq 0 ]; then
  echo "merge-report.sh: no column folders in $indir (expected $indir/COLUMN/*.json)" >&2
  exit 2
fi
"$python" -m conformance report "${merged[@]}" --out "$site"
exit "$gate"
