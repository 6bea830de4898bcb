#!/usr/bin/env bash
# Text-aware SASRec on amazon_scientific_unisrec: id-only vs text vs both, and the cold-item
# split. Each run takes the shared heavy lock and a time budget (2-core CPU shared by 5).
# Usage: bench/text_scientific.sh RUN_NAME ITEM_REPR DATA_DIR [MAX_MINUTES] [--set ...]
set -euo pipefail
name=$1 repr=$2 data=$3 minutes=${4:-6}
shift 4 || shift $#
run=runs/text/$name
mkdir -p bench/results
flock /tmp/jaxrec_heavy.lock .venv/bin/jaxrec train --config configs/sasrec_text.py \
  --data "$data" --workdir "$run" --max-minutes "$minutes" \
  --set model.item_repr="$repr" "$@" 2>&1 | grep -v "step/s" | tail -3
for split in valid test; do
  flock /tmp/jaxrec_heavy.lock .venv/bin/jaxrec evaluate --workdir "$run" --split "$split" \
    --out "bench/results/text_${name}_${split}.json" > /dev/null 2>&1
done
python3 - "$name" <<'PY'
import json, sys
name = sys.argv[1]
for split in ("valid", "test"):
    r = json.load(open(f"bench/results/text_{name}_{split}.json"))
    cold = r.get("cold_items")
    print(name, split, "ndcg@10=%.4f hr@10=%.4f" % (r["ndcg@10"], r["hr@10"]),
          "" if not cold else "cold hr@10=%.4f ndcg@10=%.4f n=%d random hr=%.4f mostpop hr=%.4f"
          % (cold["hr@10"], cold["ndcg@10"], cold["num_events"], cold["random"]["hr@10"],
             cold["mostpop"]["hr@10"]))
PY
