#!/usr/bin/env bash
# Install the project for one CI job: install.sh BACKEND VERSION
#   BACKEND  numpy | torch | jax | report (the merge job: the report's extra only)
#   VERSION  "pinned" (the versions in constraints.txt) or a JAX release for a version column (jax only)
# torch always comes from the CPU wheel index: the PyPI torch wheel pulls a multi-GB CUDA build.
set -euo pipefail
backend=${1:?backend}
version=${2:-pinned}
python=${PYTHON:-python}
pip=("$python" -m pip install --disable-pip-version-check)

case "$backend" in
  numpy|report) extras="" ;;
  torch) extras="torch"
         "${pip[@]}" --index-url https://download.pytorch.org/whl/cpu "$(grep -E '^torch==' constraints.txt)" ;;
  jax) extras="jax" ;;
  *) extras="$backend" ;;
esac
[ "$backend" = report ] && extras="docs"

if [ "$version" != pinned ]; then
  if [ "$backend" != jax ]; then
    echo "install.sh: a version column is for jax only (torch stays at the pinned CPU build), got $backend $version" >&2
    exit 2
  fi
  # The project without the jax pin, then the release under test (jax and jaxlib share release numbers).
  grep -vE '^(jax|jaxlib)==' constraints.txt > "${RUNNER_TEMP:-/tmp}/constraints-versions.txt"
  "${pip[@]}" -c "${RUNNER_TEMP:-/tmp}/constraints-versions.txt" -e "."
  "${pip[@]}" "jax==$version" "jaxlib==$version"
else
  "${pip[@]}" -c constraints.txt -e ".${extras:+[$extras]}"
fi
