#!/bin/bash
# tools/run.sh - the two set-up commands of the README, for a fresh Debian 12 machine (as root).
#   tools/run.sh main   install the Debian packages, build, run the main job on the embedded default model
#   tools/run.sh test   install the Debian packages, build (normal + ASan/UBSan), run every test
# Needs ../shared beside the checkout for the tests that use real models (they skip, saying so, without it).
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-}
[ "$mode" = main ] || [ "$mode" = test ] || { echo "usage: tools/run.sh main|test" >&2; exit 2; }

export DEBIAN_FRONTEND=noninteractive
SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=300 \
  build-essential cmake pkg-config git ca-certificates \
  openmpi-bin libopenmpi-dev libhdf5-openmpi-dev libscalapack-openmpi-dev \
  libopenblas-dev liblapacke-dev petsc-dev libcjson-dev clang-format \
  slurmctld slurmd slurm-client munge \
  python3 python3-numpy python3-h5py python3-matplotlib python3-sentencepiece >/dev/null
if [ "$mode" = test ] && ! { command -v node && command -v npm; } >/dev/null; then
  # the tokenizer oracle (npm @huggingface/tokenizers) runs on Node.js; keep a Node that is already there
  $SUDO apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=300 nodejs npm >/dev/null
fi
if [ "$mode" = test ]; then # pdflatex: the sweep report's table.tex is compiled by a test
  $SUDO apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=300 texlive-latex-base >/dev/null
fi

export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
export OMPI_MCA_btl_vader_single_copy_mechanism=none OPENBLAS_NUM_THREADS=1

cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DCOMP_WERROR=ON >/dev/null
cmake --build build -j"$(nproc)"

if [ "$mode" = main ]; then
  M=models/default
  if [ ! -f "$M/config.json" ]; then
    echo "tools/run.sh: the embedded default model ($M) is not in this checkout yet" >&2; exit 1
  fi
  # the main job: COMP-prune the embedded default model by 20% of its parameters on 2 ranks into
  # one HDF5 archive, then compare dense and pruned perplexity (256-token windows of sample.txt;
  # the 10 calibration windows are 1280 of its ~200k tokens)
  A=results/default-comp-0.2.h5
  mkdir -p results
  mpiexec -n 2 build/comp prune --model "$M" --ratio 0.2 --protect 0,-1 --calib "$M/sample.txt" \
    --out "$A" --force
  ppl() { mpiexec -n 2 build/comp eval --model "$1" --text "$M/sample.txt" --seq-len 256 --quiet --json |
          tail -1 | sed 's/.*"ppl":\([0-9.eE+-]*\).*/\1/'; }
  dense=$(ppl "$M"); pruned=$(ppl "$A")
  echo "perplexity on $M/sample.txt (256-token windows): dense $dense, COMP-pruned 20% $pruned"
  echo "archive: $(pwd)/$A  (comp info $A; comp export $A --out DIR)"
  exit 0
fi

# tests: the normal build, then the unit tests again under AddressSanitizer + UBSan
ctest --test-dir build --output-on-failure
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DCOMP_SANITIZE=ON >/dev/null
cmake --build build-asan -j"$(nproc)"
ASAN_OPTIONS=detect_leaks=1 ctest --test-dir build-asan -L "unit|sanitize" --output-on-failure
