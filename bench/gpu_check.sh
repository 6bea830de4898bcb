#!/usr/bin/env bash
# One-command GPU check (needs an NVIDIA GPU and the CUDA jaxlib; never run in CI).
#
#   bash bench/gpu_check.sh [DATA_DIR=data/ml-1m] [MINUTES=5]
#
# 1. correctness: loss and gradient norm of one step on the same batch, CPU vs GPU
#    (float32 "highest" precision), relative difference < 1e-4;
# 2. `jaxrec profile` of the ML-1M SASRec step on the GPU (50 steps);
# 3. trains configs/sasrec.py for MINUTES with validation every epoch and reports the
#    training seconds until validation NDCG@10 first reaches 0.18, then the test metrics
#    of the best checkpoint (the issue's target: test NDCG@10 >= 0.18 within 60 s).
# Writes bench/results/gpu_check.json (and the pieces under $OUT_DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${1:-data/ml-1m}
MINUTES=${2:-5}
PY=${PY:-.venv/bin/python}
JAXREC=${JAXREC:-.venv/bin/jaxrec}
OUT_DIR=${OUT_DIR:-runs/gpu_check}
rm -rf "$OUT_DIR" && mkdir -p "$OUT_DIR"

nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || {
  echo "gpu_check: no NVIDIA GPU visible (nvidia-smi failed)" >&2; exit 2; }
JAX_PLATFORMS=cuda "$PY" -c "import jax; d=jax.devices(); assert d[0].platform=='gpu', d; print(d)" || {
  echo "gpu_check: JAX sees no GPU (install the CUDA jaxlib: jax[cuda12] / jax[cuda13])" >&2; exit 2; }

echo "== 1/3 CPU vs GPU loss on one batch"
"$PY" bench/gpu_check.py loss --data "$DATA" --out "$OUT_DIR/loss.json"

echo "== 2/3 profile of the ML-1M training step"
JAX_PLATFORMS=cuda "$JAXREC" profile --config configs/sasrec.py --data "$DATA" --steps 50 \
  --out "$OUT_DIR/profile.json" --trace-dir "$OUT_DIR/trace"

echo "== 3/3 train ${MINUTES} min, validation every epoch"
JAX_PLATFORMS=cuda "$JAXREC" train --config configs/sasrec.py --data "$DATA" \
  --workdir "$OUT_DIR/run" --max-minutes "$MINUTES" --set eval_every_epochs=1
JAX_PLATFORMS=cuda "$JAXREC" evaluate --workdir "$OUT_DIR/run" --split test --out "$OUT_DIR/test.json"

"$PY" bench/gpu_check.py summarise --workdir "$OUT_DIR/run" --profile "$OUT_DIR/profile.json" \
  --loss "$OUT_DIR/loss.json" --test "$OUT_DIR/test.json" --target 0.18 \
  --out bench/results/gpu_check.json
