#!/usr/bin/env bash
# Seconds per ML-1M epoch: jaxrec vs pmixer/SASRec.pytorch, same machine, same run.
#   REF_RUNNER=/path/to/run_reference.sh bench/speed_vs_pytorch.sh
# REF_RUNNER times the PyTorch reference (hidden 50, 2 blocks, 1 head, maxlen 200,
# batch 128, dropout 0.2, BCE with one sampled negative) and prints JSON; it lives outside
# this repository together with the reference checkout. Results go to bench/results/.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=bench/results
mkdir -p "$OUT"
PY=.venv/bin/python
DATA=${DATA:-data/ml-1m}
common=(--data "$DATA" --epochs "${EPOCHS:-3}")
bce=(--set model.embed_dim=50 --set model.mlp_dim=50 --set model.num_heads=1
     --set model.dropout=0.2 --set model.attention_dropout=0.2 --set loss.name=bce
     --set loss.num_negatives=1 --set data.batch_size=128)
"$PY" bench/epoch_time.py --config configs/sasrec.py "${common[@]}" "${bce[@]}" \
    --out "$OUT/epoch_time_bce_jaxrec.json"
"$PY" bench/epoch_time.py --config configs/sasrec.py "${common[@]}" \
    --out "$OUT/epoch_time_ce_jaxrec.json"
if [ -n "${REF_RUNNER:-}" ]; then
  EPOCHS="${EPOCHS:-3}" "$REF_RUNNER" > "$OUT/epoch_time_bce_pytorch.json"
fi
grep -h '"seconds_per_epoch_median"' "$OUT"/epoch_time_*.json
