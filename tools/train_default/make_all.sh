#!/bin/sh
# Rebuild models/default and tests/data/default_golden from scratch (~20 min on 2 CPUs).
# Needs: Debian python3 + python3-torch + python3-numpy, node 20 + npm (registry reachable once),
#        ../shared beside the checkout (or SHARED=/path/to/shared).
# Optional env: WORK (scratch dir), HFJS (dir with @huggingface/tokenizers installed), PY.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
SHARED=${SHARED:-$ROOT/../shared}
D=$SHARED/data/trained
PY=${PY:-/usr/bin/python3}
WORK=${WORK:-$(mktemp -d)}
HFJS=${HFJS:-$WORK/hfjs}
OUT=$ROOT/models/default
GOLD=$ROOT/tests/data/default_golden
echo "work dir: $WORK"

# 0. the JS tokenizer (pure JS port of HF tokenizers) in a scratch dir
if [ ! -d "$HFJS/node_modules/@huggingface/tokenizers" ]; then
  mkdir -p "$HFJS"
  (cd "$HFJS" && npm init -y >/dev/null && npm install --no-audit --no-fund @huggingface/tokenizers@0.2.0)
fi

# 1. tokenizer: train BPE, encode train/held-out with the JS tokenizer, cross-check
"$PY" "$HERE/bpe.py" "$D/tinystories_train.txt" "$WORK/tok"
node "$HERE/encode_js.mjs" "$HFJS" "$WORK/tok" file "$D/tinystories_train.txt" "$WORK/train_whole_ids.bin"
node "$HERE/encode_js.mjs" "$HFJS" "$WORK/tok" stories "$D/tinystories_train.txt" "$WORK/train_ids.bin"
node "$HERE/encode_js.mjs" "$HFJS" "$WORK/tok" file "$D/tinystories_heldout.txt" "$WORK/heldout_ids.bin"
"$PY" "$HERE/verify_tokenizer.py" "$WORK/tok" "$HFJS" "$D/tinystories_train.txt" "$D/tinystories_heldout.txt" "$WORK"

# 2. train (defaults: seed 1234, 1150 steps, batch 16, seq 256, lr 2e-3, 1 thread)
"$PY" "$HERE/train.py" --work "$WORK" --out "$WORK/default.pt" --log "$WORK/train_log.jsonl"

# 3. export HF folder (F16), sample.txt, golden outputs, SOURCE.md, SHA256SUMS
"$PY" "$HERE/export.py" --ckpt "$WORK/default.pt" --tok "$WORK/tok" --work "$WORK" --hfjs "$HFJS" \
  --out "$OUT" --golden "$GOLD" --log "$WORK/train_log.jsonl" --seed 1234

# 4. independent float64 numpy forward vs the golden files
"$PY" "$HERE/check_numpy.py" "$OUT" "$GOLD"
(cd "$OUT" && sha256sum -c --quiet SHA256SUMS)
echo "done"
