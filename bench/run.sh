#!/bin/bash
# bench/run.sh - the scaling benchmark of issue 4 (not a test): stage C of ONE LLaMA-2-7B-shaped layer
# (synthetic weights, true shapes, N = 10 x 128 calibration tokens, the code path of `comp prune`) on
# 1 rank and on 2 ranks sharing it (scalapack), then the projected wall time of LLaMA-2-7B and -13B
# at 30% for 1..64 ranks. Writes bench/results/<importance>/{np1,np2}.json and RESULTS.md.
#   bench/run.sh [cond|obs|wanda ...]      (default cond, the faithful Eq. 9; COMP=path/to/comp)
set -euo pipefail
cd "$(dirname "$0")/.."
COMP=${COMP:-build/comp}
IMP=${1:-cond}
OUT=bench/results/$IMP
mkdir -p "$OUT"
export OPENBLAS_NUM_THREADS=1 OMPI_MCA_rmaps_base_oversubscribe=1
[ "$(id -u)" = 0 ] && export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
for np in 1 2; do
  echo "== $np rank(s), importance $IMP" >&2
  mpiexec -n $np "$COMP" bench-prune --config bench/configs/llama-2-7b --importance "$IMP" --solver scalapack \
    --json | tee /dev/stderr | tail -1 > "$OUT/np$np.json"
done
/usr/bin/python3 analysis/bench_projection.py --comp "$COMP" --results "$OUT" \
  --configs bench/configs/llama-2-7b bench/configs/llama-2-13b > "$OUT/RESULTS.md"
cat "$OUT/RESULTS.md"
