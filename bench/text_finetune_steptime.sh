#!/usr/bin/env bash
# Step time of text-aware SASRec with the MiniLM frozen (cached table) vs fine-tuned end to end
# (model.text_finetune) on a prepared dataset, via `jaxrec profile` (length buckets off: every
# batch is 128 x max_len). Writes bench/results/text_finetune_{frozen,finetune_u$LIVE}.json.
# Usage (heavy: take the shared lock):
#   flock /tmp/jaxrec_heavy.lock nice -n 19 bash bench/text_finetune_steptime.sh data/scientific
set -euo pipefail
DATA=${1:?prepared dataset dir}
LIVE=${LIVE:-256}
PY=.venv/bin/python
FT=$($PY - "$DATA" <<'PY'
import sys
from jaxrec.config import load_config, apply_overrides
from jaxrec.text.features import resolve_text_config
cfg = apply_overrides(load_config("configs/sasrec_text.py"), ["model.text_finetune=true"])
print(resolve_text_config(cfg, sys.argv[1]).model.text_features)
PY
)
FROZEN=$($PY - "$DATA" <<'PY'
import sys
from jaxrec.config import load_config
from jaxrec.text.features import resolve_text_config
print(resolve_text_config(load_config("configs/sasrec_text.py"), sys.argv[1]).model.text_features)
PY
)
.venv/bin/jaxrec profile --config configs/sasrec_text.py --data "$DATA" --steps 5 --warmup 1 \
    --out bench/results/text_finetune_frozen.json --set model.text_features="$FROZEN"
.venv/bin/jaxrec profile --config configs/sasrec_text.py --data "$DATA" --steps 2 --warmup 1 \
    --out "bench/results/text_finetune_finetune_u${LIVE}.json" \
    --set model.text_finetune=true model.text_live_items="$LIVE" model.text_features="$FT"
